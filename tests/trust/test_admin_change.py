"""The detail page: every certificate of the chain shown; only name, hostnames, enabled change."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.urls import reverse

from apps.trust.models import AssociatedHostname, CaCertificate, MtlsCertificate
from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def change_url(bundle):
    return reverse("admin:trust_mtlscertificate_change", args=[bundle.pk])


def test_the_detail_page_shows_every_certificate_with_its_facts(admin_client, uploaded, chain):
    root, inter = chain
    body = admin_client.get(change_url(uploaded)).content.decode()
    start = body.index('<table class="trust-chain">')
    table = body[start : body.index("</table>", start)]
    for cert, role in ((root, "Root"), (inter, "Intermediate")):
        assert cert.fingerprint in table
        assert format(cert.cert.serial_number, "x") in table
        assert cert.cert.not_valid_after_utc.strftime("%Y-%m-%d") in table
        assert f"<td>{role}</td>" in table
    assert "CN=Acme Devices,O=accessctl tests" in table
    assert "ECDSA P-256" in table
    assert "ecdsa-with-SHA256" in table
    assert table.count("<tr>") == 3  # header and two certificates


def test_the_bundle_cannot_be_edited_after_upload(admin_client, uploaded, chain):
    body = admin_client.get(change_url(uploaded)).content.decode()
    assert 'name="pem"' not in body
    assert 'name="pem_file"' not in body
    assert '<pre class="trust-pem">' in body  # shown read-only
    other = f.make_ca("Swapped Root")
    response = admin_client.post(
        change_url(uploaded),
        {"name": "Acme CA", "hostnames": HOST, "enabled": "on", "pem": other.pem},
    )
    assert response.status_code == 302
    uploaded.refresh_from_db()
    assert other.fingerprint not in uploaded.pem
    assert list(uploaded.certificates.values_list("fingerprint_sha256", flat=True)) == [
        c.fingerprint for c in chain
    ]


def test_name_hostnames_and_enabled_can_be_changed_and_are_audited(
    admin_client, admin_user, uploaded
):
    response = admin_client.post(
        change_url(uploaded),
        {"name": "Acme CA (old)", "hostnames": "app.example.com\r\nNEW.example.com"},
    )
    assert response.status_code == 302
    uploaded.refresh_from_db()
    assert uploaded.name == "Acme CA (old)"
    assert uploaded.enabled is False  # unchecked box
    assert uploaded.hostname_list() == ["app.example.com", "new.example.com"]
    assert uploaded.updated_by == admin_user
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.user) == (CHANGE, admin_user)
    assert "Associated hostnames" in entry.get_change_message()
    assert "Name" in entry.get_change_message()


def test_resubmitting_the_same_hostnames_in_another_spelling_is_no_change(admin_client, uploaded):
    admin_client.post(
        change_url(uploaded), {"name": "Acme CA", "hostnames": "APP.example.com.", "enabled": "on"}
    )
    assert LogEntry.objects.get().get_change_message() == "No fields changed."


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"hostnames": ""}, "hostnames", "This field is required."),
        ({"hostnames": "good.example.com\nbad_host"}, "hostnames", "'bad_host'"),
        ({"name": "Taken"}, "name", "already exists"),
    ],
)
def test_bad_changes_show_next_to_the_field_and_change_nothing(
    admin_client, uploaded, data, field, message
):
    upload_ca("Taken", [HOST], f.make_ca("Taken Root"))
    response = admin_client.post(
        change_url(uploaded), {"name": "Acme CA", "hostnames": HOST, "enabled": "on", **data}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    uploaded.refresh_from_db()
    assert (uploaded.name, uploaded.hostname_list()) == ("Acme CA", [HOST])
    assert not LogEntry.objects.exists()


def test_a_shared_hostname_is_shown_on_the_detail_page(admin_client, uploaded):
    upload_ca("Next CA", [HOST], f.make_ca("Next Root"))
    body = admin_client.get(change_url(uploaded)).content.decode()
    assert 'app.example.com <span class="shared-hostname">(shared with: Next CA)</span>' in body


def test_deleting_removes_everything_and_is_audited(admin_client, admin_user, uploaded):
    url = reverse("admin:trust_mtlscertificate_delete", args=[uploaded.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not MtlsCertificate.objects.exists()
    assert not CaCertificate.objects.exists()
    assert not AssociatedHostname.objects.exists()
    assert LogEntry.objects.get().action_flag == DELETION


def test_the_bulk_delete_action_removes_the_selected_certificates(admin_client, uploaded):
    other = upload_ca("B", [HOST], f.make_ca("B Root"))
    response = admin_client.post(
        reverse("admin:trust_mtlscertificate_changelist"),
        {"action": "delete_selected", "_selected_action": [uploaded.pk, other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not MtlsCertificate.objects.exists()
    assert not CaCertificate.objects.exists()


def test_a_private_key_pasted_into_the_hostnames_on_change_is_not_echoed(
    admin_client, uploaded, chain
):
    root, _ = chain
    response = admin_client.post(
        change_url(uploaded), {"name": "Acme CA", "hostnames": root.key_pem, "enabled": "on"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "contains a private key" in body
    secret = [line for line in root.key_pem.splitlines() if "-----" not in line]
    assert not any(line in body for line in secret)
    uploaded.refresh_from_db()
    assert uploaded.hostname_list() == [HOST]
