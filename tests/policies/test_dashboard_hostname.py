"""A policy on a dashboard hostname is refused: the middleware never enforces a dashboard
hostname (ACCESSCTL_DASHBOARD_HOSTS), so the policy would silently protect nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.policies.models import DASHBOARD_HOSTNAME, AccessPolicy
from tests.factories.commands import refusal
from tests.factories.policies import POLICY_ADD, policy_form
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
DASHBOARD = "auth.example.com"


@pytest.fixture
def dashboard_bound(settings, root_ca):
    settings.ACCESSCTL_DASHBOARD_HOSTS = [*settings.ACCESSCTL_DASHBOARD_HOSTS, DASHBOARD]
    return upload_ca("Fleet", [DASHBOARD], root_ca)


def test_the_policy_form_refuses_a_dashboard_hostname_next_to_the_field(
    client, editor, dashboard_bound
):
    client.force_login(editor)
    response = client.post(reverse(POLICY_ADD), policy_form(hostname="Auth.Example.com."))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hostname"] == [DASHBOARD_HOSTNAME]
    assert not AccessPolicy.objects.exists()


def test_the_command_refuses_a_dashboard_hostname(dashboard_bound):
    message = refusal(
        "policies", "add", "--hostname", DASHBOARD, "--name", "n", "--decision", "allow",
        "--include", "valid_certificate",
    )  # fmt: skip
    assert message == f"hostname: {DASHBOARD_HOSTNAME}"
    assert not AccessPolicy.objects.exists()
