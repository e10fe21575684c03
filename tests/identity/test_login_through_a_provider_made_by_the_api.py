"""A login method made by Cloudflare's SDK through the API is a working login: a person logs in
at the real OpenID provider (oidc-provider on loopback) through it and reaches the
application; a secret changed through the API is the one the next login uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloudflare.resources.zero_trust.identity_providers import IdentityProvidersResource

from apps.api.models import Account
from tests.factories.api import make_token, sdk_client
from tests.factories.hosts import HOST
from tests.factories.identity import add_identity_policy
from tests.identity import idp as test_idp
from tests.identity.browser import Browser

pytestmark = pytest.mark.usefixtures("transactional_db")

APP = f"http://{HOST}/"


@pytest.fixture
def providers(live_server) -> Iterator[IdentityProvidersResource]:
    """The SDK's identity providers, with an edit token; closed at the end."""
    _, token = make_token("sdk-login")
    with sdk_client(live_server.url, token) as cf:
        yield cf.zero_trust.identity_providers


def oidc_config(issuer: str, **fields: object) -> dict[str, object]:
    return {
        "client_id": test_idp.CLIENT_ID,
        "client_secret": test_idp.CLIENT_SECRET,
        "issuer_url": issuer,
        "scopes": ["openid", "email", "groups"],
        "pkce_enabled": True,
        "email_claim_name": "email",
        **fields,
    }


@pytest.fixture
def staff_sso(providers, idp, bound) -> str:
    """A login method "Staff SSO" for the test provider, made by the SDK, and HOST guarded by
    the second layer; its id."""
    created = providers.create(
        account_id=Account.objects.current().id,
        name="Staff SSO",
        type="oidc",
        config=oidc_config(idp.issuer),
    )
    assert created is not None and created.id
    add_identity_policy()
    return created.id


def put(providers, provider_id: str, config: dict[str, object]) -> None:
    account = Account.objects.current().id
    providers.update(provider_id, account_id=account, name="Staff SSO", type="oidc", config=config)


def test_a_person_logs_in_through_a_provider_made_by_the_sdk(staff_sso, idp, device) -> None:
    browser = Browser(idp.issuer, device)
    page = browser.log_in_at_idp(browser.open(APP), "ada")
    assert page.status == 200 and page.url == APP, page.text[:1000]
    identity = (
        browser.client(HOST)
        .get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
        .json()
    )
    assert identity["email"] == "ada@example.com"
    assert identity["idp"] == {"id": staff_sso, "name": "Staff SSO", "type": "oidc"}
    assert identity["groups"] == ["engineers", "staff"]


def test_the_next_login_uses_the_secret_an_update_set(staff_sso, providers, idp, device) -> None:
    put(providers, staff_sso, oidc_config(idp.issuer, client_secret="not-the-providers-secret"))
    refused = Browser(idp.issuer, device)
    page = refused.log_in_at_idp(refused.open(APP), "ada")
    assert page.status == 403  # the provider refused the code exchange: a clear page
    assert "The sign-in could not be verified" in page.text
    assert not refused.cookie(HOST)

    # Without client_secret, a PUT keeps the stored one: send the right one back explicitly.
    put(providers, staff_sso, oidc_config(idp.issuer))
    browser = Browser(idp.issuer, device)
    page = browser.log_in_at_idp(browser.open(APP), "ada")
    assert page.status == 200 and page.url == APP
