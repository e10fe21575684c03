"""Property tests: a structurally broken client certificate (tests/factories/broken.py),
signed by the bound CA and forwarded by the terminator, gets a decision with a reason (403,
or 200 if the drawn certificate happens to be a valid client), through the middleware and
through forward-auth: never a 5xx, never ``decision_error``."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given

from accessctl.core.reasons import Reason
from tests.factories import broken, certs
from tests.factories.forwarded import ask, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db

ROOT = certs.make_ca("Forwarded Broken Root")
LEAF = certs.make_leaf(ROOT, "device-1", san_dns=("device-1.example.com",))
PROPERTY = broken.examples(60)


@pytest.fixture
def guarded_by_root(db):
    upload_ca("Broken Fleet", [HOST], ROOT)
    return add_policy()


def _decided(response, access_log) -> None:
    assert response.status_code in (200, 403), response.status_code
    reason = access_log.last["reason"]
    assert reason in set(Reason) - {Reason.DECISION_ERROR}
    assert (response.status_code == 200) == (reason == Reason.POLICY_ALLOW)


@PROPERTY
@given(der=broken.broken_der(LEAF))
def test_a_broken_client_certificate_gets_a_decision_with_a_reason(
    client, guarded_by_root, access_log, der
):
    _decided(fetch(client, cert=quote(certs.pem_of(der), safe="")), access_log)


@PROPERTY
@given(der=broken.broken_der(LEAF))
def test_forward_auth_decides_a_broken_client_certificate_with_a_reason(
    client, guarded_by_root, access_log, der
):
    cert = quote(certs.pem_of(der), safe="")
    _decided(ask(client, cert=cert, HTTP_X_ORIGINAL_URI="/"), access_log)
