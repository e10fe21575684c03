"""A one-time PIN's life: six digits kept only as an HMAC, valid ten minutes, five attempts,
used once, cancelled by the next code for the address; the request counter (five per address
from one client network, twenty per client network, in 15 minutes; IPv6 counted by /64); and
the login method's budget of wrong codes per hour."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from django.db import connection
from django.db.models import F

from apps.identity import pins
from apps.identity.models import LoginMethodType, PinChallenge, PinRequest, PinWrongCode
from apps.identity.pins import (
    Checked,
    client_network,
    pin_budget_spent,
    pin_check,
    pin_issue,
    pin_request_allow,
)
from apps.identity.services import login_method_create

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)
ADA = "ada@example.com"


@pytest.fixture
def method():
    return login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)


def issued(method, now=START, email=ADA):
    challenge, code = pin_issue(method=method, email=email, now=now)
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
    second, second_code = issued(method, email="bob@example.com")
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
    second, _ = issued(method, email="bob@example.com")
    PinChallenge.objects.filter(pk=second).update(
        code_hmac=PinChallenge.objects.get(pk=first).code_hmac
    )
    assert check(second, code).result is Checked.WRONG


def test_expired_challenges_are_deleted_when_the_next_code_is_issued(method):
    old, _ = issued(method)
    issued(method, START + dt.timedelta(minutes=11))
    assert not PinChallenge.objects.filter(pk=old).exists()
    assert PinChallenge.objects.count() == 1


def test_a_new_code_for_an_address_cancels_its_earlier_code(method):
    first, first_code = issued(method)
    other, other_code = issued(method, email="bob@example.com")
    second, second_code = issued(method, START + dt.timedelta(minutes=1), email=ADA.upper())
    assert check(first, first_code, 61).result is Checked.UNKNOWN
    assert check(second, second_code, 61).result is Checked.CORRECT
    assert check(other, other_code, 61).result is Checked.CORRECT
    assert PinChallenge.objects.filter(email=ADA).count() == 1


def test_attempts_left_counts_an_attempt_another_node_made_at_the_same_moment(method):
    challenge_id, code = issued(method)
    raced = []

    def another_node_counts_first(execute, sql, params, many, context):
        if sql.startswith('UPDATE "identity_pinchallenge"') and not raced:
            raced.append(sql)  # its own UPDATE comes through here too
            PinChallenge.objects.filter(pk=challenge_id).update(attempts=F("attempts") + 1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(another_node_counts_first):
        answer = check(challenge_id, wrong(code))
    assert (answer.result, answer.attempts_left) == (Checked.WRONG, 3)


def allow(email: str = ADA, client: str = "192.0.2.7", minutes: float = 0) -> bool:
    return pin_request_allow(email=email, client=client, now=START + dt.timedelta(minutes=minutes))


def test_five_codes_per_address_from_one_network_in_fifteen_minutes():
    assert [allow() for _ in range(6)] == [True] * 5 + [False]
    assert allow("bob@example.com")
    assert not allow(ADA.upper(), minutes=14.9)
    assert allow(minutes=15)


def test_a_flood_for_an_address_from_one_network_does_not_lock_out_another_network():
    assert [allow(client="203.0.113.66") for _ in range(6)] == [True] * 5 + [False]
    assert allow(client="192.0.2.7")
    assert allow(client="2001:db8:1:2::7")


def test_an_ipv6_client_is_counted_by_its_slash_64():
    assert client_network("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_network("192.0.2.7") == "192.0.2.7"
    rotating = [allow(f"p{n}@example.com", client=f"2001:db8:1:2::{n:x}") for n in range(21)]
    assert rotating == [True] * 20 + [False]
    assert allow("p@example.com", client="2001:db8:1:3::1")
    assert not allow(client="2001:db8:1:2:ffff:ffff:ffff:ffff")


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


def test_the_wrong_code_budget_of_a_method_is_logged_once_when_reached(method, caplog):
    caplog.set_level(logging.ERROR, logger="apps.identity.pins")
    for n in range(pins.WRONG_CODES_PER_HOUR // pins.MAX_ATTEMPTS):
        challenge_id, code = issued(method, email=f"p{n}@corp.example")
        assert not pin_budget_spent(method=method, now=START)
        for _ in range(pins.MAX_ATTEMPTS):
            check(challenge_id, wrong(code))
    assert pin_budget_spent(method=method, now=START)
    challenge_id, code = issued(method, email="late@corp.example")
    check(challenge_id, wrong(code))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "'Email'" in errors[0] and "200 wrong codes" in errors[0]
    assert not pin_budget_spent(method=method, now=START + pins.BUDGET_WINDOW)
    other = login_method_create(name="Other email", type=LoginMethodType.ONETIMEPIN)
    assert not pin_budget_spent(method=other, now=START)
    assert PinWrongCode.objects.count() == pins.WRONG_CODES_PER_HOUR + 1
