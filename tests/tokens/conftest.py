"""Fixtures for the session tests: a fresh key ring and no token kept for reuse per test,
hand-built host configurations (tests/factories/snapshots.py) served as the worker's
snapshot."""

from __future__ import annotations

import pytest

from accessctl.core.snapshot import HostConfig, Snapshot
from apps.gateway.config import holder


@pytest.fixture(autouse=True)
def _every_test_signs_with_its_own_keys(fresh_tokens):
    """No key ring in memory and no token to reuse from another test (tests/conftest.py)."""


@pytest.fixture
def install_snapshot(settings):
    """Serve the given host configurations as this worker's snapshot (no reload from the DB)."""
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 3600
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 7200

    def install(*hosts: HostConfig, version: str = "v1") -> Snapshot:
        snapshot = Snapshot(version, {h.hostname: h for h in hosts})
        holder.install(snapshot)
        return snapshot

    yield install
    holder.reset()
