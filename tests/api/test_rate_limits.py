"""The API's rate limits: per token (Cloudflare's 1,200 requests per five minutes by default)
and per client address for failed authentications. Beyond either, a 429 in the envelope with
Retry-After, which Cloudflare's SDK raises as RateLimitError."""

from __future__ import annotations

import datetime as dt

import cloudflare
import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apps.api.models import Account
from apps.api.throttling import CODE_RATE_LIMITED
from apps.base.conf import access_settings
from tests.factories.api import ApiClient, make_token, sdk_client

START = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def assert_rate_limited(answer, longest: int) -> None:
    assert answer.status == 429
    assert answer.body["success"] is False and answer.body["result"] is None
    assert answer.body["errors"][0]["code"] == CODE_RATE_LIMITED
    assert "Rate limited" in answer.body["errors"][0]["message"]
    assert 1 <= int(answer.headers["Retry-After"]) <= longest


@override_settings(ACCESSCTL_API_RATE_LIMIT="3/5m")
def test_a_token_over_its_limit_gets_429_with_retry_after(api: ApiClient) -> None:
    with time_machine.travel(START, tick=False):
        assert [api.get("access/apps").status for _ in range(3)] == [200, 200, 200]
        assert_rate_limited(api.get("access/apps"), 300)
        assert api.post("access/policies", {"name": "x"}).status == 429  # changes too


@override_settings(ACCESSCTL_API_RATE_LIMIT="2/5m")
def test_another_token_is_not_affected(api: ApiClient, db) -> None:
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            api.get("access/apps")
        assert api.get("access/apps").status == 429
        other = ApiClient(make_token("other")[1])
        assert other.get("access/apps").status == 200


@override_settings(ACCESSCTL_API_RATE_LIMIT="2/5m")
def test_the_limit_resets_once_the_window_has_passed(api: ApiClient) -> None:
    with time_machine.travel(START, tick=False) as clock:
        api.get("access/apps")
        clock.shift(dt.timedelta(minutes=2))
        api.get("access/apps")
        refused = api.get("access/apps")
        assert refused.status == 429
        assert refused.headers["Retry-After"] == "180"  # when the first request leaves it
        clock.shift(dt.timedelta(minutes=3, seconds=1))
        assert api.get("access/apps").status == 200
        assert api.get("access/apps").status == 429  # the second is still in the window


@override_settings(ACCESSCTL_API_AUTH_FAILURE_LIMIT="5/5m")
def test_a_flood_of_bad_tokens_from_one_address_is_throttled(api: ApiClient) -> None:
    with time_machine.travel(START, tick=False) as clock:
        guesser = ApiClient("guessed-" + "x" * 32)
        assert [guesser.get("access/apps").status for _ in range(5)] == [401] * 5
        assert_rate_limited(guesser.get("access/apps"), 300)
        assert ApiClient(None).get("access/apps").status == 429  # no token: the same address
        # The address is refused before any lookup, even with a good token, until it cools.
        assert api.get("access/apps").status == 429
        clock.shift(dt.timedelta(minutes=5, seconds=1))
        assert api.get("access/apps").status == 200


@override_settings(ACCESSCTL_API_AUTH_FAILURE_LIMIT="2/5m")
def test_failures_are_counted_per_client_address(api: ApiClient) -> None:
    with time_machine.travel(START, tick=False):
        guesser = ApiClient("guessed")
        for _ in range(2):
            guesser.get("access/apps")
        assert guesser.get("access/apps").status == 429
        elsewhere = ApiClient(api.secret)
        elsewhere.client.defaults["REMOTE_ADDR"] = "192.0.2.44"
        assert elsewhere.get("access/apps").status == 200


@override_settings(ACCESSCTL_API_RATE_LIMIT="", ACCESSCTL_API_AUTH_FAILURE_LIMIT="")
def test_empty_limits_turn_them_off(api: ApiClient) -> None:
    with time_machine.travel(START, tick=False):
        assert {api.get("access/apps").status for _ in range(30)} == {200}


@pytest.mark.parametrize("value", ["1200", "0/5m", "many/5m", "10/5x", "-1/m"])
def test_a_limit_that_cannot_be_used_stops_the_start(value: str) -> None:
    with override_settings(ACCESSCTL_API_RATE_LIMIT=value), pytest.raises(ImproperlyConfigured):
        access_settings()


@override_settings(ACCESSCTL_API_RATE_LIMIT="5/5m")
def test_cloudflares_sdk_raises_rate_limit_error(live_server, transactional_db) -> None:
    _, secret = make_token("sdk-throttled")
    account = Account.objects.current().id
    with sdk_client(live_server.url, secret) as cf:
        for _ in range(5):
            cf.zero_trust.access.applications.list(account_id=account)
        with pytest.raises(cloudflare.RateLimitError) as raised:
            cf.zero_trust.access.applications.list(account_id=account)
    assert raised.value.status_code == 429
    assert int(raised.value.response.headers["Retry-After"]) >= 1
    assert raised.value.body["errors"][0]["code"] == CODE_RATE_LIMITED  # type: ignore[index]
