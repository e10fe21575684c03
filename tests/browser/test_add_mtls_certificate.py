"""An operator uploads a CA through Service Auth → Mutual TLS → Add mTLS Certificate."""

from __future__ import annotations

import re

from apps.trust.models import MtlsCertificate
from tests.browser.pages import field, open_mutual_tls, save_and_find_row
from tests.factories import certs as certfactory


def test_an_operator_adds_a_ca_chain_and_sees_it_listed_with_its_expiry(logged_in_page, screenshot):
    page = logged_in_page
    root = certfactory.make_ca("Acme Devices Root")
    intermediate = certfactory.make_ca("Acme Devices Issuing", issuer=root)
    screenshot("1-home")

    open_mutual_tls(page)
    screenshot("2-mutual-tls")
    page.get_by_role("link", name="Add mTLS Certificate").click()
    page.wait_for_url(re.compile(r"/admin/trust/mtlscertificate/add/$"))
    field(page, "Name").fill("Acme devices")
    field(page, "Certificate content").fill(certfactory.pem_bundle(root, intermediate))
    field(page, "Associated hostnames").fill("App.Example.com\napi.example.com.")
    screenshot("3-add-form")

    row = save_and_find_row(page, "/admin/trust/mtlscertificate/", "Acme devices")
    screenshot("4-listed")
    assert row.count() == 1
    row_text = row.inner_text()
    assert "app.example.com" in row_text and "api.example.com" in row_text
    # Made yesterday for a year: about 364 days left, flagged as fine.
    expiry = row.locator(".expiry-ok")
    assert re.search(r"36\d days left", expiry.inner_text())
    assert expiry.evaluate("e => getComputedStyle(e).borderRadius") != "0px"

    stored = MtlsCertificate.objects.get(name="Acme devices")
    assert sorted(h.hostname for h in stored.hostnames.all()) == [
        "api.example.com",
        "app.example.com",
    ]
    assert stored.certificates.count() == 2

    # The detail page shows the whole chain it was given.
    row.get_by_role("link", name="Acme devices").click()
    screenshot("5-detail")
    content = page.locator("#content-main").inner_text()
    assert "Acme Devices Root" in content and "Acme Devices Issuing" in content


def test_a_pasted_private_key_is_refused_next_to_the_field_and_never_echoed(
    logged_in_page, screenshot
):
    page = logged_in_page
    root = certfactory.make_ca("Acme Devices Root")
    open_mutual_tls(page)
    page.get_by_role("link", name="Add mTLS Certificate").click()
    field(page, "Name").fill("Leaked key")
    field(page, "Certificate content").fill(root.pem + root.key_pem)
    field(page, "Associated hostnames").fill("app.example.com")
    page.get_by_role("button", name="Save", exact=True).click()

    screenshot("refused")
    assert page.locator(".errornote").is_visible()
    field_row = page.locator(".form-row", has=field(page, "Certificate content"))
    error = field_row.locator("ul.errorlist")
    assert error.is_visible()
    assert "private key" in error.inner_text().lower()
    # The error is drawn as an error: the row is marked and the text is the error colour.
    assert "errors" in (field_row.get_attribute("class") or "")
    assert error.evaluate("e => getComputedStyle(e).color") != page.locator("body").evaluate(
        "e => getComputedStyle(e).color"
    )
    # The key is not sent back to the browser, and nothing was saved.
    assert field(page, "Certificate content").input_value() == ""
    assert "PRIVATE KEY-----" not in page.content()
    assert not MtlsCertificate.objects.exists()
