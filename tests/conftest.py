"""Shared fixtures. Certificates come from tests/factories/certs.py, made at run time."""

from __future__ import annotations

import os

import pytest

from tests.factories import certs as certfactory


def require_tool(available: bool, why: str) -> None:
    """Skip locally when a tool is missing; fail under CI=true, where it must be installed."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: .ci/run must install it; a silent skip hides a hole)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def root_ca():
    return certfactory.make_ca("accessctl Test Root")


@pytest.fixture(scope="session")
def intermediate_ca(root_ca):
    return certfactory.make_ca("accessctl Test Devices", issuer=root_ca)


@pytest.fixture(autouse=True)
def _test_client_host_serves_the_dashboard(settings):
    """The Django test client's Host (testserver) is a dashboard hostname, as localhost is in
    development: the dashboard is served on ACCESSCTL_DASHBOARD_HOSTS only."""
    settings.ACCESSCTL_DASHBOARD_HOSTS = [*settings.ACCESSCTL_DASHBOARD_HOSTS, "testserver"]
