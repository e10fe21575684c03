"""Only the exact Access endpoints and the forward-auth endpoint skip enforcement: any other
path under /cdn-cgi/access/ (dot segments, unknown names) is decided like every path."""

from __future__ import annotations

import pytest

from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/cdn-cgi/access/../", "/cdn-cgi/access/../admin/", "/cdn-cgi/access/certs/../../x"],
)
def test_a_path_that_only_starts_like_an_access_endpoint_is_enforced(
    client, guarded, path, access_log
):
    assert fetch(client, path).status_code == 403
    assert access_log.last["decision"] == "deny"


def test_the_access_endpoints_themselves_are_not_enforced(client, guarded):
    assert fetch(client, "/cdn-cgi/access/certs").status_code == 200
    assert fetch(client, "/cdn-cgi/access/get-identity").status_code != 403


def test_a_valid_certificate_still_reaches_an_unknown_path_under_the_prefix(client, guarded, pki):
    assert fetch(client, "/cdn-cgi/access/nothing", cert=escaped(pki.leaf)).status_code == 404
