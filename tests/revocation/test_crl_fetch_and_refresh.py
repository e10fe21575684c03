"""CRLs fetched from a URL (a local HTTP server here) and refreshed before their nextUpdate."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from django.core.management import CommandError

from accessctl.core.issuing import issue, subject_name
from apps.revocation.models import CertificateRevocationList
from apps.revocation.services import crl_refresh
from tests.factories import certs as f
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def test_a_crl_is_fetched_from_the_url_the_operator_gives(uploaded, chain, server):
    _, inter = chain
    server.files["/devices.crl"] = f.make_crl(inter, (7,)).der
    out = run_command(
        "certificates", "crl", "fetch", "Acme CA", "--url", server.url("/devices.crl")
    )
    assert "refreshed from http://127.0.0.1" in out
    crl = CertificateRevocationList.objects.get()
    assert crl.url == server.url("/devices.crl") and crl.revoked_count == 1


def test_without_a_url_the_distribution_point_of_the_upload_is_used(db, server):
    root = f.make_ca("DP Root")
    point = x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                [x509.UniformResourceIdentifier(server.url("/root.crl"))], None, None, None
            )
        ]
    )
    inter = issue(
        subject_name("DP Devices", O="accessctl tests"),
        issuer=root,
        key=f.new_key(),
        not_before=f.now() - dt.timedelta(days=1),
        not_after=f.now() + dt.timedelta(days=300),
        ca=True,
        extensions=[(point, False)],
    )
    upload_ca("DP CA", [HOST], root, inter)
    server.files["/root.crl"] = f.make_crl(root).pem
    run_command("certificates", "crl", "fetch", "DP CA")
    assert CertificateRevocationList.objects.get().ca.fingerprint_sha256 == root.fingerprint


def test_a_url_that_fails_is_refused_and_nothing_is_stored(uploaded, server):
    message = refusal("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/missing"))
    assert "HTTP 404" in message
    assert "http:// or https://" in refusal(
        "certificates", "crl", "fetch", "Acme CA", "--url", "file:///etc/passwd"
    )
    assert not CertificateRevocationList.objects.exists()


def test_the_refresh_replaces_a_crl_halfway_to_its_next_update(uploaded, chain, server):
    _, inter = chain
    start = f.now() - dt.timedelta(days=4)
    server.files["/d.crl"] = f.make_crl(inter, this_update=start, crl_number=1).der
    run_command("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    newer = f.make_crl(inter, (99,), crl_number=2)
    server.files["/d.crl"] = newer.der
    out = run_command("certificates", "crl", "refresh")
    assert "refreshed" in out
    crl = CertificateRevocationList.objects.get()
    assert (crl.crl_number, crl.revoked_count, crl.last_error) == ("2", 1, "")


def test_a_crl_not_yet_due_is_not_fetched_unless_forced(uploaded, chain, server):
    _, inter = chain
    server.files["/d.crl"] = f.make_crl(inter).der
    run_command("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    server.requests.clear()
    assert "no CRL due" in run_command("certificates", "crl", "refresh")
    assert server.requests == []
    assert "unchanged" in run_command("certificates", "crl", "refresh", "--force")
    assert server.requests == ["/d.crl"]


def test_a_failed_refresh_keeps_the_crl_records_the_error_and_exits_1(uploaded, chain, server):
    _, inter = chain
    start = f.now() - dt.timedelta(days=5)
    server.files["/d.crl"] = f.make_crl(inter, (3,), this_update=start).der
    run_command("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    server.files["/d.crl"] = f.make_crl(inter, signer=f.new_key()).der  # a forged successor
    with pytest.raises(CommandError) as caught:
        run_command("certificates", "crl", "refresh")
    assert caught.value.returncode == 1
    crl = CertificateRevocationList.objects.get()
    assert crl.revoked_count == 1 and "does not verify" in crl.last_error


def test_a_replayed_older_crl_is_not_taken_by_the_refresh(uploaded, chain, server):
    _, inter = chain
    start = f.now() - dt.timedelta(days=5)
    server.files["/d.crl"] = f.make_crl(inter, (3,), this_update=start, crl_number=4).der
    run_command("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    server.files["/d.crl"] = f.make_crl(inter, crl_number=3).der
    (result,) = crl_refresh()
    assert not result.ok and "older" in result.message
    assert CertificateRevocationList.objects.get().crl_number == "4"


def test_a_redirect_to_another_http_url_is_followed(uploaded, chain, server):
    _, inter = chain
    server.files["/moved.crl"] = f.make_crl(inter).der
    server.redirects["/d.crl"] = server.url("/moved.crl")
    run_command("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    assert server.requests == ["/d.crl", "/moved.crl"]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x.crl"])
def test_a_redirect_away_from_http_is_refused(uploaded, server, target):
    server.redirects["/d.crl"] = target
    message = refusal("certificates", "crl", "fetch", "Acme CA", "--url", server.url("/d.crl"))
    assert "HTTP 302" in message  # refused, whichever check of urllib's or ours caught it
    assert not CertificateRevocationList.objects.exists()
