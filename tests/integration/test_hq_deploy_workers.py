"""HQ as deploy/hq runs it: gunicorn with two uvicorn workers on PostgreSQL, nginx in front.

Each worker is a process of its own, so whatever HQ kept in a process's memory
would hold on one worker and not the other. The tests pin one kept-alive
connection to each worker and do every stateful thing on one and its sequel on
the other: console sign-in and its CSRF token, wrong-password counting, the
admin token HQ generated, enrolment, events, the member feed, signed manifests
and assets. Then nginx (deploy/hq/nginx/kiosk-hq.conf) goes in front with TLS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import ssl
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

import pytest
import requests
from helpers.console import CHEAP_HASHER
from helpers.hq import consent_payload, event_json, fresh_postgres_database, issue_code
from helpers.hq_deploy import NGINX, Answer, GunicornHq, NginxFront, WorkerConnection
from helpers.tls import make_server_tls

from content.sample import write_sample_bundle
from hq.console.app import CSRF_COOKIE, SESSION_COOKIE, STATIC
from hq.console.staff import Role, add_staff
from hq.content.assets import DirectoryAssetStore
from hq.content.releases import publish_folder
from hq.content.signing import ContentKeys
from hq.db import Database
from hq.migrations import migrate

EMAIL: Final = "ops@hq.example"
GUESSED: Final = "guessed@hq.example"  # the account the lockout test locks
PASSWORD: Final = "a long staff password"  # noqa: S105 (a test account)
FORM: Final = {"Content-Type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornHq]:
    directory = tmp_path_factory.mktemp("hq-workers")
    with fresh_postgres_database() as url:
        migrate(url)  # kiosk-hq.service's ExecStartPre, before any worker starts
        database = Database(url)
        try:
            for email in (EMAIL, GUESSED):
                add_staff(
                    database,
                    CHEAP_HASHER,  # the workers verify any Argon2 hash by its own parameters
                    email=email,
                    name="Ops",
                    role=Role.CHAIN_ADMIN,
                    stores_managed=[],
                    password=PASSWORD,
                    now=datetime.now(UTC),
                    by="test",
                )
        finally:
            database.dispose()
        # No KIOSK_HQ_ADMIN_TOKEN: the workers, starting together, make one token file.
        with GunicornHq(directory, url, workers=2) as running:
            yield running


@pytest.fixture
def workers(hq: GunicornHq) -> Iterator[tuple[WorkerConnection, WorkerConnection]]:
    first, second = hq.connections_to_each_worker()
    assert first.pid != second.pid
    yield first, second
    first.close()
    second.close()


def sign_in_form(
    connection: WorkerConnection, cookies: dict[str, str], password: str, email: str = EMAIL
) -> Answer:
    return connection.request(
        "POST",
        "/console/sign-in",
        urlencode(
            {"csrftoken": cookies[CSRF_COOKIE], "email": email, "password": password}
        ).encode(),
        FORM,
        cookies,
    )


def test_a_sign_in_started_on_one_worker_is_finished_and_used_on_the_other(
    workers: tuple[WorkerConnection, WorkerConnection],
) -> None:
    first, second = workers
    cookies: dict[str, str] = {}
    assert first.request("GET", "/console/sign-in", cookies=cookies).status == 200
    assert CSRF_COOKIE in cookies  # signed by the first worker

    signed_in = sign_in_form(second, cookies, PASSWORD)  # its CSRF token checked by the second
    assert signed_in.status == 303, signed_in.body
    assert SESSION_COOKIE in cookies

    for connection in workers:  # the session cookie the second worker signed
        page = connection.request("GET", "/console/releases.json", cookies=dict(cookies))
        assert page.status == 200, page.body
    anonymous = first.request("GET", "/console/releases.json", cookies={})
    assert anonymous.status == 401


def test_wrong_passwords_count_up_whichever_worker_hears_them(
    hq: GunicornHq, workers: tuple[WorkerConnection, WorkerConnection]
) -> None:
    first, second = workers
    cookies: dict[str, str] = {}
    first.request("GET", "/console/sign-in", cookies=cookies)
    # hq.console.lockout.FREE_ATTEMPTS: the fifth wrong password in a row locks the
    # account, wherever the five were typed (here three on one worker, two on the other).
    answers = [
        sign_in_form((first, second)[attempt % 2], cookies, f"guess {attempt}", GUESSED).status
        for attempt in range(5)
    ]
    assert answers == [401, 401, 401, 401, 429]
    locked = sign_in_form(second, cookies, PASSWORD, GUESSED)
    assert locked.status == 429, locked.body  # the right password waits too
    served = {pid for pid, _, method, path, _ in hq.access_lines() if path == "/console/sign-in"}
    assert {first.pid, second.pid} <= served


def test_admin_token_enrolment_events_feed_and_content_hold_across_workers(
    hq: GunicornHq, workers: tuple[WorkerConnection, WorkerConnection], tmp_path: Path
) -> None:
    first, second = workers
    token = (hq.data_dir / "admin-token").read_text().strip()
    admin = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for connection in workers:  # both workers read the one token file
        assert connection.request("GET", "/v1/admin/stats", headers=admin).status == 200
    wrong = {"Authorization": "Bearer not-the-admin-token-at-all"}
    assert second.request("GET", "/v1/admin/stats", headers=wrong).status == 401

    store = f"store-{uuid.uuid4().hex[:8]}"
    enrolled = first.request(
        "POST",
        "/v1/enroll",
        f'{{"code": "{issue_code(hq.database_url, store)}"}}'.encode(),
        {"Content-Type": "application/json"},
    )
    assert enrolled.status == 200, enrolled.body
    kiosk_id = enrolled.json()["kiosk_id"]
    kiosk = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    json_kiosk = {**kiosk, "Content-Type": "application/json"}

    member = str(uuid.uuid4())
    signup = {"member_id": member, "phone": "13912345678", "region": "CN", "name": None,
              "email": None, "language": "zh-CN"}  # fmt: skip
    batch = [
        event_json(store, kiosk_id, 1, "member_signup", signup),
        event_json(
            store, kiosk_id, 2, "consent", consent_payload(member, "recognition", given=True)
        ),
    ]
    posted = second.request("POST", "/v1/events", _json({"events": batch}), json_kiosk)
    assert posted.status == 200, posted.body
    assert [result["status"] for result in posted.json()["results"]] == ["accepted"] * 2
    again = first.request("POST", "/v1/events", _json({"events": batch}), json_kiosk)
    assert [result["status"] for result in again.json()["results"]] == ["duplicate"] * 2

    bound = first.request(
        "POST", f"/v1/admin/customers/{member}/tags", b'{"kind": "rfid", "value": "0012345678"}',
        admin,
    )  # fmt: skip
    assert bound.status == 201, bound.body
    feed = second.request("GET", "/v1/members/feed?since=0", headers=kiosk)
    assert feed.status == 200, feed.body
    assert bound.json()["tag_hash"] in {entry["tag_hash"] for entry in feed.json()["upserts"]}

    _publish(hq, tmp_path)
    manifests = [c.request("GET", "/v1/content/manifest", headers=kiosk) for c in workers]
    assert [answer.status for answer in manifests] == [200, 200]
    # Deterministic signatures: the same bytes and ETag from either worker, so a kiosk
    # polling with If-None-Match gets 304 whichever answers.
    assert manifests[0].body == manifests[1].body
    etag = manifests[0].headers["ETag"]
    polled = second.request("GET", "/v1/content/manifest", headers={**kiosk, "If-None-Match": etag})
    assert polled.status == 304
    files = _files(manifests[0])
    path, sha256 = files[0]
    asset = second.request("GET", f"/v1/content/assets/{sha256}", headers=kiosk)
    assert asset.status == 200, path
    assert hashlib.sha256(asset.body).hexdigest() == sha256


def test_only_hqs_user_and_group_may_open_the_socket_and_read_its_secrets(hq: GunicornHq) -> None:
    assert stat.S_ISSOCK(hq.socket.stat().st_mode)
    assert stat.S_IMODE(hq.socket.stat().st_mode) == 0o660  # nginx's user is in the group
    for secret in ("admin-token", "console-secret"):  # made by whichever worker came first
        assert stat.S_IMODE((hq.data_dir / secret).stat().st_mode) == 0o600


def test_nginx_in_front_serves_kiosks_over_tls_with_the_clients_address(
    hq: GunicornHq, tmp_path: Path
) -> None:
    if shutil.which("nginx") is None and not Path(NGINX).exists():
        pytest.skip("nginx is not installed (./run installs nginx-light)")
    tls = make_server_tls(tmp_path / "tls")
    front = NginxFront(tmp_path / "nginx", hq.socket, tls)
    (front.static_root / "console").mkdir(parents=True)
    shutil.copytree(STATIC, front.static_root / "console" / "static")  # as the README's deploy
    with front:
        # HTTP/2 is offered to clients that speak it (ALPN).
        context = ssl.create_default_context(cafile=str(tls.ca_bundle))
        context.set_alpn_protocols(["h2", "http/1.1"])
        with (
            socket.create_connection(("127.0.0.1", front.port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
        ):
            assert wrapped.selected_alpn_protocol() == "h2"

        before = len(hq.access_lines())
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would win over session.verify
        session.verify = str(tls.ca_bundle)
        store = f"store-{uuid.uuid4().hex[:8]}"
        enrolled = session.post(
            f"{front.base_url}/v1/enroll", json={"code": issue_code(hq.database_url, store)},
            headers={"X-Forwarded-For": "203.0.113.66"},  # a client's own claim: not believed
            timeout=30,
        )  # fmt: skip
        assert enrolled.status_code == 200, enrolled.text
        body = enrolled.json()
        session.headers["Authorization"] = f"Bearer {body['token']}"
        answer = session.post(
            f"{front.base_url}/v1/events",
            json={"events": [event_json(store, body["kiosk_id"], 1)]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["status"] == "accepted"
        assert "server" not in answer.headers or "uvicorn" not in answer.headers["server"]

        # The address nginx saw (this test, on loopback), not the one the client claimed.
        logged = hq.wait_for_access_lines(before, 2)
        assert sorted((client, path) for _, client, _, path, _ in logged) == [
            ("127.0.0.1", "/v1/enroll"),
            ("127.0.0.1", "/v1/events"),
        ]

        # HQ builds absolute URLs from X-Forwarded-Proto: its redirects stay on HTTPS.
        slash = session.get(f"{front.base_url}/v1/health/", allow_redirects=False, timeout=30)
        assert slash.status_code == 307
        assert slash.headers["location"] == f"{front.base_url}/v1/health"
        plain = requests.get(
            f"http://127.0.0.1:{front.http_port}/v1/health", allow_redirects=False, timeout=30
        )
        assert plain.status_code == 308
        assert plain.headers["location"].startswith("https://")

        css = session.get(f"{front.base_url}/console/static/console.css", timeout=30)
        assert css.status_code == 200
        assert css.content == (STATIC / "console.css").read_bytes()
        assert "max-age=3600" in css.headers["cache-control"]  # nginx's, not HQ's
        served_by_hq = {path for _, _, _, path, _ in hq.access_lines()}
        assert "/console/static/console.css" not in served_by_hq

        # Over HQ's 8 MB limit: refused by nginx before HQ reads a byte.
        too_big = session.post(
            f"{front.base_url}/v1/events", data=b"x" * (8 * 1024**2 + 1), timeout=30
        )
        assert too_big.status_code == 413
    log = front.access_log.read_text()
    assert '"POST /v1/events" 200' in log
    assert "203.0.113.66" not in log


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _publish(hq: GunicornHq, directory: Path) -> None:
    """A release for every store, published as `kiosk-hq content publish` does, into the
    data directory the workers share."""
    bundle = directory / "bundle"
    write_sample_bundle(bundle, products=2, seed=3, release="deploy-test")
    database = Database(hq.database_url)
    try:
        publish_folder(
            database,
            DirectoryAssetStore(hq.data_dir / "assets"),
            ContentKeys(hq.data_dir / "keys"),
            bundle,
            target="all",
            by="test",
            now=datetime.now(UTC),
        )
    finally:
        database.dispose()


def _files(manifest: Answer) -> list[tuple[str, str]]:
    envelope = manifest.json()
    payload = json.loads(base64.b64decode(envelope["payload"]))
    return [(entry["path"], entry["sha256"]) for entry in payload["files"]]
