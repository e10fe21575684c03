"""Where the gateway hands every ruling after logging it, for the layers above to record.

The gateway sits below the apps that keep what traffic shows (``apps.traffic``: the access log
in the dashboard, the certificate inventory, the metrics), so it cannot import them. They
register a sink here from their ``AppConfig.ready``, as ``apps.trust.enforcement`` lets the
policies layer register its hostnames. A sink runs on the request path: it must only append
to memory (bounded) and return; anything that writes goes to a background thread.
"""

from __future__ import annotations

from collections.abc import Callable

from accessctl.core.request import IncomingRequest, Ruling

# (the request as decided, its ruling, the seconds the decision and session step took)
RulingSink = Callable[[IncomingRequest, Ruling, float], None]

sinks: list[RulingSink] = []


def register_ruling_sink(sink: RulingSink) -> None:
    """Call ``sink`` for every ruling the gateway makes (idempotent)."""
    if sink not in sinks:
        sinks.append(sink)
