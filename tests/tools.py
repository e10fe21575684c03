"""Tests that need a program outside Python: nginx, curl, Chromium, the installed script."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tool(available: bool, why: str) -> None:
    """Skip locally when a tool is missing; fail under CI=true, where it must be installed."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: .ci/run must install it; a silent skip hides a hole)")
    pytest.skip(why)


def node_with_packages(directory: Path, package: str) -> str:
    """The node executable, with ``directory``'s npm packages installed (``npm ci``, from its
    lock file) when ``package`` is not there yet."""
    node = shutil.which("node")
    require_tool(node is not None, "node is missing (apt-get install nodejs npm)")
    if not (directory / "node_modules" / package / "package.json").is_file():
        npm = shutil.which("npm")
        require_tool(npm is not None, "npm is missing (apt-get install npm)")
        installed = subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stderr}"
    return str(node)
