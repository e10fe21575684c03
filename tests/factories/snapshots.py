"""Hand-built configurations for the request path, installed without any database row."""

from __future__ import annotations

from accessctl.core.policy import Decision, Policy, Rule, RuleGroup, RuleType
from accessctl.core.snapshot import ApplicationConfig, HostConfig, Route
from accessctl.core.verify import TrustAnchors
from tests.factories.certs import Issued


def host_config(
    hostname: str = "app.localhost",
    *,
    audience: str = "aud-app",
    epoch: str = "epoch-1",
    session_seconds: int = 3600,
    root: Issued | None = None,
    policies: tuple[Policy, ...] | None = None,
) -> HostConfig:
    """A guarded hostname trusting ``root``, wholly covered by one application (AUD
    ``audience``) with one Allow / Valid Certificate policy (id 1), or ``policies``."""
    if policies is None:
        policies = (
            Policy(
                id=1,
                name="Devices",
                decision=Decision.ALLOW,
                order=1,
                rules=(Rule(RuleGroup.INCLUDE, RuleType.VALID_CERTIFICATE),),
                session_seconds=session_seconds,
            ),
        )
    anchors = TrustAnchors.build([root.cert] if root else [], [])
    application = ApplicationConfig(1, hostname, audience, 86400, policies, epoch)
    return HostConfig(hostname, anchors, (Route("/", application),))


def application_of(config: HostConfig) -> ApplicationConfig:
    """The application covering the whole hostname of a :func:`host_config`."""
    route = config.route_for("/")
    assert route is not None
    return route.application
