"""What the load benchmarks share: a throwaway accessctl configured by its own commands, a
real gunicorn as shipped (accessctl/gunicorn.conf.py), and its workers' memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from accessctl.core.forwarded import MAX_HEADER_BYTES  # noqa: E402
from apps.console.servers import gunicorn_command, start_server  # noqa: E402


def server_env(tmp: Path, port: int, hosts: list[str], **extra: str) -> dict[str, str]:
    """The environment of the commands and of gunicorn: everything inside ``tmp``."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_ENV": "development",
        "ACCESSCTL_DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "CACHE_URL": "locmemcache://bench",
        "ALLOWED_HOSTS": ",".join([*hosts, "localhost"]),
        "ACCESSCTL_DASHBOARD_HOSTS": "localhost",
        "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESSCTL_CLIENT_CERT_FORMAT": "nginx",
        "ACCESSCTL_CLIENT_CERT_HEADER": "",
        "ACCESSCTL_SNI_HEADER": "",
        "ACCESSCTL_BIND": f"127.0.0.1:{port}",
        "ACCESSCTL_WORKERS": "2",
        # The access log's JSON lines still go to gunicorn's log file; only the noise is cut.
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def accessctl(env: Mapping[str, str], *args: str) -> str:
    """Run an ``accessctl`` command; a failure stops the benchmark with its output."""
    command = [str(Path(sys.executable).with_name("accessctl")), *args]
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")
    return done.stdout


def start_gunicorn(
    tmp: Path, env: Mapping[str, str], port: int, *extra: str, log: str = "gunicorn.log"
) -> subprocess.Popen[bytes]:
    """gunicorn as shipped, except: no per-request access log line on stdout, and a header
    field limit above accessctl's 16 KiB so that oversize values reach accessctl's own check
    (gunicorn's default 8190 would answer 400 itself, before Django). ``extra`` are more
    gunicorn arguments (e.g. ``--pythonpath`` and another WSGI application)."""
    command = [
        *gunicorn_command(),
        "--access-logfile",
        "/dev/null",
        "--limit-request-field_size",
        str(MAX_HEADER_BYTES * 2),
        *extra,
    ]
    return start_server(command, log=tmp / log, ports=[port], env=dict(env), cwd=ROOT)


def worker_pids(master: int) -> list[int]:
    """gunicorn's worker processes: the children of its master."""
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return sorted(int(pid) for pid in children.read_text().split())
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")
