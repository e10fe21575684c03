"""An operator adds a one-time PIN login method under Settings → Login methods: the add page
of OpenID Connect links to it, and its own page asks for a name alone."""

from __future__ import annotations

import re

from apps.identity.models import LoginMethod
from tests.browser.pages import field, save_and_find_row


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
    row = save_and_find_row(page, "/admin/identity/loginmethod/", "Email")
    screenshot("2-listed")
    assert "One-time PIN" in row.inner_text()
    assert row.locator("img[alt=True]").count() == 1  # enabled; no PKCE tick for a PIN
    assert LoginMethod.objects.get().type == "onetimepin"
