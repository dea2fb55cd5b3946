"""The on-screen keyboard inside the kiosk window: Qt Virtual Keyboard, Pinyin and English.

Qt Virtual Keyboard's `InputPanel` is a QML item; a QQuickWidget hosts it among
the widgets, and it types into whichever QLineEdit has focus. That needs the
application to run with `QT_IM_MODULE=qtvirtualkeyboard` (set by `kiosk.app`
before Qt starts, see `input_method_environment`) and the keyboard's own desktop
window disabled, so it never appears outside the kiosk window.

The panel costs about 40 MB once loaded, so it is built the first time a form
needs it, not at start; this module (and PySide6.QtQuickWidgets, ~12 MB) is
imported only then, by `kiosk.screens.text_entry.SharedKeyboard`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final, cast

from PySide6.QtCore import QSizeF, Qt, QTimer, QUrl
from PySide6.QtGui import QGuiApplication, QResizeEvent, QShowEvent
from PySide6.QtQuick import QQuickWindow, QSGRendererInterface
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QApplication, QLineEdit, QSizePolicy

from content.model import Language
from kiosk import theme

log = logging.getLogger("kiosk.screens.keyboard")

QML_DIR: Final = Path(__file__).with_name("qml")  # also holds QtQuick/VirtualKeyboard/Styles/kiosk
QML: Final = QML_DIR / "keyboard.qml"
PANEL_WIDTH: Final = 1280  # px: keys ~120 x 100 px, larger than a thumb
CANDIDATES_HEIGHT: Final = 90  # px: the candidate row, a thumb's height
# The style's keys are DESIGN_HEIGHT/2560 of the panel's width tall: in portrait the
# panel is 1080 px wide, and a taller design keeps the keys ~105 px high.
DESIGN_HEIGHT: Final = {False: 800, True: 1000}  # landscape, portrait
PANEL_HEIGHT: Final = round(PANEL_WIDTH * 800 / 2560) + CANDIDATES_HEIGHT  # 490 px

_LOCALES: Final = {Language.ZH_CN: "zh_CN", Language.EN: "en_US"}


def _render_in_software() -> None:
    """Have Qt Quick draw with the CPU into the window's own raster surface.

    With a GPU API, the first QQuickWidget in a window makes Qt switch that window to
    an OpenGL surface, which destroys and re-creates its native window: one black
    frame, a lost tap, and a new QWindow that the kiosk's touch watch is not on. The
    keyboard is a few flat keys; drawing it in software needs no re-creation, and
    under Mesa's llvmpipe it measured ~120 MB less RSS and a first frame in half the
    time (bench/keyboard_window.py). Takes effect only before the first Qt Quick window
    or widget is made, so it runs as the keyboard is built.
    """
    if QQuickWindow.sceneGraphBackend() != "software":  # once: Qt warns if asked again
        QQuickWindow.setGraphicsApi(QSGRendererInterface.GraphicsApi.Software)


def _style_theme(portrait: bool) -> dict[str, str | int]:
    """The theme as the keyboard's QML reads it (`kioskTheme.accent`, ...)."""
    return {
        "designHeight": DESIGN_HEIGHT[portrait],
        "candidateHeight": CANDIDATES_HEIGHT,
        "fontFamily": theme.ui_font().family(),
        "background": theme.BACKGROUND.name(),
        "surface": theme.SURFACE.name(),
        "ink": theme.INK.name(),
        "inkSoft": theme.INK_SOFT.name(),
        "line": theme.LINE.name(),
        "accent": theme.ACCENT.name(),
    }


class Keyboard(QQuickWidget):
    """The keyboard panel, as a widget the width of the screen."""

    def __init__(self, user_data: Path) -> None:
        """`user_data`: a private directory for what Pinyin learns, emptied by `forget`."""
        _render_in_software()
        super().__init__()
        self._user_data = user_data
        self.setObjectName("Keyboard")
        # A key press must leave focus in the field being typed into: that field is
        # where the input method sends its text.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # The panel's own background from the first frame, before the QML has painted:
        # no dark flash under the light form.
        self.setClearColor(theme.LINE)
        user_data.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The kiosk's style (Styles/kiosk/style.qml) is looked up on the import path.
        self.engine().addImportPath(str(QML_DIR))
        self._portrait = False
        self.rootContext().setContextProperty("kioskTheme", _style_theme(self._portrait))
        self.setSource(QUrl.fromLocalFile(str(QML)))
        # Qt Virtual Keyboard sends text only while the input method is "shown"; it
        # hides it on some focus changes between windows and panels. While this panel
        # is on screen under a field, it must type: show it again.
        QGuiApplication.inputMethod().visibleChanged.connect(self._keep_input_method_shown)
        root = self.rootObject()
        if root is not None:
            root.setProperty("panelWidth", PANEL_WIDTH)
            # The panel's height is known once it has a width: follow it.
            # (A signal QML declares: PySide6 finds it at run time, the stubs cannot.)
            cast(Any, root).panelHeightChanged.connect(self._fit_panel)
            self._fit_panel()
        self.setFixedHeight(PANEL_HEIGHT)  # until the panel says, the same
        if self.status() is not QQuickWidget.Status.Ready:
            # Missing plugin or libraries: the form still works with a hardware keyboard.
            log.error(
                "on-screen keyboard unavailable: %s", "; ".join(e.toString() for e in self.errors())
            )

    def _keep_input_method_shown(self) -> None:
        method = QGuiApplication.inputMethod()
        focused = QApplication.focusWidget()
        if not method.isVisible() and self.isVisible() and isinstance(focused, QLineEdit):
            QTimer.singleShot(0, self, method.show)

    def set_portrait(self, portrait: bool) -> None:
        """Taller keys for a portrait window (the panel then follows; see _fit_panel)."""
        if portrait != self._portrait:
            self._portrait = portrait
            self.rootContext().setContextProperty("kioskTheme", _style_theme(portrait))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._size_root()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._size_root()

    def _size_root(self) -> None:
        # QQuickWidget sizes its root to the view only while shown: a keyboard built
        # hidden (during the age question) or refitted for portrait while hidden kept
        # its old height, and its keys hung below the window.
        root = self.rootObject()
        if root is not None:
            root.setSize(QSizeF(self.size()))

    def _fit_panel(self) -> None:
        root = self.rootObject()
        height = 0 if root is None else int(root.property("panelHeight"))
        if height > 0:
            self.setFixedHeight(height)

    @property
    def ready(self) -> bool:
        return self.status() is QQuickWidget.Status.Ready

    def show_language(self, language: Language) -> None:
        root = self.rootObject()
        if root is not None:
            root.setProperty("locale", _LOCALES[language])

    def forget(self) -> None:
        """Drop whatever the input methods learned from the last shopper's typing."""
        root = self.rootObject()
        if root is not None:
            root.setProperty("wipes", int(root.property("wipes")) + 1)
        for leftover in self._user_data.rglob("*"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
