"""A device that shows the same certificate again, without a cookie, is answered from the
rulings remembered a moment ago (``apps.gateway.remembered``) — and never after something the
ruling was made from has changed.

Through the middleware with real rows; ``decisions`` counts the calls of the full decision
(``apps.gateway.gate.decide``), so a remembered answer is one that made none.
"""

from __future__ import annotations

import datetime as dt
import io

import jwt
import pytest
import time_machine
from django.core.management import call_command

from accessctl.core.reasons import Reason
from apps.gateway import config, gate, remembered
from apps.policies.services import application_revoke_tokens
from apps.tokens import sessions
from tests.factories import certs as certfactory
from tests.factories.forwarded import ask, escaped, fetch
from tests.factories.hosts import HOST, PROXY
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

# Every test starts with no snapshot, an empty verification cache and no key ring in memory
# (tests/conftest.py): the signing key is part of what a remembered ruling depends on, and
# each test signs with the keys of its own database.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_gateway", "fresh_tokens")]
COOKIE = sessions.COOKIE_NAME


@pytest.fixture
def leaf(root_ca):
    """The device of these tests."""
    return certfactory.make_leaf(root_ca, "device-7")


@pytest.fixture
def decisions(monkeypatch) -> list[str]:
    """The path of every request that was decided in full, in order."""
    decided: list[str] = []
    decide = gate.decide

    def counted(req, **kwargs):
        decided.append(req.path)
        return decide(req, **kwargs)

    monkeypatch.setattr(gate, "decide", counted)
    return decided


@pytest.fixture
def clock():
    """The clock, standing still until the test moves it."""
    with time_machine.travel(certfactory.now(), tick=False) as traveller:
        yield traveller


def shown(client, *certs, path: str = "/", **extra):
    return fetch(client, path, cert=escaped(*certs), **extra)


def test_the_same_certificate_again_is_answered_without_a_second_decision(
    client, bound, leaf, decisions
):
    add_policy()
    first, second = shown(client, leaf), shown(client, leaf)
    assert first.status_code == second.status_code == 200
    assert second.cookies[COOKIE].value == first.cookies[COOKIE].value
    assert decisions == ["/"]
    assert len(remembered.rulings) == 1


def test_every_remembered_answer_is_logged_with_its_own_request_id(client, bound, leaf, access_log):
    add_policy()
    shown(client, leaf)
    shown(client, leaf)
    first, second = access_log.records[-2:]
    assert first["request_id"] != second["request_id"]
    assert {k: v for k, v in first.items() if k not in {"time", "request_id"}} == {
        k: v for k, v in second.items() if k not in {"time", "request_id"}
    }
    assert second["decision"] == "allow"
    assert second["cert_common_name"] == "device-7"


def test_the_view_sees_the_request_id_of_its_own_request(client, bound, leaf):
    add_policy()
    ids = [
        shown(client, leaf, HTTP_X_REQUEST_ID=f"request-{n}", accept="application/json").json()
        for n in range(2)
    ]
    assert [page["request_id"] for page in ids] == ["request-0", "request-1"]


def test_the_same_cookie_again_is_remembered_and_another_cookie_is_decided(
    client, bound, leaf, decisions
):
    add_policy()
    token = shown(client, leaf).cookies[COOKIE].value
    for cookie in (token, token, token + "x"):
        client.cookies[COOKIE] = cookie
        response = client.get(
            "/", HTTP_HOST=HOST, REMOTE_ADDR=PROXY, HTTP_X_SSL_CLIENT_CERT=escaped(leaf)
        )
        assert response.status_code == 200
    # The first request with the cookie is decided, the second is remembered, and a cookie
    # that differs (here: one that does not verify) is decided in full.
    assert decisions == ["/", "/", "/"]


def test_a_session_cookie_alone_is_remembered_until_its_token_expires(client, bound, leaf, clock):
    add_policy(session_seconds=60)
    token = shown(client, leaf).cookies[COOKIE].value
    client.cookies[COOKIE] = token

    def with_cookie_only():
        return client.get("/", HTTP_HOST=HOST, REMOTE_ADDR=PROXY)

    hits = remembered.rulings.hits
    assert with_cookie_only().status_code == 200
    assert with_cookie_only().status_code == 200
    assert remembered.rulings.hits == hits + 1
    clock.shift(dt.timedelta(seconds=61))
    expired = with_cookie_only()
    assert expired.status_code == 403
    assert remembered.rulings.hits == hits + 1


def test_a_remembered_session_cookie_ends_with_revoke_tokens(client, bound, leaf, decisions):
    policy = add_policy()
    token = shown(client, leaf).cookies[COOKIE].value
    client.cookies[COOKIE] = token
    for _ in range(2):
        assert client.get("/", HTTP_HOST=HOST, REMOTE_ADDR=PROXY).status_code == 200
    application_revoke_tokens(application=policy.links.get().application)
    _changed()
    assert client.get("/", HTTP_HOST=HOST, REMOTE_ADDR=PROXY).status_code == 403


def test_a_change_of_the_policy_is_never_outlived(client, bound, leaf, decisions):
    policy = add_policy()
    assert shown(client, leaf).status_code == 200
    policy.rules.all().delete()
    policy.rules.create(group="include", type="common_name", value="someone-else")
    _changed()
    refused = shown(client, leaf)
    assert refused.status_code == 403
    assert decisions == ["/", "/"]


def test_an_expiring_issuing_ca_is_never_outlived(client, root_ca, clock):
    soon = certfactory.now() + dt.timedelta(seconds=30)
    intermediate = certfactory.make_ca("Short-lived Devices", issuer=root_ca, not_after=soon)
    device = certfactory.make_leaf(intermediate, "device-7")
    upload_ca("Short-lived", [HOST], intermediate, root_ca)
    add_policy()
    assert shown(client, device).status_code == 200
    clock.shift(dt.timedelta(seconds=29))
    assert shown(client, device).status_code == 200
    clock.shift(dt.timedelta(seconds=2))
    assert shown(client, device).status_code == 403


def test_the_cookie_of_a_remembered_answer_lives_as_long_as_its_token_still_does(
    client, bound, leaf, clock
):
    add_policy(session_duration="1h")
    assert shown(client, leaf).cookies[COOKIE]["max-age"] == 3600
    clock.shift(dt.timedelta(seconds=100))
    again = shown(client, leaf)
    expires = jwt.decode(again.cookies[COOKIE].value, options={"verify_signature": False})["exp"]
    assert again.cookies[COOKIE]["max-age"] == 3500
    assert expires - int(dt.datetime.now(dt.UTC).timestamp()) == 3500


def test_a_key_rotation_is_never_outlived(client, bound, leaf, clock):
    add_policy()
    before = shown(client, leaf).cookies[COOKIE].value
    call_command("keys", "rotate", "--now", stdout=io.StringIO())
    after = shown(client, leaf).cookies[COOKIE].value
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]


@pytest.mark.urls("tests.tokens.urls")
def test_each_path_of_a_hostname_is_decided_for_itself(client, bound, leaf, decisions):
    add_policy(name="admins", rules=(("include", "common_name", "admin-1"),))
    add_policy(name="everyone's", path_prefix="/public")
    assert shown(client, leaf, path="/public/x").status_code == 200
    assert shown(client, leaf).status_code == 403
    assert shown(client, leaf).status_code == 403
    assert shown(client, leaf, path="/public/x").status_code == 200
    assert decisions == ["/public/x", "/", "/"]


def test_a_peer_that_is_no_trusted_proxy_is_never_answered_from_memory(client, bound, leaf):
    add_policy()
    assert shown(client, leaf).status_code == 200
    assert shown(client, leaf, remote="203.0.113.9").status_code == 403


def test_no_duration_gives_the_application_its_token_and_the_client_no_cookie_every_time(
    client, bound, leaf, decisions, access_log
):
    add_policy(session_duration="no_duration")
    for _ in range(2):
        response = shown(client, leaf)
        assert response.status_code == 200
        assert COOKIE not in response.cookies
    assert decisions == ["/"]
    assert access_log.last["reason"] == Reason.POLICY_ALLOW


def test_forward_auth_remembers_the_original_request_it_was_asked_about(
    client, bound, leaf, decisions
):
    add_policy(name="admins", rules=(("include", "common_name", "admin-1"),))
    add_policy(name="everyone's", path_prefix="/public")
    for uri, status in [("/public", 200), ("/public", 200), ("/", 403)]:
        answer = ask(client, cert=escaped(leaf), HTTP_X_ORIGINAL_URI=uri)
        assert answer.status_code == status
    assert decisions == ["/public", "/"]


def test_the_remembered_rulings_are_bounded_dropping_the_least_recently_used(
    client, bound, root_ca, decisions, monkeypatch
):
    monkeypatch.setattr(remembered, "rulings", remembered.RememberedRulings(maxsize=2))
    add_policy()
    a, b, c = (certfactory.make_leaf(root_ca, f"device-{n}") for n in "abc")
    for device in (a, b, a, c, a, b):
        assert shown(client, device).status_code == 200
    # a, b decided; a remembered; c decided (b dropped); a remembered; b decided again.
    assert len(decisions) == 4
    assert len(remembered.rulings) == 2


def _changed() -> None:
    """What the gateway's signals do after a committed change (tests run in a transaction)."""
    config.bump_version()
