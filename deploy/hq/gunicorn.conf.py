"""gunicorn's settings for HQ (deploy/hq/README.md): uvicorn workers behind nginx.

Read by `gunicorn --config /etc/kiosk-hq/gunicorn.conf.py 'hq.asgi:app_from_environment()'`
in kiosk-hq.service and in the container image. The environment may change:

- KIOSK_HQ_BIND: where the workers listen (default: the unix socket nginx proxies
  to; the container listens on 0.0.0.0:8000 inside its own network);
- KIOSK_HQ_WORKERS: how many worker processes (default: one per core, at least 2);
- KIOSK_HQ_FORWARDED_ALLOW_IPS: whose X-Forwarded-For/-Proto to believe (default
  "*": on a unix socket only nginx, whose group may open it, can connect; name the
  proxy's address when binding to TCP).
"""

import os

from hq.app import GRACEFUL_SHUTDOWN_S, KEEP_ALIVE_S
from hq.logs import dict_config

bind = [os.environ.get("KIOSK_HQ_BIND", "unix:/run/kiosk-hq/hq.sock")]
# The socket is 0660: HQ's user and group (nginx's user is a member), nobody else.
umask = 0o117

# Each worker is one event loop plus HQ's thread pool with up to 50 PostgreSQL
# connections (hq/db.py): mind max_connections (100 by default) past 2 workers.
workers = int(os.environ.get("KIOSK_HQ_WORKERS") or max(2, os.cpu_count() or 1))
worker_class = "hq.asgi.Worker"

# A worker whose event loop does not come round for this long (a blocking call
# on the loop, a deadlock) is killed and replaced; a batch takes well under 1 s.
timeout = 60
graceful_timeout = GRACEFUL_SHUTDOWN_S
keepalive = KEEP_ALIVE_S
# Workers are replaced now and then, not all at once, so a slow leak cannot grow.
max_requests = 100_000
max_requests_jitter = 10_000

forwarded_allow_ips = os.environ.get("KIOSK_HQ_FORWARDED_ALLOW_IPS", "*")

# No `gunicornc` control socket: it would go to the service user's home.
control_socket_disable = True

# HQ logs through `logging`, each record one escaped line (hq/logs.py; hq.access for
# requests: no query strings, no tag hashes); gunicorn's own access log would print
# query strings. The journal (or the container runtime) adds the time; the pid tells
# the workers apart.
accesslog = None
logconfig_dict = dict_config(fmt="[%(process)d] %(levelname)s %(name)s: %(message)s")


def post_worker_init(worker):
    """What start-up made lives as long as the worker: keep it out of the garbage
    collector's full passes, as `kiosk-hq serve` does (latency spikes otherwise)."""
    import gc  # noqa: PLC0415

    gc.freeze()
