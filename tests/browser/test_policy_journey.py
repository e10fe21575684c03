"""An operator guards a hostname: uploads a CA, adds a Non Identity policy with a Common Name
rule, then checks two devices in the policy tester."""

from __future__ import annotations

import re

from apps.policies.models import UNBOUND_HOSTNAME, AccessPolicy
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_delete
from tests.browser.pages import (
    field,
    open_access_policies,
    options,
    rule_row,
    upload_ca_in_the_dashboard,
)
from tests.factories import certs as certfactory
from tests.factories.policies import SESSION_DURATION_LABELS
from tests.factories.trust import upload_ca

HOSTNAME = "app.example.com"


def test_an_operator_creates_a_common_name_policy_and_tests_two_devices(logged_in_page, screenshot):
    page = logged_in_page
    ca = certfactory.make_ca("Acme Devices Root")
    upload_ca_in_the_dashboard(page, ca, f"{HOSTNAME}\napi.example.com")

    open_access_policies(page)
    screenshot("1-policies-empty")
    page.get_by_role("link", name="Add access policy").click()
    page.wait_for_url(re.compile(r"/admin/policies/accesspolicy/add/$"))

    # A new policy has no history: its page shows no empty History section.
    assert page.locator("fieldset h2", has_text="History").count() == 0
    field(page, "Name").fill("Device 7 only")
    hostname = field(page, "Hostname")
    # Only hostnames a certificate is associated with can be picked.
    assert options(hostname) == ["---------", "api.example.com", HOSTNAME]
    hostname.select_option(HOSTNAME)
    field(page, "Decision").select_option(label="Non Identity (Service Auth)")
    duration = field(page, "Session duration")
    assert options(duration) == SESSION_DURATION_LABELS
    duration.select_option(label="1 hour")
    row = rule_row(page)
    row.locator("select[name$='-group']").select_option(label="Include")
    row.locator("select[name$='-type']").select_option(label="Common Name")
    row.locator("input[name$='-value']").fill("device-7")
    screenshot("2-policy-form")
    page.get_by_role("button", name="Save", exact=True).click()

    page.wait_for_url(re.compile(r"/admin/policies/accesspolicy/$"))
    screenshot("3-policies-listed")
    assert "was added successfully" in page.locator(".messagelist .success").inner_text()
    listed = page.locator(
        "#result_list tbody tr", has=page.get_by_role("link", name="Device 7 only")
    )
    assert listed.count() == 1
    assert "Include: Common Name is device-7" in listed.locator(".field-rules_summary").inner_text()
    assert listed.locator(".field-session_duration").inner_text().strip() == "1 hour"
    assert "Non Identity" in listed.locator(".field-decision").inner_text()
    stored = AccessPolicy.objects.get(name="Device 7 only")
    # The seed's flow made the application for the hostname, named after it.
    application = stored.links.get().application
    assert (application.name, application.domain_list()) == (HOSTNAME, [HOSTNAME])
    assert (stored.decision, stored.session_seconds) == ("non_identity", 3600)
    assert stored.rules_in_words() == ["Include: Common Name is device-7"]

    # The tester, from the list's object tools.
    page.get_by_role("link", name="Policy tester").click()
    page.wait_for_url(re.compile(r"/admin/policies/accesspolicy/tester/$"))
    screenshot("4-tester")
    device_7 = certfactory.make_leaf(ca, "device-7")
    field(page, "Hostname").select_option(HOSTNAME)
    field(page, "Client certificate (PEM)").fill(device_7.pem)
    page.get_by_role("button", name="Test", exact=True).click()
    verdict = page.locator("#tester-result .decision")
    screenshot("5-tester-allowed")
    assert "allowed" in verdict.inner_text()
    assert "by policy Device 7 only" in verdict.inner_text()
    assert "allowed" in (verdict.get_attribute("class") or "")
    chain = page.locator("#tester-result tr", has=page.locator("th", has_text="Chain"))
    assert chain.locator("td").inner_text().startswith("verified: CN=device-7 → CN=Acme")
    # A certificate without SANs says so rather than leaving the row blank.
    sans = page.locator("#tester-result tr", has=page.locator("th", has_text="SANs"))
    assert sans.locator("td").inner_text().strip() == "—"
    matched = page.locator("#tester-result li.rule.matched")
    assert "Include: Common Name is device-7" in matched.inner_text()

    device_8 = certfactory.make_leaf(ca, "device-8")
    field(page, "Client certificate (PEM)").fill(device_8.pem)
    page.get_by_role("button", name="Test", exact=True).click()
    screenshot("6-tester-denied")
    assert "denied (403)" in verdict.inner_text()
    assert "denied" in (verdict.get_attribute("class") or "")
    failed = page.locator("#tester-result li.rule.not-matched")
    assert failed.count() == 1
    assert "Include: Common Name is device-7" in failed.inner_text()
    assert not page.locator("#tester-result li.rule.matched").count()
    # The hostname picked stays picked between tests.
    assert field(page, "Hostname").input_value() == HOSTNAME


def test_a_policy_on_a_hostname_whose_certificate_was_removed_meanwhile_is_refused_at_the_field(
    logged_in_page, operator, screenshot
):
    page = logged_in_page
    ca = certfactory.make_ca("Acme Devices Root")
    user = MtlsCertificate._meta.get_field("created_by").related_model.objects.get(
        username=operator.username
    )
    bundle = upload_ca("Acme devices", [HOSTNAME], ca, user=user)
    open_access_policies(page)
    page.get_by_role("link", name="Add access policy").click()
    field(page, "Name").fill("Too late")
    field(page, "Hostname").select_option(HOSTNAME)
    row = rule_row(page)
    row.locator("select[name$='-type']").select_option(label="Valid Certificate")

    # Another operator removes the only certificate bound to the hostname before Save.
    certificate_delete(certificate=bundle, user=user)
    page.get_by_role("button", name="Save", exact=True).click()

    screenshot("refused")
    assert page.locator(".errornote").is_visible()
    hostname_row = page.locator(".form-row.field-hostname")
    assert "errors" in (hostname_row.get_attribute("class") or "")
    assert UNBOUND_HOSTNAME in hostname_row.locator("ul.errorlist").inner_text()
    assert not AccessPolicy.objects.exists()
