"""Store planogram edits: staff put another product on a slot from an attendant device.

The channel server records each edit (window.Window.record_slot_edit) in the kiosk's
channel.sqlite, in the transaction that appends its `planogram` message, so an edit is
never recorded without being told or told without being recorded. The kiosk reads them
back with `load_edits` and shows `effective_slots`: the bundle's planogram with the
store's edits on top.

A new content release keeps the store's edits unless its planogram says
`store_edits: "replace"`: then only edits made on that very release count (HQ's new
planogram wins over what the store did before). Edits naming a slot or a sku the
bundle no longer has are dropped either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from backend_client.channel.files import WINDOW_FILE
from content.bundle import Bundle


@dataclass(frozen=True, slots=True)
class SlotEdit:
    """`by` put `sku` on `slot` (where `before` was) at `at`, on content release `release`."""

    slot: int
    sku: str
    before: str
    by: str
    at: datetime
    release: str


def load_edits(data_dir: Path) -> tuple[SlotEdit, ...]:
    """The edits recorded in `data_dir`'s channel window, oldest first (none if no window)."""
    path = data_dir / WINDOW_FILE
    if not path.exists():
        return ()
    # Read-only: the kiosk and the channel server each own their connections to the file.
    with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        try:
            rows = db.execute(
                "SELECT slot, sku, before, by, at, release FROM planogram_edits ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):  # a window from before edits existed
                return ()
            raise
    return tuple(
        SlotEdit(int(slot), sku, before, by, datetime.fromisoformat(at), release)
        for slot, sku, before, by, at, release in rows
    )


def applied_edits(bundle: Bundle, edits: Iterable[SlotEdit]) -> dict[int, SlotEdit]:
    """The edit that decides each edited slot (the newest that still applies)."""
    replace = bundle.planogram.store_edits == "replace"
    release = bundle.manifest.release
    applied: dict[int, SlotEdit] = {}
    for edit in edits:
        if bundle.sku_on_slot(edit.slot) is None or bundle.product(edit.sku) is None:
            continue  # the bundle no longer has that slot or product
        if replace and edit.release != release:
            continue  # HQ's planogram replaces what the store did on other releases
        applied[edit.slot] = edit
    return applied


def effective_slots(bundle: Bundle, edits: Iterable[SlotEdit]) -> dict[int, str]:
    """slot -> sku: the bundle's planogram with the store's edits that apply on top."""
    slots = {assignment.slot: assignment.sku for assignment in bundle.planogram.slots}
    for slot, edit in applied_edits(bundle, edits).items():
        slots[slot] = edit.sku
    return slots
