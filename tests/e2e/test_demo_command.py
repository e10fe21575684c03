"""`accessctl demo` as a newcomer runs it: the two printed curl commands answer 403 and then
200 with a CF_Authorization cookie, and Ctrl-C stops the servers and cleans up."""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.console.servers import free_port
from tests.e2e.stack import REPO, outside_settings
from tests.tools import require_tool


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> list[str]:
    """Lines of the demo's output up to the one containing ``marker``.

    A thread reads, so a demo that hangs without printing fails after ``timeout`` instead of
    blocking the suite.
    """
    assert process.stdout is not None
    stream = process.stdout
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
            if marker in line:
                break
        else:
            lines.put(None)  # the demo exited

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    pytest.fail("the demo did not get ready:\n" + "\n".join(seen))


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("options", [[], ["--no-nginx"]], ids=["nginx", "gunicorn-alone"])
def test_the_demo_prints_two_curl_commands_that_answer_403_then_200(
    tmp_path: Path, options: list[str]
) -> None:
    if not options:
        require_tool(shutil.which("nginx") is not None, "nginx is not installed")
    require_tool(shutil.which("curl") is not None, "curl is not installed")
    port = free_port()
    env = {
        **outside_settings(os.environ),
        "ACCESSCTL_ENV": "development",
        "ACCESSCTL_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CACHE_URL": "locmemcache://demo",
        "PYTHONUNBUFFERED": "1",
    }
    demo = subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "demo", "--dir", str(tmp_path / "demo"),
         "--port", str(port), *options],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output = _read_until(demo, "Press Ctrl-C")
        commands = [shlex.split(line) for line in output if line.strip().startswith("curl ")]
        assert len(commands) == 2, output
        served = urlsplit(next(arg for arg in commands[0] if "://" in arg)).port

        refused = subprocess.run(commands[0], capture_output=True, text=True, timeout=30)
        allowed = subprocess.run(commands[1], capture_output=True, text=True, timeout=30)

        # -v prints the response headers on stderr as "< name: value" (HTTP/2 through nginx,
        # HTTP/1.1 from gunicorn alone, where curl sends the certificate header itself).
        version = "1.1" if options else "2"
        assert f"< HTTP/{version} 403" in refused.stderr, refused.stderr
        assert f"< HTTP/{version} 200" in allowed.stderr, allowed.stderr
        assert "< set-cookie: CF_Authorization=" in allowed.stderr.replace(
            "Set-Cookie", "set-cookie"
        )
        assert (tmp_path / "demo" / "client.key").stat().st_mode & 0o077 == 0

        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            # A failed assertion above: SIGTERM lets the demo stop its servers (their own
            # process groups) and clean up; SIGKILL would orphan them.
            demo.terminate()
            try:
                demo.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
    assert demo.returncode == 0, rest
    assert "removed the demo CA and policy" in rest
    assert served is not None and not _listening(served)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hostname", "not a host name"], "--hostname"),
        (["--port", "70000"], "--port"),
        (["--hostname", "auth.example.com"], "ALLOWED_HOSTS"),
    ],
)
def test_bad_options_are_refused_with_exit_code_2_before_anything_is_made(
    tmp_path: Path, args: list[str], message: str, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = [".localhost"]
    with pytest.raises(CommandError) as refused:
        call_command("demo", "--dir", str(tmp_path / "demo"), *args)

    assert refused.value.returncode == 2
    assert message in str(refused.value)
    assert not (tmp_path / "demo").exists()
