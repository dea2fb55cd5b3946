"""What the attendant's screens say about a feed entry or an alert (no Qt).

zh-CN first, English on request; the words live in kiosk/i18n.py with the rest."""

from __future__ import annotations

from content.model import Language
from kiosk.attendant.model import Alert, FeedEntry, KioskHealth
from kiosk.i18n import tr


def feed_line(entry: FeedEntry, language: Language) -> str:
    """One line of the feed: local time, kiosk, what happened, its details."""
    parts = [entry.at.astimezone().strftime("%H:%M:%S"), entry.kiosk]
    if entry.kind == "member_arrived":
        who = entry.greeting or tr(language, "attendant.member")
        parts.append(tr(language, "attendant.kind.member_arrived", who=who))
        if entry.last_viewed:
            parts.append(tr(language, "attendant.last_viewed", skus=", ".join(entry.last_viewed)))
    else:
        parts.append(tr(language, f"attendant.kind.{entry.kind}"))
        parts.extend(f"{key} {value}" for key, value in entry.details if value)
    return " · ".join(parts)


def alert_line(alert: Alert, language: Language) -> str:
    parts = [alert.kiosk, tr(language, f"attendant.alert.{alert.kind}")]
    if alert.detail:
        parts.append(alert.detail)
    return " · ".join(parts)


def health_line(kiosk: str, health: KioskHealth, now: float, language: Language) -> str:
    """A kiosk's health at a glance: faulty first, since that is what staff act on."""
    parts = [kiosk]
    if health.faulty(now):
        parts.append(tr(language, "attendant.health.faulty", reason=health.fault_reason))
    if health.last_contact is None:
        parts.append(tr(language, "attendant.health.never"))
    else:
        seconds = max(0, round(now - health.last_contact))
        parts.append(tr(language, "attendant.health.last_contact", seconds=seconds))
    parts.extend(
        tr(language, f"attendant.device.{device.status}", device=name)
        for name, device in sorted(health.devices.items())
    )
    if health.backlog is not None:
        parts.append(
            tr(
                language,
                "attendant.health.backlog",
                backlog=health.backlog,
                dead_letters=health.dead_letters,
            )
        )
    if health.release is not None:
        parts.append(tr(language, "attendant.health.release", release=health.release))
    return " · ".join(parts)
