"""The attendant app's decisions on the GUI thread: who is signed in, what each tap
does, what goes to the action log, the outbox and the kiosks.

The window draws and emits; the desk (model) decides about the feed and alerts;
this object carries out the rest with what app.py hands it. Slow work (commands to
kiosks, the till's redemption) runs on worker threads and comes back through a
queued signal, so the screen never waits on the network.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from backend_client.channel.client import KioskState, KioskStatus
from backend_client.channel.commands import CommandError, CommandReply, KioskCatalog, LabelKind
from backend_client.channel.messages import ChannelMessage
from backend_client.records import OutboxRecord
from content.model import Language
from kiosk.attendant.cli import new_staff_id
from kiosk.attendant.desk import AttendantDesk
from kiosk.attendant.gate import StaffGate
from kiosk.attendant.links import KioskLinks
from kiosk.attendant.model import (
    AlertThresholds,
    PlainMessage,
    RecordAction,
    Refused,
    SendAck,
)
from kiosk.attendant.names import ProductNames
from kiosk.attendant.planogram_page import ProductChoice, SlotView
from kiosk.attendant.sound import AlertPlayer
from kiosk.attendant.staff import (
    Action,
    ActionRecord,
    PinGuard,
    PinHasher,
    Role,
    SignInRefusal,
    StaffMember,
    StaffSource,
    local_member,
    valid_pin,
)
from kiosk.attendant.store import AttendantStore, StaffError
from kiosk.attendant.till import RedeemedCodes, SeenRedemption, Till, TillOutcome, TillResult
from kiosk.attendant.window import AttendantWindow, Page
from kiosk.attendant.words import Names, alert_line, kiosk_label, say

log = logging.getLogger("kiosk.attendant.console")

TICK_MS: Final = 1000  # the lockout countdown and the idle check
RESUME_SAVE_S: Final = 10.0  # a crash replays at most this much of the feed
ACTIONS_SHOWN: Final = 200
# A message older than this on arrival is history being caught up on, not news (kiosk
# clocks keep NTP time; a few seconds of drift or delivery are far below it).
STALE_S: Final = 120.0
_ALERT_SEQ: Final = re.compile(r":(\d+)$")
_TOUCHES: Final = frozenset(
    {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress}
)


@dataclass(frozen=True, slots=True)
class Outboxes:
    """Where records for HQ go: `append` queues one (OutboxWriter.append), or None
    when the device has no outbox (tests of the screens alone)."""

    append: Callable[[OutboxRecord], None] | None = None
    wake: Callable[[], None] | None = None  # the relay, after the till wrote directly


def plain(message: ChannelMessage) -> PlainMessage:
    data = message.data.model_dump()
    return PlainMessage(
        message.v,
        message.store,
        message.kiosk,
        message.seq,
        message.moment,
        message.kind,
        message.alert,
        data,
    )


class AttendantConsole(QObject):
    _finished = Signal(object, object)  # callback, result: from a worker to the GUI thread
    message_received = Signal(object)  # ChannelMessage, from the client's threads
    status_received = Signal(object)  # KioskStatus, from the client's threads

    def __init__(
        self,
        *,
        window: AttendantWindow,
        desk: AttendantDesk,
        store: AttendantStore,
        gate: StaffGate,
        hasher: PinHasher,
        player: AlertPlayer,
        links: KioskLinks,
        outboxes: Outboxes,
        till: Till | None,
        tz: ZoneInfo,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window, self.desk, self.store, self.gate = window, desk, store, gate
        self._hasher, self._player, self.links, self._outboxes = hasher, player, links, outboxes
        self._tz, self._wall, self._clock = tz, wall_clock, clock
        self.till = till
        self.language = Language.ZH_CN
        self.names = ProductNames()
        self.redeemed_codes = till.seen if till is not None else RedeemedCodes()
        self._staff: tuple[StaffMember, ...] = ()
        self._resume: dict[str, int] = {}
        self._resume_saved_at = clock()
        self._stopped = False
        self._stale = False  # the message being handled happened long ago
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="attendant-command")
        self._finished.connect(lambda done, result: done(result))
        self.message_received.connect(self._on_message)
        self.status_received.connect(self._on_status)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.tick)
        self._connect()

    # -- wiring -------------------------------------------------------------------------

    def _connect(self) -> None:
        window, desk = self.window, self.desk
        window.signin.pin_entered.connect(self.sign_in)
        window.signin.first_manager.connect(self.set_up_first_manager)
        window.sign_out_requested.connect(lambda: self.sign_out("tapped"))
        window.language_requested.connect(self.set_language)
        window.page_shown.connect(self._page_shown)
        window.feed.acknowledge_requested.connect(desk.acknowledge)
        window.alerts.acknowledge_requested.connect(desk.acknowledge)
        window.staff.add_requested.connect(self.add_staff)
        window.staff.remove_requested.connect(self.remove_staff)
        window.thresholds.save_requested.connect(self.save_thresholds)
        window.till.code_entered.connect(self.redeem)
        window.planogram.kiosk_chosen.connect(self.fetch_catalog)
        window.planogram.change_requested.connect(self.change_slot)
        desk.settled.connect(self._redraw)
        desk.sound.connect(self._sound)
        desk.ack_to_send.connect(self._send_ack)
        desk.action_to_record.connect(self._record_effect)
        desk.refused.connect(self._refused)

    def start(self) -> None:
        failures, last = self.store.pin_failures()
        if failures and last is not None:
            ago = max(0.0, (self._wall() - last).total_seconds())
            self.gate.guard = PinGuard(failures, self._clock() - ago)
        self._staff = self.store.staff()
        self.window.signin.set_staff(self._staff)
        self.window.thresholds.show_thresholds(self.store.thresholds())
        self._redraw()
        self.desk.start()
        self._tick.start()

    def stop(self) -> None:
        self._stopped = True  # messages still queued for the GUI thread are dropped
        self._tick.stop()
        self.desk.stop()
        self._save_resume(force=True)
        self._workers.shutdown(wait=True, cancel_futures=True)
        if self.till is not None:
            self.till.close()

    def in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run `work` on a worker thread, then `done(result)` on the GUI thread."""
        if self._stopped:
            return

        def run() -> None:
            try:
                result = work()
            except CommandError as error:  # a kiosk away: said on screen, not a bug
                log.info("kiosk command: %s", error)
                result = error
            except Exception as error:  # a worker never dies silently; `done` sees why
                log.exception("background work failed")
                result = error
            self._finished.emit(done, result)

        self._workers.submit(run)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Installed on the application: any touch or key keeps the session open."""
        if event.type() in _TOUCHES:
            self.gate.touch()
        return False

    # -- the channel (already on the GUI thread: queued signals) ------------------------

    def on_message(self, message: ChannelMessage) -> None:
        """From the channel client's threads."""
        self.message_received.emit(message)

    def on_status(self, status: KioskStatus) -> None:
        self.links.status(status)
        self.status_received.emit(status)

    def _on_message(self, message: ChannelMessage) -> None:
        if self._stopped:
            return
        # Catching up on a kiosk's window (a first start, a night away): old alerts are
        # listed, but the chime is for what happens now.
        self._stale = (self._wall() - message.moment).total_seconds() > STALE_S
        if message.kind == "coupon_redeemed":
            data = message.data.model_dump()
            self.redeemed_codes.note(
                data["code_hash"], SeenRedemption(message.kiosk, message.moment, data["by"])
            )
        self._resume[message.kiosk] = max(self._resume.get(message.kiosk, 0), message.seq)
        self.desk.receive(plain(message))
        self._stale = False
        if message.kind in {"content", "planogram"} and self.names.catalog(message.kiosk):
            self.fetch_catalog(message.kiosk)  # a new release or a slot changed: new names

    def _sound(self, _alert_id: str) -> None:
        if not self._stale:
            self._player.play()

    def _on_status(self, status: KioskStatus) -> None:
        if self._stopped:
            return
        if status.state is KioskState.FAULTY:
            self.desk.misbehaved(status.kiosk, status.reason)
        if status.state is KioskState.LIVE and self.names.catalog(status.kiosk) is None:
            self.fetch_catalog(status.kiosk)
        self._redraw()

    # -- signing in and out ---------------------------------------------------------------

    def member(self, member_id: str) -> StaffMember | None:
        return next((m for m in self._staff if m.id == member_id), None)

    def name_of(self, staff_id: str) -> str:
        """A colleague's name if this device knows them, else their id (another attendant's)."""
        member = self.member(staff_id)
        return member.display_name if member is not None else staff_id

    def sign_in(self, member_id: str, pin: str) -> None:
        member = self.member(member_id)
        if member is None:
            return
        result = self.gate.try_pin(member, pin)
        failures = result.guard.failures
        self.store.save_pin_failures(failures, self._wall() if failures else None)
        signin = self.window.signin
        if result.session is not None:
            self._signed_in(member)
        elif result.refusal is SignInRefusal.LOCKED_OUT or result.wait_s > 0:
            signin.set_wait(result.wait_s)
        else:
            signin.show_refusal(say(self.language, "signin.wrong"))

    def _signed_in(self, member: StaffMember) -> None:
        self.desk.staff_id = member.id
        self.record(member.id, Action.SIGN_IN)
        self.window.unlock(member, self.gate.may)
        self._redraw()

    def set_up_first_manager(self, name: str, pin: str) -> None:
        """The first run: whoever sets up the device is its first store manager."""
        if self._staff or not valid_pin(pin):
            return
        member = StaffMember(
            new_staff_id(), name, Role.MANAGER, self._hasher.hash(pin), StaffSource.LOCAL
        )
        self.store.add_staff(member, by=None, at=self._wall())
        self._staff = self.store.staff()
        self.window.signin.set_staff(self._staff)
        self.record(member.id, Action.MANAGE_STAFF, subject=member.id, detail="first manager")
        result = self.gate.try_pin(member, pin)
        if result.session is not None:
            self._signed_in(member)

    def sign_out(self, why: str) -> None:
        member = self.gate.sign_out()
        self.desk.staff_id = None
        if member is not None:
            self.record(member.id, Action.SIGN_OUT, detail=why)
        self.window.lock()
        if why == "idle":
            self.window.signin.show_refusal(say(self.language, "signin.idle_locked"))

    def tick(self) -> None:
        if self.gate.idle_due():
            log.info("idle: signed out")
            self.sign_out("idle")
        if self.window.locked:
            self.window.signin.set_wait(self.gate.wait_s())
        self._save_resume()

    def set_language(self, language: Language) -> None:
        self.language = language
        self.window.set_language(language)
        self._staff_changed()
        self._redraw()

    # -- acknowledgements and the action log ------------------------------------------------

    def record(
        self,
        staff_id: str,
        action: Action,
        *,
        subject: str | None = None,
        after_s: float | None = None,
        detail: str | None = None,
    ) -> None:
        self.store.record(ActionRecord(staff_id, action, self._wall(), subject, after_s, detail))
        if action is not Action.SIGN_IN and self.window.current is Page.STAFF:
            self._staff_changed()

    def _record_effect(self, effect: RecordAction) -> None:
        self.record(effect.staff_id, effect.action, subject=effect.subject, after_s=effect.after_s)

    def _refused(self, effect: Refused) -> None:
        log.warning("refused %s for staff %s", effect.action, effect.staff_id)

    def _send_ack(self, ack: SendAck) -> None:
        """Every attendant of the store hears of it through a kiosk's channel; HQ through
        the outbox (`alert_ack`)."""
        alert = self.desk.state.alert(ack.alert)
        found = _ALERT_SEQ.search(ack.alert)
        kiosk = alert.kiosk if alert is not None else ack.alert.split(":", 1)[0]
        self._to_hq(
            "alert_ack",
            {
                "kiosk": kiosk,
                "alert_seq": int(found.group(1)) if found else 0,
                "alert_kind": alert.kind if alert is not None else "unknown",
                "by": ack.by,
                "after_s": round(ack.after_s, 3),
            },
        )
        self.ack_to_kiosks(ack, kiosk)

    def ack_to_kiosks(self, ack: SendAck, kiosk: str) -> None:
        """Through the alert's own kiosk first, else any other live one."""
        order = [kiosk, *(k for k in self.links.live() if k != kiosk)]
        self.in_background(
            lambda: self.links.ack(ack.alert, ack.by, ack.after_s, order), lambda _took: None
        )

    def _to_hq(self, kind: str, payload: dict[str, Any]) -> None:
        if self._outboxes.append is not None:
            self._outboxes.append(OutboxRecord.new(kind, payload, occurred_at=self._wall()))

    # -- the till ---------------------------------------------------------------------------

    def redeem(self, text: str) -> None:
        """A code scanned or typed at the till (see till.py for the steps)."""
        me = self.gate.member
        if me is None or not self.gate.may(Action.REDEEM) or self._stopped:
            return
        if self.till is None:
            self.window.till.show_result(TillResult(TillOutcome.NO_KEY), self.name_of)
            return
        future = self.till.submit(text, kiosks=self.links.live(), by=me.id, now=self._wall())
        future.add_done_callback(
            lambda done: self._finished.emit(lambda _: self._redeemed(me.id, done), None)
        )

    def _redeemed(self, staff_id: str, done: Future[TillResult]) -> None:
        try:
            result = done.result()
        except Exception:  # the outbox file, say: the member of staff must hear of it
            log.exception("redemption failed")
            result = TillResult(TillOutcome.MALFORMED)
        self.window.till.show_result(result, self.name_of, self.kiosk_name)
        detail = result.outcome.value + (" offline" if result.offline else "")
        subject = None if result.code is None else result.code.text
        self.record(staff_id, Action.REDEEM, subject=subject, detail=detail)
        if result.outcome is TillOutcome.REDEEMED and self._outboxes.wake is not None:
            self._outboxes.wake()

    # -- catalogs and the planogram (managers) ------------------------------------------------

    def kiosk_name(self, kiosk: str) -> str:
        return kiosk_label(kiosk, self.desk.state.store, self.language)

    def product_name(self, kiosk: str, sku: str) -> str | None:
        return self.names.name(kiosk, sku, self.language)

    def label_name(self, kiosk: str, kind: LabelKind, id_: str) -> str | None:
        return self.names.label(kiosk, kind, id_, self.language)

    def _names(self) -> Names:
        return Names(self.product_name, self.name_of, self.kiosk_name, self.label_name)

    def fetch_catalog(self, kiosk: str) -> None:
        self.in_background(
            lambda: self.links.catalog(kiosk), lambda got: self._catalog_arrived(kiosk, got)
        )

    def _catalog_arrived(self, kiosk: str, got: KioskCatalog | Exception) -> None:
        page = self.window.planogram
        if isinstance(got, Exception):
            if page.current_kiosk() == kiosk:
                page.show_message(say(self.language, "planogram.unreachable"))
            return
        self.names.learn(got)
        if page.current_kiosk() == kiosk:
            self._show_catalog(got)
        self._redraw()

    def _show_catalog(self, catalog: KioskCatalog) -> None:
        language = self.language
        page = self.window.planogram
        waiting = {say(language, "planogram.loading"), say(language, "planogram.unreachable")}
        if not catalog.release:
            page.show_message(say(language, "planogram.no_content"))
        elif page.message.text() in waiting:
            page.show_message("")  # an edit's outcome stays until the next one
        slots = [
            SlotView(
                slot.slot,
                slot.sku,
                self.product_name(catalog.kiosk, slot.sku) or "",
                None
                if slot.edited_by is None
                else f"{self.name_of(slot.edited_by)} · "
                + (slot.edited_at.astimezone().strftime("%m-%d %H:%M") if slot.edited_at else ""),
            )
            for slot in catalog.slots
        ]
        products = [
            ProductChoice(
                product.sku, self.product_name(catalog.kiosk, product.sku) or "", product.brand
            )
            for product in catalog.products
        ]
        page.show_catalog(catalog.kiosk, catalog.release, slots, products)

    def change_slot(self, kiosk: str, slot: int, sku: str) -> None:
        me = self.gate.member
        if me is None or not self.gate.may(Action.EDIT_PLANOGRAM):
            return
        self.in_background(
            lambda: self.links.set_slot(kiosk, slot, sku, me.id),
            lambda reply: self._slot_changed(me.id, kiosk, slot, sku, reply),
        )

    def _slot_changed(
        self, staff_id: str, kiosk: str, slot: int, sku: str, reply: CommandReply | Exception
    ) -> None:
        page, language = self.window.planogram, self.language
        if isinstance(reply, Exception):
            page.show_message(say(language, "planogram.unreachable"))
            return
        if not reply.ok:
            page.show_message(say(language, "planogram.refused", reason=reply.refusal))
            return
        before = reply.before  # None: the slot held nothing
        self.record(
            staff_id,
            Action.EDIT_PLANOGRAM,
            subject=f"{kiosk}:{slot}",
            detail=f"{before or '-'} -> {sku}",
        )
        self._to_hq(
            "planogram_edit",
            {"kiosk": kiosk, "slot": slot, "before": before, "after": sku, "by": staff_id},
        )
        name = self.product_name(kiosk, sku) or sku
        page.show_message(say(language, "planogram.done", slot=slot, name=name))
        self.fetch_catalog(kiosk)

    # -- staff and thresholds (managers) -------------------------------------------------

    def add_staff(self, name: str, role: str, pin: str) -> None:
        me = self.gate.member
        page = self.window.staff
        if me is None or not self.gate.may(Action.MANAGE_STAFF):
            return
        if not valid_pin(pin):
            page.show_message(say(self.language, "signin.pin_rule"))
            return
        member = local_member(
            me,
            member_id=new_staff_id(),
            display_name=name,
            role=Role(role),
            pin=pin,
            hasher=self._hasher,
        )
        try:
            self.store.add_staff(member, by=me.id, at=self._wall())
        except StaffError as error:
            page.show_message(say(self.language, f"staff.{error}"))
            return
        self.record(me.id, Action.MANAGE_STAFF, subject=member.id, detail=f"add {role}")
        page.added()
        page.show_message(say(self.language, "staff.added", name=name))
        self._reload_staff()

    def remove_staff(self, member_id: str) -> None:
        me = self.gate.member
        page = self.window.staff
        if me is None or not self.gate.may(Action.MANAGE_STAFF) or member_id == me.id:
            return
        gone = self.member(member_id)
        try:
            self.store.remove_staff(member_id)
        except StaffError as error:
            page.show_message(say(self.language, f"staff.{error}"))
            return
        self.record(me.id, Action.MANAGE_STAFF, subject=member_id, detail="remove")
        page.show_message(
            say(self.language, "staff.removed", name=gone.display_name if gone else "")
        )
        self._reload_staff()

    def _reload_staff(self) -> None:
        self._staff = self.store.staff()
        self.window.signin.set_staff(self._staff)
        self._staff_changed()

    def _staff_changed(self) -> None:
        me = self.gate.member
        self.window.staff.show_staff(
            self._staff, me.id if me else None, self.store.actions(ACTIONS_SHOWN), self.name_of
        )

    def save_thresholds(self, thresholds: AlertThresholds) -> None:
        me = self.gate.member
        if me is None:
            return
        before = self.desk.state.thresholds
        self.desk.change_thresholds(thresholds, me.id, me.role)
        if self.desk.state.thresholds == thresholds and thresholds != before:
            self.store.save_thresholds(thresholds)
            self.window.thresholds.show_message(say(self.language, "thresholds.saved"))

    # -- drawing ----------------------------------------------------------------------------

    def _page_shown(self, page: str) -> None:
        if page == Page.STAFF:
            self._staff_changed()
        if page == Page.PLANOGRAM:
            kiosks = sorted(set(self.links.states()) | set(self.desk.state.kiosks))
            self.window.planogram.set_kiosks([(self.kiosk_name(k), k) for k in kiosks])
            if not kiosks:
                self.window.planogram.show_message(say(self.language, "planogram.no_kiosk"))
        self._redraw()

    def _redraw(self) -> None:
        state, now = self.desk.state, self._clock()
        window, language = self.window, self.language
        opened, names = state.open_alerts(), self._names()
        window.show_alert_banner(
            len(opened), alert_line(opened[0], language, names) if opened else ""
        )
        match window.current:
            case Page.FEED:
                window.feed.show_state(
                    state,
                    language,
                    now,
                    names=names,
                    names_version=self.names.version,
                )
            case Page.ALERTS:
                window.alerts.show_state(
                    state,
                    language,
                    now,
                    self._known_name,
                    names=names,
                    names_version=self.names.version,
                )
            case Page.HEALTH:
                window.health.show_health(
                    state.kiosks, self.links.states(), language, now, self.kiosk_name
                )
            case _:
                pass

    def _known_name(self, staff_id: str) -> str | None:
        member = self.member(staff_id)
        return None if member is None else member.display_name

    def _save_resume(self, *, force: bool = False) -> None:
        if force or self._clock() - self._resume_saved_at >= RESUME_SAVE_S:
            self._resume_saved_at = self._clock()
            self.store.save_resume_points(self._resume)
