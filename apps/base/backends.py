"""Whether the database and the shared cache answer, as this worker last saw them, and the
stamps a worker confirms its in-memory state with (the configuration version, the newest
signing-key generation).

**Static stability, the database authoritative.** A :class:`Stamp` is a value kept in the
database and mirrored in the shared cache (Redis). :meth:`Stamp.confirm` asks the database
first: when it answers, its value is the truth (and is copied into the cache if the cache
holds another, so a writer that could not reach the cache is repaired by the first worker
that reads the database). Only when the database does not answer is the cache asked, and its
value can then only *confirm* what the worker already holds: nothing can change while the
database is down, so the same value in the cache means the worker's state is still current.
The mirror has no expiry, so it confirms for as long as an outage lasts.

**Log hygiene.** :data:`backends` remembers per worker whether each backend answered last
time: a backend going down is logged once (one line, no traceback), and coming back is logged
once, with how long it was away and how many requests this worker refused meanwhile
(:meth:`BackendHealth.refused`, counted by the request path for every 503).
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger("accessctl.backends")


class Backend(enum.StrEnum):
    """A store a worker depends on."""

    DATABASE = "database"
    CACHE = "cache"


def cache_is_shared() -> bool:
    """True when the default cache is seen by every process (not LocMem or Dummy)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def problem_line(exc: BaseException) -> str:
    """An exception as one short line: its type and first line, no traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def server_answered(exc: BaseException) -> bool:
    """True when a database error came from a server that answered (it has a SQLSTATE: a
    deadlock, a constraint), not from one that could not be reached."""
    return any(getattr(e, "sqlstate", None) for e in (exc, exc.__cause__) if e is not None)


@dataclass(frozen=True, slots=True)
class Outage:
    """A backend this worker cannot reach: since when (monotonic), and the last problem."""

    since: float
    problem: str
    refused_before: int  # the refusal counter when it went down


class BackendHealth:
    """Per worker: which backends are down, logged once per transition. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._outages: dict[Backend, Outage] = {}
        self._refusals = itertools.count()
        self._refused = 0

    def refused(self) -> None:
        """Count one request refused as unavailable (503)."""
        self._refused = next(self._refusals) + 1

    @property
    def refused_total(self) -> int:
        """Requests this worker refused as unavailable since it started."""
        return self._refused

    def failed(self, backend: Backend, exc: BaseException, *, serving: str = "") -> None:
        """``backend`` did not answer; logged only if it answered last time."""
        with self._lock:
            if backend in self._outages:
                return
            self._outages[backend] = Outage(self._clock(), problem_line(exc), self._refused)
        logger.warning(
            "%s unreachable (%s)%s; logged again when it answers",
            backend.value,
            problem_line(exc),
            f"; {serving}" if serving else "",
        )

    def answered(self, backend: Backend) -> None:
        """``backend`` answered; logged only if it was down."""
        if backend not in self._outages:  # the steady state: no lock
            return
        with self._lock:
            outage = self._outages.pop(backend, None)
        if outage is not None:
            logger.warning(
                "%s reachable again after %.1f s; %d request(s) refused as unavailable meanwhile",
                backend.value,
                self._clock() - outage.since,
                self._refused - outage.refused_before,
            )

    def now(self) -> float:
        """The clock outages are timed with (``Outage.since``)."""
        return self._clock()

    def outages(self) -> dict[Backend, Outage]:
        """The backends down right now, as this worker last saw them."""
        return dict(self._outages)

    def reset(self) -> None:
        """Forget every outage (tests)."""
        with self._lock:
            self._outages.clear()


backends = BackendHealth()


class Source(enum.StrEnum):
    """Who confirmed a stamp."""

    DATABASE = "database"
    CACHE = "cache"


class Reading(NamedTuple):
    """What :meth:`Stamp.confirm` learned: the value and who gave it, or nothing."""

    source: Source | None  # None: neither backend answered with a value
    value: str | None


class Stamp:
    """A value whose truth is in the database, mirrored in the shared cache without expiry."""

    def __init__(self, cache_key: str, read_database: Callable[[], str]) -> None:
        self.cache_key = cache_key
        self._read_database = read_database

    def confirm(self) -> Reading:
        """The database's value, else (database unreachable) the cache's copy, else nothing.

        Never raises for a backend error; each one is reported to :data:`backends`.
        """
        try:
            value = self._read_database()
        except Exception as exc:  # any driver error: the cache may still confirm
            backends.failed(Backend.DATABASE, exc)
        else:
            backends.answered(Backend.DATABASE)
            self._mirror(value)
            return Reading(Source.DATABASE, value)
        if not cache_is_shared():
            return Reading(None, None)
        try:
            cached = cache.get(self.cache_key)
        except Exception as exc:  # any cache backend error: nobody confirms
            backends.failed(Backend.CACHE, exc)
            return Reading(None, None)
        backends.answered(Backend.CACHE)
        return Reading(Source.CACHE, cached) if isinstance(cached, str) else Reading(None, None)

    def _mirror(self, value: str) -> None:
        # A GET each check (a SET only when it differs): the copy is repaired after a writer
        # that could not reach the cache, after a cache restart, and after a lost race.
        if not cache_is_shared():
            return
        try:
            if cache.get(self.cache_key) != value:
                cache.set(self.cache_key, value, None)
        except Exception as exc:  # the database answered: the cache only matters later
            backends.failed(Backend.CACHE, exc)
        else:
            backends.answered(Backend.CACHE)

    def publish(self, value: str) -> str | None:
        """Write ``value`` into the cache after a change; the problem, on one line, if it
        could not be (the database holds it anyway)."""
        if not cache_is_shared():
            return None
        try:
            cache.set(self.cache_key, value, None)
        except Exception as exc:  # reported by the caller, in one line
            return problem_line(exc)
        return None
