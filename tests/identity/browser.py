"""A browser as far as the login flow needs one, driving accessctl through the Django test
client and the real OpenID provider over HTTP, following every redirect between them, and
posting accessctl's own forms (the one-time PIN's) as a browser would, CSRF token included:
the test clients enforce CSRF.

Each hostname has its own cookie jar (the Django test client keeps one jar per client), so
the global session on the authentication hostname and an application's own
``CF_Authorization`` stay apart, as a browser keeps them. Requests to the guarded hostname
come from the TLS terminator's address, with the client certificate when one is given.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from django.http import HttpResponse
from django.test import Client

from tests.factories.certs import Issued
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST, PROXY

_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input([^>]*)>")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Page:
    """Where the browser ended: its URL, status and body."""

    url: str
    status: int
    text: str
    history: list[str] = field(default_factory=list)


class Browser:
    """Follows redirects across accessctl (in process) and the provider (over HTTP)."""

    def __init__(self, idp_issuer: str = "", certificate: Issued | None = None) -> None:
        self.idp = urlsplit(idp_issuer).netloc
        self.certificate = certificate
        self.clients: dict[str, Client] = {}
        self.idp_session = requests.Session()
        self.history: list[str] = []
        # Stop (without requesting it) at the first URL containing this: to tamper with it.
        self.stop_before: str | None = None

    def client(self, host: str) -> Client:
        return self.clients.setdefault(host, Client(enforce_csrf_checks=True))

    def cookie(self, host: str, name: str = "CF_Authorization") -> str:
        morsel = self.client(host).cookies.get(name)
        return morsel.value if morsel is not None else ""

    def _accessctl(
        self, url: str, headers: dict[str, str], data: dict[str, str] | None = None
    ) -> HttpResponse:
        parts = urlsplit(url)
        meta = {"HTTP_HOST": parts.netloc, "HTTP_ACCEPT": "text/html", "REMOTE_ADDR": PROXY}
        meta |= {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        if parts.netloc == HOST and self.certificate is not None:
            meta["HTTP_X_SSL_CLIENT_CERT"] = escaped(self.certificate)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if data is not None:
            return self.client(parts.netloc).post(path, data, **meta)
        return self.client(parts.netloc).get(path, **meta)

    def open(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        hops: int = 20,
        data: dict[str, str] | None = None,
    ) -> Page:
        """GET ``url`` (POST ``data`` to it, if given) and follow redirects (at most
        ``hops``) wherever they lead."""
        history: list[str] = []
        method = "GET" if data is None else "POST"
        for _ in range(hops):
            history.append(url)
            if self.stop_before and self.stop_before in url:
                self.history += history
                return Page(url, 0, "", history)
            if urlsplit(url).netloc == self.idp:
                answer = self.idp_session.request(method, url, data=data, allow_redirects=False)
                status, location, text = (
                    answer.status_code,
                    answer.headers.get("Location"),
                    answer.text,
                )
            else:
                response = self._accessctl(url, headers or {}, data)
                status, location = response.status_code, response.get("Location")
                text = response.content.decode(errors="replace")
            method, data = "GET", None
            if status in {301, 302, 303, 307} and location:
                url = urljoin(url, location)
                continue
            self.history += history
            return Page(url, status, text, history)
        raise AssertionError(f"too many redirects: {history}")

    def submit(self, page: Page, **fields: str) -> Page:
        """Post the page's (first) form with its hidden fields and ``fields``, then follow."""
        url, data = self.form(page, **fields)
        if urlsplit(url).netloc != self.idp:
            return self.open(url, data=data)
        answer = self.idp_session.post(url, data=data, allow_redirects=False)
        location = answer.headers.get("Location")
        assert location, f"the provider answered {answer.status_code}: {answer.text[:500]}"
        return self.open(urljoin(url, location))

    def form(self, page: Page, **fields: str) -> tuple[str, dict[str, str]]:
        """The URL the page's (first) form posts to, and its fields (hidden ones included)
        with ``fields`` filled in."""
        match = _FORM.search(page.text)
        assert match is not None, f"no form on {page.url}: {page.text[:500]}"
        action, body = html.unescape(match.group(1)), match.group(2)
        data: dict[str, str] = {}
        for attributes in _INPUT.findall(body):
            found = dict(_ATTRIBUTE.findall(attributes))
            if "name" in found:
                data[found["name"]] = html.unescape(found.get("value", ""))
        return urljoin(page.url, action), data | fields

    def log_in_at_idp(self, page: Page, login: str) -> Page:
        """Fill the provider's login form as ``login``, confirm the consent, follow on."""
        assert urlsplit(page.url).netloc == self.idp, f"not at the provider: {page.url}"
        page = self.submit(page, login=login, password="any")
        if urlsplit(page.url).netloc == self.idp and "<form" in page.text:
            page = self.submit(page)
        return page
