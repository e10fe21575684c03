"""Signing keys: created on first need, encrypted at rest, rotated with an overlap, cached.

What must hold whichever algorithm is configured runs once per algorithm (``token_algorithm``:
RS256, the default, and ES256).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import override_settings

from accessctl.core import tokens
from apps.base import sealing
from apps.tokens import keys
from apps.tokens.models import KeyState, SigningKey

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_the_first_key_is_created_on_first_need():
    assert SigningKey.objects.count() == 0
    ring = keys.key_ring()
    row = SigningKey.objects.get()
    assert ring.signing_key().kid == row.kid
    assert row.algorithm == "RS256"  # as Cloudflare signs Access tokens
    assert row.generation == 1
    assert row.kid == tokens.jwk_thumbprint(ring.signing_key().private_key.public_key())


def test_rs256_keys_are_rsa_2048_as_cloudflares():
    private_key = keys.key_ring().signing_key().private_key
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 2048
    assert private_key.public_key().public_numbers().e == 65537
    stored = serialization.load_pem_public_key(SigningKey.objects.get().public_key_pem.encode())
    assert isinstance(stored, rsa.RSAPublicKey) and stored.key_size == 2048


@override_settings(ACCESSCTL_TOKEN_ALGORITHM="ES256")
def test_es256_keys_are_ecdsa_p256():
    private_key = keys.key_ring().signing_key().private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    assert private_key.curve.name == "secp256r1"
    assert SigningKey.objects.get().algorithm == "ES256"


def _secret_of(private_key: tokens.PrivateKey) -> bytes:
    """The private number itself: RSA's d, or the EC scalar."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        d = private_key.private_numbers().d
        return d.to_bytes((d.bit_length() + 7) // 8, "big")
    return private_key.private_numbers().private_value.to_bytes(32, "big")


def test_the_private_key_is_stored_only_encrypted(token_algorithm):
    ring = keys.key_ring()
    row = SigningKey.objects.get()
    private_key = ring.signing_key().private_key
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stored = bytes(row.encrypted_private_key)
    assert der not in stored
    assert _secret_of(private_key) not in stored  # whatever the layout
    assert b"PRIVATE KEY" not in stored
    assert "PRIVATE" not in row.public_key_pem + row.certificate_pem


def test_a_sealed_private_key_unseals_to_the_same_key(token_algorithm):
    private_key = tokens.generate_private_key(tokens.Algorithm(token_algorithm))
    sealed = keys.seal_private_key(private_key, "kid-1")
    assert _secret_of(private_key) not in sealed
    assert _secret_of(keys.unseal_private_key(sealed, "kid-1")) == _secret_of(private_key)


def test_a_stored_private_key_decrypts_to_the_half_of_its_stored_public_key(token_algorithm):
    keys.key_ring()
    row = SigningKey.objects.get()
    unsealed = keys.unseal_private_key(row.encrypted_private_key, row.kid)
    public_pem = unsealed.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_pem.decode() == row.public_key_pem
    assert tokens.jwk_thumbprint(unsealed.public_key()) == row.kid
    assert tokens.algorithm_of(unsealed.public_key()).value == token_algorithm == row.algorithm


def test_the_encryption_key_is_derived_not_the_raw_secret():
    with override_settings(ACCESSCTL_KEY_ENCRYPTION_SECRET="s" * 50):
        derived = sealing.derived_key(keys._SEALING)
    assert len(derived) == 32
    assert derived != b"s" * 32


def test_a_changed_encryption_secret_makes_signing_unavailable_with_a_clear_message(
    token_algorithm,
):
    keys.key_ring()
    keys.forget_key_ring()
    with override_settings(ACCESSCTL_KEY_ENCRYPTION_SECRET="another secret entirely"):
        ring = keys.key_ring()
        with pytest.raises(keys.SigningKeyUnavailable, match="keys rotate --now"):
            ring.signing_key()
        # Tokens already issued still verify: the public keys are stored in clear.
        assert ring.verification_keys(dt.datetime.now(dt.UTC), keys.overlap())
        # And the way out works without the old secret.
        new = keys.signing_key_rotate(immediately=True)
        assert keys.key_ring().signing_key().kid == new.kid


def test_a_ciphertext_moved_to_another_key_row_does_not_decrypt(token_algorithm):
    keys.signing_key_rotate()
    keys.signing_key_rotate()
    newer, older = SigningKey.objects.order_by("-generation")
    with pytest.raises(keys.SigningKeyUnavailable):
        keys.unseal_private_key(older.encrypted_private_key, newer.kid)


def accepted_kids() -> set[str]:
    return set(keys.key_ring().verification_keys(dt.datetime.now(dt.UTC), keys.overlap()))


def jwks_kids() -> list[str]:
    jwks = keys.key_ring().jwks(dt.datetime.now(dt.UTC), keys.overlap())
    return [k["kid"] for k in jwks["keys"]]


def test_a_new_key_is_published_before_it_signs(token_algorithm):
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        second = keys.signing_key_rotate().kid
        assert jwks_kids() == [second, first]
        assert keys.key_ring().signing_key().kid == first
        states = {r.kid: r.state(START, keys.overlap()) for r in SigningKey.objects.all()}
        assert states == {first: KeyState.CURRENT, second: KeyState.NEXT}
        traveller.shift(keys.PUBLISH_AHEAD - dt.timedelta(seconds=1))
        assert keys.key_ring().signing_key().kid == first
        traveller.shift(dt.timedelta(seconds=1))
        assert keys.key_ring().signing_key().kid == second
        assert accepted_kids() == {first, second}
        now = dt.datetime.now(dt.UTC)
        states = {r.kid: r.state(now, keys.overlap()) for r in SigningKey.objects.all()}
        assert states == {first: KeyState.PREVIOUS, second: KeyState.CURRENT}


def test_an_immediate_rotation_signs_with_the_new_key_at_once(token_algorithm):
    first = keys.key_ring().signing_key().kid
    second = keys.signing_key_rotate(immediately=True).kid
    assert keys.key_ring().signing_key().kid == second
    assert accepted_kids() == {first, second}


def test_the_previous_key_is_refused_once_the_overlap_has_passed(token_algorithm):
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        keys.signing_key_rotate()
        # The old key signs until the new one starts; the overlap counts from then.
        traveller.shift(keys.PUBLISH_AHEAD + dt.timedelta(days=7) - dt.timedelta(seconds=1))
        assert first in accepted_kids()
        traveller.shift(dt.timedelta(seconds=1))
        assert first not in accepted_kids()
        assert len(accepted_kids()) == 1


def test_keys_rotate_by_themselves_after_the_rotation_interval(token_algorithm):
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        traveller.shift(dt.timedelta(days=42) - dt.timedelta(seconds=1))
        keys.key_ring()
        assert SigningKey.objects.count() == 1
        traveller.shift(dt.timedelta(seconds=1))
        keys.key_ring()
        assert SigningKey.objects.count() == 2
        second = SigningKey.objects.order_by("-generation").first().kid
        assert second in jwks_kids()
        traveller.shift(keys.PUBLISH_AHEAD)
        assert keys.key_ring().signing_key().kid == second
        assert SigningKey.objects.count() == 2  # rotated once, not per call
        assert first in accepted_kids()


@override_settings(ACCESSCTL_KEY_ROTATION_DAYS=1, ACCESSCTL_KEY_OVERLAP_DAYS=2)
def test_rotation_interval_and_overlap_come_from_the_settings(token_algorithm):
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        traveller.shift(dt.timedelta(days=1) + keys.PUBLISH_AHEAD)
        keys.key_ring()  # the rotation is due: a successor is published
        traveller.shift(keys.PUBLISH_AHEAD)
        assert keys.key_ring().signing_key().kid != first
        # The first key stopped signing just now: accepted for 2 more days.
        traveller.shift(dt.timedelta(days=2) - dt.timedelta(seconds=1))
        assert first in accepted_kids()
        traveller.shift(dt.timedelta(seconds=1))
        assert first not in accepted_kids()


def test_the_key_ring_is_served_from_memory_between_checks(django_assert_num_queries):
    keys.key_ring()
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=3600):
        with django_assert_num_queries(0):
            for _ in range(20):
                keys.key_ring()


def test_a_rotation_by_another_worker_is_picked_up_at_the_next_check():
    first = keys.key_ring().signing_key().kid
    # Another process rotates: our ring is not told.
    now = dt.datetime.now(dt.UTC)
    row = keys._new_key_row(2, now, now, keys.configured_algorithm())
    row.save()
    SigningKey.objects.filter(generation=1).update(retired_at=now)
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=3600):
        assert keys.key_ring().signing_key().kid == first
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=0):
        assert keys.key_ring().signing_key().kid == row.kid


def test_the_jwks_publishes_next_current_and_previous_public_keys_only(token_algorithm):
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        second = keys.signing_key_rotate(immediately=True).kid
        third = keys.signing_key_rotate().kid
        jwks = keys.key_ring().jwks(START, keys.overlap())
        assert [k["kid"] for k in jwks["keys"]] == [third, second, first]
        assert all("d" not in k for k in jwks["keys"])
        assert {k["alg"] for k in jwks["keys"]} == {token_algorithm}
        assert jwks["public_cert"]["kid"] == second  # the key signing now
        assert jwks["public_cert"]["cert"].startswith("-----BEGIN CERTIFICATE-----")
        assert [c["kid"] for c in jwks["public_certs"]] == [third, second, first]
        traveller.shift(dt.timedelta(days=7))  # the first key stopped signing 7 days ago
        assert jwks_kids() == [third, second]


@pytest.mark.parametrize(
    ("before", "after", "published_in_the_overlap"),
    [
        # Origins written for Cloudflare load every key with an RSA loader: the EC key leaves
        # `keys` (it still verifies here, and stays in `public_certs`).
        pytest.param("ES256", "RS256", ["RSA"], id="ES256 to RS256"),
        pytest.param("RS256", "ES256", ["EC", "RSA"], id="RS256 to ES256"),
    ],
)
def test_a_change_of_algorithm_is_a_rotation_with_the_usual_publish_ahead_and_overlap(
    settings, before, after, published_in_the_overlap
):
    settings.ACCESSCTL_TOKEN_ALGORITHM = before
    with time_machine.travel(START, tick=False) as traveller:
        old = keys.key_ring().signing_key()
        settings.ACCESSCTL_TOKEN_ALGORITHM = after
        ring = keys.key_ring()  # the next look at the keys notices the change
        assert SigningKey.objects.count() == 2
        new = SigningKey.objects.order_by("-generation").first()
        assert new.algorithm == after
        assert new.signs_from == START + keys.PUBLISH_AHEAD
        assert ring.signing_key().kid == old.kid  # until the new key is published long enough
        assert new.kid in jwks_kids()

        traveller.shift(keys.PUBLISH_AHEAD)
        signer = keys.key_ring().signing_key()
        assert (signer.kid, signer.algorithm.value) == (new.kid, after)
        jwks = keys.key_ring().jwks(dt.datetime.now(dt.UTC), keys.overlap())
        assert [k["kty"] for k in jwks["keys"]] == published_in_the_overlap
        assert old.kid in {c["kid"] for c in jwks["public_certs"]}
        assert accepted_kids() == {old.kid, new.kid}

        traveller.shift(keys.overlap() - dt.timedelta(seconds=1))
        assert old.kid in accepted_kids()
        traveller.shift(dt.timedelta(seconds=1))
        assert accepted_kids() == {new.kid}
        assert SigningKey.objects.count() == 2  # one rotation, not one per look
