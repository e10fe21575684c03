"""The policy tester and the gateway read, verify and decide a certificate the same way.

One table of pasted chains goes through both: the tester page (as an operator pastes it) and
a real request through the middleware (forwarded by an ALB-style terminator, which carries a
whole PEM chain). For every row both must allow or both refuse, with the same reason code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.factories import certs
from tests.factories.access_log import AccessLog
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_TESTER, add_policy
from tests.factories.trust import upload_ca

# (case, the pasted/forwarded chain built from the test CAs, allowed, reason)
Chain = Callable[[certs.Issued, certs.Issued], str]


def _expired(root: certs.Issued, inter: certs.Issued) -> str:
    start = certs.now() - dt.timedelta(days=10)
    leaf = certs.make_leaf(inter, "device-7", not_before=start, not_after=start + dt.timedelta(1))
    return leaf.pem + inter.pem


def _non_ca_intermediate(root: certs.Issued, inter: certs.Issued) -> str:
    not_a_ca = certs.make_ca("Not a CA", issuer=inter, ca=False)
    return certs.make_leaf(not_a_ca, "device-7").pem + not_a_ca.pem + inter.pem


CASES: list[tuple[str, Chain, bool, str]] = [
    (
        "a valid chain",
        lambda root, inter: certs.make_leaf(inter, "device-7").pem + inter.pem,
        True,
        "policy_allow",
    ),
    (
        "a leaf followed by a second leaf",
        lambda root, inter: (
            certs.make_leaf(inter, "device-7").pem + certs.make_leaf(inter, "device-8").pem
        ),
        False,
        "multiple_leaves",
    ),
    ("an intermediate that is no CA", _non_ca_intermediate, False, "multiple_leaves"),
    ("an expired leaf", _expired, False, "cert_expired"),
    (
        "a leaf of another CA",
        lambda root, inter: certs.make_leaf(certs.make_ca("Stranger"), "device-7").pem,
        False,
        "chain_untrusted",
    ),
    (
        "a certificate block of garbage",
        lambda root, inter: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        False,
        "cert_malformed",
    ),
    (
        "text around the certificate",
        lambda root, inter: "subject=CN=device-7\n" + certs.make_leaf(inter, "device-7").pem,
        False,
        "pem_malformed",
    ),
    (
        "a private key",
        lambda root, inter: (leaf := certs.make_leaf(inter, "device-7")).pem + leaf.key_pem,
        False,
        "private_key",
    ),
]


@pytest.fixture
def guarded(db, fresh_gateway, settings, root_ca, intermediate_ca):
    """HOST bound to the test root and intermediate, guarded by a Valid Certificate policy;
    the terminator forwards whole PEM chains (ALB format)."""
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "alb"
    upload_ca("Fleet", [HOST], root_ca, intermediate_ca)
    add_policy()


def through_the_gateway(client, chain: str, access_log: AccessLog) -> tuple[bool, str]:
    response = client.get(
        "/",
        HTTP_HOST=HOST,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_AMZN_MTLS_CLIENTCERT=quote(chain, safe="+=/"),
    )
    assert response.status_code in {200, 403}
    return response.status_code == 200, access_log.last["reason"]


def through_the_tester(admin_client, chain: str) -> tuple[bool, str]:
    response = admin_client.post(
        reverse(POLICY_TESTER), {"hostname": HOST, "path": "/", "certificate": chain}
    )
    assert response.status_code == 200
    context = response.context
    if "outcome" in context:
        outcome = context["outcome"]
        shown = context["chain"].reason if not outcome.allowed else outcome.reason
        return outcome.allowed, shown
    # Refused before verification: a private key is discarded unseen, other unreadable
    # input is an error on the field that names the reason code.
    if context.get("key_refused"):
        return False, "private_key"
    (message,) = context["form"].errors["certificate"]
    return False, message.rsplit("(", 1)[-1].rstrip(")")


@pytest.mark.parametrize(
    ("chain", "allowed", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_tester_and_the_gateway_agree(
    client, admin_client, guarded, access_log, root_ca, intermediate_ca, chain, allowed, reason
):
    pasted = chain(root_ca, intermediate_ca)
    assert through_the_gateway(client, pasted, access_log) == (allowed, reason)
    assert through_the_tester(admin_client, pasted) == (allowed, reason)
