"""Requests to pytest-django's live server, over HTTP with urllib, as the TLS terminator of the
test settings forwards them (nginx's URL-encoded PEM in ``X-SSL-Client-Cert``, from 127.0.0.1):
what an origin sees of accessctl, for tests/origins."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from apps.policies.models import Application
from apps.tokens import sessions
from tests.factories.certs import Issued
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST

# No proxy from the environment between the tests and the live server on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, SimpleCookie]:
    """GET ``url`` with urllib: the status, the JSON body and the cookies the response set."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (http on loopback)
    try:
        with _opener.open(request) as response:
            status, body, cookies = response.status, response.read(), response.headers
    except urllib.error.HTTPError as refused:
        status, body, cookies = refused.code, refused.read(), refused.headers
    jar: SimpleCookie = SimpleCookie()
    for set_cookie in cookies.get_all("Set-Cookie") or []:
        jar.load(set_cookie)
    return status, json.loads(body) if body.startswith(b"{") else None, jar


@dataclass(frozen=True)
class Answer:
    """What the stand-in application answered: its status, and what it received."""

    status: int
    body: Any
    cookies: SimpleCookie

    @property
    def assertion(self) -> str:
        """The ``Cf-Access-Jwt-Assertion`` the application received."""
        token = self.body["assertion"]
        assert token, f"the application received no token ({self.status}: {self.body})"
        return str(token)

    @property
    def cookie(self) -> str:
        """The ``CF_Authorization`` cookie the response set."""
        return self.cookies[sessions.COOKIE_NAME].value


@dataclass(frozen=True)
class LiveSite:
    """HOST guarded on the live server by a Valid Certificate policy, a device certificate
    issued under its CA, and OTHER: a second application with its own AUD tag."""

    base_url: str
    leaf: Issued

    @property
    def certs_url(self) -> str:
        """The team domain's key set, as an origin is configured with it."""
        return f"{self.base_url}/cdn-cgi/access/certs"

    @staticmethod
    def aud(hostname: str = HOST) -> str:
        """The AUD tag of the application for ``hostname``, as the dashboard shows it."""
        return Application.objects.get(name=hostname).aud

    def jwks(self) -> dict[str, Any]:
        status, body, _ = http_get(self.certs_url)
        assert status == 200
        return dict(body)

    def get(self, path: str = "/", *, cert: Issued | None = None, cookie: str = "") -> Answer:
        """GET ``path`` on HOST through the middleware, as the terminator forwards it."""
        headers = {"Host": HOST}
        if cert is not None:
            headers["X-SSL-Client-Cert"] = escaped(cert)
        if cookie:
            headers["Cookie"] = f"{sessions.COOKIE_NAME}={cookie}"
        return Answer(*http_get(self.base_url + path, headers))

    def token(self) -> str:
        """The token the application receives for a request with the device certificate."""
        answer = self.get(cert=self.leaf)
        assert answer.status == 200, answer.body
        return answer.assertion
