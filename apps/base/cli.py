"""How accessctl's management commands report bad input: one line on stderr, exit code 2.

``accessctl certificates``, ``accessctl policies`` and ``accessctl demo`` run the dashboard's
services and turn their ``ValidationError`` into the same one-line message, so a script sees
one shape of error whichever command it called.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def bad_input(message: str) -> CommandError:
    """Bad input: ``message`` on one line (newlines and runs of spaces collapsed), exit 2."""
    return CommandError(" ".join(message.split()), returncode=2)


def one_line(error: ValidationError, labels: Mapping[str, str] | None = None) -> str:
    """Every message of a service's ``ValidationError`` on one line, each after its field.

    ``labels`` renames fields to the command's own words (the ``pem`` field is the
    ``certificate`` argument); errors not tied to a field get no label.
    """
    labels = labels or {}
    return "; ".join(
        message if field == "__all__" else f"{labels.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    )


def read_input(path: str, *, limit: int, label: str) -> bytes:
    """The bytes of file ``path`` (``-``: standard input), at most ``limit`` plus one byte so
    the caller can tell an oversize input; a file that cannot be read is bad input."""
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            if stream is not None:
                return bytes(stream.read(limit + 1))
            return sys.stdin.read(limit + 1).encode()
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise bad_input(f"{label}: cannot read {path!r}: {exc.strerror}") from None
