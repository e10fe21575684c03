"""`accessctl keys rotate --revoke-previous`: a leaked signing key stops verifying at once.

`rotate --now` only stops a key *signing*: its tokens stay accepted for the overlap (7 days),
so a leaked key could still mint sessions that pass. Revoking refuses every older key at once,
in this worker and, at their next key check, in every other. Each test runs once per algorithm
(``token_algorithm``: RS256 and ES256).
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from accessctl.core import tokens
from apps.tokens import keys, sessions
from apps.tokens.models import KeyState, SigningKey
from tests.factories.snapshots import application_of, host_config

pytestmark = pytest.mark.django_db
FINGERPRINT = "ab" * 32


def _token_signed_now() -> str:
    host = host_config()
    now = timezone.now()
    return tokens.mint_token(
        key=keys.key_ring(now=now).signing_key(now),
        fingerprint_sha256=FINGERPRINT,
        common_name="device-7",
        audience=application_of(host).audience,
        issuer=sessions.token_issuer(),
        epoch=application_of(host).epoch,
        session_seconds=3600,
        now=now,
        policy_id=1,
    ).token


def _check(token: str) -> sessions.SessionCheck:
    return sessions.session_check(
        token, application_of(host_config()), now=timezone.now() + dt.timedelta(seconds=1)
    )


def test_rotate_now_alone_still_accepts_the_old_keys_tokens(token_algorithm):
    token = _token_signed_now()
    call_command("keys", "rotate", "--now", stdout=io.StringIO())
    assert _check(token).claims is not None  # the overlap: why --revoke-previous exists


def test_revoke_previous_refuses_the_old_keys_tokens_at_once(token_algorithm):
    token = _token_signed_now()
    old = SigningKey.objects.get()
    assert old.algorithm == token_algorithm
    out = io.StringIO()
    call_command("keys", "rotate", "--revoke-previous", stdout=out)
    assert "refused" in out.getvalue()

    check = _check(token)
    assert check.error is not None and check.error.reason == "token_unknown_kid"
    old.refresh_from_db()
    assert old.state(timezone.now(), keys.overlap()) is KeyState.RETIRED
    newest = SigningKey.objects.order_by("-generation").first()
    assert keys.key_ring().signing_key().kid == newest.kid  # signs at once (implies --now)
    assert old.kid not in {
        k["kid"] for k in keys.key_ring().jwks(timezone.now(), keys.overlap())["keys"]
    }


def test_another_worker_drops_the_revoked_key_at_its_next_check(settings, token_algorithm):
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0
    token = _token_signed_now()
    stale = keys.key_ring()
    keys.signing_key_rotate(revoke_previous=True)
    keys._ring = stale  # noqa: SLF001 - stands for a worker that loaded its ring before
    check = _check(token)
    assert check.error is not None and check.error.reason == "token_unknown_kid"
