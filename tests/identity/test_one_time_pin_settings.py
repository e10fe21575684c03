"""A one-time PIN method in Settings → Login methods, on the command line,: a name is
all it takes; OpenID Connect still needs its issuer, client and secret. (Export and import:
test_export_import_of_login_methods.py.)"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.identity.models import LoginMethod, LoginMethodType
from apps.identity.services import login_method_create
from tests.factories.commands import refusal, run_command
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

ADD = reverse("admin:identity_loginmethod_add")


@pytest.fixture
def operator(client, staff):
    with_perms(staff, "view_loginmethod", "add_loginmethod", "change_loginmethod")
    client.force_login(staff)
    return client


def test_the_dashboard_adds_a_one_time_pin_method_with_a_name_alone(operator):
    page = operator.get(ADD + "?type=onetimepin")
    html = page.content.decode()
    assert page.status_code == 200
    assert "One-time PIN" in html and "accessctl mails a 6-digit code" in html
    assert 'name="issuer_url"' not in html and 'name="client_secret"' not in html
    response = operator.post(ADD + "?type=onetimepin", {"name": "Email", "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    method = LoginMethod.objects.get()
    assert (method.name, method.type, method.enabled) == ("Email", "onetimepin", True)
    assert not method.has_client_secret


def test_the_page_of_a_pin_method_shows_its_fields_only_and_keeps_its_type(operator):
    method = login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)
    url = reverse("admin:identity_loginmethod_change", args=[method.pk])
    html = operator.get(url).content.decode()
    assert 'name="client_id"' not in html and "One-time PIN" in html
    response = operator.post(url, {"name": "Email codes", "type": "oidc"})
    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.name, method.type, method.enabled) == ("Email codes", "onetimepin", False)


def test_the_openid_connect_page_links_to_the_pin_and_still_needs_an_issuer(operator):
    page = operator.get(ADD)
    assert '<a href="?type=onetimepin">add a One-time PIN method</a>' in page.content.decode()
    response = operator.post(ADD, {"name": "Okta", "enabled": "on", "scopes": "openid"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["issuer_url"] == ["Required for OpenID Connect."]
    assert errors["client_id"] == ["Required for OpenID Connect."]
    assert errors["client_secret"] == ["A client secret is required."]
    assert not LoginMethod.objects.exists()


def test_an_unknown_type_on_the_add_page_is_openid_connect(operator):
    page = operator.get(ADD + "?type=saml")
    assert page.status_code == 200 and 'name="issuer_url"' in page.content.decode()


def test_the_command_adds_a_pin_method_and_lists_it():
    out = run_command("login_methods", "add", "--type", "onetimepin", "--name", "Email")
    assert "Added login method 'Email'" in out and "one-time PIN by email" in out
    listing = json.loads(run_command("login_methods", "list", "--json"))
    assert [(m["name"], m["type"], m["client_secret_set"]) for m in listing] == [
        ("Email", "onetimepin", False)
    ]
    assert "one-time PIN by email" in run_command("login_methods", "list")


def test_the_command_refuses_what_a_pin_method_does_not_take_and_a_second_name():
    message = refusal(
        "login_methods", "add", "--type", "onetimepin", "--name", "Email", "--issuer", "https://x"
    )
    assert message == "--issuer: not used by a one-time PIN method (--type onetimepin)"
    run_command("login_methods", "add", "--type", "onetimepin", "--name", "Email")
    assert "name: Login method with this Name already exists." in refusal(
        "login_methods", "add", "--type", "onetimepin", "--name", "Email"
    )
    assert "--type: Value 'saml' is not a valid choice." in refusal(
        "login_methods", "add", "--type", "saml", "--name", "X"
    )
    assert LoginMethod.objects.count() == 1


def test_the_command_says_which_option_an_openid_method_lacks():
    message = refusal("login_methods", "add", "--name", "Okta")
    assert "--issuer: Required for OpenID Connect." in message
    assert "--client-id: Required for OpenID Connect." in message
    assert "--client-secret-file: A client secret is required." in message
    assert not LoginMethod.objects.exists()
