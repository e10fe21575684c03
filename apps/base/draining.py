"""What a process still holds in memory when it is asked to stop, finished before it exits.

Some work leaves the request path for a background thread of the process: the access log rows
and the inventory (``apps.traffic.recorder``, written every few seconds) and the one-time PIN
mails (``apps.identity.pin_mailer``). Those threads are daemons: a worker that stops (a
deploy, ``kill -TERM``, gunicorn's ``max_requests``) would take what they hold with it. The
apps that own such work register a drain here from their ``AppConfig.ready``; gunicorn's
``worker_exit`` hook (``accessctl/gunicorn.conf.py``) calls :func:`drain_all` in the worker as
it leaves, within a deadline below gunicorn's graceful timeout, and a drain that does not
finish in time is logged with what it leaves behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Seconds a stopping worker gives its drains in all: gunicorn kills a worker that has not left
# ``graceful_timeout`` (30 s by default) after it was asked to.
DRAIN_SECONDS = 10.0

# A drain finishes what it holds within the seconds it is given: True when it did.
Drain = Callable[[float], bool]

_drains: dict[str, Drain] = {}


def register_drain(name: str, drain: Drain) -> None:
    """Run ``drain`` when the process stops (one per ``name``: registering again replaces)."""
    _drains[name] = drain


def drain_all(timeout: float = DRAIN_SECONDS) -> bool:
    """Run every drain, in the order registered, sharing ``timeout`` seconds; True when each
    finished. A drain that fails or runs out of time is logged and the next one still runs."""
    deadline = time.monotonic() + timeout
    finished = True
    for name, drain in list(_drains.items()):
        left = max(0.0, deadline - time.monotonic())
        try:
            done = drain(left)
        except Exception:  # one drain's failure must not cost the others their turn
            logger.exception("could not finish the %s before stopping", name)
            done = False
        else:
            if not done:
                logger.error("stopped before the %s was finished (%.1f s given)", name, left)
        finished = finished and done
    return finished
