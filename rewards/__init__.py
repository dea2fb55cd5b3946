"""Coupons, prize draws and survey rewards on the kiosk; no Qt.

- `codes`: the coupon code format (docs/hq-api.md, "Coupon codes"): issuing a
  code under this kiosk's key and checking one, pure and without I/O.
- `issuing`, `draw`: pure decisions (may a campaign issue now, what a roll wins).
- `ledger`, `desk`: every coupon and draw on disk, and the thread that runs them.
- `redemption`: redeeming a code at the store, once, reported to HQ.
"""
