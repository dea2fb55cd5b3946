"""The console's fleet page: every kiosk's state from its last heartbeat, filters, the open
alerts, a kiosk's history; a store manager sees their own stores' kiosks only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.console import ConsoleChain, ConsoleClient, sign_in

from hq.console.staff import Role
from hq.enrollment import KioskIdentity
from hq.fleet_health.store import record_heartbeat, sweep
from hq.fleet_health.wire import Heartbeat


def beat(chain: ConsoleChain, kiosk_id: str, *, rfid: str = "up", backlog: int = 0) -> None:
    store_id = kiosk_id.rsplit("-k", 1)[0]
    record_heartbeat(
        chain.database,
        KioskIdentity(kiosk_id, store_id),
        Heartbeat.model_validate(
            {
                "app_version": "0.1.0",
                "content_release": "hq-2",
                "devices": [
                    {"name": "pickup", "state": "up", "detail": "open"},
                    {"name": "rfid", "state": rfid, "detail": ""},
                ],
                "outbox": {"backlog": backlog, "dead_letters": 0},
                "disk": {"free_bytes": 30 << 30, "total_bytes": 60 << 30},
                "uptime_s": 7200,
                "screen": "on",
            }
        ),
        now=chain.clock(),
    )


@pytest.fixture
def editor(chain: ConsoleChain) -> ConsoleClient:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    return client


def states(page: dict[str, object]) -> dict[str, str]:
    return {k["kiosk_id"]: k["state"] for k in page["kiosks"]}  # type: ignore[attr-defined,index]


def test_the_fleet_shows_each_kiosks_state_and_filters_trouble(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    beat(chain, "sh-nanjing-road-k1")
    beat(chain, "sh-nanjing-road-k2", rfid="down")
    beat(chain, "bj-sanlitun-k1", backlog=9_000)
    beat(chain, "bj-sanlitun-k2")
    chain.clock.advance(timedelta(minutes=2))
    beat(chain, "sh-nanjing-road-k1")
    beat(chain, "sh-nanjing-road-k2", rfid="down")
    beat(chain, "bj-sanlitun-k1", backlog=9_000)
    chain.clock.advance(timedelta(seconds=40))  # bj-sanlitun-k2: 160 s without a word
    sweep(chain.database, now=chain.clock())

    page = editor.get("/console/fleet.json").json()
    assert states(page) == {
        "bj-sanlitun-k1": "trouble",
        "bj-sanlitun-k2": "silent",
        "sh-nanjing-road-k1": "ok",
        "sh-nanjing-road-k2": "trouble",
        "sh-xujiahui-k1": "never",
    }
    assert page["filters"] == {"all": 5, "trouble": 4, "silent": 2, "device": 1, "backlog": 1}
    assert sorted((a["kiosk_id"], a["kind"]) for a in page["alerts"]) == [
        ("bj-sanlitun-k1", "backlog"),
        ("bj-sanlitun-k2", "silent"),
        ("sh-nanjing-road-k2", "device"),
    ]
    only = editor.get("/console/fleet.json?show=device").json()
    assert list(states(only)) == ["sh-nanjing-road-k2"]
    assert list(states(editor.get("/console/fleet.json?show=backlog").json())) == ["bj-sanlitun-k1"]
    html = editor.get("/console/fleet?show=silent").text
    assert "bj-sanlitun-k2" in html
    assert "sh-nanjing-road-k1" not in html.split("Open alerts")[0]
    assert editor.get("/console/fleet.json?show=loud").status_code == 422


def test_a_kiosks_page_has_its_history_and_alerts(
    chain: ConsoleChain, editor: ConsoleClient
) -> None:
    beat(chain, "sh-xujiahui-k1")
    chain.clock.advance(timedelta(minutes=1))
    beat(chain, "sh-xujiahui-k1", rfid="down")
    chain.clock.advance(timedelta(minutes=1))
    beat(chain, "sh-xujiahui-k1")
    page = editor.get("/console/fleet/sh-xujiahui-k1.json").json()
    assert page["kiosk"]["state"] == "ok"
    assert [row["devices"][1]["state"] for row in page["history"]] == ["up", "down", "up"]
    (alert,) = page["alerts"]
    assert (alert["kind"], alert["subject"]) == ("device", "rfid")
    assert alert["cleared_at"] is not None
    assert "History" in editor.get("/console/fleet/sh-xujiahui-k1").text
    assert editor.get("/console/fleet/nope-k9").status_code == 404


def test_a_store_manager_sees_only_their_stores_kiosks(chain: ConsoleChain) -> None:
    chain.add_staff("wu@hq.example", Role.STORE_MANAGER, ["sh-xujiahui"])
    manager = chain.client()
    sign_in(manager, "wu@hq.example")
    beat(chain, "bj-sanlitun-k1", rfid="down")
    beat(chain, "sh-xujiahui-k1")
    page = manager.get("/console/fleet.json").json()
    assert list(states(page)) == ["sh-xujiahui-k1"]
    assert page["alerts"] == []  # bj-sanlitun's failed reader is not theirs to see
    assert manager.get("/console/fleet/bj-sanlitun-k1").status_code == 403
    assert manager.get("/console/fleet/bj-sanlitun-k1.json").status_code == 403
    assert manager.get("/console/fleet/sh-xujiahui-k1.json").status_code == 200
    assert "bj-sanlitun" not in manager.get("/console/fleet").text


def test_nobody_signed_in_is_sent_to_sign_in(chain: ConsoleChain) -> None:
    client = chain.client()
    assert client.get("/console/fleet").status_code == 303
    assert client.get("/console/fleet.json").status_code == 401
