"""Start and stop the servers accessctl runs behind: gunicorn and a throwaway nginx.

``accessctl demo`` and the end-to-end tests (``tests/e2e/conftest.py``) both start their
servers through this module, so the demo, the tests and an operator all run the same
``deploy/nginx/*.conf`` templates (rendered by ``render_template``) in front of the same
``accessctl/gunicorn.conf.py``. Every server gets a process group of its own so that
``stop_process`` ends its workers too and nothing is left running after a failure.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from django.conf import settings
from gunicorn.config import Config

import accessctl

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Fill the ``${UPPER_CASE}`` placeholders of a shipped configuration template.

    nginx's own variables (``$host``, ``$ssl_client_escaped_cert``) are lower case and left
    alone, exactly as ``envsubst '${NAME} …'`` with an explicit list would. A placeholder
    without a value is an error rather than an empty string: nginx would start with a broken
    ``proxy_pass`` otherwise.
    """
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise ValueError(f"no value for placeholder(s): {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def nginx_main_config(workdir: Path, sites: Iterable[Path], extra_http: str = "") -> str:
    """A standalone nginx.conf running in the foreground with every path inside ``workdir``.

    The shipped configurations are ``server`` blocks for the ``http`` context; this wraps
    them (``include``) so nginx runs unprivileged-friendly, without touching /etc/nginx or
    /var/log, as ``nginx -c <workdir>/nginx.conf -p <workdir>``.
    """
    temp = workdir / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would switch to `nobody`, which cannot read a private
    # directory of throwaway files; keep them as the invoking user instead.
    user = "user root;\n" if os.geteuid() == 0 else ""
    includes = "".join(f"    include {site};\n" for site in sites)
    return (
        f"{user}daemon off;\n"
        "worker_processes 1;\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {workdir / 'access.log'};\n"
        "    default_type text/plain;\n"
        f"    client_body_temp_path {temp};\n"
        f"    proxy_temp_path {temp};\n"
        f"    fastcgi_temp_path {temp};\n"
        f"    uwsgi_temp_path {temp};\n"
        f"    scgi_temp_path {temp};\n"
        f"{extra_http}"
        f"{includes}"
        "}\n"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def preferred_port(port: int) -> int:
    """``port`` if it is free on loopback, else any free port."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
    except OSError:
        return free_port()
    return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``.

    Raises ``RuntimeError`` if ``process`` exits first or the time runs out, so a server that
    cannot start is reported at once instead of as a later connection refusal.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server started with ``start_new_session=True``: its whole process group."""
    if process.poll() is not None:
        return
    # gunicorn and nginx both shut down gracefully on SIGTERM (nginx: fast shutdown).
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def start_server(
    command: Sequence[str],
    *,
    log: Path,
    ports: Sequence[int],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, appending its output to ``log``.

    Returns once it accepts connections on every port of ``ports``. If it does not, it is
    stopped again and ``RuntimeError`` raised: nothing is left running.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            # A group of its own: stop_process() reaches gunicorn's and nginx's workers too,
            # and a Ctrl-C in the terminal reaches only the demo, which then stops them.
            start_new_session=True,
        )
    try:
        for port in ports:
            wait_for_port(port, process)
    except RuntimeError:
        stop_process(process)
        raise
    return process


def gunicorn_command() -> list[str]:
    """gunicorn with the project's own gunicorn.conf.py (bind and workers from the env)."""
    conf = Path(accessctl.__file__).resolve().parent / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "-c", str(conf)]
    # gunicorn >= 24 opens a control socket at one fixed path in $HOME: a second gunicorn
    # (`make run` beside the demo, parallel test runs) would take it over. Not needed here.
    if "control_socket_disable" in Config().settings:
        command.append("--no-control-socket")
    return command


def nginx_template(name: str = "accessctl.conf") -> Path:
    """Where the shipped nginx template is: the checkout, or share/accessctl when installed."""
    for base in (settings.BASE_DIR, settings.SHARE_DIR):
        path = Path(base) / "deploy" / "nginx" / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"deploy/nginx/{name} not found")
