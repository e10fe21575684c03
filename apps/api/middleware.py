"""The envelope for what Django answers under ``/client/v4`` before django-ninja does.

A method a route lacks (405), Django's own 400 for a request it cannot read, or an error page:
any answer under the API prefix that is not JSON is replaced by Cloudflare's error envelope
with the same status. Other paths are untouched. Place it right after the access middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from apps.api.envelope import (
    CODE_INTERNAL,
    CODE_INVALID_REQUEST,
    CODE_METHOD_NOT_ALLOWED,
    CODE_NOT_FOUND,
    CODE_TOO_LARGE,
    error_response,
)

API_PREFIX = "/client/v4/"
_CODES = {404: CODE_NOT_FOUND, 405: CODE_METHOD_NOT_ALLOWED, 413: CODE_TOO_LARGE}
_WORDS = {
    400: "Bad request.",
    404: "Not found.",
    405: "Method not allowed for this route.",
    413: "The request body is too large.",
}


class ApiEnvelopeMiddleware:
    """Every non-JSON answer under ``/client/v4/`` becomes an error envelope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path_info.startswith(API_PREFIX):
            return response
        status = response.status_code
        if status < 400 or str(response.get("Content-Type", "")).startswith("application/json"):
            return response  # the API's own answers (and redirects, which it never makes)
        code = _CODES.get(status, CODE_INTERNAL if status >= 500 else CODE_INVALID_REQUEST)
        text = _WORDS.get(status, "Internal error." if status >= 500 else "Request refused.")
        if status == 405:
            text = f"Method {request.method} is not allowed for this route."
        wrapped = error_response(status, [(code, text)])
        if "Allow" in response:
            wrapped["Allow"] = response["Allow"]
        return wrapped
