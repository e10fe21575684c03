"""A CA alone enforces nothing: the Mutual TLS pages say which hostnames no policy guards."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.policies.models import AccessPolicy
from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db

LIST = "admin:trust_mtlscertificate_changelist"
MARK = '<span class="not-enforced-host"'
OTHER = "api.example.com"


@pytest.fixture
def bundle():
    root = f.make_ca("Fleet Root")
    return upload_ca("Fleet", [HOST, OTHER], root)


def hostnames_cell(admin_client) -> str:
    body = admin_client.get(reverse(LIST)).content.decode()
    start = body.index('<td class="field-associated_hostnames">')
    return body[start : body.index("</td>", start)]


def marked(cell: str, hostname: str) -> bool:
    line = next(part for part in cell.split("<br>") if hostname in part)
    return MARK in line


def test_without_any_policy_every_hostname_is_marked_not_enforced(admin_client, bundle):
    cell = hostnames_cell(admin_client)
    assert marked(cell, HOST) and marked(cell, OTHER)
    assert "(not enforced: no policy)" in cell


def test_a_hostname_with_an_enabled_policy_loses_the_mark(admin_client, bundle):
    add_policy()
    cell = hostnames_cell(admin_client)
    assert not marked(cell, HOST)
    assert marked(cell, OTHER)


def test_a_disabled_policy_does_not_count(admin_client, bundle):
    add_policy(enabled=False)
    assert marked(hostnames_cell(admin_client), HOST)
    AccessPolicy.objects.update(enabled=True)
    assert not marked(hostnames_cell(admin_client), HOST)


def test_the_detail_page_marks_them_too(admin_client, bundle):
    body = admin_client.get(
        reverse("admin:trust_mtlscertificate_change", args=[bundle.pk])
    ).content.decode()
    assert body.count("(not enforced: no policy)") >= 2
