"""Errors HQ's operations raise on purpose, with messages fit for a person.

The CLI prints any `HqError` as one line; the API turns the ones a caller can
cause into 4xx answers. Messages never quote personal data.
"""

from __future__ import annotations


class HqError(Exception):
    """Something a person can fix: a wrong argument, a missing store, bad settings."""


class SettingsError(HqError):
    """The settings (arguments, environment, data directory) cannot be used."""


class UnknownStore(HqError, LookupError):
    def __init__(self, store_id: str) -> None:
        super().__init__(f"no store {store_id!r}: add it first with `kiosk-hq store add`")
        self.store_id = store_id


class StoreFull(HqError):
    def __init__(self, store_id: str, seats: int) -> None:
        super().__init__(
            f"store {store_id!r} has {seats} kiosk seat(s), all held by enrolled kiosks: "
            "revoke the kiosk being replaced first (its seat is freed)"
        )
        self.store_id = store_id
        self.seats = seats


class SeatsInUse(HqError):
    def __init__(self, store_id: str) -> None:
        super().__init__(
            f"store {store_id!r} has kiosks holding seats: each keeps to its part of the "
            "store's budgets as it was given at enrolment, so the count changes only with "
            "none enrolled (revoke them, change it, enrol them again)"
        )
        self.store_id = store_id


class StoreExists(HqError):
    def __init__(self, store_id: str) -> None:
        super().__init__(f"store {store_id!r} already exists (use --exist-ok to accept that)")
        self.store_id = store_id


class UnknownKiosk(HqError, LookupError):
    def __init__(self, kiosk_id: str) -> None:
        super().__init__(f"no kiosk {kiosk_id!r}")
        self.kiosk_id = kiosk_id


class InvalidStoreId(HqError, ValueError):
    def __init__(self, store_id: str) -> None:
        super().__init__(
            f"store id {store_id!r} is not a lowercase slug of 2 to 40 characters [a-z0-9-]"
        )
