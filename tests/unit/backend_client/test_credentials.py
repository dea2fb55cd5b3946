"""The kiosk's HQ credentials: private on disk, hidden in reprs, https unless loopback."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from backend_client.credentials import (
    Credentials,
    CredentialsError,
    check_hq_url,
    credentials_from_enrolment,
    load_credentials,
    save_credentials,
)

TOKEN = "s3cr3t-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # noqa: S105 - a test token
CREDENTIALS = Credentials("https://hq.example.com/", "sh-nanjing-road", "sh-nanjing-road-k1", TOKEN)


def write_file(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(mode)


def test_repr_names_the_kiosk_but_not_the_token() -> None:
    shown = repr(CREDENTIALS)

    assert TOKEN not in shown
    assert "sh-nanjing-road-k1" in shown
    assert CREDENTIALS.hq_url == "https://hq.example.com"  # no trailing slash


def test_saved_credentials_are_private_and_load_back(tmp_path: Path) -> None:
    path = save_credentials(tmp_path / "data", CREDENTIALS)

    assert path == tmp_path / "data" / "hq.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(tmp_path / "data") == CREDENTIALS
    assert [p.name for p in path.parent.iterdir()] == ["hq.json"]  # no staging file left


def test_saving_again_replaces_the_file(tmp_path: Path) -> None:
    save_credentials(tmp_path, CREDENTIALS)
    newer = Credentials("https://hq.example.com", "sh-nanjing-road", "sh-nanjing-road-k2", "t2")

    save_credentials(tmp_path, newer)

    assert load_credentials(tmp_path) == newer


def test_no_file_means_not_enrolled(tmp_path: Path) -> None:
    assert load_credentials(tmp_path) is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_open_is_refused(tmp_path: Path, mode: int) -> None:
    save_credentials(tmp_path, CREDENTIALS)
    (tmp_path / "hq.json").chmod(mode)

    with pytest.raises(CredentialsError, match=f"open to group or others \\(mode 0{mode:o}\\)"):
        load_credentials(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"hq_url": "https://hq.example.com", "store_id": "s"}', "lacks kiosk_id, token"),
        (
            '{"hq_url": "http://hq.example.com", "store_id": "s", "kiosk_id": "k", "token": "t"}',
            "must use https",
        ),
        (
            '{"hq_url": "https://hq.example.com", "store_id": "", "kiosk_id": "k", "token": "t"}',
            "store_id must be a non-empty string",
        ),
        (
            '{"hq_url": "https://hq.example.com", "store_id": "s", "kiosk_id": 7, "token": "t"}',
            "kiosk_id must be a non-empty string",
        ),
    ],
)
def test_a_broken_file_is_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    write_file(tmp_path / "hq.json", text)

    with pytest.raises(CredentialsError, match=message):
        load_credentials(tmp_path)


def test_a_token_that_cannot_travel_in_a_header_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    bad_token = "line\nbreak-secret"  # noqa: S105 - a test token
    document = {"hq_url": "https://hq", "store_id": "s", "kiosk_id": "k", "token": bad_token}
    write_file(tmp_path / "hq.json", json.dumps(document))

    with pytest.raises(CredentialsError, match="token must be") as raised:
        load_credentials(tmp_path)
    assert "secret" not in str(raised.value)


# --- coupon number and key -------------------------------------------------------------

COUPON_KEY = bytes(range(100, 132))
ANSWER: dict[str, object] = {
    "store_id": "sh-nanjing-road",
    "kiosk_id": "sh-nanjing-road-k1",
    "token": TOKEN,
    "kiosk_no": 17,
    "coupon_key": base64.b64encode(COUPON_KEY).decode(),
}


def test_the_coupon_number_and_key_from_enrolment_are_kept_privately(tmp_path: Path) -> None:
    credentials = credentials_from_enrolment("https://hq.example.com", ANSWER)
    assert (credentials.kiosk_no, credentials.coupon_key) == (17, COUPON_KEY)
    assert COUPON_KEY.hex() not in repr(credentials)
    assert str(COUPON_KEY) not in repr(credentials)
    assert str(ANSWER["coupon_key"]) not in repr(credentials)

    path = save_credentials(tmp_path, credentials)

    saved = json.loads(path.read_text())
    assert (saved["kiosk_no"], saved["coupon_key"]) == (17, ANSWER["coupon_key"])
    assert load_credentials(tmp_path) == credentials


def test_credentials_saved_before_coupons_still_load_without_them(tmp_path: Path) -> None:
    document = {"hq_url": "https://hq", "store_id": "s", "kiosk_id": "k", "token": "t"}
    write_file(tmp_path / "hq.json", json.dumps(document))

    loaded = load_credentials(tmp_path)

    assert loaded is not None
    assert (loaded.kiosk_no, loaded.coupon_key) == (None, None)
    assert (loaded.budget_seat, loaded.budget_seats) == (0, 1)  # the whole of each budget
    save_credentials(tmp_path, loaded)
    assert "coupon_key" not in json.loads((tmp_path / "hq.json").read_text())


def test_an_enrolment_answer_from_an_hq_before_coupons_gives_no_coupon_key() -> None:
    answer = {k: v for k, v in ANSWER.items() if k not in {"kiosk_no", "coupon_key"}}
    credentials = credentials_from_enrolment("https://hq.example.com", answer)
    assert (credentials.kiosk_no, credentials.coupon_key) == (None, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"coupon_key": "not base64!"}, "coupon_key must be base64"),
        ({"coupon_key": base64.b64encode(b"short").decode()}, "coupon_key must be 32 bytes"),
        ({"coupon_key": 5}, "coupon_key must be base64"),
        ({"kiosk_no": 2**20}, "kiosk_no must be an integer"),
        ({"kiosk_no": "17"}, "kiosk_no must be an integer"),
        ({"kiosk_no": None}, "go together"),
        ({"budget_seat": 2, "budget_seats": 2}, "budget_seat must be from 0"),
        ({"budget_seat": -1}, "budget_seat must be from 0"),
        ({"budget_seats": "3"}, "budget_seats must be an integer"),
        ({"budget_seat": True}, "budget_seat must be an integer"),
    ],
)
def test_a_broken_coupon_number_or_key_is_refused_without_quoting_the_key(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    document = {"hq_url": "https://hq.example.com", **ANSWER, **changes}
    write_file(tmp_path / "hq.json", json.dumps(document))

    with pytest.raises(CredentialsError, match=message) as raised:
        load_credentials(tmp_path)
    assert str(ANSWER["coupon_key"]) not in str(raised.value)


# --- which HQ the kiosk may talk to ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "checked"),
    [
        ("https://hq.example.com", "https://hq.example.com"),
        ("https://hq.example.com/", "https://hq.example.com"),
        ("HTTPS://hq.example.com:8443/kiosk-api/", "https://hq.example.com:8443/kiosk-api"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://LocalHost", "http://LocalHost"),
    ],
)
def test_https_anywhere_and_http_only_on_loopback(url: str, checked: str) -> None:
    assert check_hq_url(url) == checked


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hq.example.com", "must use https"),
        ("http://192.168.1.10:8000", "must use https"),
        ("http://127.0.0.1.example.com", "must use https"),
        ("http://localhost.example.com", "must use https"),
        ("http://[::ffff:10.0.0.1]", "must use https"),
        ("ftp://hq.example.com", "must look like"),
        ("hq.example.com", "must look like"),
        ("https://", "must look like"),
        ("https://hq.example.com:99999", "invalid port"),
        ("https://user:pw@hq.example.com", "user name or password"),
        ("https://hq.example.com/?x=1", "query or fragment"),
    ],
)
def test_other_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_hq_url(url)


def test_an_attendant_devices_role_and_store_coupon_key_are_kept_privately(
    tmp_path: Path,
) -> None:
    store_key = bytes(range(32))
    answer = {
        "role": "attendant",
        "store_id": "sh-nanjing-road",
        "kiosk_id": "sh-nanjing-road-a1",
        "token": TOKEN,
        "store_coupon_key": base64.b64encode(store_key).decode(),
    }
    credentials = credentials_from_enrolment("https://hq.example.com", answer)
    assert (credentials.role, credentials.store_coupon_key) == ("attendant", store_key)
    assert (credentials.kiosk_no, credentials.coupon_key) == (None, None)
    assert answer["store_coupon_key"] not in repr(credentials)

    path = save_credentials(tmp_path, credentials)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["role"] == "attendant"
    assert load_credentials(tmp_path) == credentials


def test_a_file_without_a_role_is_a_kiosks(tmp_path: Path) -> None:
    document = {"hq_url": "https://hq.example.com", "store_id": "s", "kiosk_id": "s-k1"}
    write_file(tmp_path / "hq.json", json.dumps({**document, "token": TOKEN}))
    loaded = load_credentials(tmp_path)
    assert loaded is not None
    assert loaded.role == "kiosk"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role": "till"}, "role must be one of kiosk, attendant"),
        ({"kiosk_no": 3, "coupon_key": base64.b64encode(bytes(32)).decode()}, "no kiosk_no"),
        ({"store_coupon_key": base64.b64encode(bytes(5)).decode()}, "store_coupon_key must be"),
    ],
)
def test_an_attendant_file_that_breaks_its_rules_is_refused(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    document = {
        "role": "attendant",
        "hq_url": "https://hq.example.com",
        "store_id": "s",
        "kiosk_id": "s-a1",
        "token": TOKEN,
        **changes,
    }
    write_file(tmp_path / "hq.json", json.dumps(document))
    with pytest.raises(CredentialsError, match=message):
        load_credentials(tmp_path)
