"""The second layer's end-to-end site, shared by the middleware's and forward-auth's browser
tests: a real OpenID provider (oidc-provider), gunicorn on its own SQLite database configured
through the real command line (APP: Allow — Include: Emails ending in @example.com —
Require: Valid Certificate), a client certificate, and headless Chromium.

The application is ``localhost`` (Playwright relays the TLS connection that presents the
client certificate itself, so the hostname must resolve: ``localhost`` does), the
authentication hostname is ``127.0.0.1``, both behind one nginx started by each test module;
the provider runs on loopback over HTTP, and so does an SMTP server (aiosmtpd) for the one-time
PIN's mails. Screenshots land in
test-artifacts/screenshots/identity-*.png, to be looked at.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class IdentitySite:
    """The running provider and gunicorn, and what nginx needs to be put in front of them."""

    stack: Stack
    port: int  # nginx's HTTPS port, chosen before the provider learns its callback
    gunicorn_port: int
    server: CertFiles  # the TLS certificate for APP and AUTH
    laptop: CertFiles  # a client certificate the policy trusts
    stranger: CertFiles  # a client certificate from a CA the policy does not trust
    mailbox: Mailbox  # what the site mailed (the one-time PIN's codes)

    def render(self, template: str, *, host_with_port: bool = True, **values: str) -> str:
        """A shipped nginx template rendered for this site, listening on 127.0.0.1 and ::1
        (Chromium resolves localhost to both) and, with ``host_with_port``, forwarding the
        Host with its port (on a port other than 443 the middleware's login redirects must
        name it: docs/identity.md; forward-auth takes it from X-Original-URL)."""
        rendered = render_template(
            nginx_template(template).read_text(),
            {
                "ACCESSCTL_TLS_CERTIFICATE": str(self.server.cert),
                "ACCESSCTL_TLS_CERTIFICATE_KEY": str(self.server.key),
                "ACCESSCTL_UPSTREAM": f"127.0.0.1:{self.gunicorn_port}",
                "ACCESSCTL_LISTEN": f"127.0.0.1:{self.port}",
                **values,
            },
        )
        listen = f"listen 127.0.0.1:{self.port} ssl http2;"
        assert listen in rendered
        rendered = rendered.replace(listen, f"{listen}\n    listen [::1]:{self.port} ssl http2;")
        assert "proxy_set_header Host $host;" in rendered
        if not host_with_port:
            return rendered
        return rendered.replace("proxy_set_header Host $host;", "proxy_set_header Host $http_host;")


@contextmanager
def identity_site(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, auth_port_in_setting: bool = False
) -> Iterator[IdentitySite]:
    """Start the SMTP server, the provider and gunicorn; stop them after. With
    ``auth_port_in_setting``, ACCESSCTL_AUTH_HOSTNAME names nginx's port: the login page is
    there whatever port the application was reached on (another proxy in front of it)."""
    with (
        smtp_server() as mail,
        _site(tmp_path_factory, name, mail, auth_port_in_setting=auth_port_in_setting) as site,
    ):
        yield site


@contextmanager
def _site(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    mail: tuple[Mailbox, int],
    *,
    auth_port_in_setting: bool,
) -> Iterator[IdentitySite]:
    mailbox, smtp_port = mail
    require_tool(shutil.which("nginx") is not None, "nginx is not installed")
    require_tool(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require_tool(importlib.util.find_spec("playwright") is not None, "playwright is missing")
    node = test_idp.node_with_provider()
    root = tmp_path_factory.mktemp(name)
    server_ca = certfactory.make_ca(f"{name} TLS CA")
    server = certfactory.make_leaf(server_ca, APP, san_dns=(APP,), eku=(certfactory.SERVER_AUTH,))
    (root / "server-ca.pem").write_text(server_ca.pem)
    devices = certfactory.make_ca(f"{name} Devices")
    (root / "devices.pem").write_text(devices.pem)
    elsewhere = certfactory.make_ca(f"{name} Elsewhere")

    def files(issued: certfactory.Issued, file_name: str) -> CertFiles:
        return CertFiles(issued, *issued.write(root, file_name))

    server_files = files(server, "server")
    laptop = files(certfactory.make_leaf(devices, "laptop-ada"), "laptop")
    stranger = files(certfactory.make_leaf(elsewhere, "laptop-ada"), "stranger")
    https_port, gunicorn_port = free_port(), free_port()
    provider = test_idp.TestIdp(
        node, callback=f"https://{AUTH}:{https_port}/cdn-cgi/access/callback"
    )
    settings = {
        **outside_settings(os.environ),
        "ACCESSCTL_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_DATA_DIR": str(root / "data"),
        # Its own database: the journey changes login methods the other e2e tests never see.
        "DATABASE_URL": f"sqlite:///{root / 'identity.sqlite3'}",
        "CACHE_URL": f"locmemcache://{name}",
        "SECRET_KEY": f"{name}-" + "x" * 50,
        "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESSCTL_CLIENT_CERT_FORMAT": "nginx",
        "ACCESSCTL_DASHBOARD_HOSTS": AUTH,
        "ACCESSCTL_AUTH_HOSTNAME": f"{AUTH}:{https_port}" if auth_port_in_setting else AUTH,
        "ALLOWED_HOSTS": f"{APP},{AUTH}",
        "ACCESSCTL_WORKERS": "2",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    stack = Stack(
        root=root,
        env=settings,
        server_ca=root / "server-ca.pem",
        server_key=server_files.key,
        clients={"laptop": laptop, "stranger": stranger},
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
        stack.gunicorn_port = gunicorn_port
        stack.start(
            "gunicorn",
            gunicorn_command(),
            ports=[gunicorn_port],
            env={**settings, "ACCESSCTL_BIND": f"127.0.0.1:{gunicorn_port}"},
        )
        yield IdentitySite(
            stack, https_port, gunicorn_port, server_files, laptop, stranger, mailbox
        )
    finally:
        stack.stop()
        provider.stop()


def start_nginx(site: IdentitySite, sites: Mapping[str, str], ports: Sequence[int] = ()) -> Path:
    """Run nginx with ``sites`` (file name → rendered server blocks, the first one the
    default server of the port) on the site's port and ``ports``; its work directory."""
    workdir = site.stack.root / "nginx"
    workdir.mkdir()
    paths = []
    for file_name, text in sites.items():
        path = workdir / file_name
        path.write_text(text)
        paths.append(path)
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_main_config(workdir, paths))
    site.stack.start(
        "nginx/nginx", ["nginx", "-c", str(conf), "-p", str(workdir)], ports=[site.port, *ports]
    )
    return workdir


def browser_context(chromium, site: IdentitySite, *, with_certificate: bool, ports=()):
    """A new browser context; with the laptop's certificate for APP on the site's port (and
    on ``ports``)."""
    options: dict = {"ignore_https_errors": True, "viewport": {"width": 1100, "height": 760}}
    if with_certificate:
        options["client_certificates"] = [
            {
                "origin": f"https://{APP}:{port}",
                "certPath": str(site.laptop.cert),
                "keyPath": str(site.laptop.key),
            }
            for port in (site.port, *ports)
        ]
    return chromium.new_context(**options)


def screenshot(page, name: str) -> None:
    """Save test-artifacts/screenshots/identity-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"identity-{name}.png"), full_page=True)


def log_in(page, login: str) -> None:
    """Sign in at the provider's own form (and consent, the first time)."""
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any")
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    if page.locator('input[name="prompt"][value="consent"]').count():
        page.click('button[type="submit"]')
        page.wait_for_load_state()
