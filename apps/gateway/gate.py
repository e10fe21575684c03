"""The one decision step of the middleware and the forward-auth endpoint: the ruling on the
certificate, then the session, then the access log line."""

from __future__ import annotations

import time

from django.http import HttpRequest
from django.utils import timezone

from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.base.backends import backends
from apps.gateway import config, remembered
from apps.gateway.decision import decide
from apps.gateway.logging import log_ruling
from apps.gateway.session_step import NO_EFFECT, SessionEffect, session_step
from apps.gateway.sinks import sinks
from apps.tokens.sessions import is_script, is_xhr

_SESSION_VERDICTS = frozenset({Verdict.ALLOW, Verdict.DENY})


def decide_request(request: HttpRequest, req: IncomingRequest) -> tuple[Ruling, SessionEffect]:
    """Rule on ``req`` (certificate, then session: apps.gateway.session_step), log one line.

    ``req`` describes the request being decided (for forward-auth: the original host and
    path). Cookies are read only for a request a session can change (allowed or refused). An
    allowed request seen a moment ago is answered from :mod:`apps.gateway.remembered`. Then
    every registered sink (apps.gateway.sinks) gets the ruling, off the log line.
    """
    started = time.perf_counter()
    now = timezone.now()
    key, known = remembered.recall(req, now)
    if known is not None:
        ruling, session = known.for_request(remembered.new_request_id(req), now)
    else:
        ruling = decide(req, now=now)
        session = NO_EFFECT
        if ruling.verdict in _SESSION_VERDICTS:
            snapshot = config.current_snapshot()
            ruling, session = session_step(
                ruling,
                path=req.path,
                cookies=request.COOKIES,
                xhr=is_xhr(request),
                now=now,
                script=is_script(request),
                ended=snapshot.ended_sessions if snapshot is not None else (),
            )
        if key is not None:
            remembered.rulings.remember(key, ruling, session, now)
    if ruling.verdict is Verdict.UNAVAILABLE:
        backends.refused()  # counted for the line that says the backend is back
    log_ruling(req, ruling)
    if sinks:
        elapsed = time.perf_counter() - started
        for sink in sinks:
            sink(req, ruling, elapsed)
    return ruling, session
