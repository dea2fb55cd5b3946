"""A survey question at a time: four faces, 0-10, choices or a few words.

Single answers (a face, a score, one choice) go at once: one tap per question.
Multiple choice and free text wait for "next". Text is typed on the window's
keyboard and is wiped with the rest of the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import QuestionKind
from kiosk.i18n import tr
from kiosk.pages import SurveyPage
from kiosk.screens.common import LanguageButton, Screen, button, label
from kiosk.screens.text_entry import TextField, dock_keyboard, focus_for_typing
from kiosk.survey import Answer

if TYPE_CHECKING:
    from kiosk.screens.keyboard import Keyboard

# HappyOrNot's colours, from very unhappy to very happy.
FACE_COLOURS: Final = ("#D93A32", "#F28C28", "#8CC63F", "#2E9E4F")
# Answers per row: 0-10 in one row of 1,700 px, or two rows (0-5, 6-10) in portrait;
# choices two a row, or one in portrait.
NPS_COLUMNS: Final = {False: 11, True: 6}  # landscape, portrait


class FaceButton(QPushButton):
    """A smiley face drawn with QPainter: no emoji font needed, same on every kiosk."""

    def __init__(self, score: int, diameter: int = 180) -> None:
        super().__init__()
        self.score = score
        self.setFixedSize(diameter, diameter)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 8
        box = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        colour = QColor(FACE_COLOURS[self.score - 1])
        if self.isDown():
            colour = colour.darker(120)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(box)
        ink = QPen(QColor("#FFFFFF"), side * 0.06)
        ink.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(ink)
        painter.setBrush(QColor("#FFFFFF"))
        eye = side * 0.07
        for x in (0.35, 0.65):
            centre = QPointF(box.left() + side * x, box.top() + side * 0.4)
            painter.drawEllipse(centre, eye / 2, eye / 2)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # Mouth: from a frown (score 1) to a broad smile (score 4).
        curve = (-0.16, -0.07, 0.07, 0.16)[self.score - 1]
        left = QPointF(box.left() + side * 0.3, box.top() + side * 0.68)
        right = QPointF(box.left() + side * 0.7, box.top() + side * 0.68)
        mouth = QPainterPath(left)
        mouth.quadTo(QPointF(box.center().x(), left.y() + side * curve * 2), right)
        painter.drawPath(mouth)


class SurveyScreen(Screen):
    answered = Signal(object)  # Answer
    closed = Signal()
    language_chosen = Signal(object)  # Language

    def __init__(self, make_keyboard: Callable[[], Keyboard]) -> None:
        super().__init__()
        self._make_keyboard = make_keyboard
        self._keyboard: Keyboard | None = None
        self._page: SurveyPage | None = None
        self._portrait = False
        self.title = label(role="brand", wrap=True)  # a long survey title never widens it
        self.progress = label(role="hint")
        self.language = LanguageButton()
        self.language.chosen.connect(self.language_chosen)
        self.close_button = button("", "secondary")
        self.close_button.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addSpacing(24)
        top.addWidget(self.progress)
        top.addSpacing(24)
        top.addWidget(self.language)
        top.addWidget(self.close_button)

        self.prompt = label(role="title", wrap=True)
        self.answers = QWidget()
        self._answers_layout = QGridLayout(self.answers)
        self._answers_layout.setSpacing(24)
        self.scale = QHBoxLayout()  # NPS ends: "not at all likely" ... "extremely likely"
        self.scale_low = label(role="hint")
        self.scale_high = label(role="hint")
        self.scale.addWidget(self.scale_low)
        self.scale.addStretch(1)
        self.scale.addWidget(self.scale_high)
        self.text = TextField()
        self.text.setProperty("role", "field")
        self.text.setInputMethodHints(
            Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.text.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.skip = button("", "secondary")
        self.skip.clicked.connect(lambda: self.answered.emit(Answer()))
        self.next = button("", "primary")
        self.next.clicked.connect(self._next)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.skip)
        actions.addWidget(self.next)

        self._keyboard_slot = QVBoxLayout()
        self._body = body = QVBoxLayout()
        body.setContentsMargins(96, 0, 96, 24)
        body.setSpacing(24)
        body.addLayout(top)
        body.addStretch(1)
        body.addWidget(self.prompt)
        body.addSpacing(24)
        body.addWidget(self.answers)
        body.addLayout(self.scale)
        body.addWidget(self.text)
        body.addStretch(2)
        body.addLayout(actions)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 24, 0, 0)
        layout.addLayout(body, 1)
        layout.addLayout(self._keyboard_slot)
        self._buttons: list[QPushButton] = []

    def set_portrait(self, portrait: bool) -> None:
        self._portrait = portrait
        margin = 64 if portrait else 96
        self._body.setContentsMargins(margin, 0, margin, 24)
        self._place_answers()

    def show_page(self, page: SurveyPage) -> None:
        language = page.language
        new_question = self._page is None or (page.prompt, page.kind) != (
            self._page.prompt,
            self._page.kind,
        )
        self._page = page
        self.title.setText(page.title.upper())
        self.progress.setText(page.progress)
        self.prompt.setText(page.prompt)
        self.language.show_language(language)
        self.close_button.setText(tr(language, "action.close"))
        self.skip.setText(tr(language, "action.skip"))
        self.next.setText(tr(language, "action.next"))
        self.skip.setVisible(page.optional)
        waits = page.kind in (QuestionKind.MULTIPLE, QuestionKind.TEXT)
        self.next.setVisible(waits)
        self.text.setVisible(page.kind is QuestionKind.TEXT)
        self.text.setMaxLength(page.max_length)
        nps = page.kind is QuestionKind.NPS
        self.scale_low.setVisible(nps)
        self.scale_high.setVisible(nps)
        self.scale_low.setText(tr(language, "survey.nps.low"))
        self.scale_high.setText(tr(language, "survey.nps.high"))
        if new_question:
            self.text.setText("")
            self._build_answers(page)
        else:  # same question in another language: relabel in place
            for widget, (_, text) in zip(self._buttons, page.choices, strict=False):
                if not isinstance(widget, FaceButton):
                    widget.setText(text)
        if page.kind is QuestionKind.TEXT:
            self._keyboard = dock_keyboard(self._make_keyboard(), self._keyboard_slot, language)
            focus_for_typing(self.text)
        elif self._keyboard is not None:
            self._keyboard.hide()

    def _build_answers(self, page: SurveyPage) -> None:
        for old in self._buttons:
            self._answers_layout.removeWidget(old)
            old.deleteLater()
        self._buttons = []
        for value, text in page.choices:
            widget: QPushButton
            if page.kind is QuestionKind.SMILEY:
                widget = FaceButton(int(value))
                widget.setToolTip(text)
            else:
                widget = button(text, "score" if page.kind is QuestionKind.NPS else "choice")
                widget.setCheckable(page.kind is QuestionKind.MULTIPLE)
            widget.setProperty("value", value)
            widget.clicked.connect(lambda _=False, v=value: self._picked(v))
            self._buttons.append(widget)
        self._place_answers()

    def _place_answers(self) -> None:
        page = self._page
        if page is None:
            return
        columns = {
            QuestionKind.NPS: NPS_COLUMNS[self._portrait],
            QuestionKind.SMILEY: 4,
        }.get(page.kind, 1 if self._portrait else 2)  # choices: one long sentence each
        for index, widget in enumerate(self._buttons):
            self._answers_layout.removeWidget(widget)
            self._answers_layout.addWidget(widget, index // columns, index % columns)

    def _picked(self, value: str) -> None:
        page = self._page
        if page is None:
            return
        match page.kind:
            case QuestionKind.SMILEY | QuestionKind.NPS:
                self.answered.emit(Answer(score=int(value)))
            case QuestionKind.SINGLE:
                self.answered.emit(Answer(choices=(value,)))
            case _:
                pass  # multiple choice: "next" sends what is ticked

    def _next(self) -> None:
        page = self._page
        if page is None:
            return
        if page.kind is QuestionKind.TEXT:
            self.answered.emit(Answer(text=self.text.text()))
            return
        picked = tuple(str(b.property("value")) for b in self._buttons if b.isChecked())
        self.answered.emit(Answer(choices=picked))

    def wipe(self) -> None:
        self.text.setText("")
        self._page = None
        for each in self._buttons:
            each.setChecked(False)
