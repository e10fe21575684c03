"""The process-wide configuration snapshot and the version stamp that keeps it current.

Every change of a trust or policy model bumps a version stamp (``apps.gateway.signals``): a
:class:`~apps.gateway.models.ConfigVersion` row, mirrored in the cache. Each worker keeps one
immutable :class:`~accessctl.core.snapshot.Snapshot` and checks the stamp at most once per
``ACCESSCTL_CONFIG_CHECK_INTERVAL`` seconds:

- through the cache when the cache is shared between processes (Redis, Memcached), falling
  back to the database on a miss or an error;
- straight from the database when the cache is process-local (LocMemCache), which another
  process's change would never reach.

When the stamp differs, the snapshot is rebuilt (``apps.gateway.snapshot.build_snapshot``).
When the stamp could not be confirmed for longer than ``ACCESSCTL_CONFIG_MAX_STALENESS``,
:func:`current_snapshot` returns None and the middleware answers 503: a worker never decides on
configuration it cannot vouch for. The next successful check restores service by itself.

The cached copy of the stamp has a TTL (:data:`VERSION_CACHE_TTL`): if a bump reached the
database but not the cache (the cache was unreachable from the writer only), workers still
pick the change up from the database within that time. And every
:data:`FULL_REBUILD_SECONDS` a worker rebuilds its snapshot whatever the stamp says, for
changes that never bumped it (a queryset ``update()``, raw SQL).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

from accessctl.core.snapshot import Snapshot
from apps.gateway.models import ConfigVersion

logger = logging.getLogger(__name__)

VERSION_CACHE_KEY = "accessctl:config-version"
VERSION_CACHE_TTL = 30
# Even with an unchanged stamp, a worker rebuilds its snapshot this often: a change that
# bypassed the signals (a queryset update, raw SQL, a bump that failed) is enforced within a
# minute rather than never. Four queries per worker per minute.
FULL_REBUILD_SECONDS = 60.0
INITIAL_VERSION = "initial"  # no change was ever saved: a confirmed, valid state


def cache_is_shared() -> bool:
    """True when the default cache is seen by every process (not LocMem or Dummy)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def _version_from_db() -> str:
    row = ConfigVersion.objects.filter(pk=ConfigVersion.SINGLETON).values_list("version")
    found = row.first()
    return found[0] if found else INITIAL_VERSION


def read_version() -> str:
    """The current stamp: from a shared cache, else (or on a miss or error) from the database.

    Raises :class:`django.db.DatabaseError` when the database is needed and unreachable.
    """
    if cache_is_shared():
        try:
            cached = cache.get(VERSION_CACHE_KEY)
        except Exception:  # any cache backend error: the database decides instead
            logger.warning("config version: cache unreachable, reading the database")
            cached = None
        if isinstance(cached, str):
            return cached
        version = _version_from_db()
        try:
            cache.set(VERSION_CACHE_KEY, version, VERSION_CACHE_TTL)
        except Exception:  # the stamp was read; a failed mirror is retried next check
            logger.warning("config version: could not mirror the version into the cache")
        return version
    return _version_from_db()


def bump_version() -> str:
    """Record a configuration change: a new stamp in the database and the cache.

    Called after the changing transaction commits (``transaction.on_commit``), so a worker that
    sees the new stamp also sees the change.
    """
    version = uuid.uuid4().hex
    ConfigVersion.objects.update_or_create(
        pk=ConfigVersion.SINGLETON, defaults={"version": version}
    )
    try:
        cache.set(VERSION_CACHE_KEY, version, VERSION_CACHE_TTL)
    except Exception:  # the database holds the truth; workers fall back to it
        logger.exception("config version: could not write the new version to the cache")
    holder.expire()
    return version


def _build(version: str) -> Snapshot:
    # Imported here: apps.gateway.snapshot imports the trust and policy models.
    from apps.gateway.snapshot import build_snapshot

    return build_snapshot(version)


class ConfigHolder:
    """One worker's current snapshot, refreshed when the version stamp changes. Thread-safe.

    Readers never block on a refresh another thread is doing unless they have nothing to serve;
    the snapshot itself is immutable, so handing it out needs no lock.
    """

    def __init__(
        self,
        *,
        read: Callable[[], str] = read_version,
        build: Callable[[str], Snapshot] = _build,
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

    def current(self) -> Snapshot | None:
        """The snapshot to decide with, or None when it cannot be vouched for (→ 503)."""
        interval = float(settings.ACCESSCTL_CONFIG_CHECK_INTERVAL)
        max_staleness = float(settings.ACCESSCTL_CONFIG_MAX_STALENESS)
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

    def _refresh(self) -> None:
        started = self._clock()
        try:
            # Read the stamp *before* building: a change committed meanwhile is then either in
            # this snapshot or announced by a newer stamp at the next check, never lost.
            version = self._read()
            if (
                self._snapshot is None
                or self._snapshot.version != version
                or started - self._built_at >= FULL_REBUILD_SECONDS
            ):
                self._snapshot = self._build(version)
                self._built_at = started
                logger.info("configuration snapshot %s loaded", version)
        except Exception:  # database, cache or a broken row: fail closed after MAX_STALENESS
            logger.exception("configuration could not be confirmed")
        else:
            self._confirmed_at = started
        finally:
            self._checked_at = started

    def expire(self) -> None:
        """Check the stamp on the next request (this process just changed it)."""
        self._checked_at = -float("inf")

    def install(self, snapshot: Snapshot) -> None:
        """Serve ``snapshot`` as confirmed now (tests and the benchmark)."""
        with self._lock:
            self._snapshot = snapshot
            self._checked_at = self._confirmed_at = self._built_at = self._clock()

    def reset(self) -> None:
        """Forget everything: the next request loads from the store (tests)."""
        with self._lock:
            self._snapshot = None
            self._checked_at = self._confirmed_at = self._built_at = -float("inf")


holder = ConfigHolder()


def current_snapshot() -> Snapshot | None:
    """This worker's snapshot, or None when the configuration cannot be confirmed."""
    return holder.current()
