"""The API's answer says so (a message in the envelope, the change made) when a change leaves
an application with no enabled login method among those it chose: its login page then refuses
everyone (tests/identity/test_no_login_method_left.py)."""

from __future__ import annotations

import pytest

from apps.api.envelope import CODE_NO_LOGIN_METHOD
from apps.identity.models import LoginMethod
from apps.policies.models import Application
from tests.factories.api import ApiClient
from tests.factories.identity import disable, offering_okta_alone

pytestmark = pytest.mark.django_db


@pytest.fixture
def okta(bound) -> LoginMethod:
    return offering_okta_alone()


def test_the_api_says_so_when_disabling_a_provider_leaves_an_application_none(
    api: ApiClient, okta
) -> None:
    shown = api.get(f"access/identity_providers/{okta.pk}").result
    answer = api.put(
        f"access/identity_providers/{okta.pk}",
        {"name": shown["name"], "type": "oidc", "config": shown["config"], "enabled": False},
    )
    assert answer.status == 200, answer.body
    assert answer.result["enabled"] is False
    (message,) = answer.body["messages"]
    assert message["code"] == CODE_NO_LOGIN_METHOD
    assert repr(Application.objects.get().name) in message["message"]

    # Enabled again: nothing to say.
    shown = api.get(f"access/identity_providers/{okta.pk}").result
    again = api.put(
        f"access/identity_providers/{okta.pk}",
        {"name": shown["name"], "type": "oidc", "config": shown["config"], "enabled": True},
    )
    assert again.body["messages"] == []


def test_the_api_says_so_when_an_application_chooses_only_disabled_providers(
    api: ApiClient, okta
) -> None:
    disable(okta)
    application = Application.objects.get()
    shown = api.get(f"access/apps/{application.pk}").result
    answer = api.put(
        f"access/apps/{application.pk}",
        {
            "type": "self_hosted",
            "name": shown["name"],
            "domain": shown["domain"],
            "allowed_idps": [str(okta.pk)],
        },
    )
    assert answer.status == 200, answer.body
    (message,) = answer.body["messages"]
    assert message["code"] == CODE_NO_LOGIN_METHOD
    assert "has no enabled login method" in message["message"]
    assert "refuses everyone" in message["message"]
