"""The attendant app's window: the sign-in screen, or the bar, the alert banner and
one page at a time. It draws and emits what staff tapped; the console decides.

Pages a role may not use are not shown at all (staff.permitted, one question).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.alerts_page import AlertsPage
from kiosk.attendant.health_page import HealthPage
from kiosk.attendant.look import STYLE_SHEET
from kiosk.attendant.planogram_page import PlanogramPage
from kiosk.attendant.screen import AttendantScreen
from kiosk.attendant.signin import SignInScreen
from kiosk.attendant.staff import Action, StaffMember
from kiosk.attendant.staff_page import StaffPage, ThresholdsPage
from kiosk.attendant.till_page import TillPage
from kiosk.attendant.words import say
from kiosk.screens.common import label


class Page(enum.StrEnum):
    FEED = "feed"
    ALERTS = "alerts"
    HEALTH = "health"
    TILL = "till"
    PLANOGRAM = "planogram"
    STAFF = "staff"
    THRESHOLDS = "thresholds"


NEEDS: Final[dict[Page, Action]] = {
    Page.FEED: Action.VIEW_FEED,
    Page.ALERTS: Action.ACKNOWLEDGE,
    Page.HEALTH: Action.VIEW_FEED,
    Page.TILL: Action.REDEEM,
    Page.PLANOGRAM: Action.EDIT_PLANOGRAM,
    Page.STAFF: Action.MANAGE_STAFF,
    Page.THRESHOLDS: Action.SET_THRESHOLDS,
}


class AttendantWindow(QWidget):
    page_shown = Signal(str)  # Page
    sign_out_requested = Signal()
    language_requested = Signal(object)  # Language

    def __init__(self, store: str) -> None:
        super().__init__()
        self.setObjectName("AttendantWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE_SHEET)
        self.language = Language.ZH_CN
        self.store = store
        self.signin = SignInScreen()
        self.feed = AttendantScreen()
        self.alerts = AlertsPage()
        self.health = HealthPage()
        self.till = TillPage()
        self.planogram = PlanogramPage()
        self.staff = StaffPage()
        self.thresholds = ThresholdsPage()
        self.pages: dict[Page, QWidget] = {
            Page.FEED: self.feed,
            Page.ALERTS: self.alerts,
            Page.HEALTH: self.health,
            Page.TILL: self.till,
            Page.PLANOGRAM: self.planogram,
            Page.STAFF: self.staff,
            Page.THRESHOLDS: self.thresholds,
        }
        self.stack = QStackedWidget()
        for widget in self.pages.values():
            self.stack.addWidget(widget)

        bar = QFrame()
        bar.setProperty("role", "topbar")
        bar.setFixedHeight(80)
        self.brand = label(role="brand")
        self.store_label = label(role="store")
        brand = QVBoxLayout()
        brand.setSpacing(0)
        brand.addWidget(self.brand)
        brand.addWidget(self.store_label)
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        self.nav_buttons: dict[Page, QPushButton] = {}
        row = QHBoxLayout(bar)
        row.setContentsMargins(20, 8, 16, 8)
        row.setSpacing(6)
        row.addLayout(brand)
        row.addSpacing(18)
        for page in Page:
            button = QPushButton()
            button.setProperty("role", "nav")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, p=page: self.show_page(p))
            self.nav.addButton(button)
            self.nav_buttons[page] = button
            row.addWidget(button)
        row.addStretch(1)
        self.who = label(role="who")
        self.language_button = QPushButton()
        self.language_button.setProperty("role", "bar")
        self.language_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.language_button.clicked.connect(self._toggle_language)
        self.sign_out = QPushButton()
        self.sign_out.setProperty("role", "bar")
        self.sign_out.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sign_out.clicked.connect(self.sign_out_requested)
        row.addWidget(self.who)
        row.addSpacing(8)
        row.addWidget(self.language_button)
        row.addWidget(self.sign_out)

        self.banner = QFrame()
        self.banner.setProperty("role", "banner")
        self.banner_text = label(role="banner-text")
        self.banner_text.setTextFormat(Qt.TextFormat.PlainText)
        self.banner_button = QPushButton()
        self.banner_button.setProperty("role", "banner")
        self.banner_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.banner_button.clicked.connect(lambda: self.show_page(Page.ALERTS))
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(24, 8, 16, 8)
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(self.banner_button)
        self.banner.hide()
        self.notice = label(role="hint", wrap=True)
        self.notice.hide()

        main = self._main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(bar)
        column.addWidget(self.banner)
        column.addWidget(self.notice)
        column.addWidget(self.stack, 1)
        self.root = QStackedWidget()
        self.root.addWidget(self.signin)
        self.root.addWidget(main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.root)
        self.current = Page.FEED
        self._member: StaffMember | None = None
        self._allowed: set[Page] = set()
        self._open_alerts = 0
        self._banner_shown: tuple[int, str, Language] | None = None
        self.set_language(Language.ZH_CN)
        self.lock()

    # -- states -----------------------------------------------------------------------

    def lock(self) -> None:
        """Back to the sign-in screen (signed out or idle)."""
        self._allowed = set()
        self._member = None
        self.root.setCurrentWidget(self.signin)
        self.signin.reset()
        self.signin.setFocus()

    def unlock(self, member: StaffMember, may: Callable[[Action], bool]) -> None:
        self.who.setText(
            f"{member.display_name} · {say(self.language, f'role.{member.role.value}')}"
        )
        self._allowed = {page for page in Page if may(NEEDS[page])}
        for page, button in self.nav_buttons.items():
            button.setVisible(page in self._allowed)
        self.root.setCurrentWidget(self._main)
        self.show_page(Page.FEED)

    @property
    def locked(self) -> bool:
        return self.root.currentWidget() is self.signin

    def show_page(self, page: Page) -> None:
        if page not in self._allowed:
            return  # not for this role
        self.current = page
        self.nav_buttons[page].setChecked(True)
        self.stack.setCurrentWidget(self.pages[page])
        self.page_shown.emit(page.value)

    def _show_who(self) -> None:
        member = self._member
        role = "" if member is None else say(self.language, f"role.{member.role.value}")
        self.who.setText("" if member is None else f"{member.display_name} · {role}")

    def set_language(self, language: Language) -> None:
        self.language = language
        self._show_who()
        self.brand.setText(say(language, "app.name"))
        self.store_label.setText(say(language, "bar.store", store=self.store))
        self.language_button.setText(say(language, "bar.language"))
        self.sign_out.setText(say(language, "bar.sign_out"))
        self.banner_button.setText(say(language, "banner.show"))
        for page in (self.signin, self.till, self.planogram, self.staff, self.thresholds):
            page.set_language(language)
        self._nav_texts()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def show_alert_banner(self, count: int, first: str) -> None:
        """Open alerts stand out on every page: the banner and the alerts tab in the accent."""
        if (count, first, self.language) == self._banner_shown:
            return  # the usual case, message after message: nothing to restyle
        self._banner_shown = (count, first, self.language)
        self._open_alerts = count
        self.banner.setVisible(count > 0)
        if count:
            self.banner_text.setText(say(self.language, "banner.open", count=count, first=first))
        button = self.nav_buttons[Page.ALERTS]
        button.setProperty("alerting", count > 0)
        button.style().unpolish(button)
        button.style().polish(button)
        self._nav_texts()

    def _nav_texts(self) -> None:
        for page, button in self.nav_buttons.items():
            if page is Page.ALERTS and self._open_alerts:
                button.setText(say(self.language, "nav.alerts_open", count=self._open_alerts))
            else:
                button.setText(say(self.language, f"nav.{page.value}"))

    def _toggle_language(self) -> None:
        other = Language.EN if self.language is Language.ZH_CN else Language.ZH_CN
        self.language_requested.emit(other)
