"""Bump the configuration version whenever the trust store or the policies change.

Receivers listen to every model of the watched apps (trust, policies) rather than to a list of
models, so a model added later is covered without touching this file. The bump runs after the
transaction commits: a worker that sees the new version can read the change, and a rolled-back
change bumps nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.gateway.config import bump_version

WATCHED_APPS = frozenset({"trust", "policies"})


def _watched(sender: Any) -> bool:
    meta = getattr(sender, "_meta", None)
    return meta is not None and meta.app_label in WATCHED_APPS


def configuration_changed(sender: Any, **kwargs: Any) -> None:
    """Schedule a version bump for after the current transaction (now, in autocommit)."""
    # Fixture loading (raw=True) changes the configuration too, so it bumps as well.
    if _watched(sender):
        # robust: the change is committed already; a failed bump is logged, not a 500.
        transaction.on_commit(bump_version, using=kwargs.get("using"), robust=True)


def connect() -> None:
    """Connect the receivers (called once from the app config's ready())."""
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(configuration_changed, dispatch_uid=f"accessctl-config-{id(signal)}")
