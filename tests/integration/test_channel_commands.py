"""Commands from attendants to kiosks, end to end: channel servers as real processes on
loopback with a real content store, attendants' commands and catalog fetches, the
window file, kill -9 and restarts, and forged, replayed or oversized requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from helpers.bundles import edit_json, sample_bundle
from helpers.channel import KEY, OTHER_KEY, OTHER_STORE, STORE, Feed, Kiosk, serve_all
from helpers.pickup import wait_until

from backend_client.channel.client import ChannelClient, KioskState
from backend_client.channel.commands import (
    COMMAND_PATH,
    Ack,
    CommandError,
    Redeem,
    SetSlot,
    fetch_catalog,
    request_associated,
    send_command,
)
from backend_client.channel.keys import StoreKeys
from backend_client.channel.planogram import load_edits
from content.bundle import Bundle
from content.store import ContentStore

pytestmark = pytest.mark.slow

_FAST = {"backoff": (0.05, 0.5), "fault_backoff": 0.5}
_WAIT = 30.0  # generous for a loaded machine; passing waits take well under a second
_KEYS = StoreKeys(STORE, KEY)
_CODE = "0123456789abcdef0123456789abcdef"
_OTHER_CODE = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Bundle]:
    root = tmp_path / "content"
    bundle = ContentStore(root).install(sample_bundle(tmp_path / "bundle"))
    return root, bundle


@pytest.fixture
def kiosks(tmp_path: Path, content: tuple[Path, Bundle]) -> Iterator[tuple[Kiosk, Kiosk]]:
    root, _ = content
    first = Kiosk(tmp_path / "k1", f"{STORE}-k1", content=root)
    second = Kiosk(tmp_path / "k2", f"{STORE}-k2", content=root)
    try:
        serve_all(first, second)
        yield first, second
    finally:
        first.close()
        second.close()


def _follow(kiosks: tuple[Kiosk, ...], feed: Feed) -> ChannelClient:
    client = ChannelClient(
        [kiosk.endpoint for kiosk in kiosks], StoreKeys(STORE, KEY), feed.on_message,
        feed.on_status, **_FAST,  # type: ignore[arg-type]
    )  # fmt: skip
    client.start()
    return client


def test_an_ack_at_one_kiosk_reaches_every_follower(kiosks: tuple[Kiosk, Kiosk]) -> None:
    first, second = kiosks
    alarm = second.window.append(
        "alarm", {"slot": 3, "reason": "cable_cut", "sku": None}, at=datetime.now(UTC), alert=True
    )
    feeds = [Feed(), Feed()]
    clients = [_follow(kiosks, feed) for feed in feeds]
    try:
        # The ack for the second kiosk's alert goes to the first (any kiosk carries it).
        alert = f"{second.kiosk}:{alarm.seq}"
        reply = send_command(first.endpoint, _KEYS, Ack(alert=alert, by="s-07", after_s=12.5))
        assert reply.ok
        assert reply.refusal is None
        for feed in feeds:
            wait_until(lambda: feed.of_kind("ack"), _WAIT, "the ack")  # noqa: B023
            (ack,) = feed.of_kind("ack")
            assert (ack.kiosk, ack.seq) == (first.kiosk, reply.seq)
            assert ack.data.model_dump() == {"alert": alert, "by": "s-07", "after_s": 12.5}
        # What an attendant app shows of its kiosks, and where it sends their commands.
        for client in clients:
            live = {kiosk.kiosk: KioskState.LIVE for kiosk in kiosks}
            wait_until(lambda: client.states() == live, _WAIT, "both live")  # noqa: B023
            assert client.endpoint(second.kiosk) == second.endpoint
    finally:
        for client in clients:
            client.stop()


def test_a_code_is_redeemed_once_then_refused_with_when_and_by_whom(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, _ = kiosks
    feed = Feed()
    client = _follow((first,), feed)
    try:
        done = send_command(first.endpoint, _KEYS, Redeem(code_hash=_CODE, by="s-07"))
        assert done.ok
        assert done.seq is not None
        # Again, from another attendant device of the store (its own keys object).
        again = send_command(
            first.endpoint, StoreKeys(STORE, KEY), Redeem(code_hash=_CODE, by="s-11")
        )
        assert (again.ok, again.refusal, again.by) == (False, "already_redeemed", "s-07")
        assert again.at is not None
        assert abs(again.at.timestamp() - time.time()) < 120
        wait_until(lambda: feed.of_kind("coupon_redeemed"), _WAIT, "the redemption")
    finally:
        client.stop()
    (told,) = feed.of_kind("coupon_redeemed")
    assert told.seq == done.seq
    assert told.data.model_dump() == {"code_hash": _CODE, "by": "s-07"}


def test_two_attendants_racing_for_the_same_code_one_wins(kiosks: tuple[Kiosk, Kiosk]) -> None:
    first, _ = kiosks

    def claim(code: str, by: str, start: threading.Barrier, replies: list[bool]) -> None:
        keys = StoreKeys(STORE, KEY)
        start.wait(10)
        replies.append(send_command(first.endpoint, keys, Redeem(code_hash=code, by=by)).ok)

    for round_no in range(10):  # each round two attendants claim one code at the same instant
        code, start, replies = f"{round_no:02d}" + _CODE[2:], threading.Barrier(2), []
        racers = [
            threading.Thread(target=claim, args=(code, by, start, replies))
            for by in ("s-01", "s-02")
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(_WAIT)
        assert sorted(replies) == [False, True]
    told = [m for m in first.window.after(0, 1000) if m.kind == "coupon_redeemed"]
    assert len(told) == 10


def test_a_slot_edit_is_checked_recorded_told_and_shown_in_the_catalog(
    kiosks: tuple[Kiosk, Kiosk], content: tuple[Path, Bundle]
) -> None:
    first, second = kiosks
    _, bundle = content
    slot, was = 2, bundle.sku_on_slot(2)
    other = next(p.sku for p in bundle.catalog.products if p.sku != was)
    unknown_slot = send_command(first.endpoint, _KEYS, SetSlot(slot=200, sku=other, by="m-01"))
    assert unknown_slot.refusal == "unknown_slot"
    unknown_sku = send_command(first.endpoint, _KEYS, SetSlot(slot=slot, sku="no-such", by="m-01"))
    assert unknown_sku.refusal == "unknown_sku"
    assert first.window.last_seq() == 0
    assert load_edits(first.data_dir) == ()

    feed = Feed()
    client = _follow((first,), feed)
    try:
        reply = send_command(first.endpoint, _KEYS, SetSlot(slot=slot, sku=other, by="m-01"))
        assert (reply.ok, reply.before) == (True, was)
        wait_until(lambda: "planogram changed" in first.printed(), _WAIT, "the line")
        wait_until(lambda: feed.of_kind("planogram"), _WAIT, "the planogram message")
    finally:
        client.stop()
    (told,) = feed.of_kind("planogram")
    assert told.data.model_dump() == {"slot": slot, "before": was, "after": other, "by": "m-01"}
    catalog = fetch_catalog(first.endpoint, _KEYS)
    assert catalog.release == bundle.release
    assert len(catalog.products) == len(bundle.catalog.products)
    # What the channel names by id, by name (the sample bundle's titles).
    labels = {(label.kind, label.id): (label.name_zh, label.name_en) for label in catalog.labels}
    assert labels[("survey", "visit")] == (
        "一分钟购物体验调查",
        "One-minute survey about your visit",
    )
    assert labels[("campaign", "phone-200")] == ("购机立减¥200", "¥200 off a new phone")
    assert labels[("draw", "daily-draw")] == ("会员每日幸运抽奖", "Members' daily lucky draw")
    assert labels[("prize", "daily-draw/grand")] == labels[("campaign", "phone-200")]
    assert len(labels) == len(bundle.surveys) + len(bundle.campaigns) + sum(
        1 + len(draw.prizes) for draw in bundle.prize_draws
    )
    edited = next(s for s in catalog.slots if s.slot == slot)
    assert (edited.sku, edited.bundle_sku, edited.edited_by) == (other, was, "m-01")
    assert edited.edited_at == reply.at
    untouched = [s for s in catalog.slots if s.slot != slot]
    assert all(s.sku == s.bundle_sku and s.edited_by is None for s in untouched)
    # The other kiosk's cabinet is its own.
    assert all(s.sku == s.bundle_sku for s in fetch_catalog(second.endpoint, _KEYS).slots)
    assert second.printed() == []


def test_a_new_release_is_served_at_once_and_replaces_edits_when_it_says_so(
    kiosks: tuple[Kiosk, Kiosk], content: tuple[Path, Bundle], tmp_path: Path
) -> None:
    first, _ = kiosks
    root, bundle = content
    other = next(p.sku for p in bundle.catalog.products if p.sku != bundle.sku_on_slot(1))
    assert send_command(first.endpoint, _KEYS, SetSlot(slot=1, sku=other, by="m-01")).ok
    replacing = sample_bundle(tmp_path / "r2", release="sample-r2")
    edit_json(replacing, "planogram.json", lambda doc: doc.update(store_edits="replace"))
    ContentStore(root).install(replacing)
    catalog = fetch_catalog(first.endpoint, _KEYS)
    assert catalog.release == "sample-r2"
    assert all(s.sku == s.bundle_sku and s.edited_by is None for s in catalog.slots)
    # An edit on the new release counts, and its `before` is what the kiosk showed.
    reply = send_command(first.endpoint, _KEYS, SetSlot(slot=1, sku=other, by="m-02"))
    assert reply.before == bundle.sku_on_slot(1)
    slot_1 = fetch_catalog(first.endpoint, _KEYS).slots[0]
    assert (slot_1.slot, slot_1.sku, slot_1.edited_by) == (1, other, "m-02")


def test_a_kiosk_without_content_has_no_catalog_and_refuses_slot_edits(tmp_path: Path) -> None:
    bare = Kiosk(tmp_path / "k3", f"{STORE}-k3", content=tmp_path / "empty")
    try:
        bare.serve()
        catalog = fetch_catalog(bare.endpoint, _KEYS)
        assert (catalog.release, catalog.products, catalog.slots) == ("", (), ())
        reply = send_command(bare.endpoint, _KEYS, SetSlot(slot=1, sku="x1", by="m-01"))
        assert (reply.ok, reply.refusal) == (False, "no_content")
    finally:
        bare.close()


def test_strangers_replays_and_swapped_bodies_are_refused_and_change_nothing(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, _ = kiosks
    url = first.endpoint.url + COMMAND_PATH

    def sealed(command: Redeem, keys: StoreKeys = _KEYS) -> tuple[dict[str, str], bytes]:
        headers = keys.prove(COMMAND_PATH, 0, time.time())
        associated = request_associated(keys.store, COMMAND_PATH, headers["X-Channel-Nonce"])
        return headers, keys.seal_body(command.model_dump_json().encode(), associated)

    redeem = Redeem(code_hash=_CODE, by="s-07")
    # No proof at all; a body sealed with the right key does not help.
    assert requests.post(url, data=sealed(redeem)[1], timeout=5).status_code == 401
    # Another store's key, through the client: refused.
    with pytest.raises(CommandError) as refused:
        send_command(first.endpoint, StoreKeys(OTHER_STORE, OTHER_KEY), redeem)
    assert refused.value.reason == "refused"
    with pytest.raises(CommandError):
        fetch_catalog(first.endpoint, StoreKeys(STORE, OTHER_KEY))
    # Our store's name with a key it does not hold.
    headers, body = sealed(redeem, StoreKeys(STORE, OTHER_KEY))
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401
    # A good request's body under another good request's headers: does not open.
    headers_a, _ = sealed(Redeem(code_hash=_OTHER_CODE, by="s-07"))
    _, body_b = sealed(redeem)
    assert requests.post(url, data=body_b, headers=headers_a, timeout=5).status_code == 400
    # Garbage under good headers.
    headers, _ = sealed(redeem)
    assert requests.post(url, data=b"{}", headers=headers, timeout=5).status_code == 400
    assert first.window.last_seq() == 0  # nothing of the above got in

    # A captured good request, sent again as it is: the nonce was used.
    headers, body = sealed(Redeem(code_hash=_OTHER_CODE, by="s-07"))
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401
    assert first.window.last_seq() == 1
    # The code that only forged requests carried was never redeemed.
    assert send_command(first.endpoint, _KEYS, redeem).ok


def test_an_oversized_command_is_refused_before_it_is_read(kiosks: tuple[Kiosk, Kiosk]) -> None:
    first, _ = kiosks
    headers = _KEYS.prove(COMMAND_PATH, 0, time.time())
    megabyte = 1 << 20
    head = f"POST {COMMAND_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {megabyte}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", first.port), timeout=_WAIT) as sock:
        sock.sendall(head.encode() + b"x" * 1024)  # a thousandth, then nothing more
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert first.window.last_seq() == 0


def test_edits_and_redemptions_survive_a_kill_9_of_the_server(
    kiosks: tuple[Kiosk, Kiosk], content: tuple[Path, Bundle]
) -> None:
    first, _ = kiosks
    _, bundle = content
    other = next(p.sku for p in bundle.catalog.products if p.sku != bundle.sku_on_slot(5))
    assert send_command(first.endpoint, _KEYS, SetSlot(slot=5, sku=other, by="m-01")).ok
    assert send_command(first.endpoint, _KEYS, Redeem(code_hash=_CODE, by="s-07")).ok
    first.kill()
    first.serve()
    edited = next(s for s in fetch_catalog(first.endpoint, _KEYS).slots if s.slot == 5)
    assert (edited.sku, edited.edited_by) == (other, "m-01")
    again = send_command(first.endpoint, _KEYS, Redeem(code_hash=_CODE, by="s-11"))
    assert (again.refusal, again.by) == ("already_redeemed", "s-07")


def test_a_kiosk_that_is_gone_is_unreachable(tmp_path: Path, refused_port: int) -> None:
    gone = Kiosk(tmp_path / "k9", f"{STORE}-k9")
    gone.port = refused_port
    try:
        with pytest.raises(CommandError) as error:
            send_command(gone.endpoint, _KEYS, Redeem(code_hash=_CODE, by="s-07"))
        assert error.value.reason == "unreachable"
        with pytest.raises(CommandError):
            fetch_catalog(gone.endpoint, _KEYS)
    finally:
        gone.window.close()
