"""Changing and removing login methods through their one write path (login_method_update,
login_method_delete), from the dashboard and the command line: a method in use is kept."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.identity.models import LoginMethod
from apps.identity.services import (
    LoginMethodInUse,
    application_set_login_methods,
    login_method_delete,
    login_method_update,
)
from apps.policies.models import Application
from tests.factories.commands import refusal, run_command
from tests.factories.identity import add_identity_policy, add_login_method
from tests.factories.policies import add_policy
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

ISSUER = "https://login.example.com"


@pytest.fixture
def operator(client, staff):
    with_perms(staff, "view_loginmethod", "delete_loginmethod")
    client.force_login(staff)
    return client


@pytest.fixture
def offered(bound) -> LoginMethod:
    """A method the application of HOST offers alone."""
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    add_identity_policy()
    application_set_login_methods(application=Application.objects.get(), methods=[method])
    return method


def change(method: LoginMethod, **fields: object) -> LoginMethod:
    current: dict[str, object] = {
        "name": method.name,
        "issuer_url": method.issuer_url,
        "client_id": method.client_id,
        "scopes": method.scopes,
        "pkce_enabled": method.pkce_enabled,
        "email_claim_name": method.email_claim_name,
        "groups_claim_name": method.groups_claim_name,
        "enabled": method.enabled,
    }
    return login_method_update(method=method, **(current | fields))  # type: ignore[arg-type]


def test_an_update_without_a_secret_keeps_the_stored_one():
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    change(method, client_id="renamed", scopes="openid email")
    method.refresh_from_db()
    assert (method.client_id, method.scopes, method.client_secret()) == (
        "renamed",
        "openid email",
        "first-secret",
    )
    change(method, client_secret="second-secret")
    method.refresh_from_db()
    assert method.client_secret() == "second-secret"


def test_a_refused_update_writes_nothing():
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    add_login_method(ISSUER, "other", "secret", name="Taken")
    with pytest.raises(ValidationError) as raised:
        change(method, name="Taken", auth_url="https://login.example.com/auth")
    errors = raised.value.message_dict
    assert {"name", "token_url", "certs_url"} <= errors.keys()
    method.refresh_from_db()
    assert (method.name, method.auth_url) == ("Test IdP", "")


def test_a_method_an_application_offers_is_not_deleted(offered):
    with pytest.raises(LoginMethodInUse) as raised:
        login_method_delete(method=offered)
    assert "in use by application 'app.example.com'" in raised.value.messages[0]
    assert LoginMethod.objects.filter(pk=offered.pk).exists()


def test_a_method_a_login_method_rule_names_is_not_deleted(bound):
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    add_policy(
        name="Staff via Test IdP",
        decision="allow",
        rules=(("include", "login_method", str(method.pk)),),
    )
    with pytest.raises(LoginMethodInUse) as raised:
        login_method_delete(method=method)
    assert "policy 'Staff via Test IdP'" in raised.value.messages[0]


def test_a_method_an_oidc_claim_rule_is_scoped_to_is_not_deleted(bound):
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    other = add_login_method(ISSUER, "other", "second-secret", name="Other IdP")
    add_policy(
        name="Admins of Test IdP",
        decision="allow",
        rules=(("include", "oidc_claim", f"{method.pk}|groups=admins"),),
    )
    with pytest.raises(LoginMethodInUse) as raised:
        login_method_delete(method=method)
    assert "policy 'Admins of Test IdP'" in raised.value.messages[0]
    login_method_delete(method=other)  # a claim rule scoped to another method does not hold it
    assert not LoginMethod.objects.filter(pk=other.pk).exists()


def test_the_command_refuses_to_remove_a_method_in_use_and_removes_an_unused_one(offered):
    message = refusal("login_methods", "remove", offered.name)
    assert "in use by application 'app.example.com'" in message
    application_set_login_methods(application=Application.objects.get(), methods=[])
    assert "Removed login method 'Test IdP'" in run_command("login_methods", "remove", "Test IdP")
    assert not LoginMethod.objects.exists()


def test_the_dashboard_names_what_uses_a_method_instead_of_deleting_it(operator, offered):
    url = reverse("admin:identity_loginmethod_delete", args=[offered.pk])
    page = operator.get(url)
    assert page.status_code == 200
    assert "Test IdP: in use by application &#x27;app.example.com&#x27;" in page.content.decode()
    operator.post(url, {"post": "yes"})
    assert LoginMethod.objects.filter(pk=offered.pk).exists()
    bulk = operator.post(
        reverse("admin:identity_loginmethod_changelist"),
        {"action": "delete_selected", "_selected_action": [offered.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert LoginMethod.objects.filter(pk=offered.pk).exists()


def test_the_dashboard_deletes_an_unused_method(operator):
    method = add_login_method(ISSUER, "accessctl", "first-secret")
    url = reverse("admin:identity_loginmethod_delete", args=[method.pk])
    assert operator.post(url, {"post": "yes"}).status_code == 302
    assert not LoginMethod.objects.exists()
