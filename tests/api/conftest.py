"""Fixtures of the API tests: a token of each scope and a client for each (Django's test
client, or Cloudflare's SDK against a live server), a clean gateway (some tests send requests
to the hostnames they configured through the API)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloudflare import Cloudflare
from django.core.cache import caches

from apps.api.throttling import CACHE_ALIAS
from tests.factories import certs
from tests.factories.api import ApiClient, make_token, sdk_client


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""


@pytest.fixture(autouse=True)
def _every_test_starts_with_empty_rate_limit_counters(request):
    """The API's counters (apps/api/throttling.py) live in Redis in CI's PostgreSQL + Redis
    pass, where no rollback empties them, and in a table no flush empties otherwise."""
    for database in ("transactional_db", "db"):  # the test's own, set up first
        if database in request.fixturenames:
            request.getfixturevalue(database)
            caches[CACHE_ALIAS].clear()
            return


@pytest.fixture
def api(db) -> ApiClient:
    """The API with an edit token."""
    _, secret = make_token("edit")
    return ApiClient(secret)


@pytest.fixture
def read_only_api(db) -> ApiClient:
    """The API with a read-only token."""
    _, secret = make_token("read", read_only=True)
    return ApiClient(secret)


def sdk_with_token(server_url: str, *, read_only: bool = False) -> Iterator[Cloudflare]:
    """The SDK with a new token, closed at the end (a kept-alive connection to the live
    server would otherwise be closed by its thread after the test's database is gone)."""
    _, token = make_token("sdk-read" if read_only else "sdk-edit", read_only=read_only)
    with sdk_client(server_url, token) as cf:
        yield cf


@pytest.fixture
def cf(transactional_db, live_server) -> Iterator[Cloudflare]:
    """Cloudflare's SDK with an edit token, against a live server."""
    yield from sdk_with_token(live_server.url)


@pytest.fixture
def read_only_cf(transactional_db, live_server) -> Iterator[Cloudflare]:
    """Cloudflare's SDK with a read-only token, against a live server."""
    yield from sdk_with_token(live_server.url, read_only=True)


@pytest.fixture(scope="session")
def device(root_ca) -> certs.Issued:
    """A client certificate (CN device-7) under the shared test root."""
    return certs.make_leaf(root_ca, "device-7")
