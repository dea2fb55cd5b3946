"""The channel's file names and size limits, in a module that imports nothing heavy.

The kiosk's GUI process needs these names (is there a store key? where are the
planogram edits?) but must not load what writes or seals the files (SQLAlchemy,
cryptography): window.py and keys.py import them from here.
"""

from __future__ import annotations

from typing import Final

WINDOW_FILE: Final = "channel.sqlite"
KEY_FILE: Final = "store.key"
MAX_DATA_BYTES: Final = 16_384
"""A message's data is a few ids; anything bigger is a bug, refused at append so that
no frame ever nears the client's limit (see client.MAX_FRAME_BYTES)."""
