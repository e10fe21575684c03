"""How the API reads bodies and query strings: django-ninja's JSON parser, refusing any
string with a NUL character (PostgreSQL cannot store one, and no name, hostname or PEM has
one), so such a request is a 400 rather than a database error."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.errors import HttpError
from ninja.parser import Parser

NUL_REFUSED = "Strings cannot contain NUL characters."


def holds_nul(value: Any) -> bool:
    """True when ``value`` (parsed JSON, any depth) holds a NUL in a key or a string."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


class StrictParser(Parser):
    """JSON as django-ninja reads it, without NUL characters."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if holds_nul(data):
            raise HttpError(400, NUL_REFUSED)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        if holds_nul(result):
            raise HttpError(400, NUL_REFUSED)
        return result
