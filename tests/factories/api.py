"""Calls to ``/client/v4`` through Django's test client, with an API token, as a script would
make them; and tokens made through the API's own service."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from cloudflare import Cloudflare
from django.test import Client, TestCase

from apps.api.models import Account, ApiToken
from apps.api.tokens import api_token_create

BASE = "/client/v4"


def sdk_client(server_url: str, secret: str) -> Cloudflare:
    """Cloudflare's own SDK against the API of the server at ``server_url`` (pytest-django's
    ``live_server``), without retries and without a proxy from the environment."""
    return Cloudflare(
        api_token=secret,
        base_url=f"{server_url}/client/v4",
        max_retries=0,
        http_client=httpx.Client(trust_env=False, timeout=30),
    )


def make_token(name: str = "ci", *, read_only: bool = False) -> tuple[ApiToken, str]:
    """A token and its secret, made as `accessctl api-tokens add` makes them."""
    return api_token_create(name=name, read_only=read_only)


@dataclass
class Answer:
    """A status and the envelope it came with."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> Any:
        assert self.body["success"] is True, self.body
        return self.body["result"]

    @property
    def messages(self) -> list[str]:
        """The error messages, joined by nothing: one string per error."""
        return [error["message"] for error in self.body["errors"]]


class ApiClient:
    """The API at the test client's host (a dashboard hostname), for one token (or none)."""

    def __init__(self, secret: str | None, client: Client | None = None) -> None:
        self.secret = secret
        self.client = client or Client()

    @property
    def account(self) -> str:
        return Account.objects.current().id

    def url(self, path: str) -> str:
        """``path`` under the account (``access/apps``), or absolute under /client/v4 (``/…``)."""
        if path.startswith("/"):
            return BASE + path
        return f"{BASE}/accounts/{self.account}/{path}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Answer:
        all_headers = dict(headers or {})
        if self.secret is not None:
            all_headers["Authorization"] = f"Bearer {self.secret}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        # As if each call committed: the configuration version moves as it would in production.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = self.client.generic(
                method,
                self.url(path) + (_query(query) if query else ""),
                data=data or b"",
                content_type="application/json",
                headers=all_headers,
            )
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        return Answer(response.status_code, json.loads(response.content), dict(response.items()))

    def get(self, path: str, **query: Any) -> Answer:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any = None, **query: Any) -> Answer:
        return self.call("POST", path, body, **query)

    def put(self, path: str, body: Any = None, **query: Any) -> Answer:
        return self.call("PUT", path, body, **query)

    def delete(self, path: str, **query: Any) -> Answer:
        return self.call("DELETE", path, **query)


def _query(values: dict[str, Any]) -> str:
    return "?" + urlencode(values)
