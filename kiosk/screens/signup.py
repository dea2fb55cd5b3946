"""Sign-up: the age question, the form with its on-screen keyboard, and the welcome.

What the shopper types stays in these fields until "submit" hands it over as a
`SignupForm`. `wipe()` empties every field (with its undo history) and makes the
keyboard forget what it learned; the window calls it whenever the sign-up ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QScroller,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from content.model import ConsentPurpose, Language
from kiosk import theme
from kiosk.i18n import tr
from kiosk.pages import SignupPage, WelcomeCoupon
from kiosk.screens.common import (
    ImageView,
    LanguageButton,
    Screen,
    button,
    label,
    scrolling_column,
)
from kiosk.screens.text_entry import TextField, dock_keyboard, focus_for_typing
from kiosk.session import SignupStep
from kiosk.signup import FormField, SignupForm

if TYPE_CHECKING:
    from kiosk.screens.keyboard import Keyboard

_SENSITIVE = Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText
SIDE_MARGIN = {False: 96, True: 48}  # px left and right, landscape / portrait
SCROLL_BAR = 28  # px: wide enough to catch with a thumb
KEYBOARD_AFTER_MS = 150  # the age question paints first; reading it takes seconds
MAX_BENEFITS = 3  # what membership gives, on the last step (kiosk.pages._membership)

# The sign-up's own look, on top of theme.STYLE_SHEET: scroll bars a thumb can drag,
# in the theme's colours; the consent titles and the welcome's benefits.
_STYLE = f"""
QScrollBar:vertical {{ background: {theme.LINE.name()}; width: {SCROLL_BAR}px;
    border-radius: {SCROLL_BAR // 2}px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {theme.INK_SOFT.name()}; min-height: 96px;
    border-radius: {SCROLL_BAR // 2}px; }}
QScrollBar::handle:vertical:pressed {{ background: {theme.INK.name()}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; border: none; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QScrollArea[role="form"], QScrollArea[role="form"] > QWidget > QWidget,
QScrollArea[role="done"], QScrollArea[role="done"] > QWidget > QWidget {{
    background: transparent; border: none; }}
QLabel[role="consent-title"] {{ font-size: 28px; font-weight: 500; }}
QLabel[role="benefits-title"] {{ color: {theme.INK_SOFT.name()}; font-size: 28px;
    font-weight: 500; }}
QLabel[role="benefit-mark"] {{ color: {theme.ACCENT.name()}; font-size: 34px;
    font-weight: 700; }}
QLabel[role="benefit"] {{ font-size: 34px; }}
QLabel[role="next-step"] {{ font-size: 40px; font-weight: 700; }}
QFrame[role="welcome-coupon"] {{ background: {theme.ACCENT_SOFT.name()};
    border: 2px dashed {theme.ACCENT.name()}; border-radius: 24px; }}
QFrame[role="welcome-coupon"] QLabel {{ background: transparent; border: none; }}
QLabel[role="welcome-code"] {{ font-family: "DejaVu Sans Mono", monospace; font-size: 34px;
    font-weight: 700; }}
"""


class _Field(QWidget):
    """A labelled line edit with its error line."""

    def __init__(self, hints: Qt.InputMethodHint, max_length: int) -> None:
        super().__init__()
        self.caption = label(role="field-label")
        self.error = label(role="error")
        self.edit = TextField()
        self.edit.setProperty("role", "field")
        self.edit.setInputMethodHints(hints | _SENSITIVE)
        self.edit.setMaxLength(max_length)
        self.edit.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        top = QHBoxLayout()
        top.addWidget(self.caption)
        top.addStretch(1)
        top.addWidget(self.error)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.edit)

    def show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.edit.setProperty("invalid", "true" if text else "false")
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)

    def wipe(self) -> None:
        self.edit.setText("")  # unlike clear(), also drops the undo history
        self.show_error(None)


class _TapToTick(QLabel):
    """A tick box's title on lines of its own (a QCheckBox never wraps its text, so a
    long title was cut mid-line); a tap on it ticks the box, as on the box's own text."""

    def __init__(self, box: QCheckBox) -> None:
        super().__init__()
        self._box = box
        self.setProperty("role", "consent-title")
        self.setWordWrap(True)
        self.setMinimumHeight(theme.TOUCH_MIN)  # level with the tick box beside it
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.rect().contains(event.position().toPoint()):
            self._box.toggle()
        super().mouseReleaseEvent(event)


class _Consent(QWidget):
    def __init__(self, purpose: ConsentPurpose) -> None:
        super().__init__()
        self.purpose = purpose
        self.box = QCheckBox()
        self.box.setProperty("role", "consent")
        self.box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.title = _TapToTick(self.box)
        self.text = label(role="notice-text", wrap=True)
        self.version = label(role="notice-text")
        heading = QHBoxLayout()
        heading.setSpacing(20)
        heading.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        heading.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 20)
        layout.setSpacing(4)
        layout.addLayout(heading)
        layout.addWidget(self.text)
        layout.addWidget(self.version)

    def show_item(self, title: str, text: str, version: str) -> None:
        self.box.setAccessibleName(title)
        self.title.setText(title)
        self.text.setText(text)
        self.version.setText(version)


class SignupScreen(Screen):
    age_answered = Signal(bool)
    submitted = Signal(object)  # SignupForm
    closed = Signal()
    draw_opened = Signal(str)
    handoff_requested = Signal()
    language_chosen = Signal(object)  # Language

    def __init__(self, make_keyboard: Callable[[], Keyboard]) -> None:
        """`make_keyboard` gives the window's one keyboard, built on first use."""
        super().__init__()
        self._make_keyboard = make_keyboard
        self._keyboard: Keyboard | None = None
        self._draw = ""
        self.setStyleSheet(_STYLE)
        self.title = label(role="title", wrap=True)
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.handoff = button("", "secondary")
        self.handoff.clicked.connect(self.handoff_requested)
        self.submit = button("", "primary")
        self.submit.clicked.connect(self._submit)
        self.cancel = button("", "secondary")
        self.cancel.clicked.connect(self.closed)
        # The title and the buttons: one row in landscape; in portrait the buttons but
        # the language get a row of their own under the title (see set_portrait).
        self._top = QHBoxLayout()
        self._top.addWidget(self.title, 1)
        self._buttons = QHBoxLayout()
        self._buttons.addStretch(1)
        self._top.addLayout(self._buttons)
        self._portrait_buttons = QHBoxLayout()
        self._portrait_buttons.addStretch(1)
        self._portrait = False
        self._place_buttons()

        self._keyboard_slot = QVBoxLayout()
        self._keyboard_slot.setContentsMargins(0, 0, 0, 0)
        # Tight above the keyboard: in landscape the whole form fits over it unscrolled.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(4)
        margins = self._margins = QVBoxLayout()
        margins.setContentsMargins(SIDE_MARGIN[False], 0, SIDE_MARGIN[False], 4)
        margins.addLayout(self._top)
        margins.addLayout(self._portrait_buttons)
        layout.addLayout(margins, 1)
        layout.addLayout(self._keyboard_slot)
        # The stacked layout joins this screen before its pages do: a stack without a
        # widget shows its first page as a window of its own, which takes the focus.
        self._steps = QStackedLayout()
        margins.addLayout(self._steps, 1)
        self._age = self._build_age()
        self._under_age = self._build_message()
        self._form = self._build_form()
        self._done = self._build_done()
        for page in (self._age, self._under_age, self._form, self._done):
            self._steps.addWidget(page)
        self._handoff_overlay = _HandoffOverlay(self)

    def set_portrait(self, portrait: bool) -> None:
        self._portrait = portrait
        if self._keyboard is not None:
            self._keyboard.set_portrait(portrait)
        side = SIDE_MARGIN[portrait]
        self._margins.setContentsMargins(side, 0, side, 4)
        self._place_buttons()
        # Landscape: fields left, notices right; portrait: fields above the notices.
        self._form_body.setDirection(
            QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
        )
        self._form_body.setSpacing(24 if portrait else 64)
        # Portrait: the fields take the room they need (the window is tall), the notices
        # the rest; landscape: the fields scroll beside the notices, over the keyboard.
        self._form_body.setStretch(0, 0 if portrait else 1)
        column = self.fields.widget()
        needed = column.sizeHint().height() if portrait and column is not None else 0
        self.fields.setMinimumHeight(max(needed, theme.TOUCH_MIN * 2))
        self._done_body.setDirection(
            QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
        )

    def _place_buttons(self) -> None:
        for each in (self.handoff, self.language, self.cancel, self.submit):
            self._buttons.removeWidget(each)
            self._portrait_buttons.removeWidget(each)
        if self._portrait:
            self._buttons.addWidget(self.language)
            for each in (self.handoff, self.cancel, self.submit):
                self._portrait_buttons.addWidget(each)
        else:
            for each in (self.handoff, self.language, self.cancel, self.submit):
                self._buttons.addWidget(each)

    # -- building --

    def _build_age(self) -> QWidget:
        page = QWidget()
        self.age_question = label(role="title", wrap=True)
        self.age_yes = button("", "choice")
        self.age_no = button("", "choice")
        self.age_yes.clicked.connect(lambda: self.age_answered.emit(True))
        self.age_no.clicked.connect(lambda: self.age_answered.emit(False))
        row = QHBoxLayout()
        row.setSpacing(32)
        row.addWidget(self.age_yes)
        row.addWidget(self.age_no)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.age_question, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(48)
        layout.addLayout(row)
        layout.addStretch(2)
        return page

    def _build_message(self) -> QWidget:
        page = QWidget()
        self.under_age_body = label(role="body", wrap=True)
        self.under_age_close = button("", "primary")
        self.under_age_close.clicked.connect(self.closed)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.under_age_body)
        layout.addSpacing(48)
        layout.addWidget(self.under_age_close, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(2)
        return page

    def _build_form(self) -> QWidget:
        page = QWidget()
        hint = Qt.InputMethodHint
        self.phone = _Field(hint.ImhDialableCharactersOnly, 20)
        self.name = _Field(hint.ImhNone, 40)
        self.email = _Field(
            hint.ImhEmailCharactersOnly | hint.ImhNoAutoUppercase | hint.ImhPreferLatin, 254
        )
        self.greet = QCheckBox()
        self.greet.setProperty("role", "consent")
        self.greet.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # The fields scroll inside their column: an error line or a short window never
        # pushes the last of them (or the window) out of sight.
        fields = self.fields = scrolling_column(
            self.phone, self.name, self.email, self.greet, right=SCROLL_BAR + 8
        )
        holder = fields.widget()
        spacing = None if holder is None else holder.layout()
        if spacing is not None:
            spacing.setSpacing(4)
        fields.setProperty("role", "form")
        fields.setFrameShape(QFrame.Shape.NoFrame)
        fields.setMinimumHeight(theme.TOUCH_MIN * 2)
        QScroller.grabGesture(fields.viewport(), QScroller.ScrollerGestureType.TouchGesture)

        self.consents_title = label(role="field-label")
        self.consent_error = label(role="error")
        self.consents = {purpose: _Consent(purpose) for purpose in ConsentPurpose}
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, SCROLL_BAR + 16, 0)
        for consent in self.consents.values():
            column.addWidget(consent)
        column.addStretch(1)
        scroll = self.notices = QScrollArea()
        scroll.setProperty("role", "notices")
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A finger drags the notices up and down, as on a phone.
        QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        scroll.setMinimumHeight(theme.TOUCH_MIN * 2)
        heading = QHBoxLayout()
        heading.addWidget(self.consents_title, 1)
        heading.addWidget(self.consent_error, 0, Qt.AlignmentFlag.AlignRight)
        right = QVBoxLayout()
        right.setSpacing(8)  # not the columns' 64 px, which a sub-layout would inherit
        right.addLayout(heading)
        right.addWidget(scroll, 1)

        body = self._form_body = QBoxLayout(QBoxLayout.Direction.LeftToRight, page)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(64)
        body.addWidget(fields, 1)
        body.addLayout(right, 1)
        return page

    def _build_done(self) -> QWidget:
        """The new member's welcome: what membership gives them, then the next step."""
        page = QWidget()
        self.benefits_title = label(role="benefits-title")
        self.benefits = [label(role="benefit", wrap=True) for _ in range(MAX_BENEFITS)]
        listed = QVBoxLayout()
        listed.setSpacing(20)
        listed.addWidget(self.benefits_title)
        for benefit in self.benefits:
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.setSpacing(20)
            line.addWidget(label("✓", "benefit-mark"), 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(benefit, 1)
            listed.addWidget(row)
        self.binding = label(role="notice", wrap=True)
        self.coupon = _WelcomeCouponBox()
        self.next_step = label(role="next-step", wrap=True)
        self.draw = button("", "primary")
        self.draw.clicked.connect(lambda: self.draw_opened.emit(self._draw))
        self.done = button("", "secondary")
        self.done.clicked.connect(self.closed)
        buttons = QHBoxLayout()
        buttons.setSpacing(24)
        buttons.addWidget(self.draw)
        buttons.addWidget(self.done)
        buttons.addStretch(1)
        then = QVBoxLayout()
        then.setSpacing(24)
        then.addWidget(self.binding)
        then.addWidget(self.coupon)
        then.addWidget(self.next_step)
        then.addLayout(buttons)
        then.addStretch(1)
        card = QFrame()
        card.setProperty("role", "dialog")
        body = self._done_body = QBoxLayout(QBoxLayout.Direction.LeftToRight, card)
        body.setContentsMargins(64, 56, 64, 56)
        body.setSpacing(64)
        body.addLayout(listed, 1)
        body.addLayout(then, 1)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, SCROLL_BAR + 8, 0)
        column.addStretch(1)  # the card sits in the middle of the room, scrolls if taller
        column.addWidget(card)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        self.done_area = scroll
        scroll.setProperty("role", "done")
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 32, 0, 24)
        layout.addWidget(scroll)
        return page

    # -- rendering --

    def show_page(self, page: SignupPage) -> None:
        language = page.language
        self.title.setText(page.title)
        self.language.show_language(language)
        self.cancel.setText(tr(language, "action.cancel"))
        self.submit.setText(tr(language, "action.submit"))
        self.handoff.setText(tr(language, "signup.phone_continue"))
        form = page.step is SignupStep.FORM
        self.submit.setVisible(form)
        self.handoff.setVisible(form or page.step is SignupStep.AGE)
        self.cancel.setVisible(page.step in (SignupStep.AGE, SignupStep.FORM))
        self._show_texts(language)
        errors = dict(page.errors)
        self.phone.show_error(errors.get(FormField.PHONE))
        self.name.show_error(errors.get(FormField.NAME))
        self.email.show_error(errors.get(FormField.EMAIL))
        self.consent_error.setText(errors.get(FormField.CONSENT, ""))
        for item in page.consents:
            self.consents[item.purpose].show_item(item.label, item.text, item.version)
        self.benefits_title.setText(tr(language, "signup.done.benefits"))
        for index, shown in enumerate(self.benefits):
            text = page.benefits[index] if index < len(page.benefits) else ""
            shown.setText(text)
            row = shown.parentWidget()
            if row is not None:
                row.setVisible(bool(text))
        self.next_step.setText(page.next_step)
        self.coupon.show_coupon(page.coupon)
        self.binding.setVisible(page.binding is not None)
        self.binding.setText(page.binding or "")
        self.draw.setVisible(page.draw is not None)
        self._draw, text = page.draw or ("", "")
        self.draw.setText(text)
        steps = {
            SignupStep.AGE: self._age,
            SignupStep.UNDER_AGE: self._under_age,
            SignupStep.FORM: self._form,
            SignupStep.DONE: self._done,
        }
        self._steps.setCurrentWidget(steps[page.step])
        self._show_keyboard(form, language)
        if page.step is SignupStep.AGE and self._keyboard is None:
            # Built while the shopper reads the age question, after it has painted: the
            # form's keyboard then only shows, and the first tap on it counts.
            QTimer.singleShot(KEYBOARD_AFTER_MS, self, self._prepare_keyboard)
        if form and not any(f.edit.hasFocus() for f in (self.phone, self.name, self.email)):
            first_wrong = next(
                (f for f in (self.phone, self.name, self.email) if f.error.text()), self.phone
            )
            focus_for_typing(first_wrong.edit)

    def _show_texts(self, language: Language) -> None:
        self.age_question.setText(tr(language, "signup.age.question"))
        self.age_yes.setText(tr(language, "signup.age.yes"))
        self.age_no.setText(tr(language, "signup.age.no"))
        self.under_age_body.setText(tr(language, "signup.under_age.body"))
        self.under_age_close.setText(tr(language, "action.close"))
        self.phone.caption.setText(tr(language, "signup.phone"))
        self.phone.edit.setPlaceholderText(tr(language, "signup.phone_hint"))
        self.name.caption.setText(tr(language, "signup.name"))
        self.name.edit.setPlaceholderText(tr(language, "signup.name_hint"))
        self.email.caption.setText(tr(language, "signup.email"))
        self.greet.setText(tr(language, "signup.greet"))
        self.consents_title.setText(tr(language, "signup.consents"))
        self.done.setText(tr(language, "action.done"))

    def _prepare_keyboard(self) -> None:
        if self._keyboard is None and self.isVisible():
            self._keyboard = self._make_keyboard()
            self._keyboard.set_portrait(self._portrait)
            if self._keyboard_slot.indexOf(self._keyboard) < 0:
                self._keyboard_slot.addWidget(self._keyboard)
            self._keyboard.setVisible(self._steps.currentWidget() is self._form)

    def _show_keyboard(self, visible: bool, language: Language) -> None:
        if visible:
            self._keyboard = dock_keyboard(self._make_keyboard(), self._keyboard_slot, language)
            self._keyboard.set_portrait(self._portrait)
        elif self._keyboard is not None:
            self._keyboard.hide()

    @property
    def keyboard(self) -> Keyboard | None:
        return self._keyboard

    # -- intents --

    def _submit(self) -> None:
        form = SignupForm(
            phone=self.phone.edit.text(),
            name=self.name.edit.text(),
            email=self.email.edit.text(),
            consents=frozenset(p for p, c in self.consents.items() if c.box.isChecked()),
            greet_by_name=self.greet.isChecked(),
        )
        self.submitted.emit(form)

    def show_handoff(self, qr: QImage | None, language: Language) -> None:
        self._handoff_overlay.show_code(qr, language)

    def wipe(self) -> None:
        """Forget everything typed and ticked: the next shopper starts from nothing."""
        for each in (self.phone, self.name, self.email):
            each.wipe()
        for consent in self.consents.values():
            consent.box.setChecked(False)
        self.greet.setChecked(False)
        self.consent_error.setText("")
        self.coupon.show_coupon(None)
        self._handoff_overlay.hide()
        if self._keyboard is not None:
            self._keyboard.forget()


class _WelcomeCouponBox(QFrame):
    """The new member's welcome coupon: what it gives, its code, until when."""

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "welcome-coupon")
        self.heading = label(role="benefits-title", wrap=True)
        self.offer = label(role="next-step", wrap=True)
        self.code = label(role="welcome-code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.expires = label(role="notice-text", wrap=True)
        self.how = label(role="notice-text", wrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(8)
        for each in (self.heading, self.offer, self.code, self.expires, self.how):
            layout.addWidget(each)
        self.hide()

    def show_coupon(self, coupon: WelcomeCoupon | None) -> None:
        self.setVisible(coupon is not None)
        if coupon is None:
            for each in (self.heading, self.offer, self.code, self.expires, self.how):
                each.setText("")  # the code leaves the screen with the new member
            return
        self.heading.setText(coupon.heading)
        self.offer.setText(coupon.offer)
        self.code.setText(coupon.code)
        self.expires.setText(coupon.expires)
        self.how.setText(coupon.how)


class _HandoffOverlay(QFrame):
    """The "continue on your phone" QR code, over the form until tapped away."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self._host = host
        self.setProperty("role", "overlay")
        dialog = QFrame()
        dialog.setProperty("role", "dialog")
        self.code = ImageView(QImage().size())
        self.code.setFixedSize(420, 420)
        self.hint = label(role="body", wrap=True)
        self.close_button = button("", "primary")
        self.close_button.clicked.connect(self.hide)
        inner = QVBoxLayout(dialog)
        inner.setContentsMargins(64, 56, 64, 56)
        inner.setSpacing(24)
        inner.addWidget(self.code, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(self.hint)
        inner.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)
        dialog.setFixedWidth(760)
        outer = QVBoxLayout(self)
        outer.addWidget(dialog, 0, Qt.AlignmentFlag.AlignCenter)
        self.hide()

    def show_code(self, qr: QImage | None, language: Language) -> None:
        if qr is None:
            self.hide()
            return
        self.code.set_image(qr)
        self.hint.setText(tr(language, "signup.phone_continue_hint"))
        self.close_button.setText(tr(language, "action.close"))
        self.setGeometry(self._host.rect())
        self.raise_()
        self.show()
