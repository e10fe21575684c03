"""Which bound hostnames something enforces, as far as the trust store's pages need to know.

A CA alone enforces nothing (as in Cloudflare): only a hostname that an enabled policy guards
is checked, and the Mutual TLS pages say so next to each hostname. Policies sit a layer above
the trust store (a policy's hostname must be bound to a CA first), so the trust store cannot
ask them: the layers above register a source of guarded hostnames here, from their
``AppConfig.ready`` (``apps.policies`` does). The trust store depends on nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable

GuardedHostnames = Callable[[], set[str]]

_sources: list[GuardedHostnames] = []


def register_guard_source(source: GuardedHostnames) -> None:
    """Add a function returning the hostnames it enforces (idempotent)."""
    if source not in _sources:
        _sources.append(source)


def guarded_hostnames() -> set[str]:
    """Every hostname some registered source enforces (none registered: none)."""
    guarded: set[str] = set()
    for source in _sources:
        guarded |= source()
    return guarded
