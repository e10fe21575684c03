"""The Traffic pages in a real browser, filled by real requests to the live server: the access
log (filters, export), the client certificates seen (expiry flags, a certificate's page, its
requests), the expiry banner and the operator's alert preference."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from apps.traffic.recorder import recorder
from tests.browser.pages import log_in
from tests.factories import certs
from tests.factories.hosts import HOST, OTHER
from tests.factories.live import LiveSite
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

DAY = dt.timedelta(days=1)


@pytest.fixture
def traffic(live_server, transactional_db, fresh_gateway, fresh_tokens, root_ca) -> LiveSite:
    """Requests of a few devices (one expiring in 10 days, one in 25), a client without a
    certificate and one from an unknown CA, to HOST; and a CA bundle expiring in 12 days."""
    upload_ca("Fleet", [HOST], root_ca)
    add_policy(HOST)
    short = certs.make_ca("Branch Office Root", not_after=certs.now() + 12 * DAY)
    upload_ca("Branch office", [OTHER], short)
    site = LiveSite(live_server.url, certs.make_leaf(root_ca, "device-7"))
    laptop = certs.make_leaf(root_ca, "laptop-3", not_after=certs.now() + 10 * DAY)
    kiosk = certs.make_leaf(
        root_ca, "kiosk-1", not_after=certs.now() + 25 * DAY, san_dns=("kiosk-1.corp.example",)
    )
    stranger = certs.make_leaf(certs.make_ca("Unknown Root"), "stranger")
    for cert in (site.leaf, site.leaf, laptop, kiosk, kiosk, kiosk):
        assert site.get(cert=cert).status == 200
    assert site.get().status == 403
    assert site.get(cert=stranger).status == 403
    recorder.flush()  # what the worker's thread does every second
    return site


def test_the_access_log_lists_filters_and_exports_every_decision(
    page, operator, traffic, screenshot
):
    log_in(page, operator)
    page.get_by_role("link", name="Traffic", exact=True).click()
    page.locator("#content-main").get_by_role("link", name="Access log", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/traffic/accesslogentry/$"))
    screenshot("access-log")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 8
    assert page.locator(".decision-deny").count() == 2
    page.locator("#changelist-filter").get_by_role("link", name="Deny", exact=True).click()
    page.wait_for_url(re.compile(r"decision__exact=deny"))
    screenshot("access-log-refused")
    assert rows.count() == 2
    reasons = page.locator("#result_list td.field-reason").all_inner_texts()
    assert sorted(reasons) == ["certificate_required", "chain_untrusted"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert [r["decision"] for r in exported] == ["deny", "deny"]


def test_the_client_certificates_seen_with_expiry_flags_and_their_requests(
    page, operator, traffic, screenshot
):
    log_in(page, operator)
    page.goto("/admin/traffic/clientcertificate/")
    screenshot("client-certificates")
    names = page.locator("#result_list td.field-name, #result_list th.field-name").all_inner_texts()
    assert sorted(names) == ["device-7", "kiosk-1", "laptop-3"]  # not the unknown CA's
    assert page.locator("#result_list .expiry-14").inner_text() == "9 days left"
    assert page.locator("#result_list .expiry-30").count() == 1
    page.get_by_role("link", name="kiosk-1").click()
    screenshot("client-certificate")
    assert "kiosk-1.corp.example" in page.locator("#content-main").inner_text()
    assert page.locator(".field-request_count .readonly").inner_text() == "3"
    page.get_by_role("link", name="Requests with this certificate").click()
    page.wait_for_url(re.compile(r"cert_fingerprint="))
    assert page.locator("#result_list tbody tr").count() == 3


def test_the_expiry_banner_and_the_alert_preference(page, operator, traffic, screenshot):
    log_in(page, operator)
    banner = page.locator("ul.expiry-banner")
    screenshot("home-with-expiry-banner")
    assert "Branch office" in banner.inner_text()
    assert "laptop-3" in banner.inner_text()
    page.get_by_role("link", name="Expiry alerts").click()
    page.get_by_label("Email me expiry alerts").check()
    page.get_by_role("button", name="Save").click()
    screenshot("expiry-alerts")
    assert "Expiry alerts by email are on." in page.locator(".messagelist").last.inner_text()
    assert page.get_by_label("Email me expiry alerts").is_checked()
    assert "laptop-3" in page.locator("#expiring-list").inner_text()
