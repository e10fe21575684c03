"""End-to-end harness: real nginx in front of real gunicorn, driven by real `curl` over TLS.

One stack per test session (certificates, a database, gunicorn, nginx), configured through
the real `accessctl` command line; the tests only send requests. nginx runs the shipped
``deploy/nginx/*.conf`` templates, rendered with this run's ports and certificate paths.

Who is trusted, and how the "direct to gunicorn" attack is staged: gunicorn listens on
127.0.0.1 and trusts only ``127.0.0.1/32`` (ACCESSCTL_TRUSTED_PROXIES). nginx reaches it
from 127.0.0.1. An attacker is simulated by `curl --interface 127.0.0.3`: another loopback
address, standing for any host that can reach gunicorn's port but is not the terminator.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from apps.console.servers import (
    free_port,
    gunicorn_command,
    nginx_main_config,
    nginx_template,
    render_template,
)
from tests.e2e.identity_site import CHROMIUM
from tests.e2e.stack import (
    DEVICE,
    HOSTNAMES,
    ONCE,
    OTHER,
    REPO,
    SNI_HEADER,
    STATIC,
    STATIC_BODY,
    VALID,
    CertFiles,
    Stack,
    outside_settings,
    start_caddy,
    start_upstream,
)
from tests.factories import certs as certfactory
from tests.tools import require_tool


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e carries the `e2e` marker (`-m "not e2e"` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _write_cert_files(root: Path, name: str, issued: certfactory.Issued) -> CertFiles:
    return CertFiles(issued, *issued.write(root, name))


def _database_url(db: dict, name: str) -> str:
    """A postgres:// URL for database ``name`` on the server the test suite itself uses."""
    user = urllib.parse.quote(db.get("USER") or "", safe="")
    password = urllib.parse.quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{name}"


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DATABASE_URL for the servers: a file SQLite database, or a separate PostgreSQL one.

    With DATABASE_URL=postgres://… (the second CI run) the stack gets its own database on the
    same server, never the suite's test database, and drops it afterwards.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'accessctl.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    # Per run (pid): two suites on one server never drop each other's database.
    name = f"{str(db['NAME']).removeprefix('test_')}_e2e_{os.getpid()}"
    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    statement_drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(statement_drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _database_url(db, name)
    finally:
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(statement_drop)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, e2e_database: str) -> Iterator[Stack]:
    """The running site: certificates, configuration, gunicorn and nginx, torn down at the end."""
    require_tool(shutil.which("nginx") is not None, "nginx is not installed")
    require_tool(shutil.which("curl") is not None, "curl is not installed")
    root = tmp_path_factory.mktemp("e2e")

    server_ca = certfactory.make_ca("e2e TLS CA")
    server = certfactory.make_leaf(
        server_ca, HOSTNAMES[0], san_dns=HOSTNAMES, eku=(certfactory.SERVER_AUTH,)
    )
    server_ca_path = root / "server-ca.pem"
    server_ca_path.write_text(server_ca.pem)
    server_files = _write_cert_files(root, "server", server)
    ca_a = certfactory.make_ca("e2e Devices A")
    ca_b = certfactory.make_ca("e2e Devices B")
    (root / "ca-a.pem").write_text(ca_a.pem)
    (root / "ca-b.pem").write_text(ca_b.pem)
    long_ago = certfactory.now() - dt.timedelta(days=30)
    clients = {
        name: _write_cert_files(root, name, issued)
        for name, issued in {
            "good": certfactory.make_leaf(ca_a, "device-1"),
            "device-7": certfactory.make_leaf(ca_a, "device-7"),
            "other-ca": certfactory.make_leaf(ca_b, "device-1"),
            "expired": certfactory.make_leaf(
                ca_a, "device-1", not_before=long_ago, not_after=long_ago + dt.timedelta(days=29)
            ),
        }.items()
    }

    env = {
        **outside_settings(os.environ),
        "ACCESSCTL_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_DATA_DIR": str(root / "data"),
        "DATABASE_URL": e2e_database,
        # Each worker's own cache: the configuration is written before the servers start.
        "CACHE_URL": "locmemcache://e2e",
        "SECRET_KEY": "e2e-" + "x" * 60,
        "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESSCTL_CLIENT_CERT_FORMAT": "nginx",
        "ACCESSCTL_SNI_HEADER": SNI_HEADER,
        "ACCESSCTL_WORKERS": "2",
    }
    stack = Stack(
        root=root,
        env=env,
        server_ca=server_ca_path,
        server_key=server_files.key,
        clients=clients,
    )
    try:
        stack.accessctl("migrate", "--noinput")
        configure(stack)
        _start_servers(stack, server_files)
        yield stack
    finally:
        stack.stop()


def configure(stack: Stack) -> None:
    """Upload the CAs and create the policies through the real command line."""
    add_certificate(stack, "e2e Devices A", stack.root / "ca-a.pem", [VALID, DEVICE, ONCE, STATIC])
    add_certificate(stack, "e2e Devices B", stack.root / "ca-b.pem", [OTHER])
    policies = [
        (VALID, ["--include", "valid_certificate"]),
        (DEVICE, ["--include", "common_name=device-7"]),
        (ONCE, ["--include", "valid_certificate", "--session-duration", "no_duration"]),
        (OTHER, ["--include", "valid_certificate"]),
        (STATIC, ["--include", "valid_certificate"]),
    ]
    for hostname, rules in policies:
        stack.accessctl(
            "policies", "add", "--hostname", hostname, "--name", f"e2e {hostname}",
            "--decision", "non_identity", *rules,
        )  # fmt: skip


def add_certificate(stack: Stack, name: str, pem: Path, hostnames: list[str]) -> None:
    """`accessctl certificates add` with one --hostname per guarded hostname."""
    bound = [arg for hostname in hostnames for arg in ("--hostname", hostname)]
    stack.accessctl("certificates", "add", "--name", name, *bound, str(pem))


def _start_servers(stack: Stack, server: CertFiles) -> None:
    """Start gunicorn, then one nginx with both shipped templates and a static upstream."""
    stack.gunicorn_port = free_port()
    stack.start(
        "gunicorn",
        gunicorn_command(),
        ports=[stack.gunicorn_port],
        env={**stack.env, "ACCESSCTL_BIND": f"127.0.0.1:{stack.gunicorn_port}"},
    )

    workdir = stack.root / "nginx"
    workdir.mkdir()
    static_root = stack.root / "static"
    static_root.mkdir()
    (static_root / "index.html").write_text(STATIC_BODY)
    static_port = stack.static_port = free_port()
    static_site = workdir / "static.conf"
    static_site.write_text(
        f"server {{\n    listen 127.0.0.1:{static_port};\n    root {static_root};\n"
        # Echoes the token the upstream received, for the forward-auth tests.
        '    location = /token { return 200 "token=$http_cf_access_jwt_assertion\\n"; }\n'
        # Echoes the client certificate the upstream received (client_certificate_forwarding).
        '    location = /client-cert { return 200 "der=$http_cf_client_cert_der_base64\\n'
        'sha256=$http_cf_client_cert_sha256\\n"; }\n}\n'
    )
    stack.https_port, stack.forward_auth_port = free_port(), free_port()
    common = {
        "ACCESSCTL_TLS_CERTIFICATE": str(server.cert),
        "ACCESSCTL_TLS_CERTIFICATE_KEY": str(server.key),
        "ACCESSCTL_UPSTREAM": f"127.0.0.1:{stack.gunicorn_port}",
    }
    sites = {
        "accessctl.conf": {
            "ACCESSCTL_LISTEN": f"127.0.0.1:{stack.https_port}",
            "ACCESSCTL_SERVER_NAME": " ".join(h for h in HOSTNAMES if h != STATIC),
        },
        "forward-auth.conf": {
            "ACCESSCTL_LISTEN": f"127.0.0.1:{stack.forward_auth_port}",
            "ACCESSCTL_SERVER_NAME": STATIC,
            "ACCESSCTL_PROTECTED_UPSTREAM": f"http://127.0.0.1:{static_port}",
        },
    }
    rendered = []
    for name, values in sites.items():
        path = workdir / name
        path.write_text(render_template(nginx_template(name).read_text(), {**common, **values}))
        rendered.append(path)
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_main_config(workdir, [*rendered, static_site]))
    stack.start(
        "nginx/nginx",
        ["nginx", "-c", str(conf), "-p", str(workdir)],
        ports=[stack.https_port, stack.forward_auth_port, static_port],
    )


# --- HAProxy and Caddy: the shipped files, in front of a gunicorn reading base64 DER ---------


@pytest.fixture(scope="session")
def der_upstream(stack: Stack) -> int:
    """A second gunicorn on the same database, configured for ACCESSCTL_CLIENT_CERT_FORMAT
    der-base64 (header X-SSL-Client-Cert-Der), as HAProxy and Caddy forward it."""
    return start_upstream(stack, "gunicorn-der", "der-base64")


@pytest.fixture(scope="session")
def haproxy_port(stack: Stack, der_upstream: int) -> int:
    """deploy/haproxy/accessctl.cfg, run as shipped with its settings in the environment."""
    require_tool(shutil.which("haproxy") is not None, "haproxy is not installed")
    port = free_port()
    combined = stack.root / "server-combined.pem"
    combined.write_text((stack.root / "server.pem").read_text() + stack.server_key.read_text())
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ACCESSCTL_LISTEN": f"127.0.0.1:{port}",
        "ACCESSCTL_TLS_PEM": str(combined),
        "ACCESSCTL_CLIENT_CA_FILE": str(stack.server_ca),
        "ACCESSCTL_UPSTREAM": f"127.0.0.1:{der_upstream}",
    }
    config = REPO / "deploy/haproxy/accessctl.cfg"
    stack.start("haproxy", ["haproxy", "-f", str(config), "-db"], ports=[port], env=env)
    return port


@pytest.fixture(scope="session")
def caddy_port(stack: Stack, der_upstream: int) -> int:
    """deploy/caddy/Caddyfile in front of accessctl (der-base64)."""
    return start_caddy(stack, "caddy", "Caddyfile", VALID, der_upstream)


@pytest.fixture(scope="session")
def caddy_forward_auth_port(stack: Stack, der_upstream: int) -> int:
    """deploy/caddy/forward-auth.Caddyfile guarding the static upstream for STATIC."""
    return start_caddy(
        stack,
        "caddy-forward-auth",
        "forward-auth.Caddyfile",
        STATIC,
        der_upstream,
        ACCESSCTL_PROTECTED_UPSTREAM=f"127.0.0.1:{stack.static_port}",
    )


# --- Headless Chromium: the identity tests ---------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Chromium, for the module (tests/e2e/identity_site.py checks it is there)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu"],
        )
        yield browser
        browser.close()


# --- Apache httpd: the shipped site, in front of a gunicorn reading unfolded PEM -------------

APACHE_MODULES = ("mpm_event", "authz_core", "socache_shmcb", "ssl", "headers", "proxy",
                  "proxy_http")  # fmt: skip


def apache_main_config(workdir: Path, port: int, site: Path, modules: Path) -> str:
    """A whole httpd.conf in ``workdir`` around the shipped site: modules, one Listen, the
    run's files. Started as root, the master keeps the port and the TLS key it read and the
    workers run as nobody (Apache refuses root workers); otherwise as the invoking user."""
    run_as = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
    loads = "".join(
        f"LoadModule {name}_module {modules / f'mod_{name}.so'}\n" for name in APACHE_MODULES
    )
    return (
        f"ServerRoot {workdir}\nDefaultRuntimeDir {workdir}\nPidFile {workdir / 'httpd.pid'}\n"
        f"ErrorLog {workdir / 'error.log'}\nLogLevel warn\n{run_as}{loads}"
        f"ServerName localhost\nListen 127.0.0.1:{port} https\n"
        f"SSLSessionCache shmcb:{workdir / 'ssl_scache'}(512000)\n"
        f"Include {site}\n"
    )


@pytest.fixture(scope="session")
def pem_upstream(stack: Stack) -> int:
    """A gunicorn on the same database for ACCESSCTL_CLIENT_CERT_FORMAT nginx-pem (header
    X-SSL-Client-Cert, PEM with its line breaks as spaces), as Apache's mod_headers sends it."""
    return start_upstream(stack, "gunicorn-pem", "nginx-pem")


@pytest.fixture(scope="session")
def apache_port(stack: Stack, pem_upstream: int) -> int:
    """deploy/apache/accessctl.conf, included as shipped, its settings in the environment."""
    binary = shutil.which("apache2") or shutil.which("apache2", path="/usr/sbin:/usr/local/sbin")
    modules = Path("/usr/lib/apache2/modules")
    require_tool(
        binary is not None and (modules / "mod_ssl.so").exists(),
        "Apache httpd is not installed (apt-get install apache2)",
    )
    assert binary is not None
    port = free_port()
    workdir = stack.root / "apache"
    workdir.mkdir()
    conf = workdir / "httpd.conf"
    conf.write_text(apache_main_config(workdir, port, REPO / "deploy/apache/accessctl.conf",
                                       modules))  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ACCESSCTL_VHOST": f"127.0.0.1:{port}",
        "ACCESSCTL_SERVER_NAME": VALID,
        "ACCESSCTL_TLS_CERTIFICATE": str(stack.root / "server.pem"),
        "ACCESSCTL_TLS_CERTIFICATE_KEY": str(stack.server_key),
        "ACCESSCTL_UPSTREAM": f"127.0.0.1:{pem_upstream}",
    }
    stack.start("apache", [binary, "-f", str(conf), "-DFOREGROUND"], ports=[port], env=env)
    return port
