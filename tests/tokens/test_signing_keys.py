"""Signing keys: created on first need, encrypted at rest, rotated with an overlap, cached."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from django.test import override_settings

from accessctl.core import tokens
from apps.tokens import keys
from apps.tokens.models import KeyState, SigningKey

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_the_first_key_is_created_on_first_need():
    assert SigningKey.objects.count() == 0
    ring = keys.key_ring()
    row = SigningKey.objects.get()
    assert ring.signing_key().kid == row.kid
    assert row.algorithm == "ES256"
    assert row.generation == 1
    assert row.kid == tokens.jwk_thumbprint(ring.signing_key().private_key.public_key())


def test_the_private_key_is_stored_only_encrypted():
    ring = keys.key_ring()
    row = SigningKey.objects.get()
    der = ring.signing_key().private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stored = bytes(row.encrypted_private_key)
    scalar = der[-100:]  # whatever the layout, the key's bytes must not appear in clear
    assert scalar not in stored
    assert b"PRIVATE KEY" not in stored
    assert "PRIVATE" not in row.public_key_pem + row.certificate_pem


def test_the_encryption_key_is_derived_not_the_raw_secret():
    with override_settings(ACCESSCTL_KEY_ENCRYPTION_SECRET="s" * 50):
        derived = keys._key_encryption_key()
    assert len(derived) == 32
    assert derived != b"s" * 32


def test_a_changed_encryption_secret_makes_signing_unavailable_with_a_clear_message():
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


def test_a_ciphertext_moved_to_another_key_row_does_not_decrypt():
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


def test_a_new_key_is_published_before_it_signs():
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


def test_an_immediate_rotation_signs_with_the_new_key_at_once():
    first = keys.key_ring().signing_key().kid
    second = keys.signing_key_rotate(immediately=True).kid
    assert keys.key_ring().signing_key().kid == second
    assert accepted_kids() == {first, second}


def test_the_previous_key_is_refused_once_the_overlap_has_passed():
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        keys.signing_key_rotate()
        # The old key signs until the new one starts; the overlap counts from then.
        traveller.shift(keys.PUBLISH_AHEAD + dt.timedelta(days=7) - dt.timedelta(seconds=1))
        assert first in accepted_kids()
        traveller.shift(dt.timedelta(seconds=1))
        assert first not in accepted_kids()
        assert len(accepted_kids()) == 1


def test_keys_rotate_by_themselves_after_the_rotation_interval():
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
def test_rotation_interval_and_overlap_come_from_the_settings():
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
    row = keys._new_key_row(2, now, signs_from=now)
    row.save()
    SigningKey.objects.filter(generation=1).update(retired_at=now)
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=3600):
        assert keys.key_ring().signing_key().kid == first
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=0):
        assert keys.key_ring().signing_key().kid == row.kid


def test_the_jwks_publishes_next_current_and_previous_public_keys_only():
    with time_machine.travel(START, tick=False) as traveller:
        first = keys.key_ring().signing_key().kid
        second = keys.signing_key_rotate(immediately=True).kid
        third = keys.signing_key_rotate().kid
        jwks = keys.key_ring().jwks(START, keys.overlap())
        assert [k["kid"] for k in jwks["keys"]] == [third, second, first]
        assert all("d" not in k for k in jwks["keys"])
        assert jwks["public_cert"]["kid"] == second  # the key signing now
        assert jwks["public_cert"]["cert"].startswith("-----BEGIN CERTIFICATE-----")
        assert [c["kid"] for c in jwks["public_certs"]] == [third, second, first]
        traveller.shift(dt.timedelta(days=7))  # the first key stopped signing 7 days ago
        assert jwks_kids() == [third, second]
