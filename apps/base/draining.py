"""What a process still holds in memory when it is asked to stop, finished before it exits.

Some work leaves the request path for a background thread of the process: the access log rows
and the inventory (``apps.traffic.recorder``, written every few seconds) and the one-time PIN
mails (``apps.identity.pin_mailer``). Those threads are daemons: a worker that stops (a
deploy, ``kill -TERM``, gunicorn's ``max_requests``) would take what they hold with it. The
apps that own such work register a drain here from their ``AppConfig.ready``; gunicorn's
``worker_exit`` hook (``accessctl/gunicorn.conf.py``) calls :func:`drain_all` in the worker as
it leaves: the drains run side by side, within a deadline below gunicorn's graceful timeout,
and a drain that does not finish in time is left behind and logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Seconds a stopping worker gives its drains at most: gunicorn kills a worker that has not left
# ``graceful_timeout`` (30 s by default) after it was asked to; the hook gives less when that is
# set lower.
DRAIN_SECONDS = 10.0

# A drain finishes what it holds within the seconds it is given: True when it did.
Drain = Callable[[float], bool]

_drains: dict[str, Drain] = {}


def register_drain(name: str, drain: Drain) -> None:
    """Run ``drain`` when the process stops (one per ``name``: registering again replaces)."""
    _drains[name] = drain


def drain_all(timeout: float = DRAIN_SECONDS) -> bool:
    """Run every drain at once, each in a thread of its own, and wait for them at most
    ``timeout`` seconds in all; True when each finished. The drains do not wait for each
    other (a mail server that does not answer leaves the access log its whole time), and a
    drain still running at the deadline is left behind (its thread is a daemon): the process
    leaves on time rather than be killed, and what was not finished is logged."""
    deadline = time.monotonic() + timeout
    outcomes: dict[str, bool] = {}

    def run(name: str, drain: Drain) -> None:
        try:
            outcomes[name] = drain(timeout)
        except Exception:  # one drain's failure must not cost the others their turn
            logger.exception("could not finish the %s before stopping", name)
            outcomes[name] = False

    threads = {
        name: threading.Thread(target=run, args=(name, drain), name=f"drain {name}", daemon=True)
        for name, drain in list(_drains.items())
    }
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(max(0.0, deadline - time.monotonic()))
    finished = True
    for name, thread in threads.items():
        if thread.is_alive():
            logger.error("stopping with the %s not finished after %.1f s", name, timeout)
            finished = False
        elif outcomes.get(name) is False:
            logger.error("stopping with the %s not finished: see the lines above", name)
            finished = False
    return finished
