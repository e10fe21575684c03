"""A bounded memory of results that expire: the request path's caches are all this shape.

The verification results (apps.gateway.verification), the tokens a worker signed and the
tokens it verified (apps.tokens.sessions) each remember up to ``maxsize`` entries, drop the
least recently used one first, and never answer with an entry outside the window it was
stored with. The time is always passed in, never read here: what a cached result may be
reused for depends on the request's time, and tests name that time.

(``cachetools.TLRUCache`` reads its own timer; the explicit ``now`` is why this is ours.)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringLru(Generic[K, V]):
    """Up to ``maxsize`` values, each valid from ``valid_from`` (inclusive) to ``valid_until``
    (exclusive); least recently used first out; thread-safe."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[V, dt.datetime | None, dt.datetime]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, now: dt.datetime) -> V | None:
        """The value for ``key`` if it is valid at ``now`` (an entry found outside its window
        is dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, valid_from, valid_until = entry
            if now >= valid_until or (valid_from is not None and now < valid_from):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(
        self, key: K, value: V, valid_until: dt.datetime, valid_from: dt.datetime | None = None
    ) -> None:
        with self._lock:
            self._entries[key] = (value, valid_from, valid_until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
