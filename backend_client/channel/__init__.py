"""The store's live channel: kiosks serve their feed to attendants on the store LAN.

See docs/store-channel.md. No Qt here: the attendant view imports the client and
the message model; the kiosk runs `serve` as a process of its own.
"""
