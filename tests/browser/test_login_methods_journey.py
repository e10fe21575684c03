"""An operator adds a one-time PIN login method under Settings → Login methods: the add page
of OpenID Connect links to it, and its own page asks for a name alone."""

from __future__ import annotations

import re

from apps.identity.models import LoginMethod
from tests.browser.pages import field


def test_an_operator_adds_a_one_time_pin_method_with_a_name_alone(logged_in_page, screenshot):
    page = logged_in_page
    page.goto("/admin/identity/loginmethod/")
    page.get_by_role("link", name="Add login method").click()
    page.wait_for_url(re.compile(r"/admin/identity/loginmethod/add/$"))
    assert field(page, "Issuer URL").count() == 1
    page.get_by_role("link", name="add a One-time PIN method").click()
    page.wait_for_url(re.compile(r"/admin/identity/loginmethod/add/\?type=onetimepin$"))
    assert field(page, "Issuer URL").count() == 0
    assert "accessctl mails a 6-digit code" in page.content()
    field(page, "Name").fill("Email")
    screenshot("1-add-one-time-pin")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/identity/loginmethod/$"))
    screenshot("2-listed")
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name="Email"))
    assert "One-time PIN" in row.inner_text()
    assert row.locator("img[alt=True]").count() == 1  # enabled; no PKCE tick for a PIN
    assert LoginMethod.objects.get().type == "onetimepin"
