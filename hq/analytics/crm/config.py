"""Which CRM connectors HQ runs, where their APIs are, and their secrets.

From the environment (hq.settings.Settings.load reads it once):

- `KIOSK_HQ_CRM`: "hubspot", "salesforce" or both ("hubspot,salesforce"); unset: none.
- `KIOSK_HQ_CRM_EVERY_S`: seconds between rounds inside HQ (default 300; 0: only
  `kiosk-hq crm sync` runs them).
- HubSpot: `KIOSK_HQ_HUBSPOT_TOKEN` or `KIOSK_HQ_HUBSPOT_TOKEN_FILE` (a private
  app's access token; default file `<data dir>/crm/hubspot-token`),
  `KIOSK_HQ_HUBSPOT_URL` (default https://api.hubapi.com), `KIOSK_HQ_HUBSPOT_EVENT`
  (a custom event's internal name; unset: no interactions are sent).
- Salesforce: `KIOSK_HQ_SALESFORCE_URL` (the instance, required),
  `KIOSK_HQ_SALESFORCE_TOKEN` / `_TOKEN_FILE` (default `<data dir>/crm/salesforce-token`),
  or `KIOSK_HQ_SALESFORCE_CLIENT_ID` with `KIOSK_HQ_SALESFORCE_CLIENT_SECRET` /
  `_CLIENT_SECRET_FILE` (client credentials), `KIOSK_HQ_SALESFORCE_API_VERSION`.

A secret file must be readable by its owner only (0600, as hq.private_files makes
HQ's own): one open to others is refused, naming the file, never its content.
Secrets are kept out of reprs and logs.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hq.analytics.crm.hubspot import DEFAULT_URL as HUBSPOT_URL
from hq.analytics.crm.hubspot import HubSpotConfig
from hq.analytics.crm.salesforce import API_VERSION, SalesforceConfig
from hq.errors import SettingsError

ENV_CONNECTORS: Final = "KIOSK_HQ_CRM"
ENV_EVERY: Final = "KIOSK_HQ_CRM_EVERY_S"
DEFAULT_EVERY_S: Final = 300.0
# Opt-outs reach HQ (and kiosks' feeds) within five minutes plus the feed's minute;
# a HubSpot account's 10-second window is never strained by one round a 5 minutes.
SECRETS_DIR: Final = "crm"
CONNECTORS: Final = ("hubspot", "salesforce")


@dataclass(frozen=True, slots=True)
class CrmConfig:
    hubspot: HubSpotConfig | None
    salesforce: SalesforceConfig | None
    every_s: float = DEFAULT_EVERY_S

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, config in zip(CONNECTORS, (self.hubspot, self.salesforce), strict=True)
            if config is not None
        )

    def __repr__(self) -> str:  # the nested configs hold tokens
        return f"CrmConfig(connectors={self.names!r}, every_s={self.every_s})"


def crm_config(env: Mapping[str, str], data_dir: Path) -> CrmConfig | None:
    """The configured connectors; None if KIOSK_HQ_CRM is unset or empty."""
    wanted = [name.strip() for name in env.get(ENV_CONNECTORS, "").split(",") if name.strip()]
    if not wanted:
        return None
    unknown = sorted(set(wanted) - set(CONNECTORS))
    if unknown:
        raise SettingsError(
            f"{ENV_CONNECTORS}: unknown connector {unknown[0]!r}; use {' or '.join(CONNECTORS)}"
        )
    try:
        every = float(env.get(ENV_EVERY) or DEFAULT_EVERY_S)
    except ValueError:
        raise SettingsError(f"{ENV_EVERY} must be a number of seconds") from None
    if every < 0:
        raise SettingsError(f"{ENV_EVERY} must be 0 or more")
    secrets_dir = data_dir / SECRETS_DIR
    hubspot = salesforce = None
    if "hubspot" in wanted:
        token = env_secret(env, "KIOSK_HQ_HUBSPOT_TOKEN", secrets_dir / "hubspot-token")
        if token is None:
            raise SettingsError("HubSpot needs KIOSK_HQ_HUBSPOT_TOKEN or a token file")
        hubspot = HubSpotConfig(
            token=token,
            base_url=env.get("KIOSK_HQ_HUBSPOT_URL") or HUBSPOT_URL,
            event_name=env.get("KIOSK_HQ_HUBSPOT_EVENT") or None,
        )
    if "salesforce" in wanted:
        url = env.get("KIOSK_HQ_SALESFORCE_URL")
        if not url:
            raise SettingsError("Salesforce needs KIOSK_HQ_SALESFORCE_URL (the instance URL)")
        client_id = env.get("KIOSK_HQ_SALESFORCE_CLIENT_ID") or None
        salesforce = SalesforceConfig(
            instance_url=url,
            token=env_secret(env, "KIOSK_HQ_SALESFORCE_TOKEN", secrets_dir / "salesforce-token"),
            client_id=client_id,
            client_secret=None
            if client_id is None
            else env_secret(
                env, "KIOSK_HQ_SALESFORCE_CLIENT_SECRET", secrets_dir / "salesforce-client-secret"
            ),
            api_version=env.get("KIOSK_HQ_SALESFORCE_API_VERSION") or API_VERSION,
        )
        if salesforce.token is None and salesforce.client_secret is None:
            raise SettingsError(
                "Salesforce needs a token (KIOSK_HQ_SALESFORCE_TOKEN or a token file) "
                "or a client id and secret"
            )
    return CrmConfig(hubspot=hubspot, salesforce=salesforce, every_s=every)


def env_secret(env: Mapping[str, str], name: str, default_file: Path) -> str | None:
    """`name` from the environment, else the file `name`_FILE names (or `default_file`
    if it exists); None if neither."""
    if value := env.get(name):
        return value.strip()
    configured = env.get(f"{name}_FILE")
    path = Path(configured).expanduser() if configured else default_file
    if not path.exists():
        if configured:
            raise SettingsError(f"{name}_FILE: no file {path}")
        return None
    return read_secret(path)


def read_secret(path: Path) -> str:
    """The secret in `path`, which must be open to its owner only."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SettingsError(
                f"{path} is open to group or others (mode {mode:04o}): chmod 600 it"
            )
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from None
    if not text:
        raise SettingsError(f"{path} is empty")
    return text
