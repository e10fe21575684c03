"""The access log in the dashboard: every decision (Bypass included) with its fields, the
filters, the exports, and the pages' permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse

from apps.traffic.models import AccessLogEntry
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import ATTACKER, HOST
from tests.factories.policies import add_policy
from tests.factories.traffic import log_entry, written
from tests.factories.trust import upload_ca
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

LIST = "admin:traffic_accesslogentry_changelist"


def _export(fmt: str) -> str:
    return reverse("admin:traffic_accesslogentry_export", args=[fmt])


def test_allowed_and_refused_decisions_are_logged_with_their_fields(client, guarded, pki):
    fetch(client, "/reports?x=1", cert=escaped(pki.leaf), HTTP_X_FORWARDED_FOR="192.0.2.10")
    fetch(client, "/", remote=ATTACKER)  # the header from anyone else is ignored: refused
    assert written() == 2
    allowed, refused = AccessLogEntry.objects.order_by("time", "id")
    assert (allowed.hostname, allowed.path, allowed.method) == (HOST, "/reports", "GET")
    assert (allowed.decision, allowed.reason) == ("allow", "policy_allow")
    assert allowed.policy_name == "devices" and allowed.application_name == HOST
    assert allowed.cert_common_name == "device-1" and allowed.cert_verified
    assert allowed.cert_fingerprint == pki.leaf.fingerprint
    assert allowed.client_ip == "192.0.2.10"
    assert allowed.identity_email == ""
    assert (refused.decision, refused.reason) == ("deny", "certificate_required")
    assert refused.client_ip == ATTACKER and refused.cert_fingerprint == ""
    assert refused.request_id and refused.request_id != allowed.request_id


def test_bypass_decisions_are_logged_unlike_cloudflare(client, pki):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy(decision="bypass", rules=(("include", "valid_certificate", ""),))
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200
    written()
    entry = AccessLogEntry.objects.get()
    assert entry.decision == "bypass"


def test_the_list_is_filtered_by_hostname_decision_reason_certificate_and_time(admin_client):
    log_entry(
        hostname="a.example.com",
        decision="allow",
        reason="policy_allow",
        cert_fingerprint="ab" * 32,
        cert_common_name="laptop-1",
        cert_verified=True,
    )
    log_entry(hostname="b.example.com")
    log_entry(
        hostname="b.example.com",
        age=dt.timedelta(days=3),
        reason="unknown_ca",
        cert_fingerprint="cd" * 32,
        cert_common_name="stranger",
    )

    def listed(**query: str) -> list[str]:
        response = admin_client.get(reverse(LIST), query)
        assert response.status_code == 200
        return sorted(e.hostname + ":" + e.reason for e in response.context["cl"].result_list)

    assert listed(hostname="a.example.com") == ["a.example.com:policy_allow"]
    assert listed(decision__exact="deny") == [
        "b.example.com:certificate_required",
        "b.example.com:unknown_ca",
    ]
    assert listed(reason="unknown_ca") == ["b.example.com:unknown_ca"]
    assert listed(certificate="verified") == ["a.example.com:policy_allow"]
    assert listed(certificate="none") == ["b.example.com:certificate_required"]
    assert listed(cert_fingerprint="cd" * 32) == ["b.example.com:unknown_ca"]
    assert listed(q="laptop-1") == ["a.example.com:policy_allow"]
    assert len(listed(period="24h")) == 2


def test_the_exports_keep_the_filters_and_every_column(admin_client):
    log_entry(hostname="a.example.com", cert_common_name="=HYPERLINK(1)", detail="@evil")
    log_entry(hostname="b.example.com")
    response = admin_client.get(_export("csv"), {"hostname": "a.example.com"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["hostname"] for r in rows] == ["a.example.com"]
    # Nothing a client sent can become a spreadsheet formula.
    assert rows[0]["cert_common_name"] == "'=HYPERLINK(1)" and rows[0]["detail"] == "'@evil"
    response = admin_client.get(_export("json"), {"decision__exact": "deny"})
    entries = json.loads(b"".join(response.streaming_content))
    assert sorted(e["hostname"] for e in entries) == ["a.example.com", "b.example.com"]
    assert {"time", "request_id", "client_ip", "identity_email", "policy_name"} <= set(entries[0])


def test_an_unknown_export_format_is_a_404(admin_client):
    assert admin_client.get(_export("xml")).status_code == 404


def test_the_access_log_needs_the_view_permission(client, staff):
    log_entry()
    assert client.get(reverse(LIST)).status_code == 302  # anonymous: to the login page
    assert client.get(_export("csv")).status_code == 302
    client.force_login(staff)
    assert client.get(reverse(LIST)).status_code == 403
    assert client.get(_export("csv")).status_code == 403
    client.force_login(with_perms(staff, "view_accesslogentry"))
    assert client.get(reverse(LIST)).status_code == 200
    assert client.get(_export("json")).status_code == 200


def test_nobody_adds_changes_or_deletes_a_logged_decision(admin_client):
    entry = log_entry()
    assert admin_client.get(reverse("admin:traffic_accesslogentry_add")).status_code == 403
    page = admin_client.get(reverse("admin:traffic_accesslogentry_change", args=[entry.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    delete = reverse("admin:traffic_accesslogentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()
