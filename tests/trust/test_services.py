"""certificate_create / update / delete: all or nothing, normalized, one error per field."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.trust import services
from apps.trust.models import AssociatedHostname, MtlsCertificate
from apps.trust.services import certificate_create, certificate_delete, certificate_update
from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.trust.cases import REFUSALS, counts, key_lines

pytestmark = pytest.mark.django_db


def test_an_upload_stores_the_bundle_its_certificates_and_hostnames(chain, admin_user):
    root, inter = chain
    pem = "Acme chain\r\n" + inter.pem.replace("\n", "\r\n") + root.pem
    created = certificate_create(
        name="  Acme CA ",
        pem=pem,
        hostnames=["APP.Example.com.", "api.example.com:443, bücher.example"],
        user=admin_user,
    )
    created.refresh_from_db()
    assert created.name == "Acme CA"
    # The certificates re-encoded in upload order; the comment and CRLF are not kept.
    assert created.pem == inter.pem + root.pem
    assert created.enabled is True
    assert created.created_by == admin_user
    assert created.updated_by == admin_user
    assert created.hostname_list() == [
        "api.example.com",
        "app.example.com",
        "xn--bcher-kva.example",
    ]
    rows = list(created.certificates.order_by("position"))
    assert [(r.position, r.is_root, r.fingerprint_sha256) for r in rows] == [
        (1, False, inter.fingerprint),
        (2, True, root.fingerprint),
    ]
    assert bytes(rows[1].der) == root.der
    assert rows[1].subject == "CN=Acme Root,O=accessctl tests"
    assert rows[1].key_type == "ECDSA P-256"
    assert rows[1].not_after == root.cert.not_valid_after_utc


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_stores_nothing(case):
    build, code, fragment = REFUSALS[case]
    before = counts()
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Refused", pem=build(), hostnames=[HOST], user=None)
    (error,) = info.value.error_dict["pem"]
    assert error.code == code
    assert fragment in error.message
    assert counts() == before


def test_every_field_is_checked_at_once(uploaded):
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Acme CA", pem="nothing", hostnames=["*.example.com"], user=None)
    errors = info.value.message_dict
    assert errors["name"] == ["A certificate named 'Acme CA' already exists."]
    assert "wildcards" in errors["hostnames"][0]
    assert "no certificate found" in errors["pem"][0]


@pytest.mark.parametrize(
    ("hostnames", "message"),
    [
        ([], "at least one hostname is required"),
        (["  "], "at least one hostname is required"),
        (["ok.example.com", "https://bad_host.example.com/x"], "'https://bad_host.example.com/x'"),
        (["192.0.2.7"], "IP addresses cannot be guarded"),
    ],
)
def test_bad_hostnames_are_refused_naming_the_bad_one(chain, hostnames, message):
    with pytest.raises(ValidationError) as info:
        certificate_create(name="X", pem=chain[0].pem, hostnames=hostnames, user=None)
    assert message in info.value.message_dict["hostnames"][0]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(("name", "message"), [("", "required"), ("x" * 101, "At most 100")])
def test_a_name_is_required_and_bounded(chain, name, message):
    with pytest.raises(ValidationError) as info:
        certificate_create(name=name, pem=chain[0].pem, hostnames=[HOST], user=None)
    assert message in info.value.message_dict["name"][0]


def test_a_certificate_already_uploaded_is_refused_naming_where(uploaded, chain):
    root, _ = chain
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Again", pem=root.pem, hostnames=[HOST], user=None)
    (message,) = info.value.message_dict["pem"]
    assert "certificate #1 (CN=Acme Root) is already uploaded in 'Acme CA'" in message
    assert counts() == (1, 2, 1)


def test_the_database_constraint_backs_up_the_duplicate_check(uploaded, chain, monkeypatch):
    """A concurrent upload of the same CA passes validation; the constraint still refuses it,
    with the same message and nothing stored."""
    root, _ = chain
    monkeypatch.setattr(services, "known_fingerprints", lambda: {})
    real = services.validate_ca_bundle

    def validate_then_restore(*args, **kwargs):
        monkeypatch.undo()  # the second (post-conflict) validation sees the stored rows
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "validate_ca_bundle", validate_then_restore)
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Racer", pem=root.pem, hostnames=[HOST], user=None)
    (message,) = info.value.message_dict["pem"]
    assert "is already uploaded in 'Acme CA'" in message
    assert counts() == (1, 2, 1)


def test_the_database_constraint_backs_up_the_name_check(uploaded, chain, monkeypatch):
    monkeypatch.setattr(services, "_check_name", lambda name, errors, exclude_pk=None: name)
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Acme CA", pem=f.make_ca("Other").pem, hostnames=[HOST], user=None)
    assert info.value.message_dict == {"name": ["A certificate named 'Acme CA' already exists."]}
    assert counts() == (1, 2, 1)


def test_an_unexpected_integrity_error_is_still_a_clear_error(chain, monkeypatch):
    def fail(**kwargs):
        raise IntegrityError("boom")

    monkeypatch.setattr(AssociatedHostname.objects, "create", fail)
    with pytest.raises(ValidationError, match="could not be stored"):
        certificate_create(name="X", pem=chain[0].pem, hostnames=[HOST], user=None)
    assert counts() == (0, 0, 0)


def test_one_hostname_can_be_bound_to_several_certificates(uploaded):
    other = certificate_create(
        name="Next CA", pem=f.make_ca("Next Root").pem, hostnames=[HOST], user=None
    )
    assert set(MtlsCertificate.objects.for_host(HOST)) == {uploaded, other}


def test_update_changes_name_hostnames_and_enabled_but_not_the_bundle(uploaded, admin_user):
    fingerprints = list(uploaded.certificates.values_list("fingerprint_sha256", flat=True))
    kept = AssociatedHostname.objects.get(hostname=HOST)
    certificate_update(
        certificate=uploaded,
        name="Acme CA 2",
        hostnames=["app.example.com\nNEW.example.com"],
        enabled=False,
        user=admin_user,
    )
    uploaded.refresh_from_db()
    assert (uploaded.name, uploaded.enabled, uploaded.updated_by) == (
        "Acme CA 2",
        False,
        admin_user,
    )
    assert uploaded.hostname_list() == ["app.example.com", "new.example.com"]
    assert AssociatedHostname.objects.filter(pk=kept.pk).exists()  # unchanged rows are kept
    assert list(uploaded.certificates.values_list("fingerprint_sha256", flat=True)) == fingerprints
    certificate_update(
        certificate=uploaded,
        name="Acme CA 2",
        hostnames=["new.example.com"],
        enabled=True,
        user=None,
    )
    assert uploaded.hostname_list() == ["new.example.com"]


def test_update_refuses_bad_input_and_changes_nothing(uploaded):
    certificate_create(name="Taken", pem=f.make_ca("Taken Root").pem, hostnames=[HOST], user=None)
    with pytest.raises(ValidationError) as info:
        certificate_update(
            certificate=uploaded, name="Taken", hostnames=["a..b"], enabled=False, user=None
        )
    assert set(info.value.message_dict) == {"name", "hostnames"}
    uploaded.refresh_from_db()
    assert (uploaded.name, uploaded.enabled, uploaded.hostname_list()) == ("Acme CA", True, [HOST])


def test_delete_removes_the_bundle_its_certificates_and_bindings(uploaded):
    certificate_delete(certificate=uploaded, user=None)
    assert counts() == (0, 0, 0)


def test_writes_are_logged_without_the_bundle_text(chain, caplog):
    root, inter = chain
    caplog.set_level(logging.INFO, logger="accessctl.trust")
    created = certificate_create(
        name="Logged", pem=f.pem_bundle(root, inter), hostnames=[HOST], user=None
    )
    certificate_delete(certificate=created, user=None)
    assert "mtls certificate created name='Logged'" in caplog.text
    assert root.fingerprint in caplog.text
    assert "mtls certificate deleted name='Logged'" in caplog.text
    assert "BEGIN CERTIFICATE" not in caplog.text


def test_a_refused_private_key_reaches_no_log_and_no_row(caplog):
    build, _, _ = REFUSALS["private key"]
    pem = build()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationError) as info:
        certificate_create(name="Keyed", pem=pem, hostnames=[HOST], user=None)
    secret = key_lines(pem)
    assert secret
    assert not any(line in caplog.text or line in str(info.value) for line in secret)
    assert counts() == (0, 0, 0)


def test_an_unarmoured_key_between_blocks_is_never_stored(chain):
    """A key that lost its BEGIN/END lines cannot be recognised; only certificates are kept."""
    root, _ = chain
    body = key_lines(root.key_pem)
    pem = root.pem + "\n".join(body) + "\n"
    created = certificate_create(name="Sloppy", pem=pem, hostnames=[HOST], user=None)
    created.refresh_from_db()
    assert created.pem == root.pem
    assert not any(line in created.pem for line in body)


@pytest.mark.parametrize("field", ["name", "hostnames"])
def test_a_private_key_pasted_into_another_field_is_refused(chain, field):
    root, _ = chain
    values = {"name": "Fine", "hostnames": [HOST], field: root.key_pem}
    with pytest.raises(ValidationError) as info:
        certificate_create(pem=root.pem, user=None, **values)
    (error,) = info.value.error_dict[field]
    assert error.code == "private_key"
    assert not any(line in str(info.value) for line in key_lines(root.key_pem))
    assert counts() == (0, 0, 0)
