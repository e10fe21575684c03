"""The process-wide configuration snapshot and the version stamp that keeps it current.

Every change of a trust or policy model writes a new version stamp (``apps.gateway.signals``):
a :class:`~apps.gateway.models.ConfigVersion` row written *in the changing transaction* (a
committed change always carries its stamp), then mirrored in the shared cache once it commits.
Each worker keeps one immutable :class:`~accessctl.core.snapshot.Snapshot` and confirms it at
most once per ``ACCESSCTL_CONFIG_CHECK_INTERVAL`` seconds (:class:`apps.base.backends.Stamp`):

- against the database whenever it answers (one primary-key read): a change reaches every
  worker within the interval even when its writer could not reach the cache;
- when the database does not answer, against the cache's copy: the same version there keeps
  the snapshot confirmed for as long as the outage lasts (nothing can change meanwhile).

When the stamp differs, the snapshot is rebuilt (``apps.gateway.snapshot.build_snapshot``).
When neither backend confirmed it for longer than ``ACCESSCTL_CONFIG_MAX_STALENESS``,
:func:`current_snapshot` returns None and the middleware answers 503: a worker never decides
on configuration it cannot vouch for. The next successful check restores service by itself.
Every :data:`FULL_REBUILD_SECONDS` (database up) a worker rebuilds its snapshot whatever the
stamp says, for changes that never wrote it (a queryset ``update()``, raw SQL).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction

from accessctl.core.snapshot import Snapshot
from apps.base.backends import Backend, Reading, Source, Stamp, backends
from apps.base.backends import cache_is_shared as cache_is_shared  # where tests look for it
from apps.base.conf import access_settings
from apps.gateway.models import ConfigVersion
from apps.gateway.snapshot import build_snapshot

logger = logging.getLogger(__name__)

VERSION_CACHE_KEY = "accessctl:config-version"
# Even with an unchanged stamp, a worker rebuilds its snapshot this often: a change that
# bypassed the signals (a queryset update, raw SQL) is enforced within a minute rather than
# never. Five queries per worker per minute.
FULL_REBUILD_SECONDS = 60.0
INITIAL_VERSION = "initial"  # no change was ever saved: a confirmed, valid state


def _version_from_db() -> str:
    row = ConfigVersion.objects.filter(pk=ConfigVersion.SINGLETON).values_list("version")
    found = row.first()
    return found[0] if found else INITIAL_VERSION


version_stamp = Stamp(VERSION_CACHE_KEY, _version_from_db)


def read_version() -> Reading:
    """The current stamp: the database's, else (database unreachable) the cache's copy."""
    return version_stamp.confirm()


# The newest stamp each connection wrote in its open transaction: only the last change of a
# transaction is announced after the commit (one cache write, one warning at most).
_pending: dict[int, str] = {}


def record_change(using: str = DEFAULT_DB_ALIAS) -> str:
    """Write a new stamp in the current transaction (the change's own) and schedule its
    announcement for after the commit. A database error propagates: the change fails with it.
    """
    version = uuid.uuid4().hex
    ConfigVersion.objects.using(using).update_or_create(
        pk=ConfigVersion.SINGLETON, defaults={"version": version}
    )
    connection = transaction.get_connection(using)
    _pending[id(connection)] = version
    transaction.on_commit(functools.partial(_announce, id(connection), version), using=using)
    holder.expire()
    return version


bump_version = record_change  # the name the tests know


def _announce(connection_id: int, version: str) -> None:
    """After the commit: mirror the stamp into the cache, check it here on the next request."""
    if _pending.get(connection_id) != version:
        return  # a later change of the same transaction announces
    _pending.pop(connection_id, None)
    holder.expire()
    problem = version_stamp.publish(version)
    if problem is not None:
        # One line, no traceback: the change is saved, and every node confirms against the
        # database at each check, so it is enforced within the check interval anyway.
        logger.warning(
            "configuration saved, but the cache could not be told (%s); every node reads it "
            "from the database within %.1f s",
            problem,
            access_settings().config_check_interval,
        )


class ConfigHolder:
    """One worker's current snapshot, refreshed when the version stamp changes. Thread-safe.

    Readers never block on a refresh another thread is doing unless they have nothing to serve;
    the snapshot itself is immutable, so handing it out needs no lock.
    """

    def __init__(
        self,
        *,
        read: Callable[[], Reading] = read_version,
        build: Callable[[str], Snapshot] = build_snapshot,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._build = build
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._built_at = -float("inf")
        self._checked_at = -float("inf")
        self._confirmed_at = -float("inf")
        self._confirmed_by: Source | None = None
        self._broken_version = ""  # a version whose snapshot failed to build (logged once)

    def current(self) -> Snapshot | None:
        """The snapshot to decide with, or None when it cannot be vouched for (→ 503)."""
        conf = access_settings()
        interval, max_staleness = conf.config_check_interval, conf.config_max_staleness
        now = self._clock()
        if now - self._checked_at >= interval:
            # One thread refreshes. The others go on with what they have if it is still
            # confirmed, and otherwise wait for the refresh to learn its outcome.
            fresh = self._snapshot is not None and now - self._confirmed_at <= max_staleness
            if self._lock.acquire(blocking=not fresh):
                try:
                    if self._clock() - self._checked_at >= interval:
                        self._refresh()
                finally:
                    self._lock.release()
        if self._clock() - self._confirmed_at > max_staleness:
            return None
        return self._snapshot

    def status(self) -> tuple[Snapshot | None, Source | None, float]:
        """For the readiness endpoint and the dashboard: the snapshot served (None when it
        cannot be vouched for), who confirmed it last, and how many seconds ago."""
        snapshot = self.current()
        return snapshot, self._confirmed_by, self._clock() - self._confirmed_at

    def _refresh(self) -> None:
        started = self._clock()
        try:
            self._check(started)
        finally:
            # Set last: a reader that sees the check done also sees its outcome.
            self._checked_at = started

    def confirmed_age(self) -> float:
        """Seconds since this worker last confirmed its configuration (inf: never)."""
        return self._clock() - self._confirmed_at

    def _check(self, started: float) -> None:
        # Read the stamp *before* building: a change committed meanwhile is then either in
        # this snapshot or announced by a newer stamp at the next check, never lost.
        reading = self._read()
        # Confirmed as of the answer, not of the question: a read slowed down (a busy machine,
        # a backend timing out before the other one answered) must not fail a request whose
        # own check succeeded.
        answered = self._clock()
        if reading.source is Source.CACHE:
            # The database is down: nothing can change, and the cache vouches for the
            # version it last saw there. Only the very same version is confirmed.
            if self._snapshot is not None and reading.value == self._snapshot.version:
                self._confirm(answered, Source.CACHE)
            return
        if reading.source is not Source.DATABASE or reading.value is None:
            return  # neither backend answered: the staleness clock runs on
        version = reading.value
        snapshot = self._snapshot
        if (
            snapshot is not None
            and snapshot.version == version
            and started - self._built_at < FULL_REBUILD_SECONDS
        ):
            self._confirm(answered, Source.DATABASE)
            return
        try:
            self._snapshot = self._build(version)
        except DatabaseError as exc:  # went away between the two reads: retried next check
            backends.failed(Backend.DATABASE, exc)
            return
        except Exception:  # a broken row or a bug: fail closed after MAX_STALENESS
            if version != self._broken_version:
                self._broken_version = version
                logger.exception("configuration snapshot %s could not be built", version)
            return
        self._built_at = started
        self._broken_version = ""
        if snapshot is None or snapshot.version != version:
            logger.info("configuration snapshot %s loaded", version)
        self._confirm(answered, Source.DATABASE)

    def _confirm(self, at: float, by: Source) -> None:
        self._confirmed_at, self._confirmed_by = at, by

    def expire(self) -> None:
        """Check the stamp on the next request (this process just changed it)."""
        self._checked_at = -float("inf")

    def install(self, snapshot: Snapshot) -> None:
        """Serve ``snapshot`` as confirmed now (tests and the benchmark)."""
        with self._lock:
            self._snapshot = snapshot
            self._checked_at = self._confirmed_at = self._built_at = self._clock()
            self._confirmed_by = Source.DATABASE

    def reset(self) -> None:
        """Forget everything: the next request loads from the store (tests)."""
        with self._lock:
            self._snapshot = None
            self._checked_at = self._confirmed_at = self._built_at = -float("inf")
            self._confirmed_by = None
            self._broken_version = ""


holder = ConfigHolder()


def current_snapshot() -> Snapshot | None:
    """This worker's snapshot, or None when the configuration cannot be confirmed."""
    return holder.current()
