"""The revocation pages of the dashboard: CRLs uploaded on the Mutual TLS certificate's page,
and Revoked certificates, each as anonymous, without permission and with permission."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import crl_store, revocation_create
from tests.factories import certs as f
from tests.factories.users import sent_to_login

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:revocation_certificaterevocationlist_changelist",
    "admin:revocation_certificaterevocationlist_add",
    "admin:revocation_revocation_changelist",
    "admin:revocation_revocation_add",
]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, page):
    response = client.get(reverse(page))
    assert sent_to_login(response)


@pytest.mark.parametrize("page", PAGES)
def test_staff_without_permission_get_403(client, staff, page):
    client.force_login(staff)
    assert client.get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_staff_with_permission_see_every_page(client, revoker, page):
    client.force_login(revoker)
    assert client.get(reverse(page)).status_code == 200


def add_crl(client, uploaded, data: bytes, **extra):
    return client.post(
        reverse("admin:revocation_certificaterevocationlist_add"),
        {
            "bundle": uploaded.pk,
            "crl_file": SimpleUploadedFile("ca.crl", data),
            "when_stale": "refuse",
            **extra,
        },
    )


def test_a_crl_file_is_uploaded_and_shown_on_the_mutual_tls_page(client, revoker, uploaded, chain):
    _, inter = chain
    client.force_login(revoker)
    response = add_crl(client, uploaded, f.make_crl(inter, (1, 2)).der)
    assert response.status_code == 302
    assert CertificateRevocationList.objects.get().revoked_count == 2
    page = client.get(reverse("admin:trust_mtlscertificate_change", args=[uploaded.pk]))
    body = page.content.decode()
    assert "Revocation" in body and "2 revoked" in body and "current" in body
    assert f"?bundle={uploaded.pk}" in body  # Replace / Add a CRL, with the bundle chosen


def test_the_mutual_tls_page_offers_a_crl_for_each_ca_without_one(client, revoker, uploaded):
    client.force_login(revoker)
    body = client.get(
        reverse("admin:trust_mtlscertificate_change", args=[uploaded.pk])
    ).content.decode()
    assert body.count("Add a CRL") == 2  # the root and the intermediate


def test_a_crl_with_a_bad_signature_is_an_error_next_to_the_file_and_the_old_one_stays(
    client, revoker, uploaded, chain
):
    _, inter = chain
    crl_store(bundle=uploaded, data=f.make_crl(inter, (5,)).der, user=None)
    client.force_login(revoker)
    response = add_crl(client, uploaded, f.make_crl(inter, signer=f.new_key()).der)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not verify" in " ".join(errors["crl_file"])
    assert CertificateRevocationList.objects.get().revoked_count == 1


def test_garbage_pasted_as_a_crl_is_an_error_next_to_the_paste(client, revoker, uploaded):
    client.force_login(revoker)
    response = client.post(
        reverse("admin:revocation_certificaterevocationlist_add"),
        {
            "bundle": uploaded.pk,
            "crl_text": "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----",
            "when_stale": "refuse",
        },
    )
    assert "not a readable CRL" in " ".join(response.context["adminform"].form.errors["crl_text"])
    assert not CertificateRevocationList.objects.exists()


def test_a_crl_is_fetched_from_a_url_given_in_the_form(client, revoker, uploaded, chain, server):
    root, _ = chain
    server.files["/root.crl"] = f.make_crl(root).der
    client.force_login(revoker)
    response = client.post(
        reverse("admin:revocation_certificaterevocationlist_add"),
        {"bundle": uploaded.pk, "url": server.url("/root.crl"), "when_stale": "accept"},
    )
    assert response.status_code == 302
    crl = CertificateRevocationList.objects.get()
    assert (crl.url, crl.when_stale) == (server.url("/root.crl"), "accept")


def test_a_stale_crl_accepted_by_choice_is_flagged_as_a_warning(client, revoker, uploaded, chain):
    _, inter = chain
    crl = crl_store(bundle=uploaded, data=f.make_crl(inter).der, user=None, when_stale="accept")
    # Past its next update, as if the refresh had failed all week.
    CertificateRevocationList.objects.filter(pk=crl.pk).update(
        next_update=f.now() - dt.timedelta(hours=1)
    )
    client.force_login(revoker)
    body = client.get(
        reverse("admin:revocation_certificaterevocationlist_changelist")
    ).content.decode()
    assert "stale: clients accepted (warning)" in body


def test_a_certificate_is_revoked_in_the_dashboard_and_listed_with_who_and_why(client, revoker):
    client.force_login(revoker)
    response = client.post(
        reverse("admin:revocation_revocation_add"),
        {"kind": "serial", "value": "0A:FF", "reason": "stolen phone"},
    )
    assert response.status_code == 302
    body = client.get(reverse("admin:revocation_revocation_changelist")).content.decode()
    assert "aff" in body and "stolen phone" in body and revoker.username in body


def test_a_bad_fingerprint_is_an_error_next_to_the_field(client, revoker):
    client.force_login(revoker)
    response = client.post(
        reverse("admin:revocation_revocation_add"),
        {"kind": "fingerprint", "value": "abc", "reason": ""},
    )
    assert "64 hexadecimal" in " ".join(response.context["adminform"].form.errors["value"])
    assert not Revocation.objects.exists()


def test_a_revocation_is_lifted_by_the_list_action(client, revoker):
    client.force_login(revoker)
    client.post(
        reverse("admin:revocation_revocation_add"), {"kind": "serial", "value": "1", "reason": ""}
    )
    revocation = Revocation.objects.get()
    client.post(
        reverse("admin:revocation_revocation_changelist"),
        {"action": "lift", "_selected_action": [revocation.pk]},
    )
    revocation.refresh_from_db()
    assert revocation.lifted_at is not None and revocation.lifted_by == revoker


def test_a_fingerprint_typed_with_colons_is_revoked_in_its_stored_form(client, revoker):
    client.force_login(revoker)
    typed = ":".join(["AB"] * 32)
    response = client.post(
        reverse("admin:revocation_revocation_add"),
        {"kind": "fingerprint", "value": typed, "reason": ""},
    )
    assert response.status_code == 302
    assert Revocation.objects.get().value == "ab" * 32


def test_the_revoked_list_is_searched_by_a_fingerprint_typed_with_colons(client, revoker):
    client.force_login(revoker)
    revocation_create(kind="fingerprint", value="cd" * 32, reason="found", user=None)
    revocation_create(kind="serial", value="77", reason="other", user=None)
    listing = reverse("admin:revocation_revocation_changelist")
    body = client.get(listing, {"q": ":".join(["CD"] * 32)}).content.decode()
    assert "cd" * 32 in body and "other" not in body


@pytest.mark.parametrize(
    ("when_stale", "said"),
    [("refuse", "its clients are refused"), ("accept", "accepted without a current")],
)
def test_the_home_page_warns_of_a_stale_crl(client, revoker, uploaded, chain, when_stale, said):
    _, inter = chain
    crl = crl_store(bundle=uploaded, data=f.make_crl(inter).der, user=None, when_stale=when_stale)
    client.force_login(revoker)
    assert "past its next update" not in client.get(reverse("admin:index")).content.decode()
    CertificateRevocationList.objects.filter(pk=crl.pk).update(
        next_update=f.now() - dt.timedelta(hours=1), last_error="HTTP 503"
    )
    body = client.get(reverse("admin:index")).content.decode()
    assert "The CRL of CN=Acme Devices" in body and said in body and "HTTP 503" in body


def test_the_stale_crl_warning_is_not_shown_to_staff_who_cannot_see_crls(
    client, staff, uploaded, chain
):
    _, inter = chain
    crl = crl_store(bundle=uploaded, data=f.make_crl(inter).der, user=None)
    CertificateRevocationList.objects.filter(pk=crl.pk).update(next_update=f.now())
    client.force_login(staff)
    assert "past its next update" not in client.get(reverse("admin:index")).content.decode()


def test_a_crl_uploaded_by_hand_keeps_the_url_it_is_refreshed_from(
    client, revoker, uploaded, chain
):
    _, inter = chain
    crl_store(
        bundle=uploaded,
        data=f.make_crl(inter, crl_number=1).der,
        user=None,
        url="http://ca.test/d.crl",
    )
    client.force_login(revoker)
    assert add_crl(client, uploaded, f.make_crl(inter, (4,), crl_number=2).der).status_code == 302
    crl = CertificateRevocationList.objects.get()
    assert (crl.url, crl.revoked_count) == ("http://ca.test/d.crl", 1)
