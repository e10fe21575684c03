"""Identity rules through the policies API, in Cloudflare's rule objects (email, email_domain,
everyone, login_method, oidc), through Django's client and through Cloudflare's own SDK."""

from __future__ import annotations

import pytest
from cloudflare import Cloudflare

from apps.api.models import Account
from apps.identity.models import LoginMethod
from apps.policies.models import AccessPolicy
from tests.factories.api import ApiClient
from tests.factories.identity import add_login_method

ISSUER = "https://sso.example.com/realms/staff"


@pytest.fixture
def keycloak(db) -> LoginMethod:
    return add_login_method(ISSUER, "accessctl", "s" * 24, name="Keycloak")


def allow(api: ApiClient, **rules: list[dict]) -> tuple[int, dict]:
    answer = api.post(
        "access/policies", {"name": "People", "decision": "allow", "include": [], **rules}
    )
    return answer.status, answer.body


def test_every_identity_rule_is_taken_and_shown_in_cloudflares_shape(
    api: ApiClient, keycloak: LoginMethod
) -> None:
    method = str(keycloak.pk)
    include = [
        {"email": {"email": "ada@example.com"}},
        {"email_domain": {"domain": "example.com"}},
        {"everyone": {}},
        {"login_method": {"id": method}},
        {"oidc": {"claim_name": "groups", "claim_value": "admins"}},
        {"oidc": {"claim_name": "groups", "claim_value": "ops", "identity_provider_id": method}},
    ]

    status, body = allow(api, include=include, require=[{"certificate": {}}])

    assert status == 200, body
    assert body["result"]["include"] == include
    assert body["result"]["require"] == [{"certificate": {}}]
    stored = AccessPolicy.objects.get().rules.order_by("id").values_list("type", "value")
    assert list(stored)[:6] == [
        ("email", "ada@example.com"),
        ("email_domain", "example.com"),
        ("everyone", ""),
        ("login_method", method),
        ("oidc_claim", "groups=admins"),
        ("oidc_claim", f"{method}|groups=ops"),
    ]


@pytest.mark.parametrize(
    ("include", "words"),
    [
        ([{"login_method": {"id": "999"}}], "not the id of an identity provider"),
        ([{"login_method": {"id": "okta"}}], "not the id of an identity provider"),
        ([{"login_method": {"id": "³"}}], "not the id of an identity provider"),
        ([{"login_method": {"id": "9" * 5000}}], "not the id of an identity provider"),
        (
            [{"oidc": {"claim_name": "424242|groups", "claim_value": "a"}}],
            "is not a claim name",
        ),
        (
            [{"oidc": {"claim_name": "g", "claim_value": "a", "identity_provider_id": "999"}}],
            "not the id of an identity provider",
        ),
        ([{"oidc": {"claim_name": "groups"}}], '"claim_value"'),
        ([{"oidc": {"claim_name": "no spaces", "claim_value": "a"}}], "claim=value"),
        ([{"everyone": {"everyone": "yes"}}], "empty object"),
        ([{"email_domain": {"email_domain": "example.com"}}], '{"domain"'),
        ([{"email_domain": {"domain": "not a domain"}}], "must be a domain"),
        ([{"group": {"id": "admins"}}], "not a rule accessctl has"),
    ],
)
def test_an_identity_rule_accessctl_cannot_hold_is_refused_and_nothing_is_stored(
    api: ApiClient, keycloak: LoginMethod, include: list[dict], words: str
) -> None:
    status, body = allow(api, include=include)

    assert status == 400, body
    assert words in " ".join(e["message"] for e in body["errors"])
    assert not AccessPolicy.objects.exists()


def test_cloudflares_sdk_writes_and_reads_the_second_layer_policy(cf: Cloudflare) -> None:
    account = Account.objects.current().id
    provider = cf.zero_trust.identity_providers.create(
        account_id=account,
        name="Keycloak",
        type="oidc",
        config={"client_id": "accessctl", "client_secret": "s" * 24, "issuer_url": ISSUER},
    )
    assert provider is not None and provider.id

    created = cf.zero_trust.access.policies.create(
        account_id=account,
        name="Staff with a device",
        decision="allow",
        include=[
            {"email_domain": {"domain": "example.com"}},
            {
                "oidc": {
                    "claim_name": "groups",
                    "claim_value": "staff",
                    "identity_provider_id": provider.id,
                }
            },
        ],
        require=[{"certificate": {}}],
        exclude=[{"email": {"email": "eve@example.com"}}],
    )

    assert created is not None
    read = cf.zero_trust.access.policies.get(created.id, account_id=account)
    assert read is not None
    assert read.include[0].email_domain.domain == "example.com"  # type: ignore[union-attr]
    oidc = read.include[1].oidc  # type: ignore[union-attr]
    assert (oidc.claim_name, oidc.claim_value) == ("groups", "staff")
    assert oidc.identity_provider_id == provider.id
    assert read.exclude[0].email.email == "eve@example.com"  # type: ignore[union-attr]
    assert read.require is not None and len(read.require) == 1
    assert read.require[0].certificate is not None  # type: ignore[union-attr]


def test_an_id_with_leading_zeros_is_stored_as_the_id_a_login_compares(
    api: ApiClient, keycloak: LoginMethod
) -> None:
    padded = f"0{keycloak.pk}"
    status, body = allow(
        api,
        include=[{"everyone": {}}],
        exclude=[
            {"login_method": {"id": padded}},
            {"oidc": {"claim_name": "g", "claim_value": "x", "identity_provider_id": padded}},
        ],
    )

    assert status == 200, body
    stored = (
        AccessPolicy.objects.get().rules.filter(group="exclude").values_list("value", flat=True)
    )
    assert sorted(stored) == sorted([str(keycloak.pk), f"{keycloak.pk}|g=x"])
    assert len(keycloak.uses()) == 1  # the policy: its rules name the method
