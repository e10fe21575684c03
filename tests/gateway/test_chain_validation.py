"""Chain validation through the middleware: only a chain to a CA bound to the hostname passes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST, OTHER
from tests.factories.policies import add_policy
from tests.factories.trust import store_unchecked_ca, upload_ca

pytestmark = pytest.mark.django_db
NOW = certs.now()


def refused(client, access_log, *chain) -> str:
    response = fetch(client, cert=escaped(*chain))
    assert response.status_code == 403
    return access_log.last["reason"]


@pytest.fixture
def alb(settings):
    """Chains need a format that forwards intermediates: the ALB one."""
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "alb"

    def send(client, *chain):
        from urllib.parse import quote

        value = quote("".join(c.pem for c in chain), safe="+=/")
        return fetch(client, HTTP_X_AMZN_MTLS_CLIENTCERT=value)

    return send


def test_a_forwarded_intermediate_that_is_no_ca_is_refused(client, guarded, pki, alb, access_log):
    not_a_ca = certs.make_ca("Not A CA", issuer=pki.root, ca=False)
    response = alb(client, certs.make_leaf(not_a_ca), not_a_ca)
    assert response.status_code == 403
    # A forwarded "intermediate" that is no CA is a second leaf: refused before path building.
    assert access_log.last["reason"] == "multiple_leaves"


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param({"ca": False}, id="CA:FALSE"),
        pytest.param({"basic_constraints": False}, id="no basicConstraints"),
    ],
)
def test_a_leaf_signed_by_a_ca_false_or_no_basic_constraints_issuer_is_refused(
    client, pki, access_log, db, shape
):
    # Even uploaded next to the root (the verifier sees it as an intermediate), the issuer
    # cannot vouch for a leaf.
    issuer = certs.make_ca("Bad Issuer", issuer=pki.root, **shape)
    store_unchecked_ca(upload_ca("Fleet", [HOST], pki.root), issuer)
    add_policy()
    assert refused(client, access_log, certs.make_leaf(issuer)) in {
        "chain_untrusted",
        "chain_invalid_ca",
    }


def test_a_ca_below_a_path_length_zero_intermediate_is_refused(
    client, guarded, pki, alb, access_log
):
    limited = certs.make_ca("Pathlen 0", issuer=pki.root, path_length=0)
    below = certs.make_ca("Below", issuer=limited)
    assert alb(client, certs.make_leaf(below), below, limited).status_code == 403
    assert access_log.last["reason"] in {"chain_untrusted", "chain_invalid_ca"}


def test_a_chain_deeper_than_the_limit_is_refused(client, guarded, pki, alb, settings):
    settings.ACCESSCTL_MAX_CHAIN_DEPTH = 2
    issuers = [pki.root]
    for n in range(3):
        issuers.append(certs.make_ca(f"Level {n}", issuer=issuers[-1]))
    leaf = certs.make_leaf(issuers[-1])
    assert alb(client, leaf, *reversed(issuers[1:])).status_code == 403
    settings.ACCESSCTL_MAX_CHAIN_DEPTH = 4
    assert alb(client, leaf, *reversed(issuers[1:])).status_code == 200


@pytest.mark.parametrize(
    ("validity", "reason"),
    [
        pytest.param(
            {"not_before": NOW - dt.timedelta(days=9), "not_after": NOW - dt.timedelta(days=1)},
            "cert_expired",
            id="expired",
        ),
        pytest.param(
            {"not_before": NOW + dt.timedelta(hours=2)}, "cert_not_yet_valid", id="not yet valid"
        ),
    ],
)
def test_a_leaf_outside_its_validity_is_refused(client, guarded, pki, access_log, validity, reason):
    leaf = certs.make_leaf(pki.inter, **validity)
    assert refused(client, access_log, leaf) == reason


def test_an_expired_intermediate_is_refused(client, pki, alb, access_log, db):
    old = certs.make_ca(
        "Old Devices",
        issuer=pki.root,
        not_before=NOW - dt.timedelta(days=60),
        not_after=NOW - dt.timedelta(days=1),
    )
    upload_ca("Fleet", [HOST], pki.root)
    add_policy()
    leaf = certs.make_leaf(old, not_before=NOW - dt.timedelta(days=10))
    assert alb(client, leaf, old).status_code == 403
    assert access_log.last["reason"] in {"chain_expired", "chain_untrusted"}


def test_a_server_auth_only_leaf_is_refused(client, guarded, pki, access_log):
    leaf = certs.make_leaf(pki.inter, eku=(certs.SERVER_AUTH,))
    assert refused(client, access_log, leaf) == "eku_not_client_auth"


def test_a_leaf_without_eku_or_with_client_auth_is_accepted(client, guarded, pki):
    assert fetch(client, cert=escaped(certs.make_leaf(pki.inter, eku=None))).status_code == 200
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200


def test_an_issuer_with_the_cas_subject_but_another_key_is_refused(
    client, guarded, pki, access_log
):
    impostor = certs.make_ca(subject=pki.inter.cert.subject, issuer=None)
    leaf = certs.make_leaf(impostor)
    assert refused(client, access_log, leaf) == "chain_untrusted"


def test_a_ca_bound_to_another_hostname_never_helps(client, guarded, pki, access_log):
    ca_b = certs.make_ca("CA B")
    upload_ca("Other", [OTHER], ca_b)
    add_policy(OTHER, "other devices")
    leaf_b = certs.make_leaf(ca_b, "device-b")
    assert refused(client, access_log, leaf_b) == "chain_untrusted"
    assert fetch(client, host=OTHER, cert=escaped(leaf_b)).status_code == 200
    assert fetch(client, host=OTHER, cert=escaped(pki.leaf)).status_code == 403


def test_a_cn_only_certificate_passes_a_valid_certificate_policy(client, guarded, pki):
    leaf = certs.make_leaf(pki.inter, "cn-only")
    response = fetch(client, cert=escaped(leaf), accept="application/json")
    assert response.status_code == 200
    assert response.json()["identity"]["common_name"] == "cn-only"
    assert response.json()["identity"]["san_dns"] == []


def test_a_disabled_ca_verifies_nobody(client, pki, db, access_log):
    upload_ca("Fleet", [HOST], pki.root, pki.inter, enabled=False)
    add_policy()
    assert refused(client, access_log, pki.leaf) == "no_trust_anchor"
