"""What a channel server and its clients agree on besides the message: where the feed is
and how often a quiet server speaks. A module of its own so the attendant's client does
not import the server (uvicorn, Starlette, zeroconf, the window's SQLAlchemy)."""

from __future__ import annotations

from typing import Final

PATH: Final = "/v1/channel"
# A comment line this often lets clients tell a dead kiosk from a quiet one.
KEEPALIVE_S: Final = 5.0
