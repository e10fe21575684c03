"""An operator works with Access applications: the application the seed's flow made for a
hostname, with its AUD tag and CA; a second domain with a path; a reusable policy attached on
the application's page; the two policies reordered; Revoke tokens."""

from __future__ import annotations

import re

from apps.policies.models import Application
from tests.browser.pages import (
    field,
    open_access_policies,
    rule_row,
    upload_ca_in_the_dashboard,
)
from tests.factories import certs as certfactory

HOSTNAME = "app.example.com"


def add_policy_in_the_dashboard(page, name: str, *, hostname: str | None, common_name: str):
    """Access Policies → Add access policy: a Non Identity policy with one Include / Common
    Name rule, on ``hostname`` (the seed's flow) or, without one, reusable."""
    open_access_policies(page)
    page.get_by_role("link", name="Add access policy").click()
    field(page, "Name").fill(name)
    if hostname is None:
        field(page, "Reusable").check()
    else:
        field(page, "Hostname").select_option(hostname)
    row = rule_row(page)
    row.locator("select[name$='-type']").select_option(label="Common Name")
    row.locator("input[name$='-value']").fill(common_name)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/policies/accesspolicy/$"))


def rows(page, inline: str):
    """The rows of the application page's ``inline`` table ("domains", "policy_links"), not
    its hidden template row."""
    return page.locator(f"#{inline}-group tbody tr.form-row:not(.empty-form)")


def add_row(page, inline: str):
    """The new row "Add another …" appends to the ``inline`` table."""
    page.locator(f"#{inline}-group").get_by_role("button", name=re.compile("Add another")).click()
    return rows(page, inline).last


def policies_shown(page) -> list[tuple[str, str]]:
    """(policy, precedence) of each row of the Policies table, as the page shows them."""
    return [
        (
            row.locator("select[name$='-policy'] option:checked").inner_text(),
            row.locator("input[name$='-precedence']").input_value(),
        )
        for row in rows(page, "policy_links").all()
    ]


def listing_row(page, name: str):
    """The row of the list on screen whose link is ``name``."""
    return page.locator("#result_list tbody tr", has=page.get_by_role("link", name=name))


def save_and_continue(page) -> None:
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_url(re.compile(r"/admin/policies/application/\d+/change/$"))
    page.locator(".messagelist .success").wait_for()


def test_an_operator_finds_the_application_of_a_hostname_extends_it_and_revokes_its_tokens(
    logged_in_page, screenshot
):
    page = logged_in_page
    ca = certfactory.make_ca("Acme Devices Root")
    upload_ca_in_the_dashboard(page, ca, f"{HOSTNAME}\napi.example.com")
    add_policy_in_the_dashboard(page, "Device 7 only", hostname=HOSTNAME, common_name="device-7")

    # Access Policies → Applications: the seed's flow made the application for the hostname.
    open_access_policies(page, "Applications")
    screenshot("1-applications")
    application = Application.objects.get()
    listed = listing_row(page, HOSTNAME)
    assert listed.locator(".field-domains_list").inner_text() == HOSTNAME
    assert listed.locator(".field-policies_list").inner_text() == "1. Device 7 only"
    assert listed.locator(".field-certificates").inner_text() == f"{HOSTNAME}: Acme devices"
    aud = listed.locator(".field-aud_short code")
    assert aud.get_attribute("title") == application.aud
    assert application.aud.startswith(aud.inner_text().rstrip("…"))

    listed.get_by_role("link", name=HOSTNAME).click()
    page.wait_for_url(re.compile(rf"/admin/policies/application/{application.pk}/change/$"))
    screenshot("2-application")
    assert page.locator(".field-aud .readonly").inner_text() == application.aud
    assert page.locator(".field-certificates .readonly").inner_text() == (
        f"{HOSTNAME}: Acme devices"
    )
    assert page.locator(".field-tokens_revoked .readonly").inner_text() == "never"

    # A second domain, with a path.
    new_domain = add_row(page, "domains")
    new_domain.locator("input[name$='-hostname']").fill("api.example.com")
    new_domain.locator("input[name$='-path_prefix']").fill("/v1")
    screenshot("3-second-domain")
    save_and_continue(page)
    screenshot("4-saved-with-two-domains")
    assert application.domain_list() == ["api.example.com/v1", HOSTNAME]
    assert page.locator(".field-certificates .readonly").inner_text().splitlines() == [
        "api.example.com: Acme devices",
        f"{HOSTNAME}: Acme devices",
    ]

    # A reusable policy enforces nothing until it is attached.
    add_policy_in_the_dashboard(page, "Build agents", hostname=None, common_name="build-agent")
    screenshot("5-reusable-policy-listed")
    assert listing_row(page, "Build agents").locator(".field-target").inner_text() == (
        "attached to no application: enforces nothing"
    )

    open_access_policies(page, "Applications")
    listed.get_by_role("link", name=HOSTNAME).click()
    attached = add_row(page, "policy_links")
    attached.locator("select[name$='-policy']").select_option(label="Build agents")
    attached.locator("input[name$='-precedence']").fill("2")
    screenshot("6-attach-reusable")
    save_and_continue(page)
    assert policies_shown(page) == [("Device 7 only", "1"), ("Build agents", "2")]

    # Swap the two precedences in one save: Build agents is evaluated first.
    first, second = rows(page, "policy_links").all()
    first.locator("input[name$='-precedence']").fill("2")
    second.locator("input[name$='-precedence']").fill("1")
    screenshot("7-swapped")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/policies/application/$"))
    screenshot("8-applications-reordered")
    assert listed.locator(".field-policies_list").inner_text().splitlines() == [
        "1. Build agents",
        "2. Device 7 only",
    ]
    assert list(application.policy_links.values_list("policy__name", "precedence")) == [
        ("Build agents", 1),
        ("Device 7 only", 2),
    ]

    # Revoke tokens, from the application page's object tools, after a confirmation.
    listed.get_by_role("link", name=HOSTNAME).click()
    page.get_by_role("link", name="Revoke tokens").click()
    page.wait_for_url(re.compile(rf"/admin/policies/application/{application.pk}/revoke-tokens/$"))
    screenshot("9-revoke-tokens")
    assert "Every session of app.example.com ends" in page.locator("#content-main").inner_text()
    page.get_by_role("button", name=f"Revoke every token of {HOSTNAME}").click()
    page.wait_for_url(re.compile(rf"/admin/policies/application/{application.pk}/change/$"))
    screenshot("10-tokens-revoked")
    assert page.locator(".messagelist .success").inner_text() == (
        f"Every session of {HOSTNAME} has ended; clients sign in again."
    )
    assert (
        "every session issued before then has ended"
        in page.locator(".field-tokens_revoked .readonly").inner_text()
    )
    application.refresh_from_db()
    assert application.token_generation == 1
