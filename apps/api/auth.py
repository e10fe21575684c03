"""Who calls the API: ``Authorization: Bearer <API token>``, checked on every request.

In order: the legacy ``X-Auth-Email`` / ``X-Auth-Key`` pair is a 400 (accessctl has no global
API keys); no token, an unknown, expired or revoked one is a 401 (and counts against the client
address's limit of failed authentications, :mod:`apps.api.throttling`); a read-only token asking
for a change is a 403; an account id other than the one account is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja.security import HttpBearer

from apps.api.envelope import (
    CODE_AUTHENTICATION,
    CODE_BAD_AUTH_HEADERS,
    CODE_FORBIDDEN,
    CODE_NOT_FOUND,
    ApiError,
)
from apps.api.models import Account, ApiToken
from apps.api.throttling import failed_authentication, refuse_blocked_address
from apps.api.tokens import api_token_used

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_SECRET_LENGTH = 256


class ApiRequest(HttpRequest):
    """A request the API authenticated: ``auth`` is the token that made it."""

    auth: ApiToken


class BearerToken(HttpBearer):
    """The API's one authentication: an API token made in the dashboard or the command."""

    def __call__(self, request: HttpRequest) -> ApiToken:
        # An address that failed too often is refused before any lookup (token guessing).
        refuse_blocked_address(request)
        try:
            return self._check(request)
        except ApiError as exc:
            if exc.status == 401:
                failed_authentication(request)
            raise

    def _check(self, request: HttpRequest) -> ApiToken:
        meta = request.META
        if "HTTP_X_AUTH_KEY" in meta or "HTTP_X_AUTH_EMAIL" in meta:
            raise ApiError(
                400,
                CODE_BAD_AUTH_HEADERS,
                "X-Auth-Email / X-Auth-Key (global API keys) are not supported: send an API "
                "token as Authorization: Bearer <token>.",
            )
        scheme, _, secret = str(meta.get("HTTP_AUTHORIZATION", "")).partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise ApiError(
                401,
                CODE_AUTHENTICATION,
                "Authentication error: send Authorization: Bearer <token>.",
            )
        return self.authenticate(request, secret)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = ApiToken.objects.for_secret(token) if len(token) <= MAX_SECRET_LENGTH else None
        if found is None:
            raise ApiError(401, CODE_AUTHENTICATION, "Authentication error: unknown API token.")
        if found.is_revoked():
            raise ApiError(401, CODE_AUTHENTICATION, "Authentication error: the token is revoked.")
        if found.is_expired():
            raise ApiError(401, CODE_AUTHENTICATION, "Authentication error: the token expired.")
        if found.read_only and request.method not in SAFE_METHODS:
            raise ApiError(
                403, CODE_FORBIDDEN, "This API token is read-only: it may list and get, not change."
            )
        match = request.resolver_match
        kwargs: dict[str, Any] = dict(match.kwargs) if match is not None else {}
        account_id = kwargs.get("account_id")
        if account_id is not None and account_id != Account.objects.current().id:
            raise ApiError(404, CODE_NOT_FOUND, "Account not found: accessctl has one account.")
        api_token_used(found)
        return found


def token_of(request: HttpRequest) -> ApiToken:
    """The token that authenticated ``request``."""
    return cast(ApiRequest, request).auth
