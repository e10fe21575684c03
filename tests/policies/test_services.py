"""policy_create: all checks at once, all or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.policies.models import AccessPolicy, Application, PolicyRule
from apps.policies.services import policy_create
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db


def test_every_problem_is_reported_at_once_and_nothing_is_written(bound):
    with pytest.raises(ValidationError) as caught:
        policy_create(
            hostname="unbound.example.com",
            name="",
            decision="maybe",
            rules=[("require", "common_name", "")],
            session_seconds=-1,
        )
    errors = caught.value.message_dict
    assert set(errors) == {"hostname", "name", "decision", "session_seconds", "rules"}
    assert errors["rules"] == [
        "rule 1 (require common_name) value: a value is required for this rule type",
        "A policy needs at least one Include rule.",
    ]
    assert not AccessPolicy.objects.exists() and not PolicyRule.objects.exists()
    assert not Application.objects.exists()


def test_a_failing_rule_write_rolls_the_policy_back(bound, monkeypatch):
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PolicyRule, "save", broken_save)
    with pytest.raises(RuntimeError):
        policy_create(
            hostname=HOST, name="n", decision="allow", rules=[("include", "valid_certificate", "")]
        )
    assert not AccessPolicy.objects.exists() and not Application.objects.exists()


def test_values_are_stored_normalized(bound):
    policy = policy_create(
        hostname="App.Example.COM",
        name="n",
        decision="allow",
        rules=[("include", "san_dns", "*.Devices.Example.com")],
        path_prefix="/api/",
    )
    domain = policy.links.get().application.domains.get()
    assert (domain.hostname, domain.path_prefix, policy.path_prefix) == (HOST, "/", "/api")
    assert policy.rules.get().value == "*.devices.example.com"
