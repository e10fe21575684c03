"""Fixtures for the traffic tests: a clean gateway per test, a PKI with a client (as the
gateway tests have), and a guarded hostname."""

from __future__ import annotations

import pytest

from tests.factories.smtp import mailbox  # noqa: F401 (fixture)
from tests.gateway.conftest import Pki, guarded, guarded_committed, pki  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""
