"""Chain validation against one hostname's CAs, through the pure core: CA flags, path lengths,
validity, key usage, names and keys."""

from __future__ import annotations

import datetime as dt

import pytest

from accessctl.core.forwarded import decode_pem
from accessctl.core.verify import (
    RESULT_TTL,
    ChainError,
    TrustAnchors,
    chain_links,
    check_certificate,
    verify_client_chain,
)
from tests.factories import certs

NOW = certs.now()


@pytest.fixture(scope="module")
def root():
    return certs.make_ca("Chain Root")


@pytest.fixture(scope="module")
def inter(root):
    return certs.make_ca("Chain Devices", issuer=root)


def anchors(*roots, intermediates=()):
    return TrustAnchors.build([r.cert for r in roots], [i.cert for i in intermediates])


def verify(leaf, *presented, trust, max_depth=4, now=NOW):
    return verify_client_chain(
        leaf.cert, [p.cert for p in presented], trust, now=now, max_depth=max_depth
    )


def refused(leaf, *presented, trust, **kwargs) -> str:
    with pytest.raises(ChainError) as caught:
        verify(leaf, *presented, trust=trust, **kwargs)
    return caught.value.reason


@pytest.mark.parametrize(
    ("common_name", "shape"),
    [
        pytest.param("Not A CA", {"ca": False}, id="CA:FALSE"),
        pytest.param("No BC", {"basic_constraints": False}, id="no basicConstraints"),
    ],
)
def test_a_leaf_signed_by_an_issuer_that_is_no_ca_is_refused(root, common_name, shape):
    issuer = certs.make_ca(common_name, issuer=root, **shape)
    leaf = certs.make_leaf(issuer)
    assert refused(leaf, issuer, trust=anchors(root)) in {"chain_invalid_ca", "chain_untrusted"}


def test_a_path_length_zero_intermediate_cannot_sign_another_ca(root):
    limited = certs.make_ca("Pathlen 0", issuer=root, path_length=0)
    below = certs.make_ca("Below", issuer=limited)
    leaf = certs.make_leaf(below)
    assert refused(leaf, below, limited, trust=anchors(root)) in {
        "chain_invalid_ca",
        "chain_untrusted",
    }
    # The same intermediate may issue leaves directly.
    assert verify(certs.make_leaf(limited), limited, trust=anchors(root)).identity


def test_a_chain_deeper_than_the_limit_is_refused(root):
    issuers = [root]
    for n in range(5):
        issuers.append(certs.make_ca(f"Level {n}", issuer=issuers[-1]))
    leaf = certs.make_leaf(issuers[-1])
    presented = list(reversed(issuers[1:]))
    assert refused(leaf, *presented, trust=anchors(root), max_depth=3) in {
        "chain_too_deep",
        "chain_untrusted",
    }
    assert verify(leaf, *presented, trust=anchors(root), max_depth=6).identity


@pytest.mark.parametrize(
    ("validity", "reason"),
    [
        pytest.param(
            {"not_before": NOW - dt.timedelta(days=30), "not_after": NOW - dt.timedelta(days=1)},
            "cert_expired",
            id="expired",
        ),
        pytest.param(
            {"not_before": NOW + dt.timedelta(days=1)}, "cert_not_yet_valid", id="not yet valid"
        ),
    ],
)
def test_a_leaf_outside_its_validity_is_refused(inter, root, validity, reason):
    leaf = certs.make_leaf(inter, **validity)
    assert refused(leaf, inter, trust=anchors(root)) == reason


def test_an_expired_intermediate_is_refused(root):
    old = certs.make_ca(
        "Old Devices",
        issuer=root,
        not_before=NOW - dt.timedelta(days=60),
        not_after=NOW - dt.timedelta(days=1),
    )
    leaf = certs.make_leaf(old, not_before=NOW - dt.timedelta(days=10))
    assert refused(leaf, old, trust=anchors(root)) in {"chain_expired", "chain_untrusted"}


@pytest.mark.parametrize(
    "validity",
    [
        {"not_before": NOW - dt.timedelta(days=60), "not_after": NOW - dt.timedelta(days=1)},
        {"not_before": NOW + dt.timedelta(days=1)},
    ],
    ids=["expired", "not-yet-valid"],
)
def test_a_bound_root_outside_its_validity_vouches_for_nobody(validity):
    # Uploads refuse an expired CA, but a stored one expires in place: the trust anchor's own
    # validity is checked at every verification, not only at upload.
    stale_root = certs.make_ca("Stale Root", **validity)
    leaf = certs.make_leaf(stale_root, not_before=NOW - dt.timedelta(days=1))
    assert refused(leaf, trust=anchors(stale_root)) == "chain_expired"


def test_a_server_auth_only_leaf_is_refused(inter, root):
    leaf = certs.make_leaf(inter, eku=(certs.SERVER_AUTH,))
    assert refused(leaf, inter, trust=anchors(root)) == "eku_not_client_auth"


def test_a_leaf_without_eku_or_with_client_auth_is_accepted(inter, root):
    assert verify(certs.make_leaf(inter, eku=None), inter, trust=anchors(root)).identity
    assert verify(certs.make_leaf(inter), inter, trust=anchors(root)).identity


def test_an_issuer_with_the_trusted_subject_but_another_key_is_refused(root):
    impostor = certs.make_ca(subject=root.cert.subject)
    leaf = certs.make_leaf(impostor)
    assert refused(leaf, trust=anchors(root)) == "chain_untrusted"
    assert refused(leaf, impostor, trust=anchors(root)) == "chain_untrusted"


def test_a_certificate_from_another_hostnames_ca_is_refused(root):
    other_root = certs.make_ca("CA B")
    leaf = certs.make_leaf(root)
    assert refused(leaf, trust=anchors(other_root)) == "chain_untrusted"
    assert verify(leaf, trust=anchors(root, other_root)).identity


def test_a_cn_only_certificate_without_san_is_accepted(root):
    leaf = certs.make_leaf(root, "cn-only")
    verified = verify(leaf, trust=anchors(root))
    assert verified.identity.common_name == "cn-only"
    assert verified.identity.san_dns == ()


def test_an_uploaded_intermediate_alone_vouches_for_nobody(root, inter):
    leaf = certs.make_leaf(inter)
    trust = TrustAnchors.build([], [inter.cert])
    assert refused(leaf, trust=trust) == "no_trust_anchor"


def test_a_leaf_that_is_a_ca_is_refused_as_a_client(root):
    ca_leaf = certs.make_leaf(root, ca=True)
    assert refused(ca_leaf, trust=anchors(root)) in {"chain_invalid_ca", "chain_untrusted"}


@pytest.mark.parametrize("forwarded_intermediate", [False, True], ids=["uploaded", "forwarded"])
def test_a_checked_path_describes_every_certificate_of_it_as_itself(
    root, inter, forwarded_intermediate
):
    # The certificates above the leaf are described once and remembered: a second client of
    # the same CAs gets the same description as if each were read afresh.
    trust = anchors(root, intermediates=() if forwarded_intermediate else (inter,))
    for name in ("first", "second"):
        leaf = certs.make_leaf(inter, name)
        pem = certs.pem_bundle(leaf, inter) if forwarded_intermediate else leaf.pem
        check = check_certificate(decode_pem(pem), trust, now=NOW)
        assert check.identity is not None, check.detail
        chain = (leaf.cert, inter.cert, root.cert)
        assert check.path == tuple(c.subject.rfc4514_string() for c in chain)
        assert check.identity.chain == chain_links(chain)
        assert check.valid_until == min(NOW + RESULT_TTL, *(c.not_valid_after_utc for c in chain))
