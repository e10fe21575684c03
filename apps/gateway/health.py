"""Liveness and readiness for load balancers, and what the dashboard's banner says.

``/_accessctl/healthz`` (alive: the worker answers) and ``/_accessctl/readyz`` (ready: its
configuration is confirmed, by the database or, while the database is away, by the cache).
They live under ``/_accessctl/``, accessctl's own prefix (the forward-auth endpoint's too),
on every hostname: a load balancer probes whatever Host it is configured with, and a bare
``/healthz`` on a guarded hostname would shadow the application's own health check. The
access middleware answers them before sessions, CSRF and URL resolution, so a probe costs no
session and no query beyond the worker's own configuration check.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from apps.base.backends import Backend, Source, backends, cache_is_shared
from apps.gateway import config
from apps.gateway.responses import already_logged

HEALTHZ_PATH = "/_accessctl/healthz"
READYZ_PATH = "/_accessctl/readyz"


@dataclass(frozen=True, slots=True)
class Readiness:
    """This worker's view of its configuration and its backends."""

    ready: bool  # the configuration is confirmed: guarded hostnames are decided
    confirmed_by: Source | None  # who confirmed it last
    confirmed_ago: float | None  # seconds since, None if never
    down: dict[Backend, float]  # unreachable backends, and for how many seconds

    def backend_state(self, backend: Backend) -> str:
        """``up``, ``down`` or ``not shared`` (a process-local cache)."""
        if backend is Backend.CACHE and not cache_is_shared():
            return "not shared"
        return "down" if backend in self.down else "up"


def readiness() -> Readiness:
    """Confirm the configuration if a check is due, and say how things stand."""
    snapshot, by, ago = config.holder.status()
    now = backends.now()
    return Readiness(
        ready=snapshot is not None,
        confirmed_by=by,
        confirmed_ago=ago if ago != float("inf") else None,
        down={b: now - outage.since for b, outage in backends.outages().items()},
    )


def _probe(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    already_logged(response)  # a 503 here is a state, reported by the backends' own lines
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Alive: the worker answers. Touches no backend."""
    return _probe(JsonResponse({"status": "alive"}))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready (200) when the configuration is confirmed, else 503; the body says why."""
    state = readiness()
    body = {
        "status": "ready" if state.ready else "unavailable",
        "configuration": {
            "confirmed": state.ready,
            "confirmed_by": state.confirmed_by.value if state.confirmed_by else None,
            "confirmed_seconds_ago": (
                round(state.confirmed_ago, 3) if state.confirmed_ago is not None else None
            ),
        },
        "backends": {b.value: state.backend_state(b) for b in Backend},
    }
    return _probe(JsonResponse(body, status=200 if state.ready else 503))


PROBES = {HEALTHZ_PATH: healthz, READYZ_PATH: readyz}
