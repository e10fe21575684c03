"""Bump the configuration version whenever the trust store, revocation or policies change.

Receivers listen to every model of the watched apps (trust, revocation, policies) rather
than to a list of models, so a model added later is covered without touching this file. The
new stamp is written in the changing transaction itself, so a committed change always carries
it and a rolled-back one leaves none; it is copied into the cache after the commit
(``apps.gateway.config.record_change``).
"""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps as global_apps
from django.db import router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.gateway.config import record_change

WATCHED_APPS = frozenset({"trust", "revocation", "policies"})
# Also watched: a logout, which every node must learn within a second.
WATCHED_MODELS = frozenset({"tokens.endedsession"})


def _watched(sender: Any) -> bool:
    meta = getattr(sender, "_meta", None)
    return meta is not None and (
        meta.app_label in WATCHED_APPS or meta.label_lower in WATCHED_MODELS
    )


def configuration_changed(sender: Any, **kwargs: Any) -> None:
    """Write a new version stamp in the transaction of the change."""
    # Fixture loading (raw=True) changes the configuration too, so it bumps as well.
    if not _watched(sender) or str(kwargs.get("action", "post")).startswith("pre_"):
        return  # an m2m pre_* action is followed by its post_* one in the same transaction
    using = kwargs.get("using") or router.db_for_write(sender)
    if sender._meta.apps is not global_apps:
        # A migration's historical model: the stamp's own table may not exist yet at this
        # point of the plan. Stamp after the commit, and never fail the migration for it.
        transaction.on_commit(functools.partial(record_change, using), using=using, robust=True)
        return
    record_change(using)


def connect() -> None:
    """Connect the receivers (called once from the app config's ready())."""
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(configuration_changed, dispatch_uid=f"accessctl-config-{id(signal)}")
