"""``access/identity_providers``: login methods in Cloudflare's shape (type "oidc", and
"onetimepin" with an empty config), the client secret write-only, accessctl's issuer_url
required, what cannot be used refused in the envelope with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry

from apps.api.envelope import CODE_CONFLICT, CODE_INVALID_REQUEST
from apps.api.models import ApiToken
from apps.identity.models import LoginMethod
from apps.identity.services import application_set_login_methods
from apps.policies.models import Application
from tests.factories.api import ApiClient
from tests.factories.identity import add_identity_policy

PATH = "access/identity_providers"
SECRET = "the-client-secret-" + "q" * 16
ISSUER = "https://sso.example.com/realms/staff"


def provider(**config: Any) -> dict[str, Any]:
    """A generic OpenID Connect provider as a Cloudflare script sends it."""
    return {
        "name": "Keycloak",
        "type": "oidc",
        "config": {
            "client_id": "accessctl",
            "client_secret": SECRET,
            "issuer_url": ISSUER,
            "scopes": ["openid", "email", "groups"],
            "pkce_enabled": True,
            "email_claim_name": "email",
            **config,
        },
    }


def create(api: ApiClient, **config: Any) -> dict[str, Any]:
    answer = api.post(PATH, provider(**config))
    assert answer.status == 200, answer.body
    return answer.result


def assert_refused(answer: Any, *fragments: str) -> None:
    assert answer.status == 400, answer.body
    assert answer.body["success"] is False
    assert all(error["code"] == CODE_INVALID_REQUEST for error in answer.body["errors"])
    text = " ".join(answer.messages)
    for fragment in fragments:
        assert fragment in text, text


def test_a_provider_is_created_in_cloudflares_shape_and_its_secret_is_never_returned(
    api: ApiClient, db
) -> None:
    created = create(api)
    assert created["type"] == "oidc" and created["name"] == "Keycloak"
    assert created["enabled"] is True
    assert created["config"] == {
        "issuer_url": ISSUER,
        "auth_url": None,
        "token_url": None,
        "certs_url": None,
        "client_id": "accessctl",
        "scopes": ["openid", "email", "groups"],
        "pkce_enabled": True,
        "email_claim_name": "email",
        "groups_claim_name": "groups",
        "claims": [],
    }
    method = LoginMethod.objects.get(pk=created["id"])
    assert method.client_secret() == SECRET and method.scopes == "openid email groups"
    for answer in (
        api.get(PATH),
        api.get(f"{PATH}/{created['id']}"),
        api.put(f"{PATH}/{created['id']}", provider()),
    ):
        assert answer.status == 200
        assert SECRET not in str(answer.body) and "client_secret" not in str(answer.body)


def test_explicit_urls_replace_discovery(api: ApiClient, db) -> None:
    urls = {
        "auth_url": "https://sso.example.com/auth",
        "token_url": "https://sso.example.com/token",
        "certs_url": "https://sso.example.com/certs",
    }
    created = create(api, **urls)
    assert {k: created["config"][k] for k in urls} == urls
    assert LoginMethod.objects.get().auth_url == urls["auth_url"]


def test_defaults_fill_what_a_script_leaves_out(api: ApiClient, db) -> None:
    body = {
        "name": "Minimal",
        "type": "oidc",
        "config": {"client_id": "c", "client_secret": "s", "issuer_url": ISSUER},
    }
    config = api.post(PATH, body).result["config"]
    assert config["scopes"] == ["openid", "email", "profile"]
    assert config["pkce_enabled"] is True
    assert config["email_claim_name"] == "email"


def test_without_an_issuer_url_it_is_refused_saying_why(api: ApiClient, db) -> None:
    answer = api.post(PATH, provider(issuer_url=None))
    assert_refused(answer, "config.issuer_url: accessctl needs the provider's issuer URL")
    assert not LoginMethod.objects.exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**provider(), "type": "github"}, "type: accessctl serves OpenID Connect"),
        (
            {"name": "PIN", "type": "onetimepin", "config": {"client_id": "x"}},
            "config.client_id: a one-time PIN identity provider has no settings",
        ),
        (provider(claims=["department"]), "config.claims: accessctl passes no custom claims"),
        (provider(prompt="login"), "config.prompt: not supported"),
        ({**provider(), "scim_config": {"enabled": True}}, "scim_config.enabled"),
        (provider(scopes=["openid email"]), "config.scopes: each scope is one word"),
        (provider(auth_url="https://sso.example.com/auth"), "config.token_url: Give the"),
        (provider(issuer_url="not a url"), "config.issuer_url: Enter a valid URL"),
        (provider(client_secret=None), "config.client_secret: A client secret is required"),
        (provider(email_claim_name="e mail"), "config.email_claim_name: A claim name"),
        ({**provider(), "name": ""}, "name: This field cannot be blank"),
        ({"name": "No config", "type": "oidc"}, "config: Field required"),
    ],
)
def test_what_cannot_be_used_is_refused_and_nothing_is_written(
    api: ApiClient, db, body: dict[str, Any], fragment: str
) -> None:
    assert_refused(api.post(PATH, body), fragment)
    assert not LoginMethod.objects.exists()


def test_unset_fields_of_other_provider_types_are_accepted(api: ApiClient, db) -> None:
    created = create(api, okta_account=None, apps_domain="", support_groups=False, claims=[])
    assert created["config"]["claims"] == []


def test_a_second_provider_with_the_same_name_is_refused(api: ApiClient, db) -> None:
    create(api)
    assert_refused(api.post(PATH, provider()), "name: ")
    assert LoginMethod.objects.count() == 1


def test_a_put_replaces_cloudflares_fields_and_keeps_the_secret_and_accessctls_own(
    api: ApiClient, db
) -> None:
    created = create(api, groups_claim_name="roles")
    body = {
        "name": "Renamed",
        "type": "oidc",
        "config": {"client_id": "other-client", "scopes": ["openid", "email"]},
    }
    updated = api.put(f"{PATH}/{created['id']}", body).result
    assert updated["name"] == "Renamed"
    assert updated["config"]["client_id"] == "other-client"
    assert updated["config"]["scopes"] == ["openid", "email"]
    assert updated["config"]["issuer_url"] == ISSUER  # accessctl's own: kept
    assert updated["config"]["groups_claim_name"] == "roles"
    method = LoginMethod.objects.get()
    assert method.client_secret() == SECRET
    body["config"]["client_secret"] = "a-new-secret"
    api.put(f"{PATH}/{created['id']}", body)
    method.refresh_from_db()
    assert method.client_secret() == "a-new-secret"


def test_enabled_is_kept_by_a_put_that_leaves_it_out(api: ApiClient, db) -> None:
    created = create(api)
    assert (
        api.put(f"{PATH}/{created['id']}", {**provider(), "enabled": False}).result["enabled"]
        is False
    )
    assert api.put(f"{PATH}/{created['id']}", provider()).result["enabled"] is False
    assert LoginMethod.objects.get().enabled is False
    assert api.put(f"{PATH}/{created['id']}", {**provider(), "enabled": True}).result["enabled"]


def test_a_method_restored_without_its_secret_is_completed_and_enabled_by_a_put(
    api: ApiClient, db
) -> None:
    # What `accessctl import` restores from a file made --without-secrets.
    restored = LoginMethod.objects.create(
        name="Keycloak", issuer_url=ISSUER, client_id="accessctl", enabled=False
    )
    no_secret = provider(client_secret=None)
    answer = api.put(f"{PATH}/{restored.pk}", {**no_secret, "enabled": True})
    assert_refused(answer, "config.client_secret: A client secret is required")
    answer = api.put(f"{PATH}/{restored.pk}", {**provider(), "enabled": True})
    assert answer.result["enabled"] is True
    restored.refresh_from_db()
    assert restored.enabled and restored.client_secret() == SECRET


def test_a_refused_put_changes_nothing(api: ApiClient, db) -> None:
    created = create(api)
    answer = api.put(
        f"{PATH}/{created['id']}", provider(client_id="changed", auth_url="https://x.example.com")
    )
    assert_refused(answer, "config.token_url")
    assert api.get(f"{PATH}/{created['id']}").result == created
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 0


def test_the_list_pages_through_every_provider_and_scim_enabled_lists_none(
    api: ApiClient, db
) -> None:
    for n in range(3):
        api.post(PATH, {**provider(), "name": f"IdP {n}"})
    first = api.get(PATH, per_page=2)
    second = api.get(PATH, per_page=2, page=2)
    names = [p["name"] for p in first.result + second.result]
    assert names == ["IdP 0", "IdP 1", "IdP 2"]
    assert first.body["result_info"]["total_count"] == 3
    assert api.get(PATH, scim_enabled="true").result == []


def test_an_unused_provider_is_deleted(api: ApiClient, db) -> None:
    created = create(api)
    answer = api.delete(f"{PATH}/{created['id']}")
    assert answer.result == {"id": created["id"]}
    assert not LoginMethod.objects.exists()
    assert api.get(f"{PATH}/{created['id']}").status == 404


def test_a_provider_an_application_offers_is_a_conflict_and_stays(
    api: ApiClient, bound, fresh_gateway
) -> None:
    created = create(api)
    add_identity_policy()
    method = LoginMethod.objects.get()
    application_set_login_methods(application=Application.objects.get(), methods=[method])
    answer = api.delete(f"{PATH}/{created['id']}")
    assert answer.status == 409
    assert answer.body["errors"][0]["code"] == CODE_CONFLICT
    assert "in use by application 'app.example.com'" in answer.messages[0]
    assert LoginMethod.objects.filter(pk=method.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_an_unknown_provider_id_is_a_404(api: ApiClient, db) -> None:
    for provider_id in ["999", "abc", "1" * 40]:
        assert api.get(f"{PATH}/{provider_id}").status == 404
        assert api.put(f"{PATH}/{provider_id}", provider()).status == 404
        assert api.delete(f"{PATH}/{provider_id}").status == 404


def test_a_read_only_token_lists_and_gets_but_cannot_change(
    api: ApiClient, read_only_api: ApiClient
) -> None:
    created = create(api)
    assert read_only_api.get(PATH).result[0]["id"] == created["id"]
    assert read_only_api.get(f"{PATH}/{created['id']}").status == 200
    assert read_only_api.post(PATH, {**provider(), "name": "Other"}).status == 403
    assert read_only_api.put(f"{PATH}/{created['id']}", provider(client_id="x")).status == 403
    assert read_only_api.delete(f"{PATH}/{created['id']}").status == 403
    assert LoginMethod.objects.get().client_id == "accessctl"


def test_every_change_is_in_the_dashboards_history_naming_the_token(api: ApiClient, db) -> None:
    created = create(api)
    api.put(f"{PATH}/{created['id']}", provider(client_id="changed"))
    api.delete(f"{PATH}/{created['id']}")
    actor = ApiToken.objects.get(name="edit").actor
    entries = LogEntry.objects.filter(object_id=created["id"]).order_by("pk")
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE, DELETION]
    assert {e.user_id for e in entries} == {actor.pk}
    assert all("API token 'edit'" in e.change_message for e in entries)


def test_a_one_time_pin_provider_has_an_empty_config_as_in_cloudflare(api: ApiClient, db) -> None:
    answer = api.post(PATH, {"name": "Email", "type": "onetimepin", "config": {}})

    assert answer.status == 200, answer.body
    pin = answer.result
    assert pin == {
        "id": pin["id"],
        "name": "Email",
        "type": "onetimepin",
        "config": {},
        "enabled": True,
    }
    assert LoginMethod.objects.get(pk=pin["id"]).is_one_time_pin
    oidc = create(api)
    listed = {p["id"]: p["type"] for p in api.get(PATH).result}
    assert listed == {pin["id"]: "onetimepin", oidc["id"]: "oidc"}


def test_a_put_renames_a_one_time_pin_provider_but_never_changes_a_type(api: ApiClient, db) -> None:
    pin = api.post(PATH, {"name": "Email", "type": "onetimepin", "config": {}}).result
    oidc = create(api)

    renamed = api.put(
        f"{PATH}/{pin['id']}",
        {"name": "Mail me", "type": "onetimepin", "config": {}, "enabled": False},
    )
    assert renamed.status == 200, renamed.body
    assert (renamed.result["name"], renamed.result["enabled"]) == ("Mail me", False)
    assert_refused(
        api.put(f"{PATH}/{pin['id']}", provider()), "type: a login method's type cannot change"
    )
    assert_refused(
        api.put(f"{PATH}/{oidc['id']}", {"name": "x", "type": "onetimepin", "config": {}}),
        "type: a login method's type cannot change",
    )
    assert LoginMethod.objects.get(pk=pin["id"]).is_one_time_pin
    assert LoginMethod.objects.get(pk=oidc["id"]).type == "oidc"
