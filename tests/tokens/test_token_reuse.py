"""A token signed for a certificate is handed out again for a tenth of its life, at most 5
minutes, instead of being signed again (``apps.tokens.sessions.MintedTokens``).

Through the middleware with real rows (tests/factories: ``upload_ca``, ``add_policy``) and the
stand-in application of tests/tokens/urls.py, which echoes the ``Cf-Access-Jwt-Assertion`` it
received. Every request is a device that shows its certificate and keeps no cookie
(``fetch``); ``signatures`` counts the calls of ``accessctl.core.tokens.mint_token``.
"""

from __future__ import annotations

import datetime as dt
import io

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.http import HttpResponse

from accessctl.core import tokens
from apps.gateway import config, remembered
from apps.policies.models import AccessPolicy, Application, PolicyRule
from apps.policies.services import application_revoke_tokens
from apps.tokens import sessions
from apps.tokens.models import SigningKey
from tests.factories import certs as certfactory
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST, PROXY
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tokens.urls")]
COOKIE = sessions.COOKIE_NAME
SECOND_HOST = "api.example.com"  # bound to the same CA by the shared `bound` fixture


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""


@pytest.fixture
def leaf(root_ca):
    return certfactory.make_leaf(root_ca, "device-7")


@pytest.fixture
def signatures(monkeypatch) -> list[str]:
    """Every token signed during the test, in order."""
    signed: list[str] = []
    mint = tokens.mint_token

    def counted(**kwargs) -> tokens.MintedToken:
        minted = mint(**kwargs)
        signed.append(minted.token)
        return minted

    monkeypatch.setattr(sessions.tokens, "mint_token", counted)
    return signed


@pytest.fixture
def clock():
    """The clock, standing still until the test moves it."""
    with time_machine.travel(certfactory.now(), tick=False) as traveller:
        yield traveller


def shown(client, cert, host: str = HOST) -> HttpResponse:
    """A request that shows ``cert`` and no cookie; it must be let through."""
    response = fetch(client, cert=escaped(cert), host=host)
    assert response.status_code == 200, response.content
    return response


def token_of(response: HttpResponse) -> str:
    """The token the application received."""
    return str(response.json()["assertion"])


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def with_cookie(client, token: str) -> HttpResponse:
    """A request with ``token`` as its session cookie and no certificate."""
    client.cookies[COOKIE] = token
    return client.get("/", HTTP_HOST=HOST, REMOTE_ADDR=PROXY)


def changed() -> None:
    """What the gateway's signals do after a committed change (tests run in a transaction)."""
    config.bump_version()


# --- Reuse ------------------------------------------------------------------------------------


def test_two_requests_with_the_same_certificate_get_the_same_token_signed_once(
    client, bound, leaf, signatures
):
    add_policy()
    first, second = shown(client, leaf), shown(client, leaf)
    assert token_of(second) == token_of(first)
    assert second.cookies[COOKIE].value == first.cookies[COOKIE].value == token_of(first)
    assert signatures == [token_of(first)]


@pytest.mark.parametrize(
    ("duration", "reuse_seconds"),
    [
        pytest.param("15m", 90, id="a tenth of a 15-minute session"),
        pytest.param("1h", 300, id="5 minutes of a 1-hour session"),
        pytest.param("24h", 300, id="5 minutes of a 24-hour session"),
    ],
)
def test_a_new_token_is_signed_once_the_reuse_window_has_passed(
    client, bound, leaf, signatures, clock, duration, reuse_seconds
):
    add_policy(session_duration=duration)
    first = token_of(shown(client, leaf))
    clock.shift(dt.timedelta(seconds=reuse_seconds - 1))
    assert token_of(shown(client, leaf)) == first
    clock.shift(dt.timedelta(seconds=1))
    renewed = token_of(shown(client, leaf))
    assert renewed != first
    assert signatures == [first, renewed]
    assert claims_of(renewed)["iat"] == claims_of(first)["iat"] + reuse_seconds


def _revoke_the_applications_tokens(policy: AccessPolicy) -> None:
    application_revoke_tokens(application=Application.objects.get(name=HOST))


def _add_a_rule_to_the_policy(policy: AccessPolicy) -> None:
    PolicyRule.objects.create(policy=policy, group="require", type="common_name", value="device-7")


def _upload_another_ca_for_the_hostname(policy: AccessPolicy) -> None:
    upload_ca("Second CA", [HOST], certfactory.make_ca("Second Root"))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_revoke_the_applications_tokens, id="revoking the application's tokens"),
        pytest.param(_add_a_rule_to_the_policy, id="a rule of the policy"),
        pytest.param(_upload_another_ca_for_the_hostname, id="a CA of the hostname"),
    ],
)
def test_a_change_of_the_applications_configuration_gives_a_new_token_at_once(
    client, bound, leaf, signatures, clock, change
):
    policy = add_policy()
    before = token_of(shown(client, leaf))
    change(policy)
    changed()
    after = shown(client, leaf)
    assert token_of(after) != before
    assert claims_of(token_of(after))["epoch"] != claims_of(before)["epoch"]
    assert signatures == [before, token_of(after)]
    assert with_cookie(client, token_of(after)).status_code == 200
    assert with_cookie(client, before).status_code == 403


@pytest.mark.parametrize("rotate", [["--now"], ["--revoke-previous"]], ids=" ".join)
def test_a_key_rotation_gives_a_new_token_signed_by_the_new_key_at_once(
    client, bound, leaf, signatures, clock, rotate
):
    add_policy()
    before = token_of(shown(client, leaf))
    call_command("keys", "rotate", *rotate, stdout=io.StringIO())
    after = token_of(shown(client, leaf))
    assert after != before
    newest = SigningKey.objects.order_by("-generation").first()
    assert jwt.get_unverified_header(after)["kid"] == newest.kid
    assert jwt.get_unverified_header(before)["kid"] != newest.kid
    assert signatures == [before, after]


def test_a_different_certificate_gets_its_own_token(client, bound, root_ca, leaf, signatures):
    add_policy()
    other = certfactory.make_leaf(root_ca, "device-8")
    mine, theirs = token_of(shown(client, leaf)), token_of(shown(client, other))
    assert mine != theirs
    assert claims_of(mine)["sub"] == leaf.fingerprint
    assert claims_of(theirs)["sub"] == other.fingerprint
    assert token_of(shown(client, leaf)) == mine
    assert signatures == [mine, theirs]


def test_the_same_certificate_gets_another_applications_own_token(client, bound, leaf, signatures):
    add_policy()
    add_policy(SECOND_HOST)
    here, there = token_of(shown(client, leaf)), token_of(shown(client, leaf, SECOND_HOST))
    assert here != there
    assert claims_of(there)["aud"] == [Application.objects.get(name=SECOND_HOST).aud]
    assert signatures == [here, there]


def test_the_tokens_kept_for_reuse_are_bounded_dropping_the_least_recently_used(
    client, bound, root_ca, signatures, monkeypatch
):
    monkeypatch.setattr(sessions, "minted_tokens", sessions.MintedTokens(maxsize=2))
    # The rulings remembered in front of the session step would answer first: none here.
    monkeypatch.setattr(remembered, "rulings", remembered.RememberedRulings(maxsize=0))
    add_policy()
    a, b, c = (certfactory.make_leaf(root_ca, f"device-{n}") for n in "abc")
    first_a, first_b = token_of(shown(client, a)), token_of(shown(client, b))
    assert token_of(shown(client, a)) == first_a  # a is now the most recently used
    token_of(shown(client, c))  # the third: b, least recently used, is dropped
    assert token_of(shown(client, a)) == first_a
    assert token_of(shown(client, b)) != first_b
    assert len(signatures) == 4  # a, b, c, and b again


# --- The cookie of a reused token -------------------------------------------------------------


def test_a_reused_tokens_cookie_lives_as_long_as_the_token_still_does(client, bound, leaf, clock):
    add_policy(session_duration="1h")
    first = shown(client, leaf)
    assert first.cookies[COOKIE]["max-age"] == 3600
    clock.shift(dt.timedelta(seconds=100))
    again = shown(client, leaf)
    assert token_of(again) == token_of(first)
    remaining = claims_of(token_of(again))["exp"] - int(dt.datetime.now(dt.UTC).timestamp())
    assert again.cookies[COOKIE]["max-age"] == remaining == 3500


def test_a_reused_token_of_a_certificate_about_to_expire_keeps_its_cookie_within_it(
    client, bound, root_ca, clock
):
    add_policy(session_duration="1h")
    expiring = certfactory.make_leaf(
        root_ca, not_after=certfactory.now() + dt.timedelta(minutes=10)
    )
    first = shown(client, expiring)
    assert first.cookies[COOKIE]["max-age"] == 600
    clock.shift(dt.timedelta(seconds=30))  # within a tenth of the 10-minute token
    again = shown(client, expiring)
    assert token_of(again) == token_of(first)
    assert again.cookies[COOKIE]["max-age"] == 570


def test_a_shorter_policy_duration_is_never_outlived_by_a_reused_token(
    client, bound, leaf, signatures, clock
):
    policy = add_policy(session_duration="24h")
    before = token_of(shown(client, leaf))
    AccessPolicy.objects.filter(pk=policy.pk).update(session_seconds=900)
    changed()
    after = shown(client, leaf)
    assert token_of(after) != before
    assert after.cookies[COOKIE]["max-age"] == 900
    assert claims_of(token_of(after))["exp"] - claims_of(token_of(after))["iat"] == 900


def test_no_duration_sets_no_cookie_for_a_reused_token_either(
    client, bound, leaf, signatures, clock
):
    add_policy(session_duration="no_duration")
    first = shown(client, leaf)
    clock.shift(dt.timedelta(seconds=tokens.REQUEST_TOKEN_SECONDS // 10 - 1))
    again = shown(client, leaf)
    assert token_of(again) == token_of(first)
    assert COOKIE not in first.cookies and COOKIE not in again.cookies
    assert signatures == [token_of(first)]
