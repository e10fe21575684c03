"""Every Access Policies page: anonymous, staff without permission, staff with permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories.users import sent_to_login

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:policies_accesspolicy_changelist",
    "admin:policies_accesspolicy_add",
    "admin:policies_accesspolicy_tester",
]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, page):
    response = client.get(reverse(page))
    assert sent_to_login(response)


@pytest.mark.parametrize("page", PAGES)
def test_staff_without_permission_are_refused(client, staff, page):
    client.force_login(staff)
    assert client.get(reverse(page)).status_code == 403


def test_staff_without_permission_cannot_post_to_the_tester(client, staff):
    client.force_login(staff)
    url = reverse("admin:policies_accesspolicy_tester")
    assert client.post(url, {"hostname": "app.example.com", "path": "/"}).status_code == 403


def test_view_permission_opens_the_listing_and_the_tester_but_not_the_add_page(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("admin:policies_accesspolicy_changelist")).status_code == 200
    assert client.get(reverse("admin:policies_accesspolicy_tester")).status_code == 200
    assert client.get(reverse("admin:policies_accesspolicy_add")).status_code == 403


def test_add_permission_opens_the_add_page(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:policies_accesspolicy_add")).status_code == 200


def test_the_section_is_called_access_policies(client, editor):
    client.force_login(editor)
    response = client.get(reverse("admin:index"))
    assert "Access Policies" in response.content.decode()
