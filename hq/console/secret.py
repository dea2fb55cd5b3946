"""The console's signing secret: a random key in a 0600 file, outside the database.

Session cookies (Starlette's SessionMiddleware) and CSRF cookies (asgi-csrf) are
signed with keys derived from it, one per use. It lives in the data directory
(`console-secret`), made on first use, so a copy of the database alone cannot
forge a session; `KIOSK_HQ_CONSOLE_SECRET_FILE` puts it elsewhere (a secrets
mount). Deleting the file signs everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

from hq.errors import SettingsError
from hq.private_files import private_dir

SECRET_FILE: Final = "console-secret"  # noqa: S105 (a file name)
ENV_SECRET_FILE: Final = "KIOSK_HQ_CONSOLE_SECRET_FILE"  # noqa: S105 (a name)
SECRET_BYTES: Final = 32
MIN_SECRET_HEX: Final = 64


def secret_path(data_dir: Path, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get(ENV_SECRET_FILE)
    return Path(configured).expanduser() if configured else data_dir / SECRET_FILE


def load_secret(path: Path) -> bytes:
    """The secret at `path`, made (0600 in a 0700 directory) if there is none yet."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return _create(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the console secret {path}: {exc}") from exc
    if len(text) < MIN_SECRET_HEX:
        raise SettingsError(f"the console secret in {path} is too short; delete it to renew it")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise SettingsError(f"the console secret in {path} is not hex; delete it") from None


def derived_key(secret: bytes, purpose: str) -> str:
    """A key for one use (`session`, `csrf`), so no two signers share a key."""
    return hmac.new(secret, f"kiosk-hq console/{purpose}".encode(), hashlib.sha256).hexdigest()


def _create(path: Path) -> bytes:
    private_dir(path.parent)
    secret = secrets.token_bytes(SECRET_BYTES)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secret.hex() + "\n")
        # link(): whole or not at all; a second HQ starting now reads the first one's.
        os.link(draft, path)
    except FileExistsError:
        return load_secret(path)
    except OSError as exc:
        raise SettingsError(f"cannot write the console secret {path}: {exc}") from exc
    finally:
        draft.unlink(missing_ok=True)
    return secret
