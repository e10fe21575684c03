"""API tokens: Bearer only, refused when missing, unknown, revoked or expired, read-only
tokens cannot change anything; made and revoked in the dashboard and on the command line."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from apps.api.models import Account, ApiToken, secret_digest
from apps.api.tokens import api_token_revoke
from tests.factories.api import ApiClient, make_token
from tests.factories.commands import refusal, run_command
from tests.factories.users import with_perms

TOKENS = "admin:api_apitoken_changelist"
ADD_TOKEN = "admin:api_apitoken_add"


def test_no_token_is_a_401(db) -> None:
    answer = ApiClient(None).get("access/apps")

    assert answer.status == 401
    assert answer.body["errors"][0]["code"] == 10000


@pytest.mark.parametrize("header", ["Bearer", "Bearer not-a-token", "Basic YWJjOmRlZg==", "x"])
def test_a_bad_authorization_header_is_a_401(api: ApiClient, header: str) -> None:
    answer = ApiClient(None).call("GET", "access/apps", headers={"Authorization": header})

    assert answer.status == 401


def test_the_legacy_email_and_key_pair_is_a_clear_400(db) -> None:
    answer = ApiClient(None).call(
        "GET",
        "access/apps",
        headers={
            "X-Auth-Email": "ops@example.com",
            "X-Auth-Key": "c2547eb745079dac9320b638f5e225cf",
        },
    )

    assert answer.status == 400
    assert "Authorization: Bearer" in answer.messages[0]


def test_a_revoked_token_is_refused(db) -> None:
    token, secret = make_token("gone")
    api_token_revoke(token=token)

    answer = ApiClient(secret).get("access/apps")

    assert answer.status == 401
    assert "revoked" in answer.messages[0]


def test_an_expired_token_is_refused(db) -> None:
    token, secret = make_token("old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(1))

    assert ApiClient(secret).get("access/apps").status == 401


def test_a_read_only_token_reads_but_cannot_change(read_only_api: ApiClient) -> None:
    assert read_only_api.get("access/apps").status == 200
    for method, path in [
        ("POST", "access/apps"),
        ("PUT", "access/apps/1"),
        ("DELETE", "access/certificates/1"),
        ("POST", "access/apps/1/revoke_tokens"),
        ("PUT", "access/certificates/settings"),
    ]:
        answer = read_only_api.call(method, path, {})
        assert answer.status == 403, (method, path)
        assert "read-only" in answer.messages[0]


def test_only_a_digest_of_the_secret_is_stored_and_its_use_is_recorded(api: ApiClient) -> None:
    token = ApiToken.objects.get(name="edit")
    assert token.secret_sha256 == secret_digest(api.secret)
    assert api.secret not in str(ApiToken.objects.values().get(pk=token.pk))
    assert token.last_used_at is None

    api.get("access/apps")

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_cannot_sign_in_to_the_dashboard(api: ApiClient, client) -> None:
    actor = ApiToken.objects.get(name="edit").actor

    assert actor.username == "api-token:edit"
    assert not actor.is_active and not actor.has_usable_password()


# --- The command line ----------------------------------------------------------------------


def test_api_tokens_add_prints_the_secret_alone_on_stdout(db) -> None:
    out = run_command("api-tokens", "add", "--name", "terraform")

    secret = out.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40}", secret)
    assert ApiClient(secret).get("access/apps").status == 200


def test_api_tokens_add_read_only_makes_a_read_only_token(db) -> None:
    secret = run_command("api-tokens", "add", "--name", "monitoring", "--read-only").strip()

    assert ApiToken.objects.get(name="monitoring").read_only
    assert ApiClient(secret).post("access/policies", {}).status == 403


def test_api_tokens_add_refuses_a_name_taken(db) -> None:
    make_token("terraform")

    assert "already exists" in refusal("api-tokens", "add", "--name", "terraform")


def test_api_tokens_list_shows_name_scope_and_dates(db) -> None:
    make_token("terraform")
    make_token("monitoring", read_only=True)

    out = run_command("api-tokens", "list")

    assert "monitoring\tread\tactive" in out and "terraform\tedit\tactive" in out
    assert "last used never" in out


def test_api_tokens_revoke_refuses_the_token_from_then_on(db) -> None:
    _, secret = make_token("terraform")

    run_command("api-tokens", "revoke", "terraform")

    assert ApiClient(secret).get("access/apps").status == 401
    assert '"status": "revoked"' in run_command("api-tokens", "list", "--json")


def test_api_tokens_revoke_of_an_unknown_name_is_one_line(db) -> None:
    assert "No API token named" in refusal("api-tokens", "revoke", "nobody")


def test_account_prints_the_account_id_alone(db) -> None:
    out = run_command("account")

    assert re.fullmatch(r"[0-9a-f]{32}", out.strip())
    assert out.strip() == Account.objects.current().id == run_command("account").strip()


# --- The dashboard ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, db) -> None:
    response = client.get(reverse(TOKENS))

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_operator_without_permission_cannot_see_the_tokens(client, staff) -> None:
    client.force_login(staff)

    assert client.get(reverse(TOKENS)).status_code == 403


def test_an_operator_with_permission_sees_the_tokens_and_the_account_id(client, staff) -> None:
    make_token("terraform")
    client.force_login(with_perms(staff, "view_apitoken"))

    body = client.get(reverse(TOKENS)).content.decode()

    assert "terraform" in body
    assert Account.objects.current().id in body


def test_adding_a_token_in_the_dashboard_shows_the_secret_once(admin_client) -> None:
    response = admin_client.post(reverse(ADD_TOKEN), {"name": "ci", "read_only": "on"})

    assert response.status_code == 200
    secret = re.search(r'id="api-token-secret">([^<]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(name="ci")
    assert token.read_only and token.secret_sha256 == secret_digest(secret)
    assert "no-store" in response["Cache-Control"]
    assert secret not in admin_client.get(reverse(TOKENS)).content.decode()
    assert ApiClient(secret).get("access/apps").status == 200


def test_a_token_is_revoked_from_the_list(admin_client) -> None:
    token, secret = make_token("ci")

    admin_client.post(reverse(TOKENS), {"action": "revoke_tokens", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.is_revoked()
    assert ApiClient(secret).get("access/apps").status == 401


def test_tokens_are_never_deleted_so_the_history_keeps_their_name(admin_client) -> None:
    token, _ = make_token("ci")

    response = admin_client.get(reverse("admin:api_apitoken_delete", args=[token.pk]))

    assert response.status_code == 403
    assert get_user_model().objects.filter(username="api-token:ci").exists()


def test_the_add_form_refuses_a_past_expiry_next_to_the_field(admin_client) -> None:
    response = admin_client.post(
        reverse(ADD_TOKEN), {"name": "ci", "expires_at_0": "2020-01-01", "expires_at_1": "00:00"}
    )

    assert response.status_code == 200
    assert "The expiry is in the past." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_api_tokens_add_refuses_a_past_expiry(db) -> None:
    assert "in the past" in refusal("api-tokens", "add", "--name", "x", "--expires", "2020-01-01")
