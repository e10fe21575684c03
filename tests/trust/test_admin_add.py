"""Adding an mTLS certificate through the dashboard form: accepted, refused, audited."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.trust import services
from apps.trust.models import CaCertificate, MtlsCertificate
from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.trust.cases import REFUSALS, counts, key_lines

pytestmark = pytest.mark.django_db

ADD = "admin:trust_mtlscertificate_add"


def post(client, **data):
    payload = {"name": "Acme CA", "hostnames": HOST, **data}
    return client.post(reverse(ADD), payload)


def test_the_add_form_has_the_three_fields_with_their_exact_labels(admin_client):
    body = admin_client.get(reverse(ADD)).content.decode()
    assert '<label class="required" for="id_name">Name:</label>' in body
    assert '<label for="id_pem">Certificate content:</label>' in body
    assert '<textarea name="pem"' in body
    assert '<label class="required" for="id_hostnames">Associated hostnames:</label>' in body
    assert 'type="file" name="pem_file"' in body
    assert 'enctype="multipart/form-data"' in body


def test_an_admin_adds_a_chain_by_pasting_it(admin_client, admin_user, chain):
    root, inter = chain
    response = post(
        admin_client, pem=f.pem_bundle(root, inter), hostnames="APP.example.com.\r\napi.example.com"
    )
    assert response.status_code == 302
    bundle = MtlsCertificate.objects.get()
    assert response["Location"] == reverse("admin:trust_mtlscertificate_changelist")
    assert bundle.hostname_list() == ["api.example.com", "app.example.com"]
    assert bundle.created_by == admin_user
    assert [c.is_root for c in bundle.certificates.order_by("position")] == [True, False]


def test_a_permissioned_operator_adds_a_certificate(client, editor, chain):
    client.force_login(editor)
    response = post(client, pem=chain[0].pem)
    assert response.status_code == 302
    assert MtlsCertificate.objects.get().created_by == editor


def test_crlf_and_text_between_blocks_are_accepted(admin_client, chain):
    root, inter = chain
    pem = (
        "Intermediate:\n" + inter.pem + "\nRoot (from openssl x509 -text):\n" + root.pem
    ).replace("\n", "\r\n")
    assert post(admin_client, pem=pem).status_code == 302
    assert CaCertificate.objects.count() == 2


def test_a_pem_file_can_be_uploaded_instead_of_pasted(admin_client, chain):
    upload = SimpleUploadedFile("chain.pem", f.pem_bundle(*chain).encode())
    response = post(admin_client, pem="", pem_file=upload)
    assert response.status_code == 302
    assert CaCertificate.objects.count() == 2


def test_pasting_and_uploading_at_once_is_refused(admin_client, chain):
    upload = SimpleUploadedFile("chain.pem", chain[0].pem.encode())
    response = post(admin_client, pem=chain[0].pem, pem_file=upload)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["pem_file"] == [
        "Paste the certificate or upload a file, not both."
    ]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        pytest.param(
            lambda chain: SimpleUploadedFile("root.der", chain[0].der),
            "openssl x509 -inform der",
            id="a DER file, with the command that converts it",
        ),
        pytest.param(
            lambda chain: SimpleUploadedFile("ca.pem", REFUSALS["SHA-1"][0]().encode()),
            REFUSALS["SHA-1"][2],
            id="a refused CA, named",
        ),
    ],
)
def test_a_refused_file_says_why_next_to_the_file_field(admin_client, chain, file, message):
    response = post(admin_client, pem_file=file(chain))
    assert message in response.context["adminform"].form.errors["pem_file"][0]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_shows_next_to_certificate_content_and_saves_nothing(admin_client, case):
    build, _, fragment = REFUSALS[case]
    response = post(admin_client, pem=build())
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["pem"]
    assert fragment in form.errors["pem"][0]
    body = response.content.decode()
    # Django renders a field's errors inside its own row: the message sits next to the field.
    row = body[body.index('class="form-row errors field-pem"') :]
    assert fragment.replace("'", "&#x27;")[:20] in row[: row.index("</textarea>")]
    assert counts() == (0, 0, 0)


def test_a_pasted_private_key_is_not_echoed_back_nor_logged(admin_client, chain, caplog):
    root, _ = chain
    pem = root.pem + root.key_pem
    caplog.set_level(logging.DEBUG)
    response = post(admin_client, pem=pem)
    assert response.status_code == 200
    body = response.content.decode()
    assert "contains a private key" in body
    secret = key_lines(pem)
    assert secret and not any(line in body for line in secret)
    assert not any(line in caplog.text for line in secret)
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"hostnames": ""}, "hostnames", "This field is required."),
        ({"hostnames": "*.example.com"}, "hostnames", "wildcards are not supported"),
        ({"hostnames": "ok.example.com, 10.0.0.1"}, "hostnames", "'10.0.0.1': IP addresses"),
        ({"pem": ""}, "pem", "Paste the CA certificate in PEM, or upload a file."),
    ],
)
def test_other_field_errors_appear_next_to_their_field(admin_client, chain, data, field, message):
    response = post(admin_client, **{"pem": chain[0].pem, **data})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(message in e for e in errors[field])
    assert counts() == (0, 0, 0)


def test_all_errors_are_reported_in_one_round(admin_client, uploaded):
    response = post(admin_client, name="Acme CA", pem="junk", hostnames="a..b")
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"name", "pem", "hostnames"}
    assert errors["name"] == ["A certificate named 'Acme CA' already exists."]


def test_a_certificate_already_uploaded_is_refused_with_where_it_is(admin_client, uploaded, chain):
    response = post(admin_client, name="Again", pem=chain[0].pem)
    (message,) = response.context["adminform"].form.errors["pem"]
    assert "certificate #1 (CN=Acme Root) is already uploaded in 'Acme CA'" in message
    assert counts() == (1, 2, 1)


def test_a_race_lost_at_the_database_is_a_message_not_a_500(admin_client, uploaded, monkeypatch):
    """Validation passed, then a concurrent upload took the name: the constraint refuses."""
    monkeypatch.setattr(services, "_check_name", lambda name, errors, exclude_pk=None: name)
    response = post(admin_client, name="Acme CA", pem=f.make_ca("Racing Root").pem)
    assert response.status_code == 302
    assert response["Location"] == reverse(ADD)
    page = admin_client.get(response["Location"]).content.decode()
    assert "already exists" in page
    assert counts() == (1, 2, 1)
    assert not LogEntry.objects.exists()


def test_an_addition_is_recorded_in_the_admin_log(admin_client, admin_user, chain):
    post(admin_client, name="Audited", pem=chain[0].pem)
    entry = LogEntry.objects.get()
    bundle = MtlsCertificate.objects.get()
    assert (entry.action_flag, entry.user, entry.object_id) == (
        ADDITION,
        admin_user,
        str(bundle.pk),
    )
    assert entry.object_repr == "Audited"


def test_a_post_without_a_csrf_token_is_refused(admin_user, chain):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse(ADD), {"name": "Forged", "pem": chain[0].pem, "hostnames": HOST})
    assert response.status_code == 403
    assert counts() == (0, 0, 0)


def test_a_post_with_the_csrf_token_is_accepted(admin_user, chain):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    token = client.get(reverse(ADD)).context["csrf_token"]
    response = client.post(
        reverse(ADD),
        {"name": "Real", "pem": chain[0].pem, "hostnames": HOST, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert counts() == (1, 1, 1)


def test_a_private_key_pasted_into_the_hostnames_field_is_not_echoed(admin_client, chain):
    root, _ = chain
    response = post(admin_client, pem=root.pem, hostnames=root.key_pem)
    body = response.content.decode()
    assert "contains a private key" in body
    assert not any(line in body for line in key_lines(root.key_pem))
    assert counts() == (0, 0, 0)
