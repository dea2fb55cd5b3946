"""Store managers' pages: the staff on this device (add with a PIN, remove), the action
log, and the alert thresholds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.model import AlertThresholds
from kiosk.attendant.staff import Action, ActionRecord, Role, StaffMember, StaffSource
from kiosk.attendant.words import WORDS, say
from kiosk.screens.common import label, scrolling_column


def _field(*, secret: bool = False) -> QLineEdit:
    field = QLineEdit()
    field.setProperty("role", "field")
    if secret:
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        field.setMaxLength(8)
    else:
        field.setMaxLength(32)
    return field


class StaffRow(QFrame):
    remove = Signal(str)

    def __init__(self, member: StaffMember, language: Language, removable: bool) -> None:
        super().__init__()
        self.member_id = member.id
        self.setProperty("role", "card")
        name = label(member.display_name, "card-title")
        role = say(language, f"role.{member.role.value}")
        if member.source is StaffSource.LOCAL:
            role += " · " + say(language, "staff.local")
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 8, 12, 8)
        row.addWidget(name)
        row.addWidget(label(role, "small"), 1)
        self.button = QPushButton(say(language, "staff.remove"))
        self.button.setProperty("role", "secondary")
        self.button.setEnabled(removable)
        self.button.clicked.connect(lambda: self.remove.emit(self.member_id))
        row.addWidget(self.button)


class StaffPage(QWidget):
    add_requested = Signal(str, str, str)  # name, role, PIN
    remove_requested = Signal(str)  # member id

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.language = Language.ZH_CN
        self.title = label(role="title")
        self.rows: list[StaffRow] = []
        self._rows_box = QVBoxLayout()
        self._rows_box.setSpacing(8)
        scroll = scrolling_column(self._rows_box)
        self.log_title = label(role="section")
        self.log = QListWidget()
        self.log.setProperty("role", "list")
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addWidget(scroll, 3)
        left.addWidget(self.log_title)
        left.addWidget(self.log, 2)

        self.form_title = label(role="section")
        self.name_label, self.pin_label, self.again_label = (label(role="small") for _ in range(3))
        self.name, self.pin, self.again = _field(), _field(secret=True), _field(secret=True)
        self.as_attendant, self.as_manager = QRadioButton(), QRadioButton()
        self.as_attendant.setChecked(True)
        roles = QButtonGroup(self)
        roles.addButton(self.as_attendant)
        roles.addButton(self.as_manager)
        role_row = QHBoxLayout()
        role_row.addWidget(self.as_attendant)
        role_row.addWidget(self.as_manager)
        self.add = QPushButton()
        self.add.setProperty("role", "primary")
        self.add.clicked.connect(self._add)
        self.message = label(role="error", wrap=True)
        form = QFrame()
        form.setProperty("role", "card")
        right = QVBoxLayout(form)
        right.setContentsMargins(24, 20, 24, 20)
        right.setSpacing(8)
        right.addWidget(self.form_title)
        for caption, field in (
            (self.name_label, self.name),
            (self.pin_label, self.pin),
            (self.again_label, self.again),
        ):
            right.addWidget(caption)
            right.addWidget(field)
        right.addLayout(role_row)
        right.addWidget(self.message)
        right.addStretch(1)
        right.addWidget(self.add)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(24)
        layout.addLayout(left, 3)
        layout.addWidget(form, 2)
        self._retranslate()

    def set_language(self, language: Language) -> None:
        self.language = language
        self._retranslate()

    def show_staff(
        self,
        members: Sequence[StaffMember],
        me: str | None,
        actions: Sequence[ActionRecord],
        name_of: Callable[[str], str],
    ) -> None:
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        for member in members:
            row = StaffRow(member, self.language, removable=member.id != me)
            row.remove.connect(self.remove_requested)
            self._rows_box.addWidget(row)
            self.rows.append(row)
        self.log.clear()
        for record in actions:
            when = record.at.astimezone().strftime("%m-%d %H:%M")
            what = say(self.language, f"action.{record.action.value}")
            text = f"{when}  {name_of(record.staff_id)}  {what}"
            if record.subject:
                text += f"  {record.subject}"
            if record.detail:
                text += f"  ({self._detail(record)})"
            self.log.addItem(QListWidgetItem(text))

    def _detail(self, record: ActionRecord) -> str:
        """A redemption's outcome in words; other details as recorded."""
        detail = record.detail or ""
        outcome, _, rest = detail.partition(" ")
        if record.action is Action.REDEEM and f"till.{outcome}" in WORDS:
            words = say(self.language, f"till.{outcome}")
            return words + (" · " + say(self.language, "till.offline_short") if rest else "")
        return detail

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def added(self) -> None:
        for field in (self.name, self.pin, self.again):
            field.clear()

    def _add(self) -> None:
        name, pin, again = self.name.text().strip(), self.pin.text(), self.again.text()
        if not name:
            self.message.setText(say(self.language, "staff.need_name"))
            return
        if pin != again:
            self.message.setText(say(self.language, "staff.pins_differ"))
            return
        role = Role.MANAGER if self.as_manager.isChecked() else Role.ATTENDANT
        self.add_requested.emit(name, role.value, pin)

    def _retranslate(self) -> None:
        language = self.language
        self.title.setText(say(language, "staff.title"))
        self.log_title.setText(say(language, "staff.log"))
        self.form_title.setText(say(language, "staff.add"))
        self.name_label.setText(say(language, "staff.name"))
        self.pin_label.setText(say(language, "staff.pin"))
        self.again_label.setText(say(language, "staff.pin_again"))
        self.as_attendant.setText(say(language, "role.attendant"))
        self.as_manager.setText(say(language, "role.manager"))
        self.add.setText(say(language, "staff.save"))


class ThresholdsPage(QWidget):
    save_requested = Signal(object)  # AlertThresholds

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.language = Language.ZH_CN
        self.title = label(role="title")
        self.low_score = QSpinBox()
        self.low_score.setRange(1, 4)
        self.silence = QSpinBox()
        self.silence.setRange(30, 3600)
        self.silence.setSingleStep(30)
        self.device = QSpinBox()
        self.device.setRange(30, 3600)
        self.device.setSingleStep(30)
        self.captions = [label(role="section") for _ in range(3)]
        self.save = QPushButton()
        self.save.setProperty("role", "primary")
        self.save.clicked.connect(self._save)
        self.message = label(role="hint")
        card = QFrame()
        card.setProperty("role", "card")
        card.setMaximumWidth(720)
        column = QVBoxLayout(card)
        column.setContentsMargins(32, 28, 32, 28)
        column.setSpacing(10)
        for caption, box in zip(
            self.captions, (self.low_score, self.silence, self.device), strict=True
        ):
            column.addWidget(caption)
            column.addWidget(box)
            column.addSpacing(10)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save)
        buttons.addWidget(self.message, 1)
        column.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(16)
        layout.addWidget(self.title)
        layout.addWidget(card)
        layout.addStretch(1)
        self._retranslate()

    def set_language(self, language: Language) -> None:
        self.language = language
        self._retranslate()

    def show_thresholds(self, thresholds: AlertThresholds) -> None:
        self.low_score.setValue(thresholds.low_score)
        self.silence.setValue(round(thresholds.silence_s))
        self.device.setValue(round(thresholds.device_down_s))

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def _save(self) -> None:
        self.save_requested.emit(
            AlertThresholds(
                silence_s=float(self.silence.value()),
                device_down_s=float(self.device.value()),
                low_score=self.low_score.value(),
            )
        )

    def _retranslate(self) -> None:
        language = self.language
        self.title.setText(say(language, "thresholds.title"))
        for caption, key in zip(
            self.captions,
            ("thresholds.low_score", "thresholds.silence", "thresholds.device"),
            strict=True,
        ):
            caption.setText(say(language, key))
        self.save.setText(say(language, "thresholds.save"))
