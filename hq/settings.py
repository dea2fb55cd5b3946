"""Where HQ keeps its data and how it reaches its database, from arguments or environment.

Command-line arguments win over the environment, the environment over defaults:

- data directory: `--data-dir`, `KIOSK_HQ_DATA_DIR`, else `$XDG_DATA_HOME/kiosk-hq`
  (`~/.local/share/kiosk-hq` without XDG_DATA_HOME);
- database: `--database-url`, `KIOSK_HQ_DATABASE_URL`, else an SQLite file
  `hq.sqlite3` in the data directory;
- consent notices for the phone sign-up page: `KIOSK_HQ_NOTICES`, else
  `<data dir>/notices.json`; region of numbers without +country: `KIOSK_HQ_REGION` (CN)
- admin token: `KIOSK_HQ_ADMIN_TOKEN`, else one generated once into
  `<data dir>/admin-token` (mode 0600) and read from there afterwards;
- content signing keys (hq/content/signing.py): `--content-key-dir`,
  `KIOSK_HQ_CONTENT_KEY_DIR`, else `<data dir>/keys` (0700, kept out of the
  database and of its backups); content assets: `<data dir>/assets`.
- CRM connectors: `KIOSK_HQ_CRM` and the variables hq/analytics/crm/config.py names.
- Text messages: `KIOSK_HQ_SMS` (default "log": nothing is sent) and the variables
  hq/sms/config.py names.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy import URL

from hq.analytics.crm.config import CrmConfig, crm_config
from hq.errors import SettingsError
from hq.private_files import private_dir
from hq.sms.config import SmsConfig, sms_config

ENV_DATA_DIR: Final = "KIOSK_HQ_DATA_DIR"
ENV_DATABASE_URL: Final = "KIOSK_HQ_DATABASE_URL"
ENV_ADMIN_TOKEN: Final = "KIOSK_HQ_ADMIN_TOKEN"  # noqa: S105 (a name, not a secret)
ENV_NOTICES: Final = "KIOSK_HQ_NOTICES"
ENV_REGION: Final = "KIOSK_HQ_REGION"
ENV_CONTENT_KEY_DIR: Final = "KIOSK_HQ_CONTENT_KEY_DIR"
CONTENT_KEY_DIR: Final = "keys"
ASSETS_DIR: Final = "assets"
SCRATCH_DIR: Final = "tmp"
NOTICES_FILE: Final = "notices.json"
DEFAULT_REGION: Final = "CN"

ADMIN_TOKEN_FILE: Final = "admin-token"  # noqa: S105 (a file name)
SQLITE_FILE: Final = "hq.sqlite3"

MIN_ADMIN_TOKEN_LENGTH: Final = 16
# A shorter admin token could be guessed over the network; generated ones have 43 characters.


@dataclass(frozen=True, slots=True)
class Settings:
    """What one HQ runs with. `admin_token` None means: use the token file in `data_dir`."""

    data_dir: Path
    database_url: str
    admin_token: str | None = None
    # The consent notices the phone sign-up page shows (the bundle's notices.json
    # shape); None: `<data_dir>/notices.json`.
    notices_path: Path | None = None
    # Numbers typed without +country on the phone sign-up page are from here.
    default_region: str = DEFAULT_REGION
    # HQ's content signing keys; None: `<data_dir>/keys`.
    content_key_path: Path | None = None
    # External CRM connectors (hq/analytics/crm/); None: none configured.
    crm: CrmConfig | None = None
    # The SMS provider and the sender's limits (hq/sms/); default: log-only.
    sms: SmsConfig = field(default_factory=SmsConfig)

    @classmethod
    def load(
        cls,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        content_key_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from the given arguments, then `environ` (default: os.environ)."""
        env = os.environ if environ is None else environ
        if data_dir is None:
            data_dir = _default_data_dir(env)
        if database_url is None:
            database_url = env.get(ENV_DATABASE_URL) or sqlite_url(data_dir / SQLITE_FILE)
        admin_token = env.get(ENV_ADMIN_TOKEN) or None
        if admin_token is not None and len(admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise SettingsError(
                f"{ENV_ADMIN_TOKEN} must be at least {MIN_ADMIN_TOKEN_LENGTH} characters long"
            )
        notices = env.get(ENV_NOTICES)
        if content_key_dir is None and env.get(ENV_CONTENT_KEY_DIR):
            content_key_dir = Path(env[ENV_CONTENT_KEY_DIR])
        return cls(
            data_dir=data_dir.expanduser(),
            database_url=database_url,
            admin_token=admin_token,
            notices_path=Path(notices).expanduser() if notices else None,
            default_region=(env.get(ENV_REGION) or DEFAULT_REGION).upper(),
            content_key_path=None if content_key_dir is None else content_key_dir.expanduser(),
            crm=crm_config(env, data_dir.expanduser()),
            sms=sms_config(env, data_dir.expanduser()),
        )

    @property
    def admin_token_path(self) -> Path:
        return self.data_dir / ADMIN_TOKEN_FILE

    @property
    def notices_file(self) -> Path:
        return self.notices_path or self.data_dir / NOTICES_FILE

    @property
    def content_key_dir(self) -> Path:
        return self.content_key_path or self.data_dir / CONTENT_KEY_DIR

    @property
    def assets_dir(self) -> Path:
        return self.data_dir / ASSETS_DIR

    @property
    def scratch_dir(self) -> Path:
        """Uploads being unpacked; on the assets' file system, so edits can hard-link."""
        return self.data_dir / SCRATCH_DIR


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string()


def _default_data_dir(env: Mapping[str, str]) -> Path:
    if configured := env.get(ENV_DATA_DIR):
        return Path(configured)
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "kiosk-hq"


def ensure_data_dir(settings: Settings) -> None:
    """Create the data directory, or close up one open to others: HQ's user's only
    (it holds the database and the admin token)."""
    try:
        private_dir(settings.data_dir)
    except OSError as exc:
        raise SettingsError(f"cannot create data directory {settings.data_dir}: {exc}") from exc


def resolve_admin_token(settings: Settings) -> str:
    """The admin token: from the settings, else the token file, made on first use."""
    if settings.admin_token is not None:
        return settings.admin_token
    ensure_data_dir(settings)
    path = settings.admin_token_path
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return _create_admin_token(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the admin token file {path}: {exc}") from exc
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        raise SettingsError(f"the admin token in {path} is too short; delete the file to renew it")
    return token


def _create_admin_token(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(token + "\n")
        # link() publishes the file whole or not at all: a second HQ starting at the
        # same moment reads the first one's token instead of writing its own.
        os.link(draft, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise SettingsError(f"cannot write the admin token file {path}: {exc}") from exc
    finally:
        draft.unlink(missing_ok=True)
    return token
