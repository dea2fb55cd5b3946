"""The shopper's window: one screen at a time, rendered from the session state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Signal
from PySide6.QtWidgets import QStackedLayout, QWidget

from content.bundle import Bundle
from kiosk import pages
from kiosk.images import ImageCache
from kiosk.screens.attract import AttractScreen, Slide
from kiosk.screens.common import ProductCard, Screen
from kiosk.screens.compare import SIDE_IMAGE, CompareScreen
from kiosk.screens.product import HERO, THUMB_ICON, ProductScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.session import ATTRACT, CompareView, ProductView, SessionState, View, WelcomeView

log = logging.getLogger("kiosk.screens")

_TOUCH_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)


class KioskWindow(QWidget):
    touched = Signal()
    recommendation_tapped = Signal(str, str)  # sku, shelf
    language_chosen = Signal(object)  # Language
    first_paint = Signal(str, float)  # view key, monotonic time the frame was painted

    def __init__(
        self,
        images: ImageCache,
        slide_images: ImageCache,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.setObjectName("KioskWindow")
        self._clock = clock
        self._images = images
        self._bundle: Bundle | None = None
        self._shown: tuple[str, object] | None = None  # (view key, what was rendered)
        self._awaiting_paint: str | None = None
        self._preload: list[tuple[Path, QSize]] = []  # started after the first frame

        self.attract = AttractScreen(slide_images)
        self.product = ProductScreen(images, pages.SHELF_SIZE)
        self.compare = CompareScreen(images)
        self.welcome = WelcomeScreen(images)
        self.product.recommendation_tapped.connect(self.recommendation_tapped)
        self.welcome.recommendation_tapped.connect(self.recommendation_tapped)
        for screen in (self.product, self.compare, self.welcome):
            screen.language_chosen.connect(self.language_chosen)
        self._stack = QStackedLayout(self)
        for each in (self.attract, self.product, self.compare, self.welcome):
            self._stack.addWidget(each)

    # -- content --

    def set_bundle(self, bundle: Bundle | None) -> None:
        self._bundle = bundle
        self._shown = None
        if bundle is None:
            self.attract.set_unavailable()
            return
        slides = [
            Slide(bundle.asset(item.image), item.seconds, item.caption)
            for item in bundle.playlist.items
        ]
        self.attract.set_slides(slides)
        self._preload = _cabinet_pictures(bundle)

    def _start_preload(self) -> None:
        """After the first frame: decoding competes with start-up for the two cores."""
        requests, self._preload = self._preload, []
        self._images.preload(requests)

    # -- rendering --

    def show_state(self, state: SessionState) -> None:
        view = state.view if self._bundle is not None else ATTRACT
        screen, page = self._page_for(view, state)
        if (view.key, page) == self._shown:
            return
        if self._shown is None or self._shown[0] != view.key:
            self._awaiting_paint = view.key
            screen.painted = False
            screen.update()  # a new view on the same screen is a whole new frame
        self._shown = (view.key, page)
        if screen is self.attract:
            self.attract.show_language(state.language)
            if self._stack.currentWidget() is not self.attract:
                self.attract.start()
        else:
            self.attract.stop()
            if isinstance(page, pages.ProductPage):
                self.product.show_page(page)
            elif isinstance(page, pages.ComparePage):
                self.compare.show_page(page)
            elif isinstance(page, pages.WelcomePage):
                self.welcome.show_page(page)
        self._stack.setCurrentWidget(screen)

    def _page_for(self, view: View, state: SessionState) -> tuple[Screen, object]:
        bundle = self._bundle
        if bundle is not None and isinstance(view, ProductView):
            product_page = pages.product_page(bundle, view, state)
            if product_page is not None:
                return self.product, product_page
        if bundle is not None and isinstance(view, CompareView):
            compare_page = pages.compare_page(bundle, view, state)
            if compare_page is not None:
                return self.compare, compare_page
        if bundle is not None and isinstance(view, WelcomeView) and state.member is not None:
            return self.welcome, pages.welcome_page(bundle, state.member, state)
        return self.attract, state.language

    # -- touches and paints --

    def watch_touches(self) -> None:
        """Every press anywhere in the window counts as the shopper still being there.

        The filter sits on the native window, which receives each input event once
        before Qt hands it to a widget. A filter on the application would run Python
        for every event of every object (timers, paints), and each of those calls
        waits for the interpreter lock while any other thread computes.
        """
        self.winId()  # creates the native window, if show() has not yet
        handle = self.windowHandle()
        assert handle is not None, "a top-level widget has a window once winId() ran"
        handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _TOUCH_EVENTS:
            self.touched.emit()
        return False

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        # The whole frame is painted once the window has handled its update request.
        if event.type() == QEvent.Type.UpdateRequest:
            self._report_first_paint()
        return handled

    def _report_first_paint(self) -> None:
        current = self._stack.currentWidget()
        if self._awaiting_paint is not None and isinstance(current, Screen) and current.painted:
            key, self._awaiting_paint = self._awaiting_paint, None
            self._start_preload()
            self.first_paint.emit(key, self._clock())


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
