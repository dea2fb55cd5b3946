"""What the kiosk's channel server does with an attendant's command (commands.py).

Blocking (SQLite, bundle loading): serve.py calls it from worker threads. Each
command's record and the message that tells it are one window transaction
(window.py), so a command is either done and on the channel, or neither.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from backend_client.channel.commands import (
    Ack,
    CatalogLabel,
    CatalogProduct,
    Command,
    CommandReply,
    KioskCatalog,
    PlanogramSlot,
    Redeem,
    SetSlot,
    prize_label_id,
)
from backend_client.channel.planogram import applied_edits, effective_slots, load_edits
from backend_client.channel.window import Redeemed, Window
from content.bundle import Bundle
from content.store import CURRENT, ContentStore

_log = logging.getLogger("backend_client.channel.execute")

PLANOGRAM_CHANGED = "planogram changed"  # the line the kiosk reads on the server's stdout


class ActiveContent:
    """The kiosk's active content release, loaded again when `current` points elsewhere."""

    def __init__(self, root: Path | None) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._seen: str | None = None
        self._bundle: Bundle | None = None

    def get(self) -> Bundle | None:
        if self._root is None:
            return None
        try:
            target = os.readlink(self._root / CURRENT)
        except OSError:
            target = ""
        with self._lock:
            if target != self._seen:
                self._bundle = ContentStore(self._root).current() if target else None
                self._seen = target
                _log.info("content release %s", self._bundle.release if self._bundle else "none")
            return self._bundle


class Executor:
    """Carries out commands for one kiosk (`data_dir` holds its window)."""

    def __init__(
        self,
        window: Window,
        data_dir: Path,
        content: ActiveContent,
        on_planogram_changed: Callable[[], None],
    ) -> None:
        self._window, self._data_dir, self._content = window, data_dir, content
        self._on_planogram_changed = on_planogram_changed
        self._slots_lock = threading.Lock()  # an edit's `before` is the slot as it stood

    def carry_out(self, command: Command, now: datetime) -> CommandReply:
        # The window keeps milliseconds: the reply's `at` is the one recorded.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        match command:
            case Ack():
                data = {"alert": command.alert, "by": command.by, "after_s": command.after_s}
                message = self._window.append("ack", data, at=now)
                return CommandReply(True, message.seq, None)
            case Redeem():
                done = self._window.redeem(command.code_hash, command.by, at=now)
                if isinstance(done, Redeemed):
                    return CommandReply(False, None, "already_redeemed", done.at, done.by)
                return CommandReply(True, done.seq, None)
            case SetSlot():
                return self._set_slot(command, now)

    def _set_slot(self, command: SetSlot, now: datetime) -> CommandReply:
        bundle = self._content.get()
        if bundle is None:
            return CommandReply(False, None, "no_content")
        if bundle.sku_on_slot(command.slot) is None:
            return CommandReply(False, None, "unknown_slot")
        if bundle.product(command.sku) is None:
            return CommandReply(False, None, "unknown_sku")
        with self._slots_lock:
            before = effective_slots(bundle, load_edits(self._data_dir))[command.slot]
            message = self._window.record_slot_edit(
                slot=command.slot,
                sku=command.sku,
                before=before,
                by=command.by,
                release=bundle.release,
                at=now,
            )
        self._on_planogram_changed()
        return CommandReply(True, message.seq, None, now, before=before)

    def catalog(self, kiosk: str) -> KioskCatalog:
        bundle = self._content.get()
        if bundle is None:
            return KioskCatalog(kiosk, "", (), ())
        edits = load_edits(self._data_dir)
        slots, applied = effective_slots(bundle, edits), applied_edits(bundle, edits)
        return KioskCatalog(
            kiosk=kiosk,
            release=bundle.release,
            products=tuple(  # from the catalog's summaries: no product built for this
                CatalogProduct(p.sku, p.name_zh, p.name_en, p.brand) for p in bundle.summaries()
            ),
            slots=tuple(
                PlanogramSlot(
                    slot=assignment.slot,
                    sku=slots[assignment.slot],
                    bundle_sku=assignment.sku,
                    edited_by=edit.by if (edit := applied.get(assignment.slot)) else None,
                    edited_at=edit.at if edit else None,
                )
                for assignment in sorted(bundle.planogram.slots, key=lambda a: a.slot)
            ),
            labels=catalog_labels(bundle),
        )


def catalog_labels(bundle: Bundle) -> tuple[CatalogLabel, ...]:
    """The names of what the channel names by id: surveys, campaigns, draws, and prizes
    (by the campaign each wins; none when the bundle lacks that campaign)."""
    labels = [CatalogLabel("survey", s.id, s.title.zh_cn, s.title.en) for s in bundle.surveys]
    labels += (CatalogLabel("campaign", c.id, c.title.zh_cn, c.title.en) for c in bundle.campaigns)
    for draw in bundle.prize_draws:
        labels.append(CatalogLabel("draw", draw.id, draw.title.zh_cn, draw.title.en))
        for prize in draw.prizes:
            won = bundle.campaign(prize.campaign)
            if won is not None:
                prize_id = prize_label_id(draw.id, prize.id)
                labels.append(CatalogLabel("prize", prize_id, won.title.zh_cn, won.title.en))
    return tuple(labels)
