"""Fixtures of the API tests: a token of each scope and a client for each, a clean gateway
(some tests send requests to the hostnames they configured through the API)."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from apps.api.throttling import CACHE_ALIAS
from tests.factories import certs
from tests.factories.api import ApiClient, make_token


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


@pytest.fixture(scope="session")
def device(root_ca) -> certs.Issued:
    """A client certificate (CN device-7) under the shared test root."""
    return certs.make_leaf(root_ca, "device-7")
