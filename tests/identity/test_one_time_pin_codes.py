"""A one-time PIN's life: six digits kept only as an HMAC, valid ten minutes, five attempts,
used once; and the request counter (five per address, twenty per client, in 15 minutes)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection

from apps.identity import pins
from apps.identity.models import LoginMethodType, PinChallenge, PinRequest
from apps.identity.pins import Checked, pin_check, pin_issue, pin_request_allow
from apps.identity.services import login_method_create

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)
ADA = "ada@example.com"


@pytest.fixture
def method():
    return login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)


def issued(method, now=START):
    challenge, code = pin_issue(method=method, email=ADA, now=now)
    return str(challenge.pk), code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def check(challenge_id: str, code: str, seconds: float = 0) -> pins.PinCheck:
    now = START + dt.timedelta(seconds=seconds)
    return pin_check(challenge_id=challenge_id, code=code, now=now)


def test_a_code_is_six_digits_and_the_database_keeps_only_its_hmac(method):
    challenge_id, code = issued(method)
    assert len(code) == 6 and code.isdigit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM identity_pinchallenge")
        (row,) = cursor.fetchall()
    assert all(str(column) != code for column in row)
    stored = PinChallenge.objects.get()
    assert len(stored.code_hmac) == 64 and stored.code_hmac != code
    assert stored.email == ADA and stored.attempts == 0


def test_the_right_code_signs_in_once_and_then_it_is_used(method):
    challenge_id, code = issued(method)
    assert check(challenge_id, code, 30).result is Checked.CORRECT
    assert check(challenge_id, code, 31).result is Checked.USED


def test_a_code_is_valid_for_ten_minutes_and_not_a_second_more(method):
    first, first_code = issued(method)
    second, second_code = issued(method)
    assert check(first, first_code, 599).result is Checked.CORRECT
    assert check(second, second_code, 600).result is Checked.EXPIRED


def test_five_wrong_attempts_kill_the_code_even_for_the_right_one_after(method):
    challenge_id, code = issued(method)
    lefts = [check(challenge_id, wrong(code)).attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    assert check(challenge_id, wrong(code)).result is Checked.EXHAUSTED
    assert check(challenge_id, code).result is Checked.EXHAUSTED
    assert PinChallenge.objects.get().attempts == 5


def test_a_wrong_attempt_leaves_the_right_code_usable(method):
    challenge_id, code = issued(method)
    assert check(challenge_id, wrong(code)).result is Checked.WRONG
    assert check(challenge_id, code).result is Checked.CORRECT


def test_a_challenge_that_does_not_exist_is_unknown(method):
    assert check("not-a-uuid", "123456").result is Checked.UNKNOWN
    assert check(str(uuid.uuid4()), "123456").result is Checked.UNKNOWN


def test_the_hmac_is_keyed_by_the_key_encryption_secret(method, settings):
    challenge_id, code = issued(method)
    settings.ACCESSCTL_KEY_ENCRYPTION_SECRET = "another-secret-" + "y" * 30
    assert check(challenge_id, code).result is Checked.WRONG


def test_a_digest_copied_onto_another_challenge_does_not_match(method):
    first, code = issued(method)
    second, _ = issued(method)
    PinChallenge.objects.filter(pk=second).update(
        code_hmac=PinChallenge.objects.get(pk=first).code_hmac
    )
    assert check(second, code).result is Checked.WRONG


def test_expired_challenges_are_deleted_when_the_next_code_is_issued(method):
    old, _ = issued(method)
    issued(method, START + dt.timedelta(minutes=11))
    assert not PinChallenge.objects.filter(pk=old).exists()
    assert PinChallenge.objects.count() == 1


def allow(email: str = ADA, client: str = "192.0.2.7", minutes: float = 0) -> bool:
    return pin_request_allow(email=email, client=client, now=START + dt.timedelta(minutes=minutes))


def test_five_codes_per_address_in_fifteen_minutes_whatever_the_client():
    assert [allow(client=f"192.0.2.{n}") for n in range(6)] == [True] * 5 + [False]
    assert allow("bob@example.com", client="192.0.2.9")
    assert not allow(ADA.upper(), client="198.51.100.1", minutes=14.9)
    assert allow(minutes=15)


def test_twenty_codes_per_client_in_fifteen_minutes_whatever_the_address():
    answers = [allow(f"person{n}@example.com") for n in range(21)]
    assert answers == [True] * 20 + [False]
    assert allow("someone@example.com", client="192.0.2.8")
    assert allow("late@example.com", minutes=15)


def test_a_refused_request_is_not_counted_and_the_counter_keeps_no_address():
    for _ in range(8):
        allow()
    assert PinRequest.objects.count() == 5
    assert ADA not in str(list(PinRequest.objects.values_list()))
