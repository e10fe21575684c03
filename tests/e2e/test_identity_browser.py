"""The second layer end to end: headless Chromium with a client certificate, through the
shipped nginx configuration, logging in at a real OpenID provider (oidc-provider).

The application is ``localhost`` (Playwright relays the TLS connection that presents the
client certificate itself, so the hostname must resolve: ``localhost`` does), the
authentication hostname is ``127.0.0.1`` (the dashboard hostname of this stack), both behind
one nginx; the provider runs on loopback over HTTP, and so does an SMTP server (aiosmtpd) for
the one-time PIN's mails. Screenshots of the login page, the PIN's pages and the refusals land
in test-artifacts/screenshots/identity-*.png, to be looked at.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

from apps.console.servers import (
    free_port,
    gunicorn_command,
    nginx_main_config,
    nginx_template,
    render_template,
)
from tests.e2e.stack import REPO, CertFiles, Stack, outside_settings
from tests.factories import certs as certfactory
from tests.factories.smtp import Mailbox, smtp_server
from tests.identity import idp as test_idp
from tests.tools import require_tool

CHROMIUM = "/usr/bin/chromium"
APP, AUTH = "localhost", "127.0.0.1"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Mailbox, int]) -> Iterator[dict]:
    """nginx + gunicorn for APP (Allow — Include: Emails ending in @example.com — Require:
    Valid Certificate) and AUTH, the provider, the SMTP server the PIN mails go to, and the
    client certificate's files."""
    require_tool(shutil.which("nginx") is not None, "nginx is not installed")
    require_tool(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require_tool(importlib.util.find_spec("playwright") is not None, "playwright is missing")
    node = test_idp.node_with_provider()
    root = tmp_path_factory.mktemp("identity-e2e")
    server_ca = certfactory.make_ca("identity e2e TLS CA")
    server = certfactory.make_leaf(server_ca, APP, san_dns=(APP,), eku=(certfactory.SERVER_AUTH,))
    server_files = CertFiles(server, *server.write(root, "server"))
    (root / "server-ca.pem").write_text(server_ca.pem)
    devices = certfactory.make_ca("identity e2e Devices")
    (root / "devices.pem").write_text(devices.pem)
    laptop = CertFiles(
        *(lambda i: (i, *i.write(root, "laptop")))(certfactory.make_leaf(devices, "laptop-ada"))
    )
    https_port, gunicorn_port = free_port(), free_port()
    provider = test_idp.TestIdp(
        node, callback=f"https://{AUTH}:{https_port}/cdn-cgi/access/callback"
    )
    env = {
        **outside_settings(os.environ),
        "ACCESSCTL_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_DATA_DIR": str(root / "data"),
        # Its own database: the journey changes login methods the other e2e tests never see.
        "DATABASE_URL": f"sqlite:///{root / 'identity.sqlite3'}",
        "CACHE_URL": "locmemcache://identity-e2e",
        "SECRET_KEY": "identity-e2e-" + "x" * 50,
        "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESSCTL_CLIENT_CERT_FORMAT": "nginx",
        "ACCESSCTL_DASHBOARD_HOSTS": AUTH,
        "ACCESSCTL_AUTH_HOSTNAME": AUTH,
        "ALLOWED_HOSTS": f"{APP},{AUTH}",
        "ACCESSCTL_WORKERS": "2",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp[1]}",
    }
    stack = Stack(
        root=root,
        env=env,
        server_ca=root / "server-ca.pem",
        server_key=server_files.key,
        clients={},
    )
    try:
        provider.start()
        stack.accessctl("migrate", "--noinput")
        stack.accessctl(
            "certificates", "add", "--name", "Devices", "--hostname", APP, str(root / "devices.pem")
        )
        stack.accessctl(
            "policies", "add", "--hostname", APP, "--name", "people", "--decision", "allow",
            "--include", "email_domain=example.com", "--require", "valid_certificate",
        )  # fmt: skip
        secret = root / "client-secret"
        secret.write_text(test_idp.CLIENT_SECRET)
        stack.accessctl(
            "login_methods", "add", "--name", "Test IdP", "--issuer", provider.issuer,
            "--client-id", test_idp.CLIENT_ID, "--client-secret-file", str(secret),
            "--scopes", "openid email groups",
        )  # fmt: skip
        stack.start(
            "gunicorn",
            gunicorn_command(),
            ports=[gunicorn_port],
            env={**env, "ACCESSCTL_BIND": f"127.0.0.1:{gunicorn_port}"},
        )
        workdir = root / "nginx"
        workdir.mkdir()
        values = {
            "ACCESSCTL_TLS_CERTIFICATE": str(server_files.cert),
            "ACCESSCTL_TLS_CERTIFICATE_KEY": str(server_files.key),
            "ACCESSCTL_UPSTREAM": f"127.0.0.1:{gunicorn_port}",
            "ACCESSCTL_LISTEN": f"127.0.0.1:{https_port}",
            "ACCESSCTL_SERVER_NAME": f"{APP} {AUTH}",
        }
        conf_site = workdir / "accessctl.conf"
        rendered = render_template(nginx_template("accessctl.conf").read_text(), values)
        # Chromium resolves localhost to ::1 as well as 127.0.0.1: listen on both.
        listen = f"listen 127.0.0.1:{https_port} ssl http2;"
        assert listen in rendered
        rendered = rendered.replace(listen, f"{listen}\n    listen [::1]:{https_port} ssl http2;")
        # On a port other than 443 the login's redirects must name it: the Host with its port
        # (the shipped $host drops it; see docs/identity.md, Settings).
        assert "proxy_set_header Host $host;" in rendered
        rendered = rendered.replace(
            "proxy_set_header Host $host;", "proxy_set_header Host $http_host;"
        )
        conf_site.write_text(rendered)
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_main_config(workdir, [conf_site]))
        stack.start(
            "nginx/nginx", ["nginx", "-c", str(conf), "-p", str(workdir)], ports=[https_port]
        )
        yield {"port": https_port, "laptop": laptop, "stack": stack, "mailbox": smtp[0]}
    finally:
        stack.stop()
        provider.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def _context(chromium, site: dict, *, with_certificate: bool):
    options: dict = {"ignore_https_errors": True, "viewport": {"width": 1100, "height": 760}}
    if with_certificate:
        laptop: CertFiles = site["laptop"]
        options["client_certificates"] = [
            {
                "origin": f"https://{APP}:{site['port']}",
                "certPath": str(laptop.cert),
                "keyPath": str(laptop.key),
            }
        ]
    return chromium.new_context(**options)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"identity-{name}.png"), full_page=True)


def _log_in(page, login: str) -> None:
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any")
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    if page.locator('input[name="prompt"][value="consent"]').count():
        page.click('button[type="submit"]')
        page.wait_for_load_state()


def test_with_the_certificate_and_an_allowed_email_the_person_reaches_the_application(
    chromium, site
):
    first = site["stack"].https(APP, "/", headers=["Accept: text/html"], port=site["port"])
    assert first.status == 302, first
    assert first.headers["location"][0].startswith(f"https://{AUTH}:{site['port']}/"), first
    context = _context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site['port']}/")
    assert page.url.startswith("http://127.0.0.1:"), page.url  # at the provider's login form
    _shot(page, "provider-login")
    _log_in(page, "ada")
    assert page.url == f"https://{APP}:{site['port']}/", page.url
    assert "Access granted" in page.content()
    _shot(page, "granted")
    identity = page.goto(f"https://{APP}:{site['port']}/cdn-cgi/access/get-identity").json()
    assert identity["email"] == "ada@example.com"
    # Logout: the login page again on the next visit.
    page.goto(f"https://{APP}:{site['port']}/cdn-cgi/access/logout")
    assert "You are signed out" in page.content()
    _shot(page, "signed-out")
    page.wait_for_timeout(1500)  # every worker reads the logout with its next snapshot
    context.clear_cookies(domain=AUTH)  # the provider's own session would sign ada in again
    page.goto(f"https://{APP}:{site['port']}/")
    assert page.locator('input[name="login"]').count() == 1, page.url
    context.close()


def test_without_the_certificate_the_person_is_refused_even_after_logging_in(chromium, site):
    context = _context(chromium, site, with_certificate=False)
    page = context.new_page()
    page.goto(f"https://{APP}:{site['port']}/")
    _log_in(page, "ada")
    assert "A client certificate is required" in page.content()
    _shot(page, "no-certificate")
    context.close()


def test_with_the_certificate_and_an_email_outside_the_policy_the_account_has_no_access(
    chromium, site
):
    context = _context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site['port']}/")
    _log_in(page, "eve")
    assert "That account does not have access" in page.content()
    _shot(page, "no-access")
    context.close()


def test_the_login_page_lists_the_methods_when_there_are_several(chromium, site):
    stack: Stack = site["stack"]
    secret = stack.root / "client-secret"
    stack.accessctl(
        "login_methods", "add", "--name", "Second IdP", "--issuer", "https://sso.example.com",
        "--client-id", "other", "--client-secret-file", str(secret),
    )  # fmt: skip
    context = _context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site['port']}/")
    assert "Continue with Test IdP" in page.content()
    _shot(page, "login-page")
    context.close()
    stack.accessctl("login_methods", "remove", "Second IdP")


def test_a_person_signs_in_with_a_code_mailed_to_them(chromium, site):
    stack: Stack = site["stack"]
    stack.accessctl("login_methods", "add", "--type", "onetimepin", "--name", "Email")
    try:
        context = _context(chromium, site, with_certificate=True)
        page = context.new_page()
        page.goto(f"https://{APP}:{site['port']}/?via=pin")
        assert "Continue with Test IdP" in page.content()
        page.fill('input[name="email"]', "ada@example.com")
        _shot(page, "pin-login-page")
        page.click("text=Email me a code")
        page.wait_for_load_state()
        assert "a code is on its way to <strong>ada@example.com</strong>" in page.content()
        _shot(page, "pin-code")
        code = site["mailbox"].code_for("ada@example.com")
        page.fill('input[name="code"]', f"{(int(code) + 1) % 10**6:06d}")
        page.click('button[type="submit"]')
        page.wait_for_load_state()
        assert "That code is not right. 4 attempts left." in page.content()
        _shot(page, "pin-wrong-code")
        page.fill('input[name="code"]', code)
        page.click('button[type="submit"]')
        page.wait_for_load_state()
        assert page.url == f"https://{APP}:{site['port']}/?via=pin", page.url
        assert "Signed in as <strong>ada@example.com</strong> with Email" in page.content()
        _shot(page, "pin-granted")
        identity = page.goto(f"https://{APP}:{site['port']}/cdn-cgi/access/get-identity").json()
        assert identity["email"] == "ada@example.com"
        assert identity["idp"]["type"] == "onetimepin"
        page.goto(f"https://{AUTH}:{site['port']}/cdn-cgi/access/pin")
        assert "No code was asked for in this browser" in page.content()
        _shot(page, "pin-refused")
        context.close()
    finally:
        stack.accessctl("login_methods", "remove", "Email")
