"""Login methods and identity policies, made through the identity app's own service."""

from __future__ import annotations

from apps.identity.models import LoginMethod
from apps.identity.services import application_set_login_methods, login_method_create
from apps.policies.models import AccessPolicy, Application
from tests.factories.policies import add_policy

SECOND_LAYER = (
    ("include", "email_domain", "example.com"),
    ("require", "valid_certificate", ""),
)


def add_login_method(
    issuer: str, client_id: str, client_secret: str, **fields: object
) -> LoginMethod:
    """An OpenID Connect login method "Test IdP" for ``issuer`` (discovery), PKCE on."""
    options: dict[str, object] = {"name": "Test IdP", "scopes": "openid email groups"} | fields
    return login_method_create(
        issuer_url=issuer,
        client_id=client_id,
        client_secret=client_secret,
        **options,  # type: ignore[arg-type]
    )


def add_identity_policy(
    rules: tuple[tuple[str, str, str], ...] = SECOND_LAYER, **fields: object
) -> AccessPolicy:
    """Allow — Include: Emails ending in @example.com — Require: Valid Certificate, on HOST
    (bound to a CA first: ``bound``) unless told otherwise."""
    return add_policy(name="people", decision="allow", rules=rules, **fields)


def offering_okta_alone() -> LoginMethod:
    """HOST's application (made by its Allow policy, ``add_identity_policy``; HOST bound to a
    CA first) offers the login method "Okta" alone, while "Google" is enabled too; Okta is
    returned."""
    add_identity_policy()
    okta = add_login_method("https://example.okta.com", "accessctl", "secret", name="Okta")
    add_login_method("https://accounts.google.example", "accessctl", "secret", name="Google")
    application_set_login_methods(application=Application.objects.get(), methods=[okta])
    return okta


def disable(method: LoginMethod) -> None:
    method.enabled = False
    method.save()
