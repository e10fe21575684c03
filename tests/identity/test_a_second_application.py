"""One login, several applications: the global session on the authentication hostname carries
every claim some application's OIDC claim rules compare, so a second application with other
claim rules is reached without a second login at the provider."""

from __future__ import annotations

import jwt
import pytest

from tests.factories.hosts import HOST
from tests.factories.identity import add_identity_policy, add_login_method
from tests.identity import idp as test_idp
from tests.identity.browser import Browser

pytestmark = pytest.mark.django_db

SECOND = "api.example.com"  # bound to the test root too (the ``bound`` fixture)
FIRST_URL = f"http://{HOST}/"
SECOND_URL = f"http://{SECOND}/"


@pytest.fixture
def org_claims(bound, idp):
    """A login method asking for the provider's ``department`` claim (scope ``org``)."""
    return add_login_method(
        idp.issuer, test_idp.CLIENT_ID, test_idp.CLIENT_SECRET, scopes="openid email groups org"
    )


def _first_application() -> None:
    """HOST: Allow — Include: groups=engineers or groups=contractors — Require: a certificate."""
    add_identity_policy(
        (
            ("include", "oidc_claim", "groups=engineers"),
            ("include", "oidc_claim", "groups=contractors"),
            ("require", "valid_certificate", ""),
        )
    )


def _second_application() -> None:
    """SECOND: Allow — Include: department=research (no certificate needed)."""
    add_identity_policy((("include", "oidc_claim", "department=research"),), hostname=SECOND)


def _at_provider(history: list[str], idp) -> bool:
    return any(url.startswith(idp.issuer) for url in history)


def test_a_second_application_with_other_claim_rules_needs_no_second_login(org_claims, idp, device):
    _first_application()
    _second_application()
    browser = Browser(idp.issuer, device)
    first = browser.log_in_at_idp(browser.open(FIRST_URL), "ada")
    assert first.status == 200 and first.url == FIRST_URL, first.text[:500]

    second = browser.open(SECOND_URL)

    assert second.status == 200, second.text[:500]
    assert second.url == SECOND_URL
    assert not _at_provider(second.history, idp)
    claims = jwt.decode(browser.cookie(SECOND), options={"verify_signature": False})
    assert claims["email"] == "ada@example.com"
    assert claims["custom"]["department"] == ["research"]


def test_a_person_the_second_applications_claims_do_not_allow_is_told_so_without_a_login(
    org_claims, idp, device
):
    _first_application()
    _second_application()
    browser = Browser(idp.issuer, device)
    assert browser.log_in_at_idp(browser.open(FIRST_URL), "bob").status == 200

    second = browser.open(SECOND_URL)

    assert second.status == 403
    assert "That account does not have access" in second.text
    assert not _at_provider(second.history, idp)
    assert not browser.cookie(SECOND)


def test_the_global_session_carries_only_the_claims_some_rule_compares(org_claims, idp, device):
    _first_application()
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(FIRST_URL), "ada")

    org = jwt.decode(browser.cookie("testserver"), options={"verify_signature": False})

    # groups (the login method's groups claim) always; department: no rule compares it yet.
    assert org["groups"] == ["engineers", "staff"]
    assert "department" not in org.get("custom", {})


def test_a_claim_rule_added_after_the_login_asks_the_provider_again(org_claims, idp, device):
    _first_application()
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(FIRST_URL), "ada")
    _second_application()  # its rule names a claim the global session does not carry

    second = browser.open(SECOND_URL)
    if second.url.startswith(idp.issuer):  # the provider may ask to confirm
        second = browser.log_in_at_idp(second, "ada")

    assert _at_provider(second.history, idp)
    assert second.status == 200 and second.url == SECOND_URL, second.text[:500]
