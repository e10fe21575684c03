"""What the browser tests do on the console's pages, as a person would: sign in, find a field
by its label, save an add form and find its row, open the Mutual TLS list or an Access
Policies page, upload a CA."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.factories.certs import Issued


@dataclass(frozen=True)
class Operator:
    """Credentials of a console operator created for one test."""

    username: str
    password: str


def log_in(page, who: Operator) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/admin/")
    page.get_by_label("Username").fill(who.username)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def field(page, label: str):
    """The form control whose label is exactly ``label`` (Django appends a colon)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}:?$"))


def save_and_find_row(page, list_path: str, name: str):
    """Save the add form, land on the list at ``list_path``, told it was added; the list's
    row whose link is ``name``."""
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(list_path)}$"))
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    return page.locator("#result_list tbody tr", has=page.get_by_role("link", name=name))


def open_mutual_tls(page) -> None:
    """From the console's home: Service Auth, then its Mutual TLS tab."""
    page.get_by_role("link", name="Service Auth", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/trust/$"))
    page.locator("#content-main").get_by_role("link", name="Mutual TLS", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/trust/mtlscertificate/$"))


def upload_ca_in_the_dashboard(
    page, ca: Issued, hostnames: str, name: str = "Acme devices"
) -> None:
    """Service Auth → Mutual TLS → Add mTLS Certificate: ``ca`` called ``name``, bound to
    ``hostnames`` (one a line)."""
    open_mutual_tls(page)
    page.get_by_role("link", name="Add mTLS Certificate").click()
    field(page, "Name").fill(name)
    field(page, "Certificate content").fill(ca.pem)
    field(page, "Associated hostnames").fill(hostnames)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/trust/mtlscertificate/$"))


ACCESS_POLICIES_PAGES = {"Access policies": "accesspolicy", "Applications": "application"}


def open_access_policies(page, tab: str = "Access policies") -> None:
    """From the console's home: the Access Policies section, then its ``tab`` list
    ("Access policies" or "Applications")."""
    page.goto("/admin/")
    page.get_by_role("link", name="Access Policies", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/policies/$"))
    page.locator("#content-main a.console-page-name", has_text=tab).click()
    page.wait_for_url(re.compile(rf"/admin/policies/{ACCESS_POLICIES_PAGES[tab]}/$"))


def options(select) -> list[str]:
    """The visible labels of a dropdown, in order."""
    return [text.strip() for text in select.locator("option").all_inner_texts()]


def rule_row(page):
    """The first (pre-filled, required) row of the inline rules table."""
    return page.locator(".inline-related tbody tr.form-row").first
