"""The signing keys in the dashboard (read-only) and `accessctl keys list|rotate`."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse

from apps.policies.models import Application
from apps.tokens import keys
from apps.tokens.models import SigningKey
from tests.factories import certs
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:tokens_signingkey_changelist"


def staff(username: str, *perms: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_staff_without_permission_cannot_see_the_keys(client):
    client.force_login(staff("nobody"))
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_staff_with_view_permission_see_public_facts_only(client):
    keys.key_ring()
    row = SigningKey.objects.get()
    client.force_login(staff("viewer", "view_signingkey"))
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert row.kid in listing.content.decode()
    assert "Current (signs new tokens)" in listing.content.decode()
    detail = client.get(reverse("admin:tokens_signingkey_change", args=[row.pk]))
    assert detail.status_code == 200
    assert "BEGIN PUBLIC KEY" in detail.content.decode()
    assert "encrypted_private_key" not in detail.content.decode()
    assert "PRIVATE" not in detail.content.decode()


def test_nobody_adds_changes_or_deletes_keys_through_the_dashboard(admin_client):
    keys.key_ring()
    row = SigningKey.objects.get()
    assert admin_client.get(reverse("admin:tokens_signingkey_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:tokens_signingkey_delete", args=[row.pk])).status_code
        == 403
    )
    admin_client.post(reverse("admin:tokens_signingkey_change", args=[row.pk]), {"kid": "x"})
    assert SigningKey.objects.get().kid == row.kid


def test_keys_rotate_publishes_a_new_key_that_signs_after_five_minutes(token_algorithm):
    first = keys.key_ring().signing_key().kid
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    newest = SigningKey.objects.order_by("-generation").first()
    assert newest.kid != first
    assert newest.kid in out.getvalue()
    assert newest.signs_from - newest.created_at == keys.PUBLISH_AHEAD
    assert keys.key_ring().signing_key().kid == first


def test_keys_rotate_now_signs_with_the_new_key_at_once(token_algorithm):
    keys.key_ring()
    call_command("keys", "rotate", "--now", stdout=io.StringIO())
    newest = SigningKey.objects.order_by("-generation").first()
    assert keys.key_ring().signing_key().kid == newest.kid


def test_keys_list_shows_every_key_with_its_state():
    keys.key_ring()
    call_command("keys", "rotate", "--now", stdout=io.StringIO())
    call_command("keys", "rotate", stdout=io.StringIO())
    out = io.StringIO()
    call_command("keys", "list", "--json", stdout=out)
    listed = json.loads(out.getvalue())["keys"]
    assert [k["state"] for k in listed] == ["next", "current", "previous"]
    assert [k["generation"] for k in listed] == [3, 2, 1]
    assert "private" not in out.getvalue().lower()


def test_keys_list_shows_each_keys_algorithm(settings):
    settings.ACCESSCTL_TOKEN_ALGORITHM = "ES256"
    keys.key_ring()
    settings.ACCESSCTL_TOKEN_ALGORITHM = "RS256"
    keys.key_ring()  # the change of algorithm: a new key, published ahead
    out = io.StringIO()
    call_command("keys", "list", "--json", stdout=out)
    listed = json.loads(out.getvalue())["keys"]
    assert [(k["algorithm"], k["state"]) for k in listed] == [
        ("RS256", "next"),
        ("ES256", "current"),
    ]
    text = io.StringIO()
    call_command("keys", "list", stdout=text)
    lines = text.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["RS256", "ES256"]


def test_keys_list_on_an_empty_store_says_a_key_comes_on_first_need():
    out = io.StringIO()
    call_command("keys", "list", stdout=out)
    assert "first need" in out.getvalue()
    assert SigningKey.objects.count() == 0


def test_keys_without_an_action_is_a_usage_error(capsys):
    from accessctl.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["accessctl", "keys"])
    assert exit_info.value.code == 2
    assert "list,rotate" in capsys.readouterr().err


def test_the_key_page_shows_each_applications_aud_tag(client):
    upload_ca("CA", ["app.example.com"], certs.make_ca("Key Page Root"))
    add_policy("app.example.com", "Devices", decision="allow")
    client.force_login(staff("viewer", "view_signingkey"))
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "app.example.com" in page
    assert Application.objects.get(name="app.example.com").aud in page
    assert "/cdn-cgi/access/certs" in page
