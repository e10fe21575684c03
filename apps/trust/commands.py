"""Subcommands of ``accessctl certificates`` that apps above the trust store add.

The trust store cannot import the apps above it (the one-way layers), so an app that extends
the command (``apps.revocation``: ``crl``, ``revoke``, ``revoked``, ``unrevoke``) registers a
:class:`CertificatesExtension` from its ``AppConfig.ready()``, as ``apps/trust/enforcement.py``
does for the guarded hostnames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CertificatesExtension:
    """``actions`` it answers; ``add_parsers(subparsers)`` adds them to the command's parser;
    ``handle(command, options)`` runs one (``command`` is the running ``BaseCommand``)."""

    actions: frozenset[str]
    add_parsers: Callable[[Any], None]
    handle: Callable[[Any, dict[str, Any]], None]


_extensions: dict[str, CertificatesExtension] = {}


def register_certificates_extension(name: str, extension: CertificatesExtension) -> None:
    """Add (or, under the same name, replace) an extension."""
    _extensions[name] = extension


def certificates_extensions() -> list[CertificatesExtension]:
    """The registered extensions, in registration order."""
    return list(_extensions.values())
