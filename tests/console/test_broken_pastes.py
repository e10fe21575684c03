"""Property tests: a structurally broken client certificate (tests/factories/broken.py) pasted
into the policy tester is shown with the reason it is refused (or as verified, if the drawn
certificate happens to be a valid client), never a 500: the page renders whatever the
certificate's names hold."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import given

from accessctl.core.reasons import Reason
from apps.console.tester import VERIFIED
from tests.factories import broken, certs
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_TESTER, add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db

LEAF_ISSUER = certs.make_ca("Tester Broken Root")
LEAF = certs.make_leaf(LEAF_ISSUER, "device-7", san_dns=("device-7.example.com",))
PROPERTY = broken.examples(40)


@pytest.fixture
def tester(client, viewer):
    upload_ca("Tester Fleet", [HOST], LEAF_ISSUER)
    add_policy()
    client.force_login(viewer)
    return client


@PROPERTY
@given(der=broken.broken_der(LEAF))
def test_a_broken_pasted_certificate_is_shown_with_its_reason(tester, der):
    response = tester.post(
        reverse(POLICY_TESTER), {"hostname": HOST, "path": "/", "certificate": certs.pem_of(der)}
    )
    assert response.status_code == 200
    chain = response.context.get("chain")
    if chain is None:  # refused by the form (not readable PEM): an error next to the field
        assert response.context["form"].errors
        return
    assert chain.reason == VERIFIED or chain.reason in set(Reason)
    assert response.context["outcome"].allowed is (chain.reason == VERIFIED)
