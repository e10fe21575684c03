"""The dashboard is served on ACCESSCTL_DASHBOARD_HOSTS only: on a guarded hostname every
client with a valid certificate would reach its login page, on any other hostname everyone."""

from __future__ import annotations

import pytest

from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/policies/accesspolicy/"])
def test_a_guarded_hostname_does_not_serve_the_dashboard(client, guarded, pki, path):
    assert fetch(client, path, cert=escaped(pki.leaf)).status_code == 404
    assert fetch(client, "/", cert=escaped(pki.leaf)).status_code == 200  # the site itself


def test_an_unguarded_hostname_does_not_serve_the_dashboard(client, db):
    assert fetch(client, "/admin/login/", host="open.example.com").status_code == 404


def test_a_dashboard_hostname_serves_it(client, db):
    assert fetch(client, "/admin/login/", host="localhost").status_code == 200


def test_without_any_dashboard_hostname_it_is_served_everywhere(client, db, settings):
    # Production without ACCESSCTL_DASHBOARD_HOSTS (check W004 warns): reachable, not lost.
    settings.ACCESSCTL_DASHBOARD_HOSTS = []
    assert fetch(client, "/admin/login/", host="open.example.com").status_code == 200
