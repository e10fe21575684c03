"""accessctl served as in production: a real gunicorn (the shipped gunicorn.conf.py, two
workers) on its own SQLite file, configured with its own commands, and requests to it as the
TLS terminator forwards them. For the tests of what traffic leaves behind (access log,
inventory, metrics), which must see every worker."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.console.servers import free_port, gunicorn_command, start_server, stop_process
from tests.factories.certs import Issued
from tests.factories.forwarded import escaped

ROOT = Path(__file__).resolve().parents[2]
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Served:
    """One running gunicorn and what it writes to."""

    tmp: Path
    env: dict[str, str]
    port: int

    def accessctl(self, *args: str) -> str:
        """``accessctl <args>`` against this server's database; its output."""
        command = [str(Path(sys.executable).with_name("accessctl")), *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"accessctl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def get(
        self, host: str, path: str = "/", *, cert: Issued | None = None, **headers: str
    ) -> tuple[int, bytes]:
        """GET from 127.0.0.1 (the trusted terminator), the certificate as nginx forwards it."""
        sent = {"Host": host, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if cert is not None:
            sent["X-SSL-Client-Cert"] = escaped(cert)
        url = f"http://127.0.0.1:{self.port}{path}"
        request = urllib.request.Request(url, headers=sent)  # noqa: S310 (http on loopback)
        try:
            with _opener.open(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read()

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Rows of the server's database, read (or changed, committed) directly."""
        with contextlib.closing(sqlite3.connect(self.tmp / "served.sqlite3")) as db, db:
            return db.execute(sql, params).fetchall()

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
        """Poll until ``condition()`` (the workers write once a second)."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"never happened: {what}"
            time.sleep(0.2)


@contextlib.contextmanager
def served_accessctl(
    tmp: Path,
    hosts: list[str],
    *,
    configure: Callable[[Served], None] | None = None,
    **extra_env: str,
) -> Iterator[Served]:
    """Migrate a fresh database in ``tmp``, ``configure`` it (with ``Served.accessctl``), and
    serve it with gunicorn (2 workers)."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_ENV": "development",
        "ACCESSCTL_DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/served.sqlite3",
        "CACHE_URL": "locmemcache://served",
        "ALLOWED_HOSTS": ",".join([*hosts, "localhost", "127.0.0.1"]),
        "ACCESSCTL_DASHBOARD_HOSTS": "localhost,127.0.0.1",
        "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESSCTL_BIND": f"127.0.0.1:{port}",
        "ACCESSCTL_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    served = Served(tmp, env, port)
    served.accessctl("migrate", "--noinput", "--verbosity", "0")
    if configure is not None:
        configure(served)
    process = start_server(
        [*gunicorn_command(), "--access-logfile", "/dev/null"],
        log=tmp / "gunicorn.log",
        ports=[port],
        env=env,
        cwd=ROOT,
    )
    try:
        yield served
    finally:
        stop_process(process)
