"""SMS settings from the environment: log-only by default, every mistake named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hq.errors import SettingsError
from hq.settings import Settings
from hq.sms.config import build_provider, sms_config
from hq.sms.log_only import LogOnly

SECRET = "test-only-access-key-secret"  # noqa: S105 (a test fixture)
ALIYUN = {
    "KIOSK_HQ_SMS": "aliyun",
    "KIOSK_HQ_SMS_SIGN_NAME": "星光百货",
    "KIOSK_HQ_ALIYUN_ACCESS_KEY_ID": "LTAI5tTestOnlyKeyId",
    "KIOSK_HQ_ALIYUN_SMS_TEMPLATE": "SMS_465900001",
}


def test_without_settings_hq_texts_nobody_and_logs_instead(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, environ={})
    assert settings.sms.provider == "log"
    assert (settings.sms.daily_cap, settings.sms.max_attempts) == (3, 5)
    assert isinstance(build_provider(settings.sms), LogOnly)


def test_alibaba_reads_its_secret_from_a_private_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "sms" / "aliyun-access-key-secret"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRET + "\n")
    os.chmod(secret_file, 0o600)
    config = sms_config(ALIYUN, tmp_path)
    assert config.aliyun is not None
    assert config.aliyun.access_key_secret == SECRET
    assert config.aliyun.templates == {"zh-CN": "SMS_465900001"}
    assert SECRET not in repr(config)
    assert SECRET not in repr(config.aliyun)


def test_a_secret_file_open_to_others_is_refused_without_quoting_it(tmp_path: Path) -> None:
    secret_file = tmp_path / "sms" / "aliyun-access-key-secret"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRET)
    os.chmod(secret_file, 0o644)
    with pytest.raises(SettingsError, match="open to group or others") as refused:
        sms_config(ALIYUN, tmp_path)
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"KIOSK_HQ_SMS": "aws"}, "KIOSK_HQ_SMS: unknown provider"),
        ({"KIOSK_HQ_ALIYUN_SMS_TEMPLATE": ""}, "KIOSK_HQ_ALIYUN_SMS_TEMPLATE"),
        ({"KIOSK_HQ_SMS_SIGN_NAME": ""}, "KIOSK_HQ_SMS_SIGN_NAME"),
        ({"KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET": ""}, "KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET"),
        ({"KIOSK_HQ_SMS_RATE": "0"}, "KIOSK_HQ_SMS_RATE"),
        ({"KIOSK_HQ_SMS_RATE": "nan"}, "KIOSK_HQ_SMS_RATE"),
        ({"KIOSK_HQ_SMS_DAILY_CAP": "three"}, "KIOSK_HQ_SMS_DAILY_CAP"),
        ({"KIOSK_HQ_SMS_MAX_ATTEMPTS": "0"}, "KIOSK_HQ_SMS_MAX_ATTEMPTS"),
        ({"KIOSK_HQ_SMS_TIMEZONE": "Mars/Olympus"}, "KIOSK_HQ_SMS_TIMEZONE"),
    ],
)
def test_each_wrong_setting_is_named(tmp_path: Path, changes: dict[str, str], named: str) -> None:
    env = {**ALIYUN, "KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET": SECRET, **changes}
    with pytest.raises(SettingsError, match=named):
        sms_config(env, tmp_path)


def test_twilio_takes_a_number_or_a_messaging_service(tmp_path: Path) -> None:
    env = {
        "KIOSK_HQ_SMS": "twilio",
        "KIOSK_HQ_TWILIO_ACCOUNT_SID": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "KIOSK_HQ_TWILIO_AUTH_TOKEN": SECRET,
        "KIOSK_HQ_TWILIO_FROM": "MG9752274e9e519418a7406176694466fa",
    }
    config = sms_config(env, tmp_path)
    assert config.twilio is not None
    assert config.twilio.sender.startswith("MG")
    assert build_provider(config).name == "twilio"
    with pytest.raises(SettingsError, match="KIOSK_HQ_TWILIO_FROM"):
        sms_config({**env, "KIOSK_HQ_TWILIO_FROM": ""}, tmp_path)
