"""The API's rate limits, with django-ninja's throttling (``ninja.throttling``).

Two limits, both from the environment (``apps.base.conf``):

- **Per API token** (``ACCESSCTL_API_RATE_LIMIT``, by default Cloudflare's global limit of
  1,200 requests per five minutes): :class:`TokenThrottle`, the API's throttle, which
  django-ninja runs on every operation once the token is known.
- **Failed authentications per client address** (``ACCESSCTL_API_AUTH_FAILURE_LIMIT``): a
  request with no token, or an unknown, revoked or expired one, never reaches django-ninja's
  throttles (authentication fails first), so :class:`apps.api.auth.BearerToken` asks
  :func:`refuse_blocked_address` before it looks a secret up, and :func:`failed_authentication`
  after a refusal. A blocked address is refused without a digest lookup.

Beyond either limit the answer is a 429 in Cloudflare's envelope with ``Retry-After``, so
Cloudflare's SDKs raise ``RateLimitError`` (or wait and retry).

django-ninja keeps each key's recent request times (a sliding window) in a Django cache; its
throttles use the default cache, which is local memory unless ``CACHE_URL`` names a shared
one, and so per gunicorn worker. These use the ``api-throttle`` cache instead (settings.py):
the shared cache when there is one (Redis), else a table of the database, so every worker of
every node counts in the same place. The read and the write of a window are not one atomic
step: simultaneous requests of one key on several workers may each pass as the last one
allowed, so a burst can exceed a limit by a few requests. A cache that does not answer lets
requests through (logged once per worker): a Redis outage must not stop the API.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from apps.api.envelope import ApiError
from apps.base.conf import access_settings
from apps.gateway.decision import incoming
from apps.gateway.logging import client_ip

logger = logging.getLogger("accessctl.api")

CACHE_ALIAS = "api-throttle"
CODE_RATE_LIMITED = 971  # Cloudflare's "Please wait and consider throttling your request speed"


class _Window(SimpleRateThrottle):
    """django-ninja's sliding window for one key, in the shared cache. Made per request (the
    rate is read from the settings each time, and ninja keeps per-request state on the
    object)."""

    def __init__(self, rate: str, key: str) -> None:
        super().__init__(rate)
        self.cache = caches[CACHE_ALIAS]
        self._key = key

    def get_cache_key(self, request: HttpRequest) -> str:
        return self._key

    def full(self, request: HttpRequest) -> bool:
        """True when the window holds its limit already (nothing recorded)."""
        self.key = self._key
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()  # type: ignore[misc]
        while self.history and self.history[-1] <= self.now - self.duration:  # type: ignore[operator]
            self.history.pop()
        return len(self.history) >= self.num_requests  # type: ignore[operator]

    def retry_after(self) -> int:
        """Whole seconds until the window has room again (at least 1)."""
        wait = self.wait()
        return max(1, round(self.duration if wait is None else wait + 0.5))  # type: ignore[arg-type]


_cache_down = False


def _safely(action: Any, default: Any) -> Any:
    """``action()``; ``default`` when the cache cannot answer (logged once per outage)."""
    global _cache_down
    try:
        answer = action()
    except Exception as exc:  # noqa: BLE001 (any cache client's error: let the request through)
        if not _cache_down:
            logger.warning("api rate limits not counted: the cache does not answer: %s", exc)
        _cache_down = True
        return default
    if _cache_down:
        logger.info("api rate limits counted again: the cache answers")
    _cache_down = False
    return answer


class TokenThrottle(BaseThrottle):
    """``ACCESSCTL_API_RATE_LIMIT`` requests per API token (``request.auth``)."""

    def __init__(self) -> None:
        self._window: _Window | None = None

    def allow_request(self, request: HttpRequest) -> bool:
        rate = access_settings().api_rate_limit
        token = getattr(request, "auth", None)
        if not rate or token is None:
            return True
        window = _Window(rate, f"accessctl_api_token_{token.pk}")
        request.api_throttle_window = window  # type: ignore[attr-defined]
        return bool(_safely(lambda: window.allow_request(request), True))

    def wait(self) -> float | None:
        return None  # the 429's Retry-After comes from the request's window (see api.py)


def retry_after_of(request: HttpRequest) -> int:
    """The Retry-After of a request the token throttle refused."""
    window = getattr(request, "api_throttle_window", None)
    return window.retry_after() if isinstance(window, _Window) else 1


def _failure_window(request: HttpRequest) -> _Window | None:
    rate = access_settings().api_auth_failure_limit
    if not rate:
        return None
    address = client_ip(incoming(request, host="", path=request.path))
    return _Window(rate, f"accessctl_api_auth_failures_{address}")


def rate_limited(retry_after: int, why: str) -> ApiError:
    """The 429 of either limit."""
    return ApiError(
        429,
        CODE_RATE_LIMITED,
        f"Rate limited: {why}; retry after {retry_after} seconds.",
        retry_after=retry_after,
    )


def refuse_blocked_address(request: HttpRequest) -> None:
    """Raise the 429 when the client's address has failed authentication too often."""
    window = _failure_window(request)
    if window is not None and _safely(lambda: window.full(request), False):
        raise rate_limited(window.retry_after(), "too many failed authentications from here")


def failed_authentication(request: HttpRequest) -> None:
    """Count one failed authentication of the client's address."""
    window = _failure_window(request)
    if window is not None:
        _safely(lambda: window.allow_request(request), True)
