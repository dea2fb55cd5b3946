"""The planogram editor (store managers): which phone sits on which slot of a kiosk's
cabinet. Slots as a grid of cards (product name, and who changed it when); tap one,
pick the phone from that kiosk's catalog, confirm. The app sends the change to the
kiosk and shows the kiosk's new planogram when it answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from content.model import Language
from kiosk.attendant.words import say
from kiosk.screens.common import label, scrolling_column

COLUMNS: Final = 4


@dataclass(frozen=True, slots=True)
class SlotView:
    slot: int
    sku: str
    name: str  # the product's name in the screen's language ("" if the sku is unknown)
    edited: str | None  # "李店长 · 12-06 14:05", None: as in the bundle


@dataclass(frozen=True, slots=True)
class ProductChoice:
    sku: str
    name: str
    brand: str


class PlanogramPage(QWidget):
    kiosk_chosen = Signal(str)
    change_requested = Signal(str, int, str)  # kiosk, slot, sku

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.language = Language.ZH_CN
        self.title = label(role="title")
        self.kiosk_choice = QComboBox()
        self.kiosk_choice.currentIndexChanged.connect(self._kiosk_changed)
        self.release = label(role="small")
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addStretch(1)
        heading.addWidget(self.release)
        heading.addWidget(self.kiosk_choice)
        self.hint = label(role="hint", wrap=True)
        self.message = label(role="hint", wrap=True)

        self.slots = QButtonGroup(self)
        self.slots.setExclusive(True)
        self.slots.idClicked.connect(self._slot_chosen)
        self._grid = QGridLayout()
        self._grid.setSpacing(12)
        scroll = scrolling_column(self._grid)

        self.choose_title = label(role="section")
        self.products = QListWidget()
        self.products.setProperty("role", "list")
        self.products.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.products.setWordWrap(True)
        self.apply = QPushButton()
        self.apply.setProperty("role", "primary")
        self.apply.clicked.connect(self._apply)
        chooser = QFrame()
        chooser.setProperty("role", "card")
        side = QVBoxLayout(chooser)
        side.setContentsMargins(16, 16, 16, 16)
        side.addWidget(self.choose_title)
        side.addWidget(self.products, 1)
        side.addWidget(self.apply)

        body = QHBoxLayout()
        body.setSpacing(20)
        body.addWidget(scroll, 3)
        body.addWidget(chooser, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addLayout(heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.message)
        layout.addLayout(body, 1)
        self._slots: tuple[SlotView, ...] = ()
        self._kiosk: str | None = None
        self._retranslate()

    # -- what the app shows -----------------------------------------------------------

    def set_language(self, language: Language) -> None:
        self.language = language
        self._retranslate()

    def set_kiosks(self, kiosks: Sequence[tuple[str, str]]) -> None:
        """The kiosks to choose from, as (label, kiosk id)."""
        chosen = self.current_kiosk()
        offered = [
            (self.kiosk_choice.itemText(n), self.kiosk_choice.itemData(n))
            for n in range(self.kiosk_choice.count())
        ]
        if offered == list(kiosks):
            return
        self.kiosk_choice.blockSignals(True)
        self.kiosk_choice.clear()
        for text, kiosk in kiosks:
            self.kiosk_choice.addItem(text, kiosk)
        self.kiosk_choice.setCurrentIndex(max(0, self.kiosk_choice.findData(chosen)))
        self.kiosk_choice.blockSignals(False)
        current = self.current_kiosk()
        if current is not None and current != self._kiosk:
            self._kiosk_changed()

    def current_kiosk(self) -> str | None:
        kiosk = self.kiosk_choice.currentData()
        return kiosk if isinstance(kiosk, str) else None

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def show_catalog(
        self,
        kiosk: str,
        release: str,
        slots: Sequence[SlotView],
        products: Sequence[ProductChoice],
    ) -> None:
        if kiosk != self.current_kiosk():
            return  # an answer for a kiosk no longer chosen
        self._kiosk = kiosk
        chosen_slot = self.chosen_slot()
        self._slots = tuple(slots)
        self.release.setText(
            say(self.language, "planogram.release", release=release) if release else ""
        )
        for button in self.slots.buttons():
            self.slots.removeButton(button)
            self._grid.removeWidget(button)
            button.deleteLater()
        for n, view in enumerate(self._slots):
            lines = [
                say(self.language, "planogram.slot", slot=view.slot),
                view.name or view.sku or say(self.language, "planogram.empty"),
                view.edited or say(self.language, "planogram.bundle"),
            ]
            button = QPushButton("\n".join(lines))
            button.setProperty("role", "slot")
            button.setProperty("edited", view.edited is not None)
            button.setCheckable(True)
            self.slots.addButton(button, n)
            self._grid.addWidget(button, n // COLUMNS, n % COLUMNS)
            if view.slot == chosen_slot:
                button.setChecked(True)
        self.products.clear()
        for product in products:
            item = QListWidgetItem(f"{product.name}   ·   {product.brand}")
            item.setData(Qt.ItemDataRole.UserRole, product.sku)
            self.products.addItem(item)
        self._slot_chosen(self.slots.checkedId())

    def chosen_slot(self) -> int | None:
        index = self.slots.checkedId()
        return self._slots[index].slot if 0 <= index < len(self._slots) else None

    def choose(self, slot: int, sku: str) -> None:
        """Tap the slot, then the product (for tests and scripts)."""
        for n, view in enumerate(self._slots):
            if view.slot == slot:
                self.slots.button(n).click()
        for row in range(self.products.count()):
            if self.products.item(row).data(Qt.ItemDataRole.UserRole) == sku:
                self.products.setCurrentRow(row)

    # -- taps -------------------------------------------------------------------------

    def _kiosk_changed(self) -> None:
        kiosk = self.current_kiosk()
        if kiosk is not None:
            self._kiosk = kiosk
            self.message.setText(say(self.language, "planogram.loading"))
            self.kiosk_chosen.emit(kiosk)

    def _slot_chosen(self, index: int) -> None:
        slot = self.chosen_slot()
        self.apply.setEnabled(slot is not None)
        self.choose_title.setText(
            say(self.language, "planogram.choose", slot=slot)
            if slot is not None
            else say(self.language, "planogram.hint")
        )
        if 0 <= index < len(self._slots):
            sku = self._slots[index].sku
            for row in range(self.products.count()):
                if self.products.item(row).data(Qt.ItemDataRole.UserRole) == sku:
                    self.products.setCurrentRow(row)

    def _apply(self) -> None:
        slot, item, kiosk = self.chosen_slot(), self.products.currentItem(), self.current_kiosk()
        if slot is None or item is None or kiosk is None:
            return
        self.change_requested.emit(kiosk, slot, item.data(Qt.ItemDataRole.UserRole))

    def _retranslate(self) -> None:
        self.title.setText(say(self.language, "planogram.title"))
        self.hint.setText(say(self.language, "planogram.hint"))
        self.apply.setText(say(self.language, "planogram.apply"))
        self._slot_chosen(self.slots.checkedId())
