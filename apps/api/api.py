"""The API object: django-ninja, mounted at ``/client/v4`` (``accessctl/urls.py``).

Every answer is Cloudflare's envelope (:mod:`apps.api.envelope`): the handlers below turn
validation errors, unknown routes, refused tokens, oversized bodies and any bug into one;
:class:`apps.api.middleware.ApiEnvelopeMiddleware` does the same for what Django answers
before django-ninja is reached (an unknown path, a method the route lacks). Routers live one
per resource under ``apps/api/routers/``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from apps.api.auth import BearerToken
from apps.api.envelope import (
    CODE_AUTHENTICATION,
    CODE_INTERNAL,
    CODE_INVALID_REQUEST,
    CODE_NOT_FOUND,
    CODE_TOO_LARGE,
    CODE_UNAVAILABLE,
    ApiError,
    error_body,
    error_response,
)
from apps.api.parser import StrictParser
from apps.api.routers import (
    applications,
    certificate_settings,
    certificates,
    identity_providers,
    policies,
    revocation,
    zones,
)
from apps.api.throttling import TokenThrottle, rate_limited, retry_after_of

logger = logging.getLogger("accessctl.api")

API_PREFIX = "/client/v4/"

# Every operation may answer an error envelope: the statuses of docs/api.md.
ERROR_STATUSES = ("400", "401", "403", "404", "405", "409", "413", "429", "503")
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "errors", "messages", "result", "result_info"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            },
        },
        "messages": {"type": "array"},
        "result": {"type": "null"},
        "result_info": {"type": "null"},
    },
}
ACCOUNT_ID = {
    "in": "path",
    "name": "account_id",
    "required": True,
    "schema": {"type": "string", "title": "Account Id"},
    "description": "The one account's id (`accessctl account`).",
}


class AccessApi(NinjaAPI):
    """django-ninja's API, its OpenAPI document completed with what the routers share: the
    ``account_id`` of the mount paths and the error envelope every operation may answer."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for route, operations in schema["paths"].items():
            for method in list(operations):
                # One view for several methods shares one dict among them: copy it first.
                operation = operations[method] = copy.deepcopy(operations[method])
                if "{account_id}" in route:
                    operation.setdefault("parameters", []).insert(0, dict(ACCOUNT_ID))
                if (
                    len(operations) > 1
                    and method != "get"
                    and (operation["operationId"] == operations.get("get", {}).get("operationId"))
                ):
                    operation["operationId"] += f"_{method}"  # ids must stay unique
                responses = {str(k): v for k, v in operation.get("responses", {}).items()}
                operation["responses"] = responses
                for status in ERROR_STATUSES:
                    responses.setdefault(
                        status,
                        {
                            "description": "Error",
                            "content": {"application/json": {"schema": ERROR_ENVELOPE}},
                        },
                    )
        return schema


api = AccessApi(
    title="accessctl API",
    version="4",
    description="The part of Cloudflare's API (v4) that covers what accessctl does: Access "
    "mTLS certificates and their hostname settings, self-hosted applications and their "
    "policies, identity providers (OpenID Connect and one-time PIN login methods), for the one "
    "account. Authenticate with an API token: `Authorization: Bearer <token>`.",
    auth=BearerToken(),
    throttle=[TokenThrottle()],
    urls_namespace="api",
    docs_url=None,  # no HTML page: every answer of /client/v4 is JSON
    openapi_url="/openapi.json",
    parser=StrictParser(),
)


def _answer(request: HttpRequest, status: int, errors: list[tuple[int, str]]) -> HttpResponse:
    return api.create_response(request, error_body(errors), status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _answer(request, exc.status, exc.errors)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # The token's ACCESSCTL_API_RATE_LIMIT (apps/api/throttling.py).
    return _api_error(request, rate_limited(retry_after_of(request), "too many requests"))


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    messages = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in {"body"})
        messages.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
    return _answer(request, 400, [(CODE_INVALID_REQUEST, m) for m in messages[:20]])


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _answer(request, 401, [(CODE_AUTHENTICATION, "Authentication error.")])


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _answer(request, exc.status_code, [(CODE_INVALID_REQUEST, str(exc))])


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _answer(request, 404, [(CODE_NOT_FOUND, "Not found.")])


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _answer(request, 413, [(CODE_TOO_LARGE, "The request body is too large.")])


@api.exception_handler(OperationalError)
def _database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # The database is busy (SQLite's write lock under concurrent writers) or unreachable:
    # nothing was written (every write is one transaction); the client may retry, as
    # Cloudflare's SDKs do on a 503.
    logger.warning("api database unavailable on %s %s: %s", request.method, request.path, exc)
    response = _answer(
        request, 503, [(CODE_UNAVAILABLE, "The database is busy or unreachable; retry.")]
    )
    response["Retry-After"] = "1"
    return response


@api.exception_handler(Exception)
def _bug(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, never a validation problem: logged with its traceback, answered in the envelope.
    logger.exception("api error on %s %s", request.method, request.path)
    return _answer(request, 500, [(CODE_INTERNAL, "Internal error; the server log has it.")])


# Settings first: "settings" is not a certificate id.
api.add_router("/accounts/{account_id}/access/certificates/settings", certificate_settings.router)
# CRLs live under a certificate: /accounts/{id}/access/certificates/{certificate_id}/crls.
api.add_router("/accounts/{account_id}/access/certificates", revocation.crls)
api.add_router("/accounts/{account_id}/access/revocations", revocation.revocations)
api.add_router("/accounts/{account_id}/access/certificates", certificates.router)
api.add_router("/accounts/{account_id}/access/apps", applications.router)
api.add_router("/accounts/{account_id}/access/policies", policies.router)
api.add_router("/accounts/{account_id}/access/identity_providers", identity_providers.router)
api.add_router("/zones", zones.router)


def route_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """``/client/v4/…`` that no route serves: a 404 in the envelope."""
    return error_response(404, [(CODE_NOT_FOUND, f"No route for {request.method} {request.path}.")])
