"""The shopper's window: one screen at a time, rendered from the session state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QEvent, QObject, QPointF, QSize, QTimer, Signal
from PySide6.QtGui import QImage, QInputEvent, QMouseEvent, QResizeEvent, QTouchEvent
from PySide6.QtWidgets import QStackedLayout, QWidget

from content.bundle import Bundle
from content.model import Language
from kiosk import pages
from kiosk.images import ImageCache
from kiosk.maintenance_gesture import Touch
from kiosk.play_counts import PlayItem
from kiosk.screens.attract import AttractScreen, Slide, local_now
from kiosk.screens.common import ActionBar, Countdown, ProductCard, Screen
from kiosk.screens.compare import SIDE_IMAGE, CompareScreen
from kiosk.screens.product import HERO, THUMB_ICON, ProductScreen
from kiosk.screens.reward import CouponScreen, DrawScreen, MessageScreen
from kiosk.screens.signup import SignupScreen
from kiosk.screens.survey import SurveyScreen
from kiosk.screens.text_entry import SharedKeyboard
from kiosk.screens.welcome import WelcomeScreen
from kiosk.session import (
    ATTRACT,
    CompareView,
    CouponView,
    DrawView,
    FobView,
    ProductView,
    SessionState,
    SignupView,
    SurveyView,
    ThanksView,
    View,
    WelcomeView,
)

log = logging.getLogger("kiosk.screens")

_TOUCH_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)
_RELEASE_EVENTS = (QEvent.Type.MouseButtonRelease, QEvent.Type.TouchEnd)
# Product panels are prepared one per event-loop turn this far apart while the attract
# loop plays (each ~5 ms): a lift waits for one at most, the attract's frames for none.
PREPARE_GAP_MS = 15
PICTURES_WAIT_MS = 50  # a panel whose pictures are still decoding is tried again then
# The screens built the first time they are shown.
_Flow = TypeVar("_Flow", SignupScreen, SurveyScreen, MessageScreen, CouponScreen, DrawScreen)


class KioskWindow(QWidget):
    touched = Signal()
    recommendation_tapped = Signal(str, str)  # sku, shelf
    language_chosen = Signal(object)  # Language
    first_paint = Signal(str, float)  # view key, monotonic time the frame was painted
    signup_opened = Signal()
    age_answered = Signal(bool)
    signup_submitted = Signal(object)  # SignupForm
    survey_opened = Signal(str)
    survey_answered = Signal(object)  # Answer
    smiley_pressed = Signal(int)
    draw_opened = Signal(str)
    draw_requested = Signal()
    draw_skipped = Signal()  # a tap on the draw's animation
    flow_closed = Signal()
    offer_taken = Signal()  # the member offer's "take it" on the welcome
    offer_text_asked = Signal()  # its coupon's "send to my phone"
    offer_print_asked = Signal()  # its coupon's "print"
    video_failed = Signal(str, str, str)  # release, video (bundle path), why: skipped
    cabinet_prepared = Signal(int)  # every phone of the cabinet has its panel ready: how many
    # Every press and release with where and when (a maintenance_gesture.Touch), for the
    # maintenance door's hidden gesture and its screen's idle close.
    staff_touch = Signal(object)

    def __init__(
        self,
        images: ImageCache,
        slide_images: ImageCache,
        view_images: ImageCache,
        keyboard: SharedKeyboard,
        clock: Callable[[], float] = time.monotonic,
        *,
        store_clock: Callable[[], datetime] = local_now,
    ) -> None:
        """`store_clock`: the store's local time, which attract dayparts follow."""
        super().__init__()
        self.setObjectName("KioskWindow")
        self._clock = clock
        self._images = images
        self._keyboard = keyboard
        self._bundle: Bundle | None = None
        self._shown: tuple[str, object] | None = None  # (view key, what was rendered)
        self._awaiting_paint: str | None = None
        self._preload: list[tuple[Path, QSize]] = []  # started after the first frame
        self._make_handoff_qr: Callable[[], QImage | None] = lambda: None
        self._language = Language.ZH_CN
        self._watching_touches = False
        self._overlay: QWidget | None = None  # the staff's maintenance screen, over all
        self._portrait = False  # the window is taller than wide (Screen.set_portrait)
        # Phones whose product panel to prepare next, and in which language.
        self._to_prepare: list[str] = []
        self._prepare_language = Language.ZH_CN
        self._store_lifts: Mapping[str, float] = {}  # the session state's (pages.lifted_page)
        self._preparing = False  # a turn of `_prepare_next` is scheduled
        # One timer for every turn: QTimer.singleShot with a Python callable leaves a
        # little behind each call (measured ~1 KB a lift cycle with a dozen phones).
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.timeout.connect(self._prepare_next)
        self._painted_once = False

        self.attract = AttractScreen(slide_images, store_clock)
        self.attract.video_failed.connect(self._on_video_failed)
        self.product = ProductScreen(images, pages.SHELF_SIZE, view_images)
        self.compare = CompareScreen(images)
        self._store_clock = store_clock
        self.welcome = WelcomeScreen(images, clock)
        self.welcome.draw_chosen.connect(self.draw_opened)
        self.welcome.feedback_chosen.connect(self.survey_opened)
        self.welcome.offer_taken.connect(self.offer_taken)
        self.welcome.offer_painted.connect(self._offer_painted)
        # Sign-up, survey, draw and coupon screens are built when first shown: together
        # ~9 MB of widgets that a kiosk nobody signs up on never needs.
        self._flows: dict[type[Screen], Screen] = {}
        self.product.recommendation_tapped.connect(self.recommendation_tapped)
        self.welcome.recommendation_tapped.connect(self.recommendation_tapped)
        self._wire_browsing()
        self._stack = QStackedLayout(self)
        for each in (self.attract, self.product, self.compare, self.welcome):
            self._add_screen(each)
        self.countdown = Countdown(self, clock)
        self.countdown.stay.connect(self.touched)

    # -- content --

    def set_bundle(self, bundle: Bundle | None) -> None:
        self._bundle = bundle
        self._shown = None
        if bundle is None:
            self._to_prepare = []
            self.product.forget_prepared()
            self.attract.set_unavailable()
            return
        slides = [
            Slide(
                bundle.asset(item.image) if item.image is not None else None,
                item.seconds,
                item.caption,
                video=bundle.asset(item.video) if item.video is not None else None,
                plays_to_end=item.plays_to_end,
                hours=item.hours,
                weekdays=item.weekdays,
                play=PlayItem(item.play_id, item.campaign),
            )
            for item in bundle.playlist.items
        ]
        self.attract.set_slides(slides)
        self._preload = _cabinet_pictures(bundle)
        self.product.forget_prepared()  # the old release's phones, prices and pictures
        self._prepare_all()

    def _on_video_failed(self, path: Path, reason: str) -> None:
        if self._bundle is not None:
            asset = path.relative_to(self._bundle.root).as_posix()
            self.video_failed.emit(self._bundle.release, asset, reason)

    def _start_preload(self) -> None:
        """After the first frame: decoding competes with start-up for the two cores."""
        requests, self._preload = self._preload, []
        self._images.preload(requests)

    # -- rendering --

    def _wire_browsing(self) -> None:
        for screen in (self.product, self.compare, self.welcome):
            screen.language_chosen.connect(self.language_chosen)
            bar: ActionBar = screen.action_bar
            bar.join.connect(self.signup_opened)
            bar.feedback.connect(self.survey_opened)
            bar.draw.connect(self.draw_opened)
        self.attract.join.connect(self.signup_opened)
        self.attract.smiley_pressed.connect(self.smiley_pressed)

    @property
    def signup(self) -> SignupScreen:
        return self._flow(SignupScreen, self._new_signup)

    @property
    def survey(self) -> SurveyScreen:
        return self._flow(SurveyScreen, self._new_survey)

    @property
    def message(self) -> MessageScreen:
        return self._flow(MessageScreen, self._new_message)

    @property
    def draw(self) -> DrawScreen:
        return self._flow(DrawScreen, self._new_draw)

    @property
    def coupon(self) -> CouponScreen:
        return self._flow(CouponScreen, self._new_coupon)

    def _flow(self, kind: type[_Flow], new: Callable[[], _Flow]) -> _Flow:
        """The flow screen of `kind`, built and wired the first time it is asked for."""
        screen = self._flows.get(kind)
        if screen is None:
            screen = new()
            self._add_flow(screen)
        assert isinstance(screen, kind)
        return screen

    def _new_signup(self) -> SignupScreen:
        screen = SignupScreen(self._keyboard)
        screen.age_answered.connect(self.age_answered)
        screen.submitted.connect(self.signup_submitted)
        screen.handoff_requested.connect(self._show_handoff)
        screen.draw_opened.connect(self.draw_opened)
        return screen

    def _new_survey(self) -> SurveyScreen:
        screen = SurveyScreen(self._keyboard)
        screen.answered.connect(self.survey_answered)
        return screen

    def _new_message(self) -> MessageScreen:
        screen = MessageScreen()
        screen.join_requested.connect(self.signup_opened)
        return screen

    def _new_coupon(self) -> CouponScreen:
        screen = CouponScreen()
        screen.text_asked.connect(self.offer_text_asked)
        screen.print_asked.connect(self.offer_print_asked)
        return screen

    def _new_draw(self) -> DrawScreen:
        screen = DrawScreen(self._images)
        screen.pressed.connect(self.draw_requested)
        screen.skipped.connect(self.draw_skipped)
        screen.feedback_chosen.connect(self.survey_opened)
        return screen

    def _add_flow(self, screen: _Flow) -> None:
        screen.language_chosen.connect(self.language_chosen)
        screen.closed.connect(self.flow_closed)
        self._flows[type(screen)] = screen
        self._add_screen(screen)
        self.countdown.raise_()  # stays above every screen

    def _add_screen(self, screen: Screen) -> None:
        screen.set_portrait(self._portrait)
        self._stack.addWidget(screen)
        screen.frame_painted.connect(self._screen_painted)

    def _screen_painted(self) -> None:
        # A frame painted outside an update request (the window's first expose) is
        # reported once the event loop turns: no later update may come for seconds.
        QTimer.singleShot(0, self, self._report_first_paint)

    def show_state(self, state: SessionState) -> None:
        view = state.view if self._bundle is not None else ATTRACT
        self._language = state.language
        # Changes only as a session ends: the panels are prepared again at attract.
        self._store_lifts = state.store_lifts
        if view == ATTRACT and state.language is not self._prepare_language:
            self._prepare_language = state.language
            self._prepare_all()
        screen, page = self._page_for(view, state)
        self.countdown.show_until(state.wipe_at, state.language)
        self.welcome.show_leaving(state.return_at if screen is self.welcome else None)
        if (view.key, page) == self._shown:
            return
        if self._shown is None or self._shown[0] != view.key:
            self._awaiting_paint = view.key
            screen.painted = False
            screen.update()  # a new view on the same screen is a whole new frame
        self._shown = (view.key, page)
        for flow in self._flows.values():
            if flow is not screen and isinstance(flow, SignupScreen | SurveyScreen | CouponScreen):
                flow.wipe()  # whatever was typed or shown goes when its screen does
        if screen is self.attract:
            assert isinstance(page, pages.AttractPage)
            self.attract.show_page(page)
            if self._stack.currentWidget() is not self.attract:
                self.attract.start()
                # The last shopper may have left panels in another language, with a
                # notice: made ready again for the next one while nobody browses.
                self._prepare_all()
        else:
            self.attract.stop()
            self._render(page)
        self._stack.setCurrentWidget(screen)

    def _render(self, page: object) -> None:
        if isinstance(page, _WithActions):
            for screen in (self.product, self.compare, self.welcome):
                screen.action_bar.show_actions(page.actions)
            page = page.page
        if isinstance(page, pages.ProductPage):
            self.product.show_page(page)
        elif isinstance(page, pages.ComparePage):
            self.compare.show_page(page)
        elif isinstance(page, pages.WelcomePage):
            self.welcome.show_page(page)
        elif isinstance(page, pages.SignupPage):
            self.signup.show_page(page)
        elif isinstance(page, pages.SurveyPage):
            self.survey.show_page(page)
        elif isinstance(page, pages.MessagePage):
            self.message.show_page(page)
        elif isinstance(page, pages.DrawPage):
            self.draw.show_page(page)
        elif isinstance(page, pages.CouponPage):
            self.coupon.show_page(page)

    def _page_for(  # noqa: PLR0911, PLR0912 - one case per kind of screen
        self, view: View, state: SessionState
    ) -> tuple[Screen, object]:
        bundle = self._bundle
        if bundle is None:
            return self.attract, pages.attract_page(None, state)
        match view:
            case ProductView():
                product_page = pages.product_page(bundle, view, state)
                if product_page is not None:
                    return self.product, _with_actions(product_page, bundle, state)
            case CompareView():
                compare_page = pages.compare_page(bundle, view, state)
                if compare_page is not None:
                    return self.compare, _with_actions(compare_page, bundle, state)
            case WelcomeView() if state.member is not None:
                now = self._store_clock()
                welcome = pages.welcome_page(bundle, state.member, state, now)
                return self.welcome, _with_actions(welcome, bundle, state)
            case SignupView():
                return self.signup, pages.signup_page(bundle, view, state)
            case SurveyView():
                survey_page = pages.survey_page(bundle, view, state)
                if survey_page is not None:
                    return self.survey, survey_page
            case ThanksView():
                return self.message, pages.thanks_page(view, state)
            case DrawView():
                draw_page = pages.draw_page(bundle, view, state)
                if draw_page is not None:
                    return self.draw, draw_page
            case FobView():
                can_join = pages.actions(bundle, state).join is not None
                return self.message, pages.fob_page(view, state, can_join)
            case CouponView():
                return self.coupon, pages.coupon_page(bundle, view, state)
        return self.attract, pages.attract_page(bundle, state)

    def current_screen(self) -> QWidget:
        """The screen on show."""
        return self._stack.currentWidget()

    def set_handoff_source(self, make_qr: Callable[[], QImage | None]) -> None:
        """What "continue on your phone" shows: a fresh one-time link's QR code each
        time, or None when this kiosk cannot make one (not enrolled)."""
        self._make_handoff_qr = make_qr

    def _show_handoff(self) -> None:
        self.signup.show_handoff(self._make_handoff_qr(), self._language)

    def shut_down(self) -> None:
        """Stop every timer of the screens: the window outlives the kiosk in tests."""
        self.attract.stop()
        self.countdown.show_until(None, self._language)
        self._keyboard.forget()  # the panel keeps nothing of the last shopper
        self.close()

    def resizeEvent(self, event: QResizeEvent) -> None:
        portrait = event.size().height() > event.size().width()
        if portrait != self._portrait:
            self._portrait = portrait
            for index in range(self._stack.count()):
                screen = self._stack.widget(index)
                if isinstance(screen, Screen):
                    screen.set_portrait(portrait)
        super().resizeEvent(event)
        if self._overlay is not None:
            self._overlay.setGeometry(self.rect())
        self._prepare_all()  # laid out again at the new size

    # -- touches and paints --

    def watch_touches(self) -> None:
        """Every press anywhere in the window counts as the shopper still being there.

        The filter sits on the native window, which receives each input event once
        before Qt hands it to a widget. A filter on the application would run Python
        for every event of every object (timers, paints), and each of those calls
        waits for the interpreter lock while any other thread computes.
        """
        self.winId()  # creates the native window, if show() has not yet
        assert self.windowHandle() is not None, "a top-level widget has a window once winId() ran"
        self._watching_touches = True
        self._watch_window_handle()

    def _watch_window_handle(self) -> None:
        """Filter the native window the widget has now.

        Qt may replace it (a new surface type, a new screen): the new QWindow must be
        watched too, or no press would count again for the life of the process.
        Installing on a window already watched only moves the filter to the front.
        """
        handle = self.windowHandle()
        if handle is not None:
            handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        pressed = kind in _TOUCH_EVENTS
        covered = self._overlay is not None
        if pressed and not covered:
            self.touched.emit()  # staff at the maintenance screen are not a shopper
        if pressed or kind in _RELEASE_EVENTS:
            at = _position(event)
            if at is not None:
                assert isinstance(event, QInputEvent)  # as _position found
                size = self.size()
                # The input's own time: a busy GUI thread does not stretch a tap into a hold.
                when = event.timestamp() / 1000
                self.staff_touch.emit(
                    Touch(pressed, at.x(), at.y(), size.width(), size.height(), when)
                )
        # The tap that opened the maintenance screen is not a tap on the button under it.
        return pressed and not covered and self._overlay is not None

    def show_overlay(self, overlay: QWidget) -> None:
        """Cover the whole window with `overlay` (the maintenance screen) until
        `close_overlay`; shopper touches are not reported meanwhile."""
        self.close_overlay()
        self._overlay = overlay
        overlay.setParent(self)
        overlay.setGeometry(self.rect())
        overlay.show()
        overlay.raise_()

    def close_overlay(self) -> None:
        overlay, self._overlay = self._overlay, None
        if overlay is not None:
            overlay.hide()
            overlay.setParent(None)
            overlay.deleteLater()  # each opening makes its own: none may linger, unseen

    @property
    def overlay(self) -> QWidget | None:
        return self._overlay

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.WinIdChange and self._watching_touches:
            self._watch_window_handle()
        # The whole frame is painted once the window has handled its update request.
        if event.type() == QEvent.Type.UpdateRequest:
            self._report_first_paint()
        return handled

    def _offer_painted(self) -> None:
        """A member offer on the welcome: traced as a paint of its own ("welcome:N:offer"),
        for bench/offer_welcome.py; the welcome's first paint came before it."""
        if self._shown is not None and self._stack.currentWidget() is self.welcome:
            self.first_paint.emit(f"{self._shown[0]}:offer", self._clock())

    def _report_first_paint(self) -> None:
        current = self._stack.currentWidget()
        if self._awaiting_paint is not None and isinstance(current, Screen) and current.painted:
            key, self._awaiting_paint = self._awaiting_paint, None
            self._start_preload()
            self.first_paint.emit(key, self._clock())
            if not self._painted_once:
                self._painted_once = True
                self._schedule_prepare(PREPARE_GAP_MS)

    # -- product panels prepared ahead --

    def _prepare_all(self) -> None:
        """Queue every phone of the cabinet for its product panel (again)."""
        self._to_prepare = [] if self._bundle is None else list(pages.cabinet_skus(self._bundle))
        self._schedule_prepare(PREPARE_GAP_MS)

    def _schedule_prepare(self, delay_ms: int) -> None:
        # Not before the first frame: start-up has the cores until then.
        if self._preparing or not self._painted_once or not self._to_prepare:
            return
        self._preparing = True
        self._prepare_timer.start(delay_ms)

    def _prepare_next(self) -> None:
        """Prepare one phone's panel, while the attract loop plays (a shopper's screen
        gets every cycle), once its pictures are decoded (never on this thread)."""
        self._preparing = False
        bundle = self._bundle
        if bundle is None or not self._to_prepare:
            return
        if self._stack.currentWidget() is not self.attract:
            return  # resumed when the attract loop is back (show_state)
        page = pages.lifted_page(
            bundle, self._to_prepare[0], self._prepare_language, self._store_lifts
        )
        if page is not None:
            missing = [r for r in _page_pictures(page) if not self._images.has(*r)]
            if missing:
                self._images.preload(missing)
                self._preparing = True
                self._prepare_timer.start(PICTURES_WAIT_MS)
                return
            self.product.prepare(page)
        self._to_prepare.pop(0)
        if self._to_prepare:
            self._schedule_prepare(PREPARE_GAP_MS)
        else:
            self.cabinet_prepared.emit(len(self.product.prepared))


@dataclass(frozen=True, slots=True)
class _WithActions:
    """A browsing page and the buttons offered on it (join, feedback, draw)."""

    page: object
    actions: pages.Actions


def _with_actions(page: object, bundle: Bundle, state: SessionState) -> _WithActions:
    return _WithActions(page, pages.actions(bundle, state))


def _position(event: QEvent) -> QPointF | None:
    """Where a press or release happened, in the window; None for a touch with no point."""
    if isinstance(event, QMouseEvent):
        return event.position()
    if isinstance(event, QTouchEvent) and event.points():
        return event.points()[0].position()
    return None


def _page_pictures(page: pages.ProductPage) -> list[tuple[Path, QSize]]:
    """The pictures a product page shows on its first frame."""
    needed = [(page.images[0], HERO)] if page.images else []
    if len(page.images) > 1:
        needed += [(path, THUMB_ICON) for path in page.images]
    needed += [(card.image, ProductCard.THUMB) for card in page.related + page.best_sellers]
    return needed


def _cabinet_pictures(bundle: Bundle) -> list[tuple[Path, QSize]]:
    """The pictures a lift will need, to decode before any shopper lifts anything."""
    requests: list[tuple[Path, QSize]] = []
    for assignment in bundle.planogram.slots:
        product = bundle.product(assignment.sku)
        if product is None:
            continue
        front = bundle.asset(product.images[0])
        requests += [(front, HERO), (front, ProductCard.THUMB), (front, SIDE_IMAGE)]
        requests += [(bundle.asset(path), THUMB_ICON) for path in product.images]
    for sku in bundle.recommendations.best_sellers:
        product = bundle.product(sku)
        if product is not None:
            requests.append((bundle.asset(product.images[0]), ProductCard.THUMB))
    return requests
