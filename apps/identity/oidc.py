"""OpenID Connect with Authlib: the authorization request and the callback.

Authlib does the protocol: discovery, ``state``, ``nonce``, PKCE (S256), the code exchange,
and the ID token's validation (signature against the provider's JWKS, refetched when a token
names an unknown ``kid``, so a key rotation at the provider needs nothing here; ``iss``,
``aud``, ``exp``, ``nonce``). Nothing here validates a token by hand. A client is made per
login from the stored :class:`~apps.identity.models.LoginMethod`, so a change in the dashboard
applies to the next login.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from django.http import HttpRequest

from apps.identity.models import LoginMethod

# How long a login may take, from the redirect to the provider to its callback.
LOGIN_SECONDS = 600
# Seconds to wait for the provider (discovery, token, keys) before the login fails cleanly.
PROVIDER_TIMEOUT = 10


def client_for(method: LoginMethod) -> DjangoOAuth2App:
    """An Authlib client for ``method`` (reads the encrypted secret)."""
    client_kwargs: dict[str, Any] = {
        "scope": " ".join(method.scope_list()),
        "timeout": PROVIDER_TIMEOUT,
    }
    if method.pkce_enabled:
        client_kwargs["code_challenge_method"] = "S256"
    name = f"login-method-{method.pk}"
    options: dict[str, Any] = {
        "client_id": method.client_id,
        "client_secret": method.client_secret(),
        "client_kwargs": client_kwargs,
    }
    if method.auth_url:
        options |= {
            "authorize_url": method.auth_url,
            "access_token_url": method.token_url,
            "jwks_uri": method.certs_url,
            "issuer": method.issuer_url,
        }
    else:
        options["server_metadata_url"] = method.metadata_url()
    # Authlib's Django glue, with the state data kept for LOGIN_SECONDS only.
    integration = DjangoIntegration(name)
    integration.expires_in = LOGIN_SECONDS
    return DjangoOAuth2App(integration, name=name, **options)


def authorization_redirect(
    request: HttpRequest, method: LoginMethod, callback_url: str
) -> tuple[str, str]:
    """The provider's authorization URL and the ``state`` it carries; the state, nonce and
    PKCE verifier are kept in the session of the authentication hostname."""
    client = client_for(method)
    made = client.create_authorization_url(callback_url)
    client.save_authorize_data(request, redirect_uri=callback_url, **made)
    return str(made["url"]), str(made["state"])


def finish(request: HttpRequest, method: LoginMethod) -> dict[str, Any]:
    """The callback: check the state, exchange the code (with the PKCE verifier), validate the
    ID token (with the nonce) and return its claims. Raises Authlib's errors, or
    ``requests``' when the provider cannot be reached."""
    token = client_for(method).authorize_access_token(request)
    userinfo = token.get("userinfo")
    if not isinstance(userinfo, dict):
        raise MissingIdToken("the provider returned no ID token")
    return dict(userinfo)


class MissingIdToken(Exception):
    """The token response had no ID token (the provider is not an OpenID provider)."""
