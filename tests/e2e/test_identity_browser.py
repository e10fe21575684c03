"""The second layer end to end: headless Chromium with a client certificate, through the
shipped nginx configuration, logging in at a real OpenID provider (oidc-provider).

The site (tests/e2e/identity_site.py): the application ``localhost`` and the authentication
hostname ``127.0.0.1``, here both served by ``deploy/nginx/accessctl.conf`` (the middleware).
Screenshots of the login page, the one-time PIN's pages and the refusals land in
test-artifacts/screenshots/identity-*.png, to be looked at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.identity_site import (
    APP,
    AUTH,
    IdentitySite,
    browser_context,
    identity_site,
    log_in,
    screenshot,
    start_nginx,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentitySite]:
    """nginx (accessctl.conf for APP and AUTH) in front of the identity site."""
    with identity_site(tmp_path_factory, "identity-e2e") as running:
        rendered = running.render("accessctl.conf", ACCESSCTL_SERVER_NAME=f"{APP} {AUTH}")
        start_nginx(running, {"accessctl.conf": rendered})
        yield running


def test_with_the_certificate_and_an_allowed_email_the_person_reaches_the_application(
    chromium, site
):
    first = site.stack.https(APP, "/", headers=["Accept: text/html"], port=site.port)
    assert first.status == 302, first
    assert first.headers["location"][0].startswith(f"https://{AUTH}:{site.port}/"), first
    context = browser_context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site.port}/")
    assert page.url.startswith("http://127.0.0.1:"), page.url  # at the provider's login form
    screenshot(page, "provider-login")
    log_in(page, "ada")
    assert page.url == f"https://{APP}:{site.port}/", page.url
    assert "Access granted" in page.content()
    screenshot(page, "granted")
    identity = page.goto(f"https://{APP}:{site.port}/cdn-cgi/access/get-identity").json()
    assert identity["email"] == "ada@example.com"
    # Logout: the login page again on the next visit.
    page.goto(f"https://{APP}:{site.port}/cdn-cgi/access/logout")
    assert "You are signed out" in page.content()
    screenshot(page, "signed-out")
    page.wait_for_timeout(1500)  # every worker reads the logout with its next snapshot
    context.clear_cookies(domain=AUTH)  # the provider's own session would sign ada in again
    page.goto(f"https://{APP}:{site.port}/")
    assert page.locator('input[name="login"]').count() == 1, page.url
    context.close()


def test_without_the_certificate_the_person_is_refused_even_after_logging_in(chromium, site):
    context = browser_context(chromium, site, with_certificate=False)
    page = context.new_page()
    page.goto(f"https://{APP}:{site.port}/")
    log_in(page, "ada")
    assert "A client certificate is required" in page.content()
    screenshot(page, "no-certificate")
    context.close()


def test_with_the_certificate_and_an_email_outside_the_policy_the_account_has_no_access(
    chromium, site
):
    context = browser_context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site.port}/")
    log_in(page, "eve")
    assert "That account does not have access" in page.content()
    screenshot(page, "no-access")
    context.close()


def test_the_login_page_lists_the_methods_when_there_are_several(chromium, site):
    stack = site.stack
    secret = stack.root / "client-secret"
    stack.accessctl(
        "login_methods", "add", "--name", "Second IdP", "--issuer", "https://sso.example.com",
        "--client-id", "other", "--client-secret-file", str(secret),
    )  # fmt: skip
    context = browser_context(chromium, site, with_certificate=True)
    page = context.new_page()
    page.goto(f"https://{APP}:{site.port}/")
    assert "Continue with Test IdP" in page.content()
    screenshot(page, "login-page")
    context.close()
    stack.accessctl("login_methods", "remove", "Second IdP")


def test_a_person_signs_in_with_a_code_mailed_to_them(chromium, site: IdentitySite):
    stack = site.stack
    stack.accessctl("login_methods", "add", "--type", "onetimepin", "--name", "Email")
    try:
        context = browser_context(chromium, site, with_certificate=True)
        page = context.new_page()
        page.goto(f"https://{APP}:{site.port}/?via=pin")
        assert "Continue with Test IdP" in page.content()
        page.fill('input[name="email"]', "ada@example.com")
        screenshot(page, "pin-login-page")
        page.click("text=Email me a code")
        page.wait_for_load_state()
        assert "a code is on its way to <strong>ada@example.com</strong>" in page.content()
        screenshot(page, "pin-code")
        code = site.mailbox.code_for("ada@example.com")
        page.fill('input[name="code"]', f"{(int(code) + 1) % 10**6:06d}")
        page.click('button[type="submit"]')
        page.wait_for_load_state()
        assert "That code is not right. 4 attempts left." in page.content()
        screenshot(page, "pin-wrong-code")
        page.fill('input[name="code"]', code)
        page.click('button[type="submit"]')
        page.wait_for_load_state()
        assert page.url == f"https://{APP}:{site.port}/?via=pin", page.url
        assert "Signed in as <strong>ada@example.com</strong> with Email" in page.content()
        screenshot(page, "pin-granted")
        identity = page.goto(f"https://{APP}:{site.port}/cdn-cgi/access/get-identity").json()
        assert identity["email"] == "ada@example.com"
        assert identity["idp"]["type"] == "onetimepin"
        page.goto(f"https://{AUTH}:{site.port}/cdn-cgi/access/pin")
        assert "No code was asked for in this browser" in page.content()
        screenshot(page, "pin-refused")
        context.close()
    finally:
        stack.accessctl("login_methods", "remove", "Email")
