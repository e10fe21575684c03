"""The client key policy: a leaf a bound CA signed is still refused (weak_key) when its own key
is one the CA rules refuse, because a factorable key is a forgeable identity."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accessctl.core.keys import key_problem
from accessctl.core.verify import ChainError, TrustAnchors, verify_client_chain
from tests.factories import certs

NOW = certs.now()


@pytest.fixture(scope="module")
def root():
    return certs.make_ca("Key Policy Root")


def _verify(root, key):
    leaf = certs.make_leaf(root, "device-1", key=key)
    anchors = TrustAnchors.build([root.cert], [])
    return verify_client_chain(leaf.cert, [], anchors, now=NOW)


SHOWN = {
    "RSA 1024": "1024-bit RSA key",
    "RSA 2047": "2047-bit RSA key",
    "DSA": "DSA 1024 key",
    "P-192": "EC secp192r1 key",
    "secp256k1": "EC secp256k1 key",
    "Ed25519": "Ed25519 key",
}


@pytest.mark.parametrize("kind", certs.WEAK_KEYS)
def test_a_leaf_with_a_key_the_ca_rules_refuse_is_refused_as_weak_key(root, kind):
    with pytest.raises(ChainError) as caught:
        _verify(root, certs.weak_key(kind))
    assert caught.value.reason == "weak_key"
    assert SHOWN[kind] in caught.value.detail


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: rsa.generate_private_key(65537, 2048),
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["RSA 2048", "P-256", "P-384", "P-521"],
)
def test_a_leaf_with_an_accepted_key_verifies(root, make_key):
    assert _verify(root, make_key()).identity.common_name == "device-1"


def test_a_weak_leaf_from_an_unknown_ca_is_refused_for_its_chain_first():
    stranger = certs.make_leaf(certs.make_ca("Stranger"), key=certs.weak_key("RSA 1024"))
    anchors = TrustAnchors.build([certs.make_ca("Bound").cert], [])
    with pytest.raises(ChainError) as caught:
        verify_client_chain(stranger.cert, [], anchors, now=NOW)
    assert caught.value.reason == "chain_untrusted"


def test_cas_and_leaves_share_one_key_rule():
    small = certs.weak_key("RSA 1024").public_key()
    assert key_problem(small) == "a 1024-bit RSA key; at least 2048 bits are required"
    assert key_problem(ec.generate_private_key(ec.SECP384R1()).public_key()) is None
