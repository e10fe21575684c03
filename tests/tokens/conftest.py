"""Fixtures for the session tests: a fresh key ring per test, hand-built host configurations."""

from __future__ import annotations

import pytest

from accessctl.core.policy import Decision, Policy, Rule, RuleGroup, RuleType
from accessctl.core.snapshot import HostConfig, Snapshot
from accessctl.core.verify import TrustAnchors
from apps.tokens import keys


@pytest.fixture(autouse=True)
def fresh_key_ring():
    keys.forget_key_ring()
    yield
    keys.forget_key_ring()


def host_config(
    hostname: str = "app.localhost",
    *,
    audience: str = "aud-app",
    epoch: str = "epoch-1",
    session_seconds: int = 3600,
    root=None,
) -> HostConfig:
    """A guarded hostname with one Allow / Valid Certificate policy (id 1)."""
    policy = Policy(
        id=1,
        name="Devices",
        decision=Decision.ALLOW,
        order=1,
        rules=(Rule(RuleGroup.INCLUDE, RuleType.VALID_CERTIFICATE),),
        session_seconds=session_seconds,
    )
    anchors = TrustAnchors.build([root.cert] if root else [], [])
    return HostConfig(hostname, anchors, (policy,), audience, epoch)


@pytest.fixture
def install_snapshot(settings):
    """Serve the given host configurations as this worker's snapshot (no reload from the DB)."""
    from apps.gateway.config import holder

    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 3600
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 7200

    def install(*hosts: HostConfig, version: str = "v1") -> Snapshot:
        snapshot = Snapshot(version, {h.hostname: h for h in hosts})
        holder.install(snapshot)
        return snapshot

    yield install
    holder.reset()
