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
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from apps.console.servers import (
    free_port,
    gunicorn_command,
    nginx_main_config,
    nginx_template,
    render_template,
    start_server,
    stop_process,
)
from tests.conftest import require_tool
from tests.factories import certs as certfactory

REPO = Path(__file__).resolve().parents[2]
SNI_HEADER = "X-SSL-Server-Name"
ATTACKER_ADDRESS = "127.0.0.3"
STATIC_BODY = "static upstream: the guarded page\n"

# Hostnames of the session's site (all under .localhost, allowed in development) and what
# guards each: (CA, decision rule, session duration).
VALID = "valid.localhost"  # CA A, Valid Certificate, 24 hours
DEVICE = "device.localhost"  # CA A, Common Name "device-7"
ONCE = "once.localhost"  # CA A, Valid Certificate, No duration
OTHER = "other.localhost"  # CA B, Valid Certificate
STATIC = "static.localhost"  # CA A, Valid Certificate; nginx forward-auth to a static upstream
HOSTNAMES = (VALID, DEVICE, ONCE, OTHER, STATIC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e carries the `e2e` marker (`-m "not e2e"` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# --- Responses and curl ----------------------------------------------------------------------


@dataclass
class Response:
    """What curl received: status, headers (lower-case names, every value) and body."""

    status: int
    headers: dict[str, list[str]]
    body: str

    def set_cookies(self) -> dict[str, str]:
        """Name → full Set-Cookie line (value and attributes)."""
        cookies = {}
        for line in self.headers.get("set-cookie", []):
            cookie_name = line.split("=", 1)[0].strip()
            cookies[cookie_name] = line
        return cookies

    def cookie_value(self, name: str) -> str | None:
        """The value a Set-Cookie line gives cookie ``name``; None when none was sent."""
        line = self.set_cookies().get(name)
        return line.split(";", 1)[0].split("=", 1)[1] if line else None


def parse_curl_output(raw: bytes) -> Response:
    """Split `curl -i` output; with HTTP/2 and 1.1 alike the headers end at a blank line."""
    text = raw.decode("utf-8", "replace")
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Response(status, headers, body)


def run_curl(args: Sequence[str]) -> Response:
    """Run curl with ``args`` and parse the response; a transport error fails the test."""
    done = subprocess.run(
        ["curl", "-sS", "-i", "--max-time", "15", *args],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"curl {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()}")
    return parse_curl_output(done.stdout)


# --- The stack -------------------------------------------------------------------------------


@dataclass
class CertFiles:
    """A certificate and its key written to the run's directory (curl --cert/--key, nginx)."""

    issued: certfactory.Issued
    cert: Path
    key: Path

    @property
    def escaped(self) -> str:
        """The certificate as nginx's $ssl_client_escaped_cert would forward it."""
        return urllib.parse.quote(self.issued.pem, safe="")


@dataclass
class Stack:
    """A running nginx + gunicorn pair and the files and ports it was built with."""

    root: Path
    env: dict[str, str]
    server_ca: Path
    server_key: Path
    clients: dict[str, CertFiles]
    https_port: int = 0  # deploy/nginx/accessctl.conf
    forward_auth_port: int = 0  # deploy/nginx/forward-auth.conf
    gunicorn_port: int = 0
    static_port: int = 0  # the plain static upstream the forward-auth variants guard
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def accessctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real `accessctl` command line against the stack's database."""
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"accessctl {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def https(
        self,
        hostname: str,
        path: str = "/",
        *,
        client: str | None = None,
        headers: Sequence[str] = (),
        cookie: str | None = None,
        port: int | None = None,
    ) -> Response:
        """GET https://hostname:port/path through nginx, with a client certificate if named."""
        port = port or self.https_port
        args = [
            f"https://{hostname}:{port}{path}",
            "--resolve",
            f"{hostname}:{port}:127.0.0.1",
            "--cacert",
            str(self.server_ca),
        ]
        if client:
            args += ["--cert", str(self.clients[client].cert)]
            args += ["--key", str(self.clients[client].key)]
        if cookie:
            args += ["-H", f"Cookie: CF_Authorization={cookie}"]
        for header in headers:
            args += ["-H", header]
        return run_curl(args)

    def direct(
        self, hostname: str, *, headers: Sequence[str] = (), interface: str | None = None
    ) -> Response:
        """GET / from gunicorn itself, bypassing nginx, optionally from another source address."""
        args = [f"http://127.0.0.1:{self.gunicorn_port}/", "-H", f"Host: {hostname}"]
        if interface:
            args += ["--interface", interface]
        for header in headers:
            args += ["-H", header]
        return run_curl(args)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        ports: Sequence[int],
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a server logging to ``<root>/<name>.log``; fail the test with every log if it
        does not listen on ``ports``. The stack stops it at the end of the session."""
        try:
            process = start_server(
                command,
                log=self.root / f"{name}.log",
                ports=ports,
                env=self.env if env is None else env,
                cwd=REPO,
            )
        except RuntimeError as exc:
            pytest.fail(f"{name} did not start: {exc}\n{self.logs()}")
        self.processes.append(process)
        return process

    def logs(self) -> str:
        """The tail of every server log, for failure messages."""
        parts = []
        for log in sorted(self.root.glob("**/*.log")):
            parts.append(f"--- {log.relative_to(self.root)}\n{log.read_text()[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every server the stack started, last started first."""
        for process in reversed(self.processes):
            stop_process(process)
        self.processes.clear()


def outside_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without anything accessctl's settings read, so the servers run with
    the harness's settings and the development defaults (ALLOWED_HOSTS allows .localhost),
    whatever the developer's shell exports."""
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(("ACCESSCTL_", "DJANGO_", "SECURE_", "SESSION_", "CSRF_"))
        and key not in {"ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "SECRET_KEY", "DEBUG"}
    }


def _write_cert_files(root: Path, name: str, issued: certfactory.Issued) -> CertFiles:
    cert, key = root / f"{name}.pem", root / f"{name}.key"
    cert.write_text(issued.pem)
    key.touch(mode=0o600)
    key.write_text(issued.key_pem)
    return CertFiles(issued, cert, key)


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
        '    location = /token { return 200 "token=$http_cf_access_jwt_assertion\\n"; }\n}\n'
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
    port = free_port()
    stack.start(
        "gunicorn-der",
        gunicorn_command(),
        ports=[port],
        env={
            **stack.env,
            "ACCESSCTL_BIND": f"127.0.0.1:{port}",
            "ACCESSCTL_CLIENT_CERT_FORMAT": "der-base64",
        },
    )
    return port


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


def start_caddy(
    stack: Stack, name: str, caddyfile: str, server_name: str, upstream: int, **extra: str
) -> int:
    """Run a shipped Caddyfile as is, its settings in the environment; return its HTTPS port."""
    require_tool(shutil.which("caddy") is not None, "caddy is not installed")
    port = free_port()
    home = stack.root / f"{name}-home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        # Caddy keeps state under $HOME/XDG dirs: keep it in the run's directory.
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "CADDY_ADMIN": "off",
        "CADDY_HTTP_PORT": str(free_port()),
        "ACCESSCTL_SERVER_NAME": server_name,
        "ACCESSCTL_HTTPS_PORT": str(port),
        "ACCESSCTL_TLS_CERTIFICATE": str(stack.root / "server.pem"),
        "ACCESSCTL_TLS_CERTIFICATE_KEY": str(stack.server_key),
        "ACCESSCTL_UPSTREAM": f"127.0.0.1:{upstream}",
        **extra,
    }
    config = REPO / "deploy/caddy" / caddyfile
    stack.start(
        name,
        ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
        ports=[port],
        env=env,
    )
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
