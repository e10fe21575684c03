"""Backends that do not answer, in-process: a shared cache whose server is down, and the
database made unreachable for the configuration and key checks."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache.backends.base import BaseCache
from django.db import OperationalError

from apps.gateway import config


class Clock:
    """A monotonic clock the test moves (``clock.now += 0.5``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class UnreachableCache(BaseCache):
    """A shared cache whose server is down: every call fails (``CACHES`` backend path:
    ``tests.factories.backends.UnreachableCache``)."""

    def __init__(self, location: str, params: dict) -> None:
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def delete(self, key, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def delete_many(self, keys, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


UNREACHABLE_CACHE = {"default": {"BACKEND": "tests.factories.backends.UnreachableCache"}}


def unreachable_database(monkeypatch) -> Callable[[], None]:
    """A function that makes the database unreachable for the configuration check (the
    version read and the snapshot build), as a stopped PostgreSQL would."""

    def refused(*args: object) -> str:
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    def down() -> None:
        monkeypatch.setattr(config.version_stamp, "_read_database", refused)

    return down
