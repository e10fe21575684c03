"""Forged requests and the audit trail on the policy pages: a POST without a CSRF token is
refused and stores nothing; every add, change and delete leaves an audit entry naming the user.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.test import Client
from django.urls import reverse

from apps.policies.models import AccessPolicy
from tests.factories.policies import POLICY_ADD, POLICY_TESTER, UNGUARDED_CONFIRMED, policy_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    return client


def test_adding_a_policy_without_a_csrf_token_is_403_and_stores_nothing(csrf_client, bound):
    response = csrf_client.post(reverse(POLICY_ADD), policy_form())
    assert response.status_code == 403
    assert not AccessPolicy.objects.exists()
    assert not LogEntry.objects.exists()


def test_the_policy_tester_refuses_a_post_without_a_csrf_token(csrf_client, bound):
    response = csrf_client.post(
        reverse(POLICY_TESTER), {"hostname": "app.example.com", "path": "/"}
    )
    assert response.status_code == 403


def test_add_change_and_delete_each_leave_an_audit_entry(client, editor, bound):
    client.force_login(editor)
    assert client.post(reverse(POLICY_ADD), policy_form()).status_code == 302
    policy = AccessPolicy.objects.get()
    rule = policy.rules.get()
    change = reverse("admin:policies_accesspolicy_change", args=[policy.pk])
    data = policy_form(name="devices, renamed") | {
        "rules-INITIAL_FORMS": "1",
        "rules-0-id": str(rule.pk),
        "rules-0-policy": str(policy.pk),
    }
    assert client.post(change, data).status_code == 302
    delete = reverse("admin:policies_accesspolicy_delete", args=[policy.pk])
    # The only policy of the hostname: the deletion is confirmed on the intermediate page.
    assert client.post(delete, {"post": "yes"} | UNGUARDED_CONFIRMED).status_code == 302

    entries = LogEntry.objects.filter(object_id=str(policy.pk)).order_by("action_time", "id")
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE, DELETION]
    assert {e.user_id for e in entries} == {editor.pk}
    assert not AccessPolicy.objects.exists()
