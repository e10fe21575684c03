"""An operator adds a one-time PIN login method under Settings → Login methods: the add page
of OpenID Connect links to it, and its own page asks for a name alone. Disabling the only
method an application chose puts a banner up that leads to the application."""

from __future__ import annotations

import re

from apps.identity.models import LoginMethod
from apps.policies.models import Application
from tests.browser.pages import field, save_and_find_row
from tests.factories.hosts import HOST
from tests.factories.identity import offering_okta_alone
from tests.factories.trust import upload_ca


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


def test_disabling_the_only_method_an_application_chose_puts_a_banner_up(
    logged_in_page, screenshot, root_ca
):
    upload_ca("Fleet", [HOST], root_ca)
    okta = offering_okta_alone()
    application = Application.objects.get()
    page = logged_in_page
    page.goto(f"/admin/identity/loginmethod/{okta.pk}/change/")
    assert page.locator(".login-banner").count() == 0
    field(page, "Enabled").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/identity/loginmethod/$"))
    banner = page.locator(".login-banner")
    assert "No login method:" in banner.inner_text()
    assert "its login page refuses everyone" in banner.inner_text()
    screenshot("3-no-login-method-banner")
    banner.get_by_role("link", name=application.name).click()
    page.wait_for_url(re.compile(rf"/admin/policies/application/{application.pk}/change/$"))
    screenshot("4-the-application")
