"""`kiosk enroll`: one command, clear one-line errors, credentials never overwritten by accident."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_hq import CODE_REFUSED, FakeHq, running_fake_hq

from backend_client import enroll
from backend_client.credentials import (
    Credentials,
    credentials_from_enrolment,
    load_credentials,
    save_credentials,
)
from backend_client.enroll import default_data_dir, main


@pytest.fixture
def hq() -> Iterator[FakeHq]:
    with running_fake_hq() as running:
        yield running


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_enrolling_saves_private_credentials_and_names_the_kiosk(
    hq: FakeHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = hq.issue_code("sh-nanjing-road", "sh-nanjing-road-k3")
    data = tmp_path / "data"

    status, out, err = run(
        capsys, "--hq", hq.url, "--code", code, "--name", "entrance", "--data-dir", str(data)
    )

    assert (status, err) == (0, "")
    credentials = load_credentials(data)
    assert credentials is not None
    assert (credentials.store_id, credentials.kiosk_id) == ("sh-nanjing-road", "sh-nanjing-road-k3")
    assert credentials.kiosk_no == 1  # what this kiosk's coupon codes carry
    assert credentials.coupon_key is not None
    assert len(credentials.coupon_key) == 32
    assert out == (
        "enrolled as kiosk sh-nanjing-road-k3 (kiosk number 1) of store sh-nanjing-road; "
        f"credentials saved to {data / 'hq.json'}\n"
    )
    assert credentials.token not in out
    assert stat.S_IMODE((data / "hq.json").stat().st_mode) == 0o600
    assert hq.enrolled_names == ["entrance"]


def test_the_coupon_number_and_key_hq_gives_are_saved_and_only_the_number_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bytes(range(32))
    answer = {
        "store_id": "sh-nanjing-road",
        "kiosk_id": "sh-nanjing-road-k3",
        "token": "kiosk-token-0123456789",
        "kiosk_no": 17,
        "coupon_key": base64.b64encode(key).decode(),
    }

    def hq_answers(hq_url: str, code: str, **_: Any) -> Credentials:
        return credentials_from_enrolment(hq_url, answer)

    # HQ's side of this answer is tested against the real HQ in tests/integration.
    monkeypatch.setattr(enroll, "enroll", hq_answers)

    status, out, err = run(
        capsys, "--hq", "https://hq.example.com", "--code", "X", "--data-dir", str(tmp_path)
    )

    assert (status, err) == (0, "")
    assert out.startswith("enrolled as kiosk sh-nanjing-road-k3 (kiosk number 17) of store ")
    assert str(answer["coupon_key"]) not in out
    saved = load_credentials(tmp_path)
    assert saved is not None
    assert (saved.kiosk_no, saved.coupon_key) == (17, key)


def test_a_refused_code_is_one_line_and_exit_code_1(
    hq: FakeHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "--hq", hq.url, "--code", "AAAA-BBBB-CCCC", "--data-dir", str(tmp_path)
    )

    assert (status, out) == (1, "")
    assert err == f"kiosk enroll: HQ refused the code: {CODE_REFUSED}\n"
    assert load_credentials(tmp_path) is None


def test_an_unreachable_hq_is_one_line_and_exit_code_1(
    hq: FakeHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = hq.issue_code()
    hq.go_down()

    status, _, err = run(capsys, "--hq", hq.url, "--code", code, "--data-dir", str(tmp_path))

    assert status == 1
    assert err == f"kiosk enroll: cannot reach HQ: Connection refused ({hq.url}); try again later\n"


def test_existing_credentials_are_kept_without_force(
    hq: FakeHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = Credentials(hq.url, "sh-nanjing-road", "sh-nanjing-road-k1", "old-token")
    save_credentials(tmp_path, existing)
    code = hq.issue_code("sh-nanjing-road", "sh-nanjing-road-k2")

    status, _, err = run(capsys, "--hq", hq.url, "--code", code, "--data-dir", str(tmp_path))

    assert status == 1
    assert err == (
        f"kiosk enroll: {tmp_path / 'hq.json'} already enrols this machine as kiosk "
        "sh-nanjing-road-k1 of store sh-nanjing-road; use --force to replace it\n"
    )
    assert load_credentials(tmp_path) == existing
    assert hq.requests == []  # the code was not used up

    status, out, _ = run(
        capsys, "--hq", hq.url, "--code", code, "--data-dir", str(tmp_path), "--force"
    )
    assert status == 0
    assert "sh-nanjing-road-k2" in out
    replaced = load_credentials(tmp_path)
    assert replaced is not None
    assert replaced.kiosk_id == "sh-nanjing-road-k2"


def test_a_damaged_credentials_file_needs_force_too(
    hq: FakeHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hq.json").write_text("{")
    (tmp_path / "hq.json").chmod(0o600)

    status, _, err = run(
        capsys, "--hq", hq.url, "--code", hq.issue_code(), "--data-dir", str(tmp_path)
    )

    assert status == 1
    assert err.startswith("kiosk enroll: ")
    assert err.endswith("(use --force to replace the file)\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hq", "http://hq.example.com", "--code", "X"], "must use https"),
        (["--hq", "https://hq.example.com", "--code", "X", "--ca-bundle", "/nope.pem"], "CA"),
        (["--hq", "https://hq.example.com", "--code", "X", "--name", "n" * 101], "--name"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv, "--data-dir", str(tmp_path))

    assert status == 1
    assert err.startswith("kiosk enroll: ")
    assert message in err
    assert err.count("\n") == 1


def test_the_default_data_dir_is_the_kiosks() -> None:
    # conftest points XDG_DATA_HOME into a throwaway home, as kiosk/app.py reads it.
    assert default_data_dir().name == "kiosk"
    assert default_data_dir().parent.name == "share"


def test_hqs_content_key_is_pinned_at_enrolment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    content_key = bytes(range(100, 132))
    answer = {
        "store_id": "sh-nanjing-road",
        "kiosk_id": "sh-nanjing-road-k3",
        "token": "kiosk-token-0123456789",
        "content_key": base64.b64encode(content_key).decode(),
    }

    def hq_answers(hq_url: str, code: str, **_: Any) -> Credentials:
        return credentials_from_enrolment(hq_url, answer)

    monkeypatch.setattr(enroll, "enroll", hq_answers)

    status, _, err = run(
        capsys, "--hq", "https://hq.example.com", "--code", "X", "--data-dir", str(tmp_path)
    )

    assert (status, err) == (0, "")
    saved = load_credentials(tmp_path)
    assert saved is not None
    assert saved.content_key == content_key


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode(), 7])
def test_a_malformed_content_key_is_refused(bad: object) -> None:
    answer = {"store_id": "s", "kiosk_id": "k", "token": "t0123", "content_key": bad}

    with pytest.raises((TypeError, ValueError), match="content_key"):
        credentials_from_enrolment("https://hq.example.com", answer)
