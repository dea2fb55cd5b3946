"""Fleet health: kiosks' heartbeats, the alerts HQ raises on them, and the fleet as staff see it.

- `wire`: the body of `POST /v1/heartbeat` and its answer (docs/hq-api.md);
- `alerts`: the rules, pure: which alerts should be open, given each kiosk's last
  heartbeat and `now`; and what to raise and clear to get there;
- `store`: heartbeats kept (the last per kiosk, a bounded history), alerts raised and
  cleared in the database, the fleet read for the console and `kiosk-hq fleet`;
- `commands`: staff's remote commands to a kiosk, signed at issue, handed out in the
  heartbeat's answer, finished by the kiosk's result;
- `api`: the kiosk endpoints; `sweeper`: the thread that raises silence alerts.
"""
