"""Whatever a proxy forwards as the original host and path, forward-auth answers with a
decision (never a 500) and lets nothing through to a guarded hostname without a certificate."""

from __future__ import annotations

import pytest

from tests.factories.forwarded import ask
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db

URIS = [
    "", "?", "#", "http://", "https://x", "//", "///", "%", "%zz", "%ff%fe", "/%00/x",
    "/\u00e9", "/" + "a/" * 3000, "*", "/a?b=%2F..%2Fadmin#frag", "//[::1]/x", "http://[::1",
]  # fmt: skip
HOSTS = ["", ",", HOST + ",", "[::1]", "xn--", "a" * 300, HOST + ":99999", "exa mple.com"]


@pytest.mark.parametrize("uri", URIS)
def test_an_odd_original_uri_is_decided(client, guarded, uri):
    response = ask(client, HTTP_X_ORIGINAL_URI=uri)
    assert response.status_code == 403


@pytest.mark.parametrize("forwarded_host", HOSTS)
def test_an_odd_forwarded_host_is_refused(client, guarded, forwarded_host):
    response = ask(client, HTTP_X_FORWARDED_HOST=forwarded_host)
    assert response.status_code == 403


def test_an_unparsable_absolute_uri_is_refused_with_its_reason(client, guarded, access_log):
    # urlsplit() raises on it: this was a 500.
    assert ask(client, HTTP_X_ORIGINAL_URI="http://[::1/admin").status_code == 403
    assert access_log.last["reason"] == "invalid_forwarded_uri"
