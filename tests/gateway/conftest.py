"""Fixtures for enforcement tests: a clean gateway per test, a PKI with a client, a guarded
hostname."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca
from tests.gateway.processes import server_database_reason


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""


@dataclass
class Pki:
    root: certs.Issued
    inter: certs.Issued
    leaf: certs.Issued


@pytest.fixture(scope="session")
def pki(root_ca, intermediate_ca) -> Pki:
    """A root, an intermediate under it, and a client leaf (CN device-1) under that."""
    return Pki(root_ca, intermediate_ca, certs.make_leaf(intermediate_ca, "device-1"))


@pytest.fixture
def guarded(db, pki):
    """HOST bound to the test root (the intermediate uploaded with it), guarded by a Valid
    Certificate policy."""
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    return add_policy()


@pytest.fixture
def guarded_committed(transactional_db, pki):
    """Like ``guarded``, committed (for tests that leave the test transaction: ASGI, other
    threads or processes)."""
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    return add_policy()


@pytest.fixture
def server_database():
    """For a test with gunicorn processes of its own: a database they can share with it
    (skipped, with the reason, on in-memory SQLite: CI's PostgreSQL + Redis pass runs it),
    and nothing left behind in a shared cache (a Redis database number of the test run's own)."""
    reason = server_database_reason()
    if reason:
        pytest.skip(reason)
    yield
    from django.core.cache import cache

    from apps.base.backends import cache_is_shared

    if cache_is_shared():
        cache.clear()
