"""Cloudflare's response envelope, on every answer of ``/client/v4``::

    {"success": true, "errors": [], "messages": [], "result": …, "result_info": …}

Errors are :class:`ApiError` (a status, Cloudflare-style numeric codes and messages); the
handlers in :mod:`apps.api.api` turn every failure into one, so no answer is a bare 404, an
HTML page or a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Schema
from pydantic import Field

T = TypeVar("T")

# Numeric codes in Cloudflare's ranges, as its API answers them (docs/api.md lists them).
CODE_INVALID_REQUEST = 12130  # Access: a body or a parameter that cannot be used
CODE_NOT_FOUND = 7003  # no such route or object id
CODE_METHOD_NOT_ALLOWED = 7001
CODE_BAD_AUTH_HEADERS = 6003  # X-Auth-Email / X-Auth-Key: not supported
CODE_AUTHENTICATION = 10000  # no token, an unknown, expired or revoked token
CODE_FORBIDDEN = 10001  # the token lacks the scope
CODE_CONFLICT = 12131  # the object is in use (a certificate with hostnames)
CODE_TOO_LARGE = 12132
CODE_ACCOUNT_SCOPED = 12133  # a zone-scoped path
CODE_INTERNAL = 10500
CODE_UNAVAILABLE = 10503  # the database is busy or unreachable: retry
CODE_NO_LOGIN_METHOD = 12134  # a message: the change leaves an application no login method

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 25
MAX_PAGE = 1_000_000


class Message(Schema):
    """One error or message: a numeric code and a sentence."""

    code: int
    message: str


class ResultInfo(Schema):
    """Where a page is in a list."""

    page: int
    per_page: int
    count: int
    total_count: int
    total_pages: int


class Envelope(Schema, Generic[T]):
    """Every answer: ``success``, ``errors``, ``messages``, ``result``, ``result_info``."""

    success: bool
    errors: list[Message] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    result: T | None = None
    result_info: ResultInfo | None = None


class ApiError(Exception):
    """A refusal: ``status`` and one or more ``(code, message)``."""

    def __init__(
        self, status: int, code: int, *messages: str, retry_after: int | None = None
    ) -> None:
        super().__init__(messages[0] if messages else "")
        self.status = status
        self.errors = [(code, message) for message in messages] or [(code, "Error")]
        self.retry_after = retry_after  # seconds, sent as Retry-After


def invalid(*messages: str) -> ApiError:
    """400: what the request asks cannot be done as it is."""
    return ApiError(400, CODE_INVALID_REQUEST, *messages)


def not_found(what: str) -> ApiError:
    """404 for an unknown object id."""
    return ApiError(404, CODE_NOT_FOUND, f"{what} not found.")


def ok(
    result: Any,
    result_info: dict[str, int] | None = None,
    *,
    messages: Sequence[tuple[int, str]] = (),
) -> dict[str, Any]:
    """A success envelope around ``result``, with ``messages`` (code, sentence) to heed."""
    return {
        "success": True,
        "errors": [],
        "messages": [{"code": code, "message": message} for code, message in messages],
        "result": result,
        "result_info": result_info,
    }


def error_body(errors: Sequence[tuple[int, str]]) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": None,
        "result_info": None,
    }


def error_response(status: int, errors: Sequence[tuple[int, str]]) -> HttpResponse:
    """An error envelope as a Django response (for answers made outside django-ninja)."""
    return HttpResponse(
        json.dumps(error_body(errors)), status=status, content_type="application/json"
    )


def paginate(
    items: QuerySet[Any] | Sequence[Any], page: int, per_page: int
) -> tuple[list[Any], dict[str, int]]:
    """One page of ``items`` and its ``result_info``; a page past the end is empty (the SDK
    pages until it sees an empty one)."""
    total = items.count() if isinstance(items, QuerySet) else len(items)
    start = (page - 1) * per_page
    chosen = list(items[start : start + per_page]) if start < total else []
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chosen),
        "total_count": total,
        "total_pages": math.ceil(total / per_page) if total else 0,
    }
    return chosen, info
