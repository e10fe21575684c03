"""A real OpenID provider on loopback: ``oidc-provider`` (Node.js) run from tests/identity/idp.

Its login form is oidc-provider's own (devInteractions); the accounts are fixed (ACCOUNTS).
Every start makes a new signing key, so :meth:`TestIdp.restart` is a key rotation.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from tests.tools import node_with_packages

IDP_DIR = Path(__file__).parent / "idp"
CLIENT_ID = "accessctl-tests"
CLIENT_SECRET = "not-a-real-secret-" + "x" * 12
CALLBACK = "http://testserver/cdn-cgi/access/callback"
ACCOUNTS = {
    "ada": {"email": "ada@example.com", "groups": ["engineers", "staff"], "department": "research"},
    "eve": {"email": "eve@example.org", "groups": ["visitors"]},
    "bob": {"email": "bob@example.com", "groups": ["contractors"], "department": "sales"},
}


def node_with_provider() -> str:
    """The node executable, with oidc-provider installed (``npm ci``) if need be."""
    return node_with_packages(IDP_DIR, "oidc-provider")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestIdp:
    """The running provider: ``issuer``, ``kid`` of its current key, ``restart()``, ``stop()``."""

    __test__ = False  # not a test class

    def __init__(self, node: str, callback: str = CALLBACK) -> None:
        self.node = node
        self.callback = callback
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.kid = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "IDP_PORT": str(self.port),
            "IDP_CLIENT_ID": CLIENT_ID,
            "IDP_CLIENT_SECRET": CLIENT_SECRET,
            "IDP_REDIRECT_URIS": self.callback,
            "IDP_ACCOUNTS": json.dumps(ACCOUNTS),
        }
        self.process = subprocess.Popen(
            [self.node, "idp.mjs"],
            cwd=IDP_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 20
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("ready "):
                self.kid = line.strip().rsplit("kid=", 1)[1]
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise AssertionError("the test OpenID provider did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: a new signing key (and kid)."""
        self.stop()
        self.start()
