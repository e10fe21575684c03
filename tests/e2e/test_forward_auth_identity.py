"""The second layer behind forward-auth, end to end: the shipped deploy/nginx/forward-auth.conf
(nginx auth_request) and deploy/caddy/forward-auth.Caddyfile (Caddy forward_auth) guard a
plain static upstream for ``localhost``; the login page on ``127.0.0.1`` is accessctl's own
(deploy/nginx/accessctl.conf, the default server of nginx's port, which a connection to an IP
address reaches: it sends no SNI). Headless Chromium with a client certificate logs in at the
real OpenID provider through each, and curl checks the answers a browser and a script get.

ACCESSCTL_AUTH_HOSTNAME names nginx's port, so a login started behind Caddy (another port)
goes to the same login page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.console.servers import free_port
from tests.e2e import identity_site as kit
from tests.e2e.identity_site import APP, AUTH
from tests.e2e.stack import STATIC_BODY, Response, run_curl, start_caddy, start_upstream

BROWSER = "Accept: text/html,application/xhtml+xml,*/*;q=0.8"


@dataclass
class GuardedSite:
    """The identity site with the static upstream behind nginx (``site.port``) and Caddy."""

    site: kit.IdentitySite
    caddy_port: int

    def curl(self, port: int, path: str, *args: str, client: str | None = None) -> Response:
        """A request to APP on ``port`` (nginx's or Caddy's), with a client certificate if
        named (``laptop``, trusted; ``stranger``, from another CA)."""
        stack = self.site.stack
        options = [f"https://{APP}:{port}{path}", "--resolve", f"{APP}:{port}:127.0.0.1"]
        options += ["--cacert", str(stack.server_ca), *args]
        if client:
            files = stack.clients[client]
            options += ["--cert", str(files.cert), "--key", str(files.key)]
        return run_curl(options)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedSite]:
    with kit.identity_site(
        tmp_path_factory, "forward-auth-identity", auth_port_in_setting=True
    ) as site:
        static_root = site.stack.root / "static"
        static_root.mkdir()
        (static_root / "index.html").write_text(STATIC_BODY)
        static_port = free_port()
        # Echoes the person the upstream was told about, for any method.
        static = (
            f"server {{\n    listen 127.0.0.1:{static_port};\n    root {static_root};\n"
            '    location = /whoami { return 200 "email=$http_cf_access_authenticated_user_email'
            '\\n"; }\n}\n'
        )
        sites = {
            "accessctl.conf": site.render("accessctl.conf", ACCESSCTL_SERVER_NAME=AUTH),
            "forward-auth.conf": site.render(
                "forward-auth.conf",
                host_with_port=False,  # the shipped file as it is
                ACCESSCTL_SERVER_NAME=APP,
                ACCESSCTL_PROTECTED_UPSTREAM=f"http://127.0.0.1:{static_port}",
            ),
            "static.conf": static,
        }
        kit.start_nginx(site, sites, ports=[static_port])
        der = start_upstream(site.stack, "gunicorn-der", "der-base64")
        caddy = start_caddy(
            site.stack,
            "caddy-forward-auth",
            "forward-auth.Caddyfile",
            APP,
            der,
            ACCESSCTL_PROTECTED_UPSTREAM=f"127.0.0.1:{static_port}",
        )
        yield GuardedSite(site, caddy)


def _login_target(response: Response) -> tuple[str, str]:
    """Where a 302 to the login page goes (scheme, host and path) and where it comes back to."""
    location = urlsplit(response.headers["location"][0])
    back = parse_qs(location.query)["redirect_url"][0]
    return f"{location.scheme}://{location.netloc}{location.path}", back


def _access_lines_until(guarded: GuardedSite, wanted: Callable[[dict], bool]) -> list[dict]:
    """The access log lines both gunicorns wrote, once one is ``wanted``: the log handler
    writes its buffer a moment after the request (apps/base/log_handlers.py)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [
            json.loads(line)
            for log in ("gunicorn.log", "gunicorn-der.log")
            for line in (guarded.site.stack.root / log).read_text().splitlines()
            if line.startswith('{"time"')
        ]
        if any(map(wanted, lines)) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_a_browser_without_a_session_is_sent_to_the_login_page_and_a_script_gets_401(
    guarded, proxy
):
    port = guarded.site.port if proxy == "nginx" else guarded.caddy_port

    browser = guarded.curl(port, "/reports?q=1", "-H", BROWSER, client="laptop")
    script = guarded.curl(port, "/reports", "-H", "Accept: application/json", client="laptop")
    xhr = guarded.curl(port, "/", "-H", BROWSER, "-H", "X-Requested-With: XMLHttpRequest")

    assert browser.status == 302, guarded.site.stack.logs()
    login = f"https://{AUTH}:{guarded.site.port}/cdn-cgi/access/login/{APP}"
    assert _login_target(browser) == (login, f"https://{APP}:{port}/reports?q=1")
    assert (script.status, xhr.status) == (401, 401)
    assert "location" not in script.headers
    assert STATIC_BODY not in browser.body + script.body + xhr.body


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_the_access_endpoints_of_the_application_are_accessctls_not_the_upstreams(guarded, proxy):
    port = guarded.site.port if proxy == "nginx" else guarded.caddy_port

    authorized = guarded.curl(port, "/cdn-cgi/access/authorized?code=forged", client="laptop")
    identity = guarded.curl(port, "/cdn-cgi/access/get-identity", client="laptop")

    # The static upstream would answer 404 to both.
    assert "Sign-in links work once" in authorized.body, authorized
    assert (identity.status, json.loads(identity.body)) == (401, {"error": "no_session"})


def test_through_nginx_a_browser_logs_in_at_the_provider_and_reaches_the_upstream(
    chromium, guarded
):
    site = guarded.site
    context = kit.browser_context(chromium, site, with_certificate=True)
    page = context.new_page()

    page.goto(f"https://{APP}:{site.port}/index.html")
    assert page.url.startswith("http://127.0.0.1:"), page.url  # at the provider's login form
    kit.log_in(page, "ada")

    assert page.url == f"https://{APP}:{site.port}/index.html", page.url
    assert STATIC_BODY.strip() in page.content()
    kit.screenshot(page, "forward-auth-granted")
    page.goto(f"https://{APP}:{site.port}/whoami")
    assert "email=ada@example.com" in page.content()
    # The application's own session (the authentication hostname keeps a global one).
    cookie = next(
        c["value"] for c in context.cookies(f"https://{APP}") if c["name"] == "CF_Authorization"
    )
    context.close()

    # The session is bound to the certificate: without it, or with another CA's, 403.
    session = ("-H", f"Cookie: CF_Authorization={cookie}", "-H", BROWSER)
    assert guarded.curl(site.port, "/index.html", *session).status == 403
    assert guarded.curl(site.port, "/index.html", *session, client="stranger").status == 403
    # A POST reaches the upstream and the access log says POST (the subrequest is a GET).
    posted = guarded.curl(site.port, "/whoami", *session, "--data", "x=1", client="laptop")
    assert posted.status == 200, site.stack.logs()
    assert posted.body == "email=ada@example.com\n"
    seen = _access_lines_until(guarded, lambda r: r["method"] == "POST")
    assert {(r["method"], r["decision"]) for r in seen if r["path"] == "/whoami"} == {
        ("GET", "allow"),  # the browser's visit
        ("POST", "allow"),
    }


def test_through_caddy_a_browser_logs_in_at_the_provider_and_reaches_the_upstream(
    chromium, guarded
):
    site, port = guarded.site, guarded.caddy_port
    context = kit.browser_context(chromium, site, with_certificate=True, ports=[port])
    page = context.new_page()

    page.goto(f"https://{APP}:{port}/index.html")
    assert page.url.startswith("http://127.0.0.1:"), page.url
    kit.log_in(page, "ada")

    assert page.url == f"https://{APP}:{port}/index.html", page.url
    assert STATIC_BODY.strip() in page.content()
    context.close()
