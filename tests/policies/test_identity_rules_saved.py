"""Identity rules in the dashboard, the command and the service: saved in Allow and Block,
refused with the same clear message in Non Identity and Bypass."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.policies.models import AccessPolicy
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_ADD, add_policy, policy_form

pytestmark = pytest.mark.django_db

REFUSED = "need a login: use them in an Allow or Block policy"
IDENTITY = (
    ("include", "email_domain", "@Example.com"),
    ("require", "valid_certificate", ""),
    ("exclude", "oidc_claim", "groups=contractors"),
)


def test_an_allow_policy_with_identity_and_certificate_rules_is_saved(bound):
    policy = add_policy(decision="allow", rules=IDENTITY)
    assert policy.rules_in_words() == [
        "Include: Emails ending in: @example.com",
        "Require: Valid Certificate",
        "Exclude: OIDC claim groups=contractors",
    ]


@pytest.mark.parametrize("decision", ["non_identity", "bypass"])
def test_the_service_refuses_identity_rules_in_non_identity_and_bypass(bound, decision):
    with pytest.raises(ValidationError) as caught:
        add_policy(decision=decision, rules=(("include", "everyone", ""),))
    assert any(REFUSED in m for m in caught.value.message_dict["rules"])
    assert not AccessPolicy.objects.exists()


def test_the_dashboard_shows_the_refusal_and_saves_nothing(client, editor, bound):
    client.force_login(editor)
    form = policy_form((("include", "email", "ada@example.com"),), decision="bypass")
    response = client.post(reverse(POLICY_ADD), form)
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not AccessPolicy.objects.exists()


def test_the_dashboard_saves_an_identity_policy(client, editor, bound):
    client.force_login(editor)
    form = policy_form((("include", "email", "Ada@Example.com"),), decision="allow")
    response = client.post(reverse(POLICY_ADD), form)
    assert response.status_code == 302
    assert AccessPolicy.objects.get().rules_in_words() == ["Include: Emails: ada@example.com"]


def test_the_dashboard_shows_a_bad_identity_value_next_to_its_field(client, editor, bound):
    client.force_login(editor)
    form = policy_form((("include", "oidc_claim", "groups"),), decision="allow")
    response = client.post(reverse(POLICY_ADD), form)
    assert response.status_code == 200
    assert "must be claim=value" in response.content.decode()


def test_the_command_adds_an_identity_policy(bound):
    out = run_command(
        "policies",
        "add",
        "--hostname",
        HOST,
        "--decision",
        "allow",
        "--include",
        "email_domain=example.com",
        "--require",
        "valid_certificate",
        "--exclude",
        "oidc_claim=groups=contractors",
    )
    assert "Emails ending in: @example.com" in out
    assert (
        AccessPolicy.objects.get().rules_in_words()[2] == "Exclude: OIDC claim groups=contractors"
    )


def test_the_command_refuses_identity_rules_in_a_non_identity_policy(bound):
    message = refusal(
        "policies", "add", "--hostname", HOST, "--decision", "non_identity", "--include", "everyone"
    )
    assert REFUSED in message
    assert not AccessPolicy.objects.exists()
