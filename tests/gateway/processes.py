"""A second accessctl process (gunicorn) against the test database, a TCP proxy that can make a
server unreachable for it, and a PostgreSQL and a Redis of a test's own that it can stop and
start: for the propagation, fail-closed and outage tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from apps.console.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_database_reason() -> str | None:
    """Why another process cannot share the test database, or None when it can."""
    if connection.vendor == "sqlite":
        return (
            "another process cannot see an in-memory SQLite test database; CI runs this "
            "against PostgreSQL (DATABASE_URL=postgres://...)"
        )
    return None


def database_url(host: str | None = None, port: int | None = None) -> str:
    """The test database as a DATABASE_URL, optionally through another host:port."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    where = f"{host or db.get('HOST') or '127.0.0.1'}:{port or db.get('PORT') or 5432}"
    return f"postgres://{auth}{where}/{db['NAME']}"


def cache_url() -> str:
    """The test process's cache as a CACHE_URL (a shared Redis, or each process its own)."""
    return os.environ.get("CACHE_URL", "locmemcache://second-process")


class Gunicorn:
    """accessctl under gunicorn, with the given environment, on a free port."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "accessctl.settings",
            "ACCESSCTL_ENV": "development",
            "ACCESSCTL_DATA_DIR": str(tmp),
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url(),
            "CACHE_URL": cache_url(),
            "CONN_MAX_AGE": "0",
            "ALLOWED_HOSTS": "app.example.com,other.example.com,localhost,127.0.0.1",
            "ACCESSCTL_BIND": f"127.0.0.1:{self.port}",
            "ACCESSCTL_WORKERS": "2",
            **env,
        }
        self.log = tmp / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                str(ROOT / "accessctl/gunicorn.conf.py"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.get("localhost", "/_accessctl/forward-auth")[0]:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, host: str, path: str = "/", headers: dict[str, str] | None = None):
        """(status, body) of a raw HTTP/1.1 GET: header names exactly as given."""
        status, _, body = self.exchange(host, path, headers)
        return status, body

    def exchange(self, host: str, path: str = "/", headers: dict[str, str] | None = None):
        """(status, response header lines, body) of a raw HTTP/1.1 GET."""
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        raw = b"".join(chunks)
        status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
        head, _, body = raw.partition(b"\r\n\r\n")
        return status, head.decode("latin-1").split("\r\n")[1:], body


class TcpProxy:
    """Forwards a local port to a server; ``down()`` makes the server unreachable through it
    (open connections reset, new ones refused) and ``up()`` brings it back on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            # shutdown() first: a close() alone leaves a thread blocked in accept() holding the
            # socket open, and new connections would still be accepted.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> TcpProxy:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


def settle(check: Callable[[], bool], *, timeout: float = 5.0, streak: int = 6) -> float:
    """Seconds until ``check`` held for ``streak`` requests in a row.

    The requests may all reach the same worker (the kernel picks who accepts): a check of what
    every worker does must follow :func:`every_node_has_it`."""
    start = time.monotonic()
    first_ok: float | None = None
    in_a_row = 0
    while time.monotonic() - start < timeout:
        if check():
            first_ok = first_ok if in_a_row else time.monotonic()
            in_a_row += 1
            if in_a_row >= streak:
                return first_ok - start
        else:
            in_a_row = 0
        time.sleep(0.02)
    raise AssertionError(f"not settled within {timeout} s")


def every_node_has_it() -> None:
    """Wait until every worker decides with the latest configuration: a worker that has not
    confirmed its snapshot for ACCESSCTL_CONFIG_MAX_STALENESS re-reads it before its next
    decision. One answer with the change is not enough: the next request may go to another
    worker that checked a moment before the change (and a session issued by a worker still on
    the old policies carries the old epoch)."""
    time.sleep(settings.ACCESSCTL_CONFIG_MAX_STALENESS + 0.5)


def session_cookie(header_lines: list[str]) -> str:
    """The CF_Authorization value a response sets."""
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie" and value.strip().startswith("CF_Authorization="):
            return value.strip().split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no CF_Authorization cookie in {header_lines}")


# --- A PostgreSQL and a Redis of the test's own, which it may stop and start -----------------


def postgres_bin() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _wait_for(ready, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory) on a free loopback
    port. As root it runs as the ``postgres`` user, which PostgreSQL insists on."""

    def __init__(self) -> None:
        directory = postgres_bin()
        if directory is None:
            raise RuntimeError("initdb/pg_ctl not found")
        self.bin = directory
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="accessctl-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        self.running = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout[-1500:]}{result.stderr[-1500:]}")

    def init(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.dir / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.running = True
        _wait_for(lambda: _accepts(self.port), "PostgreSQL")

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.running = False

    def cleanup(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A throwaway redis-server on a free loopback port, keeping nothing on disk (a restart
    starts empty, as a Redis without persistence does)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self._pong, "redis-server")

    def _pong(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
