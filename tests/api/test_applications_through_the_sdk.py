"""Cloudflare's own Python SDK makes an application that offers chosen login methods:
``client.zero_trust.access.applications`` create with ``allowed_idps`` and
``auto_redirect_to_identity``, get, update, against accessctl's API on a live server."""

from __future__ import annotations

import cloudflare
import pytest
from cloudflare import Cloudflare

from apps.api.models import Account
from apps.identity.models import LoginMethod
from apps.policies.models import Application
from tests.factories.hosts import HOST

pytestmark = pytest.mark.usefixtures("transactional_db")

ISSUER = "https://sso.example.com/realms/staff"


def provider(cf: Cloudflare, name: str) -> str:
    """An identity provider made through the SDK too; its id."""
    created = cf.zero_trust.identity_providers.create(
        account_id=Account.objects.current().id,
        name=name,
        type="oidc",
        config={"client_id": "accessctl", "client_secret": "s" * 20, "issuer_url": ISSUER},
    )
    assert created is not None and created.id
    return created.id


def test_an_operators_script_chooses_an_applications_identity_providers(
    cf: Cloudflare, bound
) -> None:
    apps = cf.zero_trust.access.applications
    account = Account.objects.current().id
    keycloak, okta = provider(cf, "Keycloak"), provider(cf, "Okta")

    created = apps.create(
        account_id=account,
        type="self_hosted",
        name="Portal",
        domain=HOST,
        allowed_idps=[okta],
        auto_redirect_to_identity=True,
    )
    assert created is not None and created.id
    assert created.allowed_idps == [okta]  # type: ignore[union-attr]
    assert created.auto_redirect_to_identity is True  # type: ignore[union-attr]

    got = apps.get(created.id, account_id=account)
    assert got is not None
    assert got.allowed_idps == [okta]  # type: ignore[union-attr]
    application = Application.objects.get(pk=created.id)
    assert [m.name for m in LoginMethod.objects.offered_by(application)] == ["Okta"]

    updated = apps.update(
        created.id,
        account_id=account,
        type="self_hosted",
        name="Portal",
        domain=HOST,
        allowed_idps=[keycloak, okta],
    )
    assert updated is not None
    assert updated.allowed_idps == [keycloak, okta]  # type: ignore[union-attr]
    assert updated.auto_redirect_to_identity is False  # type: ignore[union-attr]

    with pytest.raises(cloudflare.BadRequestError) as refused:
        apps.update(
            created.id,
            account_id=account,
            type="self_hosted",
            name="Portal",
            domain=HOST,
            allowed_idps=[okta, "0b5e7c1e-unknown"],
        )
    assert "allowed_idps.2" in str(refused.value.body)
    got = apps.get(created.id, account_id=account)
    assert got is not None and got.allowed_idps == [keycloak, okta]  # type: ignore[union-attr]


def test_a_read_only_token_cannot_choose_them_through_the_sdk(
    read_only_cf: Cloudflare, bound
) -> None:
    with pytest.raises(cloudflare.PermissionDeniedError):
        read_only_cf.zero_trust.access.applications.create(
            account_id=Account.objects.current().id,
            type="self_hosted",
            name="Portal",
            domain=HOST,
            allowed_idps=["1"],
        )
    assert not Application.objects.exists()
