"""An operator adds a CRL from the Mutual TLS certificate's page, then revokes a lost laptop
by fingerprint and lifts it again."""

from __future__ import annotations

import re

from apps.revocation.models import CertificateRevocationList, Revocation
from tests.browser.pages import field, open_mutual_tls
from tests.factories import certs as certfactory
from tests.factories.trust import upload_ca

CHANGE_PAGE = re.compile(r"/admin/trust/mtlscertificate/\d+/change/$")


def test_an_operator_adds_a_crl_on_the_mutual_tls_page_and_sees_it_current(
    logged_in_page, screenshot, tmp_path
):
    page = logged_in_page
    root = certfactory.make_ca("Journey Root")
    issuing = certfactory.make_ca("Journey Issuing", issuer=root)
    upload_ca("Journey devices", ["app.example.com"], root, issuing)
    crl = tmp_path / "issuing.crl"
    crl.write_bytes(certfactory.make_crl(issuing, (11, 12, 13)).der)

    open_mutual_tls(page)
    page.get_by_role("link", name="Journey devices").click()
    page.wait_for_url(CHANGE_PAGE)  # count() below does not wait for the page
    panel = page.locator(".revocation-panel")
    assert panel.locator("tbody tr").count() == 2
    screenshot("1-panel-without-crl")
    panel.locator("tr", has_text="Journey Issuing").get_by_role("link", name="Add a CRL").click()
    page.wait_for_url(re.compile(r"/admin/revocation/certificaterevocationlist/add/"))
    assert page.locator("#id_bundle option:checked").inner_text() == "Journey devices"
    page.locator("#id_crl_file").set_input_files(str(crl))
    screenshot("2-add-crl")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/revocation/certificaterevocationlist/$"))
    screenshot("3-crl-list")
    row = page.locator("#result_list tbody tr", has_text="Journey Issuing")
    assert "current" in row.inner_text() and "3" in row.inner_text()
    assert CertificateRevocationList.objects.get().revoked_count == 3

    open_mutual_tls(page)
    page.get_by_role("link", name="Journey devices").click()
    page.wait_for_url(CHANGE_PAGE)
    issuing_row = page.locator(".revocation-panel tr", has_text="Journey Issuing")
    assert "3 revoked" in issuing_row.inner_text()
    screenshot("4-panel-with-crl")


def test_a_crl_of_another_ca_is_refused_next_to_the_file(logged_in_page, screenshot, tmp_path):
    page = logged_in_page
    root = certfactory.make_ca("Journey Root")
    upload_ca("Journey devices", ["app.example.com"], root)
    crl = tmp_path / "stranger.crl"
    crl.write_bytes(certfactory.make_crl(certfactory.make_ca("Stranger CA")).pem)
    page.goto("/admin/revocation/certificaterevocationlist/add/")
    page.locator("#id_bundle").select_option(label="Journey devices")
    page.locator("#id_crl_file").set_input_files(str(crl))
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator(".field-crl_file .errorlist")
    assert "none of this upload's CA certificates" in error.inner_text()
    screenshot("1-refused")
    assert not CertificateRevocationList.objects.exists()


def test_an_operator_revokes_a_lost_laptop_and_lifts_the_revocation(logged_in_page, screenshot):
    page = logged_in_page
    laptop = certfactory.make_leaf(certfactory.make_ca("Journey Root"), "laptop-3")
    page.goto("/admin/revocation/revocation/add/")
    field(page, "Revoke by").select_option(label="SHA-256 fingerprint")
    field(page, "Serial number or fingerprint").fill(
        ":".join(re.findall("..", laptop.fingerprint.upper()))
    )
    field(page, "Why").fill("lost on the train")
    screenshot("1-revoke-form")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/revocation/revocation/$"))
    row = page.locator("#result_list tbody tr", has_text=laptop.fingerprint)
    assert "lost on the train" in row.inner_text() and "operator" in row.inner_text()
    assert "in force" in row.inner_text()
    screenshot("2-revoked-list")

    row.locator("input[type=checkbox]").check()
    page.locator("select[name=action]").select_option(value="lift")
    page.get_by_role("button", name="Go").click()
    page.wait_for_url(re.compile(r"/admin/revocation/revocation/"))
    assert "1 revocation(s) lifted" in page.locator(".messagelist").inner_text()
    screenshot("3-lifted")
    assert Revocation.objects.get().lifted_at is not None
