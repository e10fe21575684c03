"""Login methods: the dashboard page (the secret stored encrypted, never shown back), the
command line, each application's choice, and the login page that offers them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from apps.identity.models import ApplicationLoginMethod, LoginMethod
from apps.policies.models import Application
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.factories.identity import add_login_method
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

SECRET = "s3cret-value-of-the-client"
LOGIN = f"/cdn-cgi/access/login/{HOST}?redirect_url=" + quote(f"http://{HOST}/", safe="")


@pytest.fixture
def operator(client, staff):
    with_perms(
        staff, "view_loginmethod", "add_loginmethod", "change_loginmethod", "delete_loginmethod"
    )
    client.force_login(staff)
    return client


def form(**fields: str) -> dict[str, str]:
    return {
        "name": "Okta",
        "enabled": "on",
        "issuer_url": "https://login.example.com",
        "client_id": "accessctl",
        "client_secret": SECRET,
        "scopes": "openid email profile",
        "pkce_enabled": "on",
        "email_claim_name": "email",
        "groups_claim_name": "groups",
        **fields,
    }


def test_the_dashboard_stores_the_secret_encrypted_and_never_shows_it(operator):
    response = operator.post(reverse("admin:identity_loginmethod_add"), form())
    assert response.status_code == 302, response.content.decode()[:2000]
    method = LoginMethod.objects.get()
    assert SECRET.encode() not in bytes(method.encrypted_client_secret)
    assert method.client_secret() == SECRET
    page = operator.get(reverse("admin:identity_loginmethod_change", args=[method.pk]))
    assert SECRET not in page.content.decode()
    assert "Leave empty to keep the current secret" in page.content.decode()


def test_saving_without_a_new_secret_keeps_the_old_one(operator):
    operator.post(reverse("admin:identity_loginmethod_add"), form())
    method = LoginMethod.objects.get()
    url = reverse("admin:identity_loginmethod_change", args=[method.pk])
    response = operator.post(url, form(client_secret="", client_id="renamed"))
    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.client_id, method.client_secret()) == ("renamed", SECRET)


def test_explicit_urls_come_as_a_set_and_a_new_method_needs_a_secret(operator):
    response = operator.post(
        reverse("admin:identity_loginmethod_add"),
        form(client_secret="", auth_url="https://login.example.com/auth"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Give the authorization, token and JWKS URLs together" in errors["token_url"][0]
    assert errors["client_secret"] == ["A client secret is required."]
    assert not LoginMethod.objects.exists()


def test_the_page_is_refused_without_permission(client, staff):
    client.force_login(staff)
    assert client.get(reverse("admin:identity_loginmethod_add")).status_code == 403


def test_the_command_adds_lists_and_never_prints_the_secret(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    out = run_command(
        "login_methods",
        "add",
        "--name",
        "Keycloak",
        "--issuer",
        "https://sso.example.com/realms/staff",
        "--client-id",
        "accessctl",
        "--client-secret-file",
        str(secret),
    )
    assert "Added login method 'Keycloak'" in out
    assert LoginMethod.objects.get().client_secret() == SECRET
    listing = run_command("login_methods", "list", "--json")
    assert SECRET not in listing and '"client_secret_set": true' in listing


def test_the_command_refuses_bad_input_in_one_line(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    message = refusal(
        "login_methods",
        "add",
        "--name",
        "Bad",
        "--issuer",
        "not a url",
        "--client-id",
        "x",
        "--client-secret-file",
        str(secret),
    )
    assert message.startswith("--issuer: ")
    assert (
        "no such file"
        in refusal(
            "login_methods",
            "add",
            "--name",
            "Bad",
            "--issuer",
            "https://x.example.com",
            "--client-id",
            "x",
            "--client-secret-file",
            str(tmp_path / "missing"),
        ).lower()
    )
    assert not LoginMethod.objects.exists()


def test_an_application_offers_the_methods_it_chose_and_all_by_default(second_layer, idp):
    other = add_login_method(idp.issuer, "other", "secret", name="Other IdP")
    application = Application.objects.get()
    assert set(LoginMethod.objects.offered_by(application)) == set(LoginMethod.objects.all())
    out = run_command("login_methods", "offer", application.name, "--methods", "Other IdP")
    assert "offers Other IdP" in out
    assert list(LoginMethod.objects.offered_by(application)) == [other]
    run_command("login_methods", "offer", application.name, "--all")
    assert not ApplicationLoginMethod.objects.exists()


def test_an_application_whose_chosen_methods_are_all_disabled_offers_none(
    client, second_layer, idp
):
    other = add_login_method(idp.issuer, "other", "secret", name="Other IdP")
    application = Application.objects.get()
    run_command("login_methods", "offer", application.name, "--methods", "Other IdP")
    other.enabled = False
    other.save()
    assert not LoginMethod.objects.offered_by(application).exists()
    page = client.get(LOGIN)
    assert page.status_code == 503 and "No login method is available" in page.content.decode()


def test_of_two_chosen_methods_only_the_enabled_one_is_offered_whatever_is_asked(second_layer, idp):
    first = LoginMethod.objects.get()
    other = add_login_method(idp.issuer, "other", "secret", name="Other IdP")
    add_login_method(idp.issuer, "third", "secret", name="Not chosen")
    application = Application.objects.get()
    run_command("login_methods", "offer", application.name, "--methods", "Test IdP,Other IdP")
    other.enabled = False
    other.save()
    assert list(LoginMethod.objects.offered_by(application)) == [first]
    # A queryset narrowed first still knows the application chose: "Not chosen" stays out.
    narrowed = LoginMethod.objects.filter(name="Not chosen")
    assert not narrowed.offered_by(application).exists()


def test_the_login_page_offers_each_method_and_one_method_goes_straight_to_it(
    client, second_layer, idp
):
    straight = client.get(LOGIN)
    assert straight.status_code == 302
    assert straight["Location"].startswith(idp.issuer + "/auth?")
    assert "code_challenge_method=S256" in straight["Location"]
    add_login_method(idp.issuer, "other", "secret", name="Other IdP")
    page = client.get(LOGIN)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Continue with Test IdP" in html and "Continue with Other IdP" in html


@pytest.mark.parametrize(
    "redirect_url",
    [
        "https://evil.example.net/",
        f"https://{HOST}.evil.example.net/",
        f"https://user@{HOST}/",
        "javascript:alert(1)",
        f"//{HOST}/",
        "",
    ],
)
def test_the_login_page_never_leads_anywhere_but_the_application(
    client, second_layer, redirect_url
):
    page = client.get(f"/cdn-cgi/access/login/{HOST}?redirect_url={quote(redirect_url)}")
    assert page.status_code == 400
    assert "This sign-in link is not valid" in page.content.decode()


def test_the_login_page_is_served_on_the_authentication_hostname_only(client, second_layer):
    assert client.get(LOGIN, HTTP_HOST="localhost").status_code == 404


def test_an_expired_or_replayed_sign_in_code_gets_a_clear_page(client, second_layer):
    page = client.get(
        "/cdn-cgi/access/authorized?code=made-up", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1"
    )
    assert page.status_code == 403
    assert "expired or was already used" in page.content.decode()
