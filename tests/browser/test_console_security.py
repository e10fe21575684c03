"""The console in a real browser under its Content-Security-Policy: no page breaks a rule (no
inline script or style anywhere), the security headers are on every page, and an operator's
first sign-in sets up the second factor end to end."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.console.middleware import CONTENT_SECURITY_POLICY
from tests.browser.pages import log_in
from tests.factories.users import current_code

# Every violation the page reports, collected before any script of the page runs.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
CONSOLE_PAGES = [
    "/admin/",
    "/admin/trust/mtlscertificate/",
    "/admin/trust/mtlscertificate/add/",
    "/admin/policies/application/",
    "/admin/policies/application/add/",
    "/admin/policies/accesspolicy/",
    "/admin/policies/accesspolicy/add/",
    "/admin/policies/accesspolicy/tester/",
    "/admin/tokens/signingkey/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/password_change/",
    "/admin/second-factor/",
]


@pytest.fixture
def watched(page):
    """The tab, with CSP violations and console errors recorded (``page.csp_messages``)."""
    messages: list[str] = []
    page.on(
        "console",
        lambda msg: messages.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(LISTEN)
    page.csp_messages = messages
    return page


def violations(page) -> list[str]:
    return [*page.evaluate("window.__violations"), *page.csp_messages]


def test_the_login_page_carries_the_security_headers(watched, screenshot):
    response = watched.goto("/admin/login/")
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    screenshot("login")
    assert violations(watched) == []


def test_no_console_page_breaks_the_content_security_policy(watched, operator, screenshot):
    log_in(watched, operator)
    for url in CONSOLE_PAGES:
        response = watched.goto(url)
        assert response.status == 200, url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        watched.wait_for_load_state("networkidle")
        assert violations(watched) == [], url
    watched.goto("/admin/policies/application/add/")
    # The admin's own scripts run: "Add another Domain" adds a row.
    rows = watched.locator("#domains-group tbody tr.form-row:not(.empty-form)")
    before = rows.count()
    watched.locator("#domains-group").get_by_role("button", name=re.compile("Add another")).click()
    assert rows.count() == before + 1
    screenshot("application-add")
    assert violations(watched) == []


def test_the_first_sign_in_sets_up_the_second_factor(watched, operator, settings, screenshot):
    settings.ACCESSCTL_REQUIRE_2FA = True
    watched.goto("/admin/")
    watched.get_by_label("Username").fill(operator.username)
    watched.get_by_label("Password").fill(operator.password)
    watched.get_by_role("button", name="Log in").click()
    watched.wait_for_url(re.compile(r"/admin/second-factor/$"))
    assert watched.locator(".second-factor-qr svg").is_visible()
    screenshot("second-factor")
    device = TOTPDevice.objects.get(user__username=operator.username)
    watched.get_by_label("Code from the app").fill(current_code(device))
    watched.get_by_role("button", name="Confirm").click()
    codes = watched.locator("#recovery-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    screenshot("recovery-codes")
    watched.get_by_role("link", name="Continue to the console").click()
    watched.wait_for_url(re.compile(r"/admin/$"))
    assert watched.get_by_role("heading", name="Service Auth").is_visible()
    assert violations(watched) == []
