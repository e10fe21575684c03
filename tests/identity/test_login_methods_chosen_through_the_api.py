"""An application's ``allowed_idps``, set through the API, is what its login page offers: with
two login methods in the account and one allowed, a person is sent straight to the allowed one
(the real OpenID provider on loopback), logs in there and reaches the application; the other
method is not offered, even when asked for by name."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from apps.policies.models import Application
from tests.factories.api import ApiClient, make_token
from tests.factories.hosts import HOST
from tests.factories.identity import add_login_method
from tests.identity import idp as test_idp
from tests.identity.browser import Browser

APP = f"http://{HOST}/"
LOGIN = f"/cdn-cgi/access/login/{HOST}?redirect_url=" + quote(APP, safe="")


def allow_only(idp_ids: list[str]) -> dict:
    """PUT the application of HOST with ``allowed_idps``, as a script would; the answer."""
    _, secret = make_token("login-methods")
    application = Application.objects.get()
    answer = ApiClient(secret).put(
        f"access/apps/{application.pk}",
        {"type": "self_hosted", "name": application.name, "domain": HOST, "allowed_idps": idp_ids},
    )
    assert answer.status == 200, answer.body
    return answer.result


def test_the_login_page_offers_only_the_method_the_api_allowed(
    client, second_layer, login_method, idp, device
) -> None:
    other = add_login_method(idp.issuer, "other-client", "other-secret", name="Other IdP")
    both = Browser(idp.issuer, device).open(APP)
    assert both.status == 200 and "Continue with Other IdP" in both.text  # the choice

    made = allow_only([str(login_method.pk)])
    assert made["allowed_idps"] == [str(login_method.pk)]
    assert made["auto_redirect_to_identity"] is True

    browser = Browser(idp.issuer, device)
    at_provider = browser.open(APP)
    assert at_provider.url.startswith(idp.issuer), at_provider.url  # no login page between
    page = browser.log_in_at_idp(at_provider, "ada")
    assert page.status == 200 and page.url == APP, page.text[:1000]
    identity = (
        browser.client(HOST)
        .get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
        .json()
    )
    assert identity["idp"]["name"] == "Test IdP"

    asked = client.get(f"{LOGIN}&{urlencode({'method': other.pk})}")
    assert asked.status_code == 302
    assert f"client_id={test_idp.CLIENT_ID}" in asked["Location"]
    assert "other-client" not in asked["Location"]
