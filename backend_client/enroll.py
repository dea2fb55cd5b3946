"""`kiosk enroll`: trade a one-time code from HQ for this kiosk's credentials.

    kiosk enroll --hq https://hq.example.com --code 7KQ2-M9XD-4HRT [--name "entrance screen"]

Saves `<data dir>/hq.json` (mode 0600), `store.key` (the store's live-channel
key) and, if there is none yet, `outbox.key` (the outbox's payload key), and
prints which store and kiosk HQ made this machine, and its number in coupon
codes; never the token nor a key. A code from `kiosk-hq store enrol-attendant`
enrols a store staff device (`kiosk-attendant`) the same way: HQ's answer says
the role, and hq.json keeps it with the store's coupon key.

Existing credentials are kept unless `--force` is given, and that is checked
before HQ sees the code, so a refused overwrite does not use the code up. Every
failure is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from backend_client.channel.keys import write_store_key
from backend_client.client import HqError, HqRefused, HqUnavailable, enroll
from backend_client.credentials import (
    CredentialsError,
    check_hq_url,
    credentials_path,
    load_credentials,
    save_credentials,
)
from backend_client.crypto import KeyFileError, PayloadCipher
from backend_client.relay_process import KEY_FILE as OUTBOX_KEY_FILE

PROG = "kiosk enroll"


def default_data_dir() -> Path:
    """As the kiosk's own default (kiosk/app.py): $XDG_DATA_HOME/kiosk."""
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "kiosk"


class _Failure(Exception):
    """A one-line reason the command stops."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Enrol this kiosk with HQ using a one-time code."
    )
    parser.add_argument("--hq", required=True, metavar="URL", help="HQ's address (https://...)")
    parser.add_argument(
        "--code", required=True, help="enrolment code from `kiosk-hq kiosk enroll-code`"
    )
    parser.add_argument("--name", help="how HQ lists this kiosk, e.g. 'entrance screen'")
    parser.add_argument("--data-dir", type=Path, default=None, help="the kiosk's data directory")
    parser.add_argument("--ca-bundle", type=Path, help="CA bundle for HQ's TLS certificate")
    parser.add_argument("--force", action="store_true", help="replace existing credentials")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir if args.data_dir is not None else default_data_dir()
    try:
        _enroll(args, data_dir)
    except _Failure as failure:
        print(f"{PROG}: {failure}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for whoever is installing the kiosk
        print(f"{PROG}: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _enroll(args: argparse.Namespace, data_dir: Path) -> None:
    try:
        hq_url = check_hq_url(args.hq)
    except ValueError as exc:
        raise _Failure(str(exc)) from None
    if args.ca_bundle is not None and not args.ca_bundle.is_file():
        raise _Failure(f"CA bundle {args.ca_bundle} is not a file")
    if args.name is not None and not 1 <= len(args.name) <= 100:
        raise _Failure("--name must be 1 to 100 characters")
    if not args.force:
        _refuse_to_overwrite(data_dir)
    try:
        credentials = enroll(hq_url, args.code, name=args.name, ca_bundle=args.ca_bundle)
    except HqUnavailable as exc:
        raise _Failure(f"{exc.reason} ({hq_url}); try again later") from None
    except HqRefused as exc:
        if exc.status == 403:
            raise _Failure(f"HQ refused the code: {exc.message}") from None
        raise _Failure(f"HQ refused the enrolment: {exc.status} {exc.message}") from None
    except HqError as exc:  # 401, or anything else HQ says no with
        raise _Failure(f"HQ refused the enrolment: {exc}") from None
    try:
        path = save_credentials(data_dir, credentials)
        if credentials.channel_key is not None:  # what the store's live channel uses
            key = credentials.channel_key
            write_store_key(data_dir, key.key, previous=key.previous, keep_previous=False)
        # The outbox's payload key, made now if it is not there yet (as on first use).
        PayloadCipher.from_key_file(data_dir / OUTBOX_KEY_FILE)
    except (OSError, KeyFileError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise _Failure(
            f"enrolled as kiosk {credentials.kiosk_id} of store {credentials.store_id}, "
            f"but cannot save {credentials_path(data_dir)}: {why}; "
            "ask HQ for a new code"
        ) from None
    coupons = "" if credentials.kiosk_no is None else f" (kiosk number {credentials.kiosk_no})"
    what = "attendant device" if credentials.role == "attendant" else "kiosk"
    print(
        f"enrolled as {what} {credentials.kiosk_id}{coupons} of store {credentials.store_id}; "
        f"credentials saved to {path}"
    )


def _refuse_to_overwrite(data_dir: Path) -> None:
    try:
        existing = load_credentials(data_dir)
    except CredentialsError as exc:
        raise _Failure(f"{exc} (use --force to replace the file)") from None
    if existing is not None:
        raise _Failure(
            f"{credentials_path(data_dir)} already enrols this machine as kiosk "
            f"{existing.kiosk_id} of store {existing.store_id}; use --force to replace it"
        )


if __name__ == "__main__":
    sys.exit(main())
