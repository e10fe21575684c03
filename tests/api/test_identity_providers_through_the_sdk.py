"""Cloudflare's own Python SDK manages login methods as identity providers:
``client.zero_trust.identity_providers`` create, list, get, update and delete against
accessctl's API on a live server, as an operator's script would."""

from __future__ import annotations

import cloudflare
import pytest
from cloudflare import Cloudflare

from apps.api.models import Account
from apps.identity.models import LoginMethod

pytestmark = pytest.mark.usefixtures("transactional_db")

SECRET = "sdk-client-secret-" + "z" * 16
ISSUER = "https://sso.example.com/realms/staff"


def test_an_operators_script_manages_identity_providers_through_the_sdk(cf: Cloudflare) -> None:
    providers = cf.zero_trust.identity_providers
    account = Account.objects.current().id

    created = providers.create(
        account_id=account,
        name="Keycloak",
        type="oidc",
        config={
            "client_id": "accessctl",
            "client_secret": SECRET,
            "scopes": ["openid", "email"],
            "pkce_enabled": True,
            "email_claim_name": "email",
            "issuer_url": ISSUER,  # accessctl's own key: sent as Cloudflare's SDK sends any
        },
    )
    assert created is not None and created.id and created.name == "Keycloak"
    assert created.type == "oidc"
    assert created.config.client_id == "accessctl"  # type: ignore[union-attr]
    assert created.config.scopes == ["openid", "email"]  # type: ignore[union-attr]
    assert created.config.client_secret is None  # type: ignore[union-attr]
    assert LoginMethod.objects.get().client_secret() == SECRET

    listed = list(providers.list(account_id=account))
    assert [p.id for p in listed] == [created.id]

    got = providers.get(created.id, account_id=account)
    assert got is not None and got.name == "Keycloak"

    updated = providers.update(
        created.id,
        account_id=account,
        name="Keycloak (staff)",
        type="oidc",
        config={"client_id": "accessctl-2", "scopes": ["openid", "email", "groups"]},
    )
    assert updated is not None and updated.name == "Keycloak (staff)"
    assert updated.config.client_id == "accessctl-2"  # type: ignore[union-attr]
    method = LoginMethod.objects.get()
    assert (method.issuer_url, method.client_secret()) == (ISSUER, SECRET)  # kept

    with pytest.raises(cloudflare.BadRequestError) as refused:
        providers.create(
            account_id=account,
            name="No issuer",
            type="oidc",
            config={"client_id": "x", "client_secret": "y", "auth_url": "https://x.example"},
        )
    assert "config.issuer_url" in str(refused.value.body)
    assert LoginMethod.objects.count() == 1

    deleted = providers.delete(created.id, account_id=account)
    assert deleted is not None and deleted.id == created.id
    assert not LoginMethod.objects.exists()
    with pytest.raises(cloudflare.NotFoundError):
        providers.get(created.id, account_id=account)


def test_a_read_only_token_gets_permission_denied_from_the_sdk(read_only_cf: Cloudflare) -> None:
    providers = read_only_cf.zero_trust.identity_providers
    account = Account.objects.current().id
    assert list(providers.list(account_id=account)) == []
    with pytest.raises(cloudflare.PermissionDeniedError):
        providers.create(
            account_id=account,
            name="Refused",
            type="oidc",
            config={"client_id": "x", "client_secret": "y", "issuer_url": ISSUER},
        )
    assert not LoginMethod.objects.exists()


def test_the_sdk_adds_a_one_time_pin_provider_with_an_empty_config(cf: Cloudflare) -> None:
    providers = cf.zero_trust.identity_providers
    account = Account.objects.current().id

    created = providers.create(account_id=account, name="Email", type="onetimepin", config={})

    assert created is not None and created.type == "onetimepin" and created.name == "Email"
    assert LoginMethod.objects.get(pk=created.id).is_one_time_pin
    got = providers.get(created.id, account_id=account)
    assert got is not None and got.type == "onetimepin"
