"""The inventory of client certificates seen in traffic: one row per distinct verified leaf,
tallied per fingerprint, with its CA, hostnames, counts and expiry; filters, search, Revoke."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.traffic.admin import inventory
from apps.traffic.models import AccessLogEntry, ClientCertificate
from apps.traffic.recorder import Recorder, recorder
from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST, OTHER
from tests.factories.policies import add_policy
from tests.factories.traffic import written
from tests.factories.trust import upload_ca
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

LIST = "admin:traffic_clientcertificate_changelist"
DAYS = dt.timedelta(days=1)


@pytest.fixture
def two_hosts(settings, pki):
    """HOST and OTHER bound to the test PKI's root ("Fleet"), each guarded."""
    upload_ca("Fleet", [HOST, OTHER], pki.root, pki.inter)
    add_policy(HOST)
    add_policy(OTHER, name="other devices")


def test_one_leaf_seen_on_two_hostnames_is_one_row_with_its_counts(client, two_hosts, pki):
    leaf = certs.make_leaf(pki.inter, "laptop-7", san_dns=("laptop-7.corp",), san_emails=("a@b.c",))
    for host in (HOST, HOST, OTHER):
        assert fetch(client, host=host, cert=escaped(leaf)).status_code == 200
    written()
    fetch(client, host=HOST, cert=escaped(leaf))  # a second batch adds to the same row
    written()
    row = ClientCertificate.objects.get()
    assert row.fingerprint_sha256 == leaf.fingerprint
    assert (row.common_name, row.san_dns, row.san_emails) == (
        "laptop-7",
        ["laptop-7.corp"],
        ["a@b.c"],
    )
    assert row.ca is not None and row.ca.name == "Fleet"
    assert row.issuer == pki.inter.cert.subject.rfc4514_string()
    assert row.serial == format(leaf.cert.serial_number, "x")
    assert row.not_after == leaf.cert.not_valid_after_utc
    assert row.request_count == 4
    assert row.first_seen <= row.last_seen
    reached = {h.hostname: h.request_count for h in row.hostnames.all()}
    assert reached == {HOST: 3, OTHER: 1}


def test_two_workers_writing_the_same_leaf_add_up(client, guarded, pki):
    workers = [Recorder(), Recorder()]
    for worker in workers:  # each worker saw one request of the same leaf
        fetch(client, cert=escaped(pki.leaf))
        worker._pending.extend(recorder.take())
    for worker in workers:
        worker.flush()
    assert ClientCertificate.objects.get().request_count == 2


def test_a_batch_costs_the_same_statements_for_three_leaves_or_thirty(client, two_hosts, pki):
    def statements_to_write(count: int, prefix: str) -> int:
        for n in range(count):
            leaf = certs.make_leaf(pki.inter, f"{prefix}-{n}")
            assert fetch(client, cert=escaped(leaf)).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            assert written() == count
        return len(queries)

    assert statements_to_write(3, "small") == statements_to_write(30, "large")
    assert ClientCertificate.objects.count() == 33
    assert set(ClientCertificate.objects.values_list("ca__name", flat=True)) == {"Fleet"}


def test_a_certificate_that_did_not_verify_is_not_inventoried(client, guarded, pki):
    stranger = certs.make_leaf(certs.make_ca("Unknown Root"), "stranger")
    assert fetch(client, cert=escaped(stranger)).status_code == 403
    written()
    assert not ClientCertificate.objects.exists()


def test_a_verified_leaf_a_policy_refused_is_inventoried(client, pki):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy(rules=(("include", "common_name", "someone-else"),))
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 403
    written()
    assert ClientCertificate.objects.get().common_name == "device-1"


def test_leaf_expiry_is_flagged_at_30_and_14_days_and_filtered(admin_client, client, guarded, pki):
    now = certs.now()
    soon = certs.make_leaf(pki.inter, "soon", not_after=now + 10 * DAYS)
    later = certs.make_leaf(pki.inter, "later", not_after=now + 20 * DAYS)
    fine = certs.make_leaf(pki.inter, "fine", not_after=now + 90 * DAYS)
    for leaf in (soon, later, fine):
        fetch(client, cert=escaped(leaf))
    written()
    page = admin_client.get(reverse(LIST)).content.decode()
    assert (
        'class="expiry-14"' in page and 'class="expiry-30"' in page and 'class="expiry-ok"' in page
    )

    def listed(**query: str) -> list[str]:
        return sorted(
            c.common_name for c in admin_client.get(reverse(LIST), query).context["cl"].result_list
        )

    assert listed(expiry="14") == ["soon"]
    assert listed(expiry="30") == ["later"]
    assert listed(expiry="ok") == ["fine"]


def test_search_finds_a_leaf_by_cn_san_or_fingerprint_with_colons(
    admin_client, client, guarded, pki
):
    leaf = certs.make_leaf(pki.inter, "printer-3", san_dns=("printer-3.corp",))
    fetch(client, cert=escaped(leaf))
    fetch(client, cert=escaped(pki.leaf))
    written()

    def found(term: str) -> list[str]:
        return [
            c.common_name
            for c in admin_client.get(reverse(LIST), {"q": term}).context["cl"].result_list
        ]

    colons = ":".join(leaf.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert found("printer") == ["printer-3"]
    assert found("printer-3.corp") == ["printer-3"]
    assert found(colons) == ["printer-3"]
    assert found(HOST) == []  # hostnames are a filter, not a search
    assert [
        c.common_name
        for c in admin_client.get(reverse(LIST), {"hostname": HOST}).context["cl"].result_list
    ]


def test_each_row_links_to_its_requests_and_to_revoke_by_fingerprint(
    admin_client, client, guarded, pki
):
    fetch(client, cert=escaped(pki.leaf))
    written()
    row = ClientCertificate.objects.get()
    detail = admin_client.get(reverse("admin:traffic_clientcertificate_change", args=[row.pk]))
    assert f"cert_fingerprint={row.fingerprint_sha256}" in detail.content.decode()
    assert 'class="revoke-link"' in admin_client.get(reverse(LIST)).content.decode()
    # Revoke opens the revocation page with this certificate's fingerprint filled in.
    form = admin_client.get(inventory.revoke_url(row)).context["adminform"].form
    assert form.initial["kind"] == "fingerprint"
    assert form.initial["value"] == row.fingerprint_sha256


def test_without_a_revocation_page_the_revoke_column_says_so(
    admin_client, client, guarded, pki, monkeypatch
):
    fetch(client, cert=escaped(pki.leaf))
    written()
    monkeypatch.setattr(inventory, "REVOKE_URL_NAME", "admin:no_such_page")
    assert b"revoke-unavailable" in admin_client.get(reverse(LIST)).content


def test_the_inventory_needs_the_view_permission_and_cannot_be_edited(client, staff, admin_client):
    assert client.get(reverse(LIST)).status_code == 302
    client.force_login(staff)
    assert client.get(reverse(LIST)).status_code == 403
    client.force_login(with_perms(staff, "view_clientcertificate"))
    assert client.get(reverse(LIST)).status_code == 200
    assert admin_client.get(reverse("admin:traffic_clientcertificate_add")).status_code == 403


def test_revoking_from_the_inventory_refuses_the_certificate_from_then_on(
    admin_client, client, guarded, pki, django_capture_on_commit_callbacks
):
    fetch(client, cert=escaped(pki.leaf))
    written()
    row = ClientCertificate.objects.get()
    url = inventory.revoke_url(row)
    form = admin_client.get(url).context["adminform"].form
    with django_capture_on_commit_callbacks(execute=True):  # the change reaches the gateway
        posted = admin_client.post(url, {**form.initial, "_save": "Save"})
    assert posted.status_code == 302, posted.content
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 403
    written()
    last = AccessLogEntry.objects.order_by("-time", "-id").first()
    assert (last.decision, last.reason) == ("deny", "certificate_revoked")
