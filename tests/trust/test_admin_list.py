"""The Mutual TLS list: columns, expiry flags, shared hostnames, filters and search."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db

LIST = "admin:trust_mtlscertificate_changelist"


def upload(name, days_left, hostnames=(HOST,)):
    root = f.make_ca(
        f"{name} Root",
        not_before=f.now() - dt.timedelta(days=30),
        not_after=f.now() + dt.timedelta(days=days_left, hours=12),
    )
    bundle = upload_ca(name, hostnames, root)
    return bundle, root


def rows(response):
    """The result rows of the list page, by certificate name."""
    return {str(obj): obj for obj in response.context["cl"].result_list}


def row_html(body, name):
    start = body.index(f">{name}</a></th>")
    return body[start : body.index("</tr>", start)]


def test_the_list_shows_name_hostnames_subject_expiry_fingerprint_and_enabled(admin_client):
    _, root = upload("Acme CA", 200, [HOST, "api.example.com"])
    body = admin_client.get(reverse(LIST)).content.decode()
    row = row_html(body, "Acme CA")
    assert "app.example.com" in row and "api.example.com" in row
    assert "CN=Acme CA Root,O=accessctl tests" in row
    assert "200 days left" in row
    assert root.cert.not_valid_after_utc.strftime("%Y-%m-%d") in row
    short = ":".join(root.fingerprint[i : i + 2] for i in range(0, 16, 2))
    assert f">{short}…</code>" in row
    assert f'title="{root.fingerprint}"' in row
    assert "icon-yes.svg" in row
    for header in ("Name", "Associated hostnames", "Subject", "Expires", "SHA-256 fingerprint"):
        assert f">{header}<" in body
    assert "Add mTLS Certificate" in body


@pytest.mark.parametrize(
    ("days_left", "css", "text"),
    [
        (200, "expiry-ok", "200 days left"),
        (29, "expiry-30", "29 days left"),
        (14, "expiry-30", "14 days left"),
        (13, "expiry-14", "13 days left"),
        (0, "expiry-14", "0 days left"),
    ],
)
def test_expiry_is_flagged_at_30_and_14_days(admin_client, days_left, css, text):
    upload("Flagged", days_left)
    row = row_html(admin_client.get(reverse(LIST)).content.decode(), "Flagged")
    assert f'<span class="expiry-{css.removeprefix("expiry-")}"' in row
    assert text in row


def test_an_expired_certificate_is_flagged_expired(admin_client):
    upload("Lapsed", 3)
    with time_machine.travel(f.now() + dt.timedelta(days=5), tick=False):
        row = row_html(admin_client.get(reverse(LIST)).content.decode(), "Lapsed")
    assert '<span class="expiry-expired"' in row
    assert "expired 1 day ago" in row


def test_a_hostname_bound_to_several_certificates_says_with_which(admin_client):
    upload("Old CA", 20, [HOST, "only-old.example.com"])
    upload("New CA", 300, [HOST])
    body = admin_client.get(reverse(LIST)).content.decode()
    old, new = row_html(body, "Old CA"), row_html(body, "New CA")
    assert 'app.example.com <span class="shared-hostname"' in old
    assert "(shared with: New CA)" in old
    assert "(shared with: Old CA)" in new
    assert "only-old.example.com" in old
    assert 'only-old.example.com <span class="shared-hostname"' not in old  # not shared: no note


def trust_queries(context):
    return len([q for q in context.captured_queries if '"trust_' in q["sql"]])


def test_the_list_costs_the_same_queries_for_many_certificates(admin_client):
    upload("One", 100)
    admin_client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(reverse(LIST))
    for i in range(5):
        upload(f"More {i}", 100, [f"h{i}.example.com", HOST])
    # The console's backend banner asks for the configuration, which the uploads changed: its
    # snapshot is rebuilt on this first request (the gateway's queries, not the list's).
    admin_client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as many:
        admin_client.get(reverse(LIST))
    # Only the trust store's queries: the gateway re-checks its configuration on a timer.
    assert trust_queries(few) > 0
    assert trust_queries(many) == trust_queries(few)


def test_the_hostname_filter_lists_bound_hostnames_and_filters(admin_client):
    upload("A", 100, ["a.example.com", HOST])
    upload("B", 100, ["b.example.com"])
    response = admin_client.get(reverse(LIST))
    assert "?hostname=a.example.com" in response.content.decode()
    assert set(rows(admin_client.get(reverse(LIST), {"hostname": HOST}))) == {"A"}
    assert set(rows(admin_client.get(reverse(LIST), {"hostname": "b.example.com"}))) == {"B"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [("ok", {"Fine"}), ("30", {"Soon"}), ("14", {"Sooner"}), ("expired", set())],
)
def test_the_expiry_filter_selects_by_flag(admin_client, state, expected):
    upload("Fine", 100)
    upload("Soon", 20)
    upload("Sooner", 5)
    assert set(rows(admin_client.get(reverse(LIST), {"expiry": state}))) == expected


@pytest.mark.parametrize(
    "term",
    ["Acme", "API.example", "CN=Acme CA Root", "fingerprint", "FINGERPRINT:COLONS"],
)
def test_search_finds_by_name_hostname_subject_and_fingerprint(admin_client, term):
    _, root = upload("Acme CA", 100, ["api.example.com"])
    upload("Other", 100, ["other.example.com"])
    if term == "fingerprint":
        term = root.fingerprint[:20]
    elif term == "FINGERPRINT:COLONS":
        term = ":".join(root.fingerprint[i : i + 2] for i in range(0, 20, 2)).upper()
    assert set(rows(admin_client.get(reverse(LIST), {"q": term}))) == {"Acme CA"}
