"""gunicorn settings for accessctl (`gunicorn -c accessctl/gunicorn.conf.py`).

ACCESSCTL_BIND and ACCESSCTL_WORKERS set the address and the number of workers; any other
gunicorn option can be added with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("ACCESSCTL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ACCESSCTL_WORKERS", str(min(4, multiprocessing.cpu_count() * 2))))
wsgi_app = "accessctl.wsgi:application"
accesslog = "-"
errorlog = "-"
# The terminator in front (nginx, HAProxy, ...) is the only expected peer; its address is what
# ACCESSCTL_TRUSTED_PROXIES must list. gunicorn itself never trusts forwarded headers.
forwarded_allow_ips = ""
# Header names with underscores are dropped (gunicorn >= 22 default): X_SSL_Client_Cert can
# never stand in for X-SSL-Client-Cert.
header_map = "drop"
# gunicorn >= 25 opens a runtime control socket at one fixed path per user ($HOME/.gunicorn/
# gunicorn.ctl): a second instance (the demo, the end-to-end tests, another `make run`) would
# take it over and remove it on exit, and nothing here uses it. Older gunicorns ignore this.
control_socket_disable = True
# A forwarded certificate chain (ALB, Envoy's Chain, RFC 9440) can pass gunicorn's default
# 8190-byte header limit; accessctl's own limit is 16 KiB (accessctl.core.forwarded), refused
# with a reason code in the access log. Leave room above it so ours is the one that applies.
limit_request_field_size = 20480

# Prometheus metrics (/_accessctl/metrics) add up every worker's values: each worker writes
# them to files in PROMETHEUS_MULTIPROC_DIR, which must be set before the workers import
# prometheus_client (they do after the fork: the app is not preloaded). Without one given, a
# private directory is made for this server and removed when it stops. A given directory is
# emptied at start: files of an earlier run would count twice.
_made_metrics_dir: list[str] = []


def on_starting(server: object) -> None:
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        given = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="accessctl-metrics-"
        )
        _made_metrics_dir.append(given)
    metrics_dir = Path(given)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server: object, worker: Any) -> None:
    # A replaced worker's gauges (configuration staleness) stop counting; its counters stay.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    # The application is loaded (Django, every app and module, the settings): what exists now
    # lives as long as the worker. gc.freeze() takes it out of the garbage collector's sight,
    # so that a full collection scans only what the worker made since (its caches, its
    # requests), not the ~125,000 objects of startup: measured in-process, a full collection
    # took 62 ms before and 0.3 ms after, a pause every request waiting on the worker shares.
    import gc

    gc.freeze()


def worker_exit(server: object, worker: Any) -> None:
    # In the worker, as it leaves: what its background threads still hold (the access log
    # rows, one-time PIN mails: apps/base/draining.py) is written and sent, within a deadline
    # below graceful_timeout; then the log lines it still holds (apps/base/log_handlers.py).
    # logging.shutdown() at the interpreter's exit would write those too.
    import logging

    try:
        from apps.base.draining import DRAIN_SECONDS, drain_all

        # A third of the graceful timeout at most: the request in flight came first.
        graceful = float(getattr(getattr(worker, "cfg", None), "graceful_timeout", 30))
        drain_all(min(DRAIN_SECONDS, graceful / 3))
    finally:
        logging.shutdown()


def on_exit(server: object) -> None:
    for made in _made_metrics_dir:
        shutil.rmtree(made, ignore_errors=True)
