"""Management commands run in the test process, on the test database, as an operator types
them (`accessctl certificates …`, `accessctl policies …`)."""

from __future__ import annotations

import contextlib
import io
import sys
from unittest import mock

import pytest
from django.core.management import CommandError, call_command


def run_command(command: str, *args: str, stdin: str | None = None) -> str:
    """What ``accessctl <command> <args>`` prints; ``stdin`` is the text piped into it."""
    out = io.StringIO()
    piped = contextlib.nullcontext()
    if stdin is not None:
        piped = mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    with piped:
        call_command(command, *args, stdout=out)
    return out.getvalue()


def refusal(command: str, *args: str, stdin: str | None = None) -> str:
    """The error with which ``accessctl <command> <args>`` refuses: exit code 2, one line."""
    with pytest.raises(CommandError) as caught:
        run_command(command, *args, stdin=stdin)
    assert caught.value.returncode == 2
    message = str(caught.value)
    assert "\n" not in message
    return message
