"""forward-auth reads the original path as the upstream will route it: ``//x`` is a path,
never an authority, and path parameters or dot segments cannot slip past a Block."""

from __future__ import annotations

import pytest

from tests.factories.forwarded import ask, escaped
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_blocked(pki):
    """device-1 may use the site but not /admin."""
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy(
        name="no device-1 in admin",
        decision="deny",
        path_prefix="/admin",
        rules=(("include", "common_name", "device-1"),),
    )
    add_policy(name="devices", decision="allow", order=2)


@pytest.mark.parametrize(
    "uri",
    [
        "//admin/users",  # urlsplit() would read "admin" as a host and "/users" as the path
        "//admin",
        "///admin/users?x=1",
        "/admin;jsessionid=1/users",
        "/static/..;/admin/users",
        "/static/%2e%2e;/admin",
        "/static%2F..%2Fadmin",
    ],
)
def test_the_blocked_path_stays_blocked_however_it_is_spelled(client, admin_blocked, pki, uri):
    cert = escaped(pki.leaf)
    assert ask(client, cert=cert, HTTP_X_ORIGINAL_URI="/static/app.js").status_code == 200
    assert ask(client, cert=cert, HTTP_X_ORIGINAL_URI=uri).status_code == 403
    assert ask(client, cert=cert, HTTP_X_FORWARDED_URI=uri).status_code == 403


def test_an_absolute_form_uri_gives_its_path(client, admin_blocked, pki):
    cert = escaped(pki.leaf)
    uri = "https://app.example.com/admin/users?x=1"
    assert ask(client, cert=cert, HTTP_X_FORWARDED_URI=uri).status_code == 403
