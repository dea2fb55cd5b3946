"""Attendant commands' shapes and sealing, coupon hashes, the window's command records,
and which store planogram edits a content release shows (planogram.effective_slots)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers.bundles import edit_json, only_problem, sample_bundle
from helpers.channel import KEY, OTHER_KEY, STORE
from pydantic import ValidationError

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskState
from backend_client.channel.commands import (
    COMMAND_PATH,
    Ack,
    Redeem,
    SetSlot,
    coupon_hash,
    parse_command,
    request_associated,
)
from backend_client.channel.keys import FrameError, StoreKeys
from backend_client.channel.planogram import SlotEdit, effective_slots, load_edits
from backend_client.channel.window import KEEP_AGE, WINDOW_FILE, Redeemed, Window, open_window
from content.bundle import Bundle, load_bundle
from rewards.codes import issue_code

KIOSK = f"{STORE}-k3"
NOW = datetime(2026, 12, 6, 5, 50, tzinfo=UTC)


def _bundle(tmp_path: Path, release: str, *, store_edits: str = "keep") -> Bundle:
    root = sample_bundle(tmp_path / release, release=release)
    edit_json(root, "planogram.json", lambda doc: doc.update(store_edits=store_edits))
    return load_bundle(root)


def _edit(slot: int, sku: str, release: str, minutes: int = 0) -> SlotEdit:
    return SlotEdit(slot, sku, "was", "m-01", NOW + timedelta(minutes=minutes), release)


# -- commands -------------------------------------------------------------------


def test_commands_round_trip_and_refuse_extra_fields_and_loose_types() -> None:
    for command in (
        Ack(alert=f"{KIOSK}:42", by="s-07", after_s=3.5),
        Redeem(code_hash="ab" * 16, by="s-07"),
        SetSlot(slot=4, sku="XH-X60P-256-BL", by="m-01"),
    ):
        assert parse_command(command.model_dump_json().encode()) == command
    for bad in (
        b'{"kind": "redeem", "code_hash": "' + b"ab" * 16 + b'", "by": "s-07", "phone": "1"}',
        b'{"kind": "set_slot", "slot": "4", "sku": "XH-1", "by": "m-01"}',  # slot as text
        b'{"kind": "set_slot", "slot": 0, "sku": "XH-1", "by": "m-01"}',
        b'{"kind": "redeem", "code_hash": "ABC1-DEF2-GH34-JK56-MN78", "by": "s-07"}',  # a code
        b'{"kind": "ack", "alert": "k1", "by": "s-07", "after_s": 1}',  # no seq
        b'{"kind": "reboot", "by": "s-07"}',
        b'{"kind": "ack", "alert": "k1:1", "by": "Zhang Wei", "after_s": 1}',  # a name
    ):
        with pytest.raises(ValidationError):
            parse_command(bad)


def test_a_command_body_opens_only_for_its_own_request() -> None:
    keys = StoreKeys(STORE, KEY)
    associated = request_associated(STORE, COMMAND_PATH, "n1")
    body = keys.seal_body(b"plain", associated)
    assert keys.open_body(body, associated, keys.current_kid) == b"plain"
    for other in (
        request_associated(STORE, COMMAND_PATH, "n2"),  # another request's nonce
        request_associated(STORE, "/v1/catalog", "n1"),  # another path
        request_associated("bj-wangfujing", COMMAND_PATH, "n1"),  # another store
    ):
        with pytest.raises(FrameError):
            keys.open_body(body, other, keys.current_kid)
    stranger = StoreKeys(STORE, OTHER_KEY)
    with pytest.raises(FrameError):
        stranger.open_body(body, associated, stranger.current_kid)
    with pytest.raises(FrameError):
        keys.open_body(b"[1, 2]", associated, keys.current_kid)


def test_a_coupon_code_hashes_the_same_however_it_is_typed() -> None:
    code = issue_code(b"k" * 32, campaign_no=7, kiosk_no=3, serial=11, expires_on=date(2027, 1, 1))
    hashed = coupon_hash(code.text)
    assert len(hashed) == 32
    assert int(hashed, 16) >= 0
    typed = code.text.replace("-", " ").lower().replace("1", "l").replace("0", "o")
    assert coupon_hash(typed) == hashed
    other = issue_code(b"k" * 32, campaign_no=7, kiosk_no=3, serial=12, expires_on=date(2027, 1, 1))
    assert coupon_hash(other.text) != hashed
    with pytest.raises(ValueError, match="not a coupon code"):
        coupon_hash("13800138000")


# -- the window's records --------------------------------------------------------


def test_a_code_is_redeemed_once_and_pruning_does_not_forget_it(tmp_path: Path) -> None:
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    try:
        done = window.redeem("ab" * 16, "s-07", at=NOW)
        assert not isinstance(done, Redeemed)
        assert (done.kind, done.data.model_dump()) == (
            "coupon_redeemed",
            {"code_hash": "ab" * 16, "by": "s-07"},
        )
        for n in range(5):
            window.append("heartbeat", {"uptime_s": n}, at=NOW)
        later = NOW + timedelta(days=3)
        assert window.prune(now=later) == 0  # the kept count holds them all
        window.close()
        # Kept: only a day's messages, however few.
        window = Window(tmp_path / WINDOW_FILE, store=STORE, kiosk=KIOSK, keep=(KEEP_AGE, 0))
        assert window.prune(now=later) == 6
        assert window.redeem("ab" * 16, "s-11", at=later) == Redeemed(NOW, "s-07")
        assert window.after(0) == []  # the refusal appended nothing
    finally:
        window.close()


def test_slot_edits_are_read_back_in_the_order_they_were_made(tmp_path: Path) -> None:
    assert load_edits(tmp_path) == ()  # no window yet
    window = open_window(tmp_path, store=STORE, kiosk=KIOSK)
    try:
        assert load_edits(tmp_path) == ()
        first = window.record_slot_edit(
            slot=2, sku="B", before="A", by="m-01", release="r1", at=NOW
        )
        window.record_slot_edit(
            slot=2, sku="C", before="B", by="m-02", release="r2", at=NOW + timedelta(minutes=1)
        )
    finally:
        window.close()
    assert first.data.model_dump() == {"slot": 2, "before": "A", "after": "B", "by": "m-01"}
    assert load_edits(tmp_path) == (
        SlotEdit(2, "B", "A", "m-01", NOW, "r1"),
        SlotEdit(2, "C", "B", "m-02", NOW + timedelta(minutes=1), "r2"),
    )


# -- effective slots -------------------------------------------------------------


def test_edits_go_on_top_of_the_bundle_s_planogram_the_newest_winning(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "r1")
    plain = {a.slot: a.sku for a in bundle.planogram.slots}
    skus = [p.sku for p in bundle.catalog.products]
    assert effective_slots(bundle, ()) == plain
    edits = [_edit(2, skus[10], "r1"), _edit(3, skus[11], "r1"), _edit(2, skus[12], "r1", 1)]
    assert effective_slots(bundle, edits) == {**plain, 2: skus[12], 3: skus[11]}


def test_a_new_release_keeps_edits_unless_it_replaces_them(tmp_path: Path) -> None:
    keeping, replacing = _bundle(tmp_path, "r2"), _bundle(tmp_path, "r3", store_edits="replace")
    plain = {a.slot: a.sku for a in keeping.planogram.slots}
    sku = keeping.catalog.products[10].sku
    earlier, on_this = _edit(2, sku, "r1"), _edit(3, sku, "r3", 5)
    assert effective_slots(keeping, [earlier]) == {**plain, 2: sku}
    assert effective_slots(replacing, [earlier, on_this]) == {**plain, 3: sku}


def test_a_planogram_says_keep_or_replace_and_nothing_else(tmp_path: Path) -> None:
    root = sample_bundle(tmp_path / "r5", release="r5")
    assert load_bundle(root).planogram.store_edits == "keep"
    edit_json(root, "planogram.json", lambda doc: doc.update(store_edits="merge"))
    assert only_problem(root).field == "store_edits"


def test_edits_for_a_slot_or_product_the_bundle_no_longer_has_are_dropped(
    tmp_path: Path,
) -> None:
    bundle = load_bundle(sample_bundle(tmp_path / "r4", release="r4"))
    plain = {a.slot: a.sku for a in bundle.planogram.slots}
    sku = bundle.catalog.products[10].sku
    gone_slot, gone_sku = _edit(200, sku, "r4"), _edit(2, "XH-DISCONTINUED", "r4")
    assert effective_slots(bundle, [gone_slot, gone_sku]) == plain
    # A dropped edit does not hide an older one that still applies.
    assert effective_slots(bundle, [_edit(2, sku, "r4"), gone_sku]) == {**plain, 2: sku}


# -- the client's view of its kiosks ----------------------------------------------


def test_a_client_names_its_kiosks_endpoints_and_states() -> None:
    endpoint = KioskEndpoint(KIOSK, "http://127.0.0.1:9")
    client = ChannelClient(
        [endpoint], StoreKeys(STORE, KEY), print, print, resume={"gone-k9": 5, KIOSK: 3}
    )
    assert client.endpoint(KIOSK) == endpoint
    assert client.endpoint("nobody") is None
    assert client.states() == {KIOSK: KioskState.CONNECTING}
    other = KioskEndpoint(f"{STORE}-k4", "http://127.0.0.1:10")
    assert client.add(other)
    assert client.endpoint(other.kiosk) == other
    assert set(client.states()) == {KIOSK, other.kiosk}
