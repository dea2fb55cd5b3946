"""Store channel keys: what a store's kiosks and attendants prove they share.

The live channel on a store's LAN (docs/store-channel.md) is authenticated and
encrypted with a key per store. HQ never stores it: it is derived from the
chain's secret (`hq.crm.coupons`), the store id and the store's key version, and
handed to each kiosk at enrolment and on request (`GET /v1/store-channel-key`).
Rotating bumps the version; HQ then answers the new key and the one before it, so
devices that have not yet fetched the new key keep talking while the store
moves over, and a leaked old key stops working after the next rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from hq.crm import coupons
from hq.db import Database, stores
from hq.errors import UnknownStore

_log = logging.getLogger("hq.channel_keys")

KEY_BYTES: Final = 32
# Domain separation: the same chain secret also derives coupon keys.
_LABEL: Final = b"kiosk store channel key\x00"


@dataclass(frozen=True, slots=True)
class ChannelKeys:
    """A store's current channel key and, after a rotation, the one before it."""

    key_id: int
    key: bytes = field(repr=False)
    previous: bytes | None = field(default=None, repr=False)


def derive(secret: bytes, store_id: str, key_id: int) -> bytes:
    """The store's channel key of version `key_id` (1, 2, ...)."""
    if key_id < 1:
        raise ValueError("channel key versions start at 1")
    message = _LABEL + store_id.encode("utf-8") + b"\x00" + str(key_id).encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).digest()


def keys_for(secret: bytes, store_id: str, key_id: int) -> ChannelKeys:
    previous = derive(secret, store_id, key_id - 1) if key_id > 1 else None
    return ChannelKeys(key_id, derive(secret, store_id, key_id), previous)


def store_keys(connection: Connection, secret: bytes, store_id: str) -> ChannelKeys:
    """The store's keys, its version read in the caller's transaction."""
    key_id = connection.execute(
        select(stores.c.channel_key_id).where(stores.c.store_id == store_id)
    ).scalar_one_or_none()
    if key_id is None:
        raise UnknownStore(store_id)
    return keys_for(secret, store_id, int(key_id))


def current(database: Database, store_id: str) -> ChannelKeys:
    secret = coupons.coupon_secret(database)
    with database.read() as connection:
        return store_keys(connection, secret, store_id)


def rotate(database: Database, store_id: str) -> int:
    """Move the store to a new channel key; its new version."""
    with database.write() as connection:
        key_id = connection.execute(
            update(stores)
            .where(stores.c.store_id == store_id)
            .values(channel_key_id=stores.c.channel_key_id + 1)
            .returning(stores.c.channel_key_id)
        ).scalar_one_or_none()
    if key_id is None:
        raise UnknownStore(store_id)
    _log.info("store %s: channel key rotated to version %d", store_id, key_id)
    return int(key_id)
