"""A cookie's signature is checked once per worker, and the remembered result never outlives
what would have refused it: expiry, a configuration change, a key revocation, another
certificate. Real keys, real tokens; ``tokens.verify_token`` is only counted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from accessctl.core import tokens
from apps.tokens import keys, sessions
from tests.factories.snapshots import application_of, host_config

pytestmark = pytest.mark.django_db
FINGERPRINT = "cd" * 32


@pytest.fixture
def verifications(monkeypatch):
    """How many times a token's signature was actually verified."""
    calls: list[str] = []
    real = tokens.verify_token

    def counted(token: str, **kwargs):
        calls.append(token)
        return real(token, **kwargs)

    monkeypatch.setattr(tokens, "verify_token", counted)
    return calls


def signed(application, *, seconds: int = 3600, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    return tokens.mint_token(
        key=keys.key_ring(now=now).signing_key(now),
        fingerprint_sha256=FINGERPRINT,
        common_name="device-7",
        audience=application.audience,
        issuer=sessions.token_issuer(),
        epoch=application.epoch,
        session_seconds=seconds,
        now=now,
        policy_id=1,
    ).token


def test_the_same_cookie_is_verified_once_then_remembered(verifications):
    application = application_of(host_config())
    token = signed(application)
    for _ in range(5):
        assert sessions.session_check(token, application).claims is not None
    assert verifications == [token]


def test_a_remembered_token_is_refused_once_it_expires(verifications):
    application = application_of(host_config())
    now = timezone.now()
    token = signed(application, seconds=60, now=now)
    assert sessions.session_check(token, application, now=now).claims is not None
    later = sessions.session_check(token, application, now=now + dt.timedelta(seconds=61))
    assert later.claims is None
    assert later.error is not None and later.error.reason == "token_expired"


def test_a_new_epoch_is_not_answered_from_memory(verifications):
    application = application_of(host_config())
    token = signed(application)
    assert sessions.session_check(token, application).claims is not None
    changed = dataclasses.replace(application, epoch=application.epoch + "-changed")
    check = sessions.session_check(token, changed)
    assert check.claims is None and check.error is not None
    assert len(verifications) == 2


def test_another_application_is_not_answered_from_memory(verifications):
    application = application_of(host_config())
    token = signed(application)
    assert sessions.session_check(token, application).claims is not None
    other = dataclasses.replace(application, audience="f" * 64)
    check = sessions.session_check(token, other)
    assert check.error is not None and check.error.reason == "token_wrong_audience"


def test_a_revoked_signing_key_is_not_answered_from_memory(verifications):
    application = application_of(host_config())
    token = signed(application)
    assert sessions.session_check(token, application).claims is not None
    keys.signing_key_rotate(revoke_previous=True)
    check = sessions.session_check(token, application, now=timezone.now())
    assert check.error is not None and check.error.reason == "token_unknown_kid"


def test_a_remembered_token_still_belongs_to_its_certificate(verifications):
    application = application_of(host_config())
    token = signed(application)
    assert sessions.session_check(token, application, fingerprint_sha256=FINGERPRINT).claims
    check = sessions.session_check(token, application, fingerprint_sha256="ef" * 32)
    assert check.error is not None and check.error.reason == "token_cert_mismatch"
    assert verifications == [token], "the second answer came from memory, and still refused"


def test_a_malformed_token_is_never_remembered_as_good(verifications):
    application = application_of(host_config())
    token = signed(application)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        check = sessions.session_check(tampered, application)
        assert check.claims is None and check.error is not None
    assert verifications == [tampered, tampered]
