"""Which SMS provider HQ texts through, its credentials, and the sender's limits.

From the environment (hq.settings.Settings.load reads it once):

- `KIOSK_HQ_SMS`: "log" (the default: nothing leaves HQ, for the demo), "aliyun"
  (Alibaba Cloud SMS) or "twilio".
- `KIOSK_HQ_SMS_SIGN_NAME`: the chain's sign (签名, e.g. the store brand), shown as
  【sign】 at the start of each text; Alibaba needs its approved one.
- `KIOSK_HQ_SMS_RATE` (texts a second per HQ worker process, default 5),
  `KIOSK_HQ_SMS_DAILY_CAP` (texts per member per local day, default 3),
  `KIOSK_HQ_SMS_MAX_ATTEMPTS` (tries before a request fails, default 5),
  `KIOSK_HQ_SMS_TIMEZONE` (whose day the cap counts, default Asia/Shanghai).
- Alibaba: `KIOSK_HQ_ALIYUN_ACCESS_KEY_ID`, `KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET` or
  `_FILE` (default `<data dir>/sms/aliyun-access-key-secret`),
  `KIOSK_HQ_ALIYUN_SMS_TEMPLATE` (the Chinese template's code, SMS_...),
  `KIOSK_HQ_ALIYUN_SMS_TEMPLATE_EN` (English; default: the Chinese one),
  `KIOSK_HQ_ALIYUN_SMS_URL` (default https://dysmsapi.aliyuncs.com).
- Twilio: `KIOSK_HQ_TWILIO_ACCOUNT_SID`, `KIOSK_HQ_TWILIO_AUTH_TOKEN` or `_FILE`
  (default `<data dir>/sms/twilio-auth-token`), `KIOSK_HQ_TWILIO_FROM` (a number or
  a Messaging Service SID, MG...), `KIOSK_HQ_TWILIO_URL` (default https://api.twilio.com).

Secret files must be open to their owner only (0600), as the CRM connectors' are
(hq.analytics.crm.config.env_secret). Secrets stay out of reprs and logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hq.analytics.crm.config import env_secret
from hq.errors import SettingsError
from hq.sms import aliyun, twilio
from hq.sms.aliyun import AliyunConfig, AliyunSms
from hq.sms.log_only import LogOnly
from hq.sms.provider import SmsProvider
from hq.sms.twilio import TwilioConfig, TwilioSms

ENV_PROVIDER: Final = "KIOSK_HQ_SMS"
SECRETS_DIR: Final = "sms"
ProviderKind = Literal["log", "aliyun", "twilio"]
PROVIDERS: Final[tuple[ProviderKind, ...]] = ("log", "aliyun", "twilio")

DEFAULT_RATE: Final = 5.0
# Texts a second per worker: Alibaba's and Twilio's account defaults take more; a
# chain's members ask a few a minute, so this only matters after an outage.
DEFAULT_DAILY_CAP: Final = 3
DEFAULT_MAX_ATTEMPTS: Final = 5
# With the sender's backoff (30 s doubling) five tries span about 8 minutes.
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class SmsConfig:
    provider: ProviderKind = "log"
    sign_name: str | None = None
    rate: float = DEFAULT_RATE
    daily_cap: int = DEFAULT_DAILY_CAP
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timezone: str = DEFAULT_TIMEZONE
    aliyun: AliyunConfig | None = None
    twilio: TwilioConfig | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __repr__(self) -> str:  # the provider configs hold secrets
        return (
            f"SmsConfig(provider={self.provider!r}, rate={self.rate}, "
            f"daily_cap={self.daily_cap}, max_attempts={self.max_attempts}, "
            f"timezone={self.timezone!r})"
        )


def build_provider(config: SmsConfig) -> SmsProvider:
    """The configured provider, with its own HTTP session (close() it)."""
    if config.provider == "aliyun":
        assert config.aliyun is not None  # sms_config made sure
        return AliyunSms(config.aliyun)
    if config.provider == "twilio":
        assert config.twilio is not None
        return TwilioSms(config.twilio)
    return LogOnly()


def sms_config(env: Mapping[str, str], data_dir: Path) -> SmsConfig:
    """The SMS settings in `env`; SettingsError naming the variable that is wrong."""
    kind = (env.get(ENV_PROVIDER) or "log").strip()
    if kind not in PROVIDERS:
        raise SettingsError(
            f"{ENV_PROVIDER}: unknown provider {kind!r}; use {', '.join(PROVIDERS)}"
        )
    sign_name = (env.get("KIOSK_HQ_SMS_SIGN_NAME") or "").strip() or None
    rate = _number(env, "KIOSK_HQ_SMS_RATE", DEFAULT_RATE)
    if not (rate > 0 and math.isfinite(rate)):
        raise SettingsError("KIOSK_HQ_SMS_RATE must be more than 0 texts a second")
    cap = _whole(env, "KIOSK_HQ_SMS_DAILY_CAP", DEFAULT_DAILY_CAP, least=0)
    attempts = _whole(env, "KIOSK_HQ_SMS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, least=1)
    zone = (env.get("KIOSK_HQ_SMS_TIMEZONE") or DEFAULT_TIMEZONE).strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"KIOSK_HQ_SMS_TIMEZONE: no time zone {zone!r}") from None
    secrets_dir = data_dir / SECRETS_DIR
    config = SmsConfig(kind, sign_name, rate, cap, attempts, zone)
    if kind == "aliyun":
        return _with_aliyun(config, env, secrets_dir)
    if kind == "twilio":
        return _with_twilio(config, env, secrets_dir)
    return config


def _with_aliyun(config: SmsConfig, env: Mapping[str, str], secrets_dir: Path) -> SmsConfig:
    key_id = _required(env, "KIOSK_HQ_ALIYUN_ACCESS_KEY_ID", "Alibaba Cloud SMS")
    secret = env_secret(
        env, "KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET", secrets_dir / "aliyun-access-key-secret"
    )
    if secret is None:
        raise SettingsError(
            "Alibaba Cloud SMS needs KIOSK_HQ_ALIYUN_ACCESS_KEY_SECRET or a secret file"
        )
    template = _required(env, "KIOSK_HQ_ALIYUN_SMS_TEMPLATE", "Alibaba Cloud SMS")
    if config.sign_name is None:
        raise SettingsError("Alibaba Cloud SMS needs KIOSK_HQ_SMS_SIGN_NAME (the approved sign)")
    templates = {"zh-CN": template}
    if english := (env.get("KIOSK_HQ_ALIYUN_SMS_TEMPLATE_EN") or "").strip():
        templates["en"] = english
    settings = AliyunConfig(
        access_key_id=key_id,
        access_key_secret=secret,
        sign_name=config.sign_name,
        templates=templates,
        base_url=(env.get("KIOSK_HQ_ALIYUN_SMS_URL") or "").strip() or aliyun.DEFAULT_URL,
    )
    return replace(config, aliyun=settings)


def _with_twilio(config: SmsConfig, env: Mapping[str, str], secrets_dir: Path) -> SmsConfig:
    sid = _required(env, "KIOSK_HQ_TWILIO_ACCOUNT_SID", "Twilio")
    token = env_secret(env, "KIOSK_HQ_TWILIO_AUTH_TOKEN", secrets_dir / "twilio-auth-token")
    if token is None:
        raise SettingsError("Twilio needs KIOSK_HQ_TWILIO_AUTH_TOKEN or a token file")
    settings = TwilioConfig(
        account_sid=sid,
        auth_token=token,
        sender=_required(env, "KIOSK_HQ_TWILIO_FROM", "Twilio"),
        base_url=(env.get("KIOSK_HQ_TWILIO_URL") or "").strip() or twilio.DEFAULT_URL,
    )
    return replace(config, twilio=settings)


def _required(env: Mapping[str, str], name: str, provider: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise SettingsError(f"{provider} needs {name}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None


def _whole(env: Mapping[str, str], name: str, default: int, *, least: int) -> int:
    try:
        value = int(env.get(name) or default)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number") from None
    if value < least:
        raise SettingsError(f"{name} must be {least} or more")
    return value
