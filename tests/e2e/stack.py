"""The end-to-end stack as the tests see it: its hostnames, the running servers' ports and
files (:class:`Stack`), and what `curl` received (:class:`Response`). The fixtures that build
and start it are in this folder's conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from apps.console.servers import free_port, gunicorn_command, start_server, stop_process
from tests.factories import certs as certfactory
from tests.factories import forwarded
from tests.tools import require_tool

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
API_HOST = "api.localhost"  # nothing at start: configured through the API (test_api_sdk.py)
HOSTNAMES = (VALID, DEVICE, ONCE, OTHER, STATIC, API_HOST)


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
        return forwarded.escaped(self.issued)


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


# --- Servers in front of the stack's database ------------------------------------------------


def start_upstream(stack: Stack, name: str, cert_format: str) -> int:
    """Another gunicorn on the stack's database reading ACCESSCTL_CLIENT_CERT_FORMAT
    ``cert_format``; its port."""
    port = free_port()
    stack.start(
        name,
        gunicorn_command(),
        ports=[port],
        env={
            **stack.env,
            "ACCESSCTL_BIND": f"127.0.0.1:{port}",
            "ACCESSCTL_CLIENT_CERT_FORMAT": cert_format,
        },
    )
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
