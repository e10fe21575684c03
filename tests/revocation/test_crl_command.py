"""`accessctl certificates crl add|list|remove`: CRLs checked against the uploaded CA."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from apps.revocation.models import CertificateRevocationList
from tests.factories import certs as f
from tests.factories.commands import refusal, run_command

pytestmark = pytest.mark.django_db


def test_a_crl_file_of_the_intermediate_is_stored_for_it(uploaded, chain, tmp_path):
    root, inter = chain
    leaf = f.make_leaf(inter)
    path = tmp_path / "devices.crl"
    path.write_bytes(f.make_crl(inter, (leaf,)).der)
    out = run_command("certificates", "crl", "add", "Acme CA", str(path))
    assert "1 revoked" in out
    crl = CertificateRevocationList.objects.get()
    assert crl.ca.fingerprint_sha256 == inter.fingerprint
    assert crl.when_stale == "refuse"


def test_a_pem_crl_is_read_from_standard_input_and_the_certificate_named_by_id(uploaded, chain):
    root, _ = chain
    run_command(
        "certificates", "crl", "add", str(uploaded.pk), "-", stdin=f.make_crl(root).pem.decode()
    )
    assert CertificateRevocationList.objects.get().ca.fingerprint_sha256 == root.fingerprint


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root, inter: f.make_crl(root, signer=f.new_key()).der, "does not verify"),
        (lambda root, inter: f.make_crl(f.make_ca("Stranger")).der, "none of this upload"),
        (lambda root, inter: b"not a crl at all", "not a readable CRL"),
        (
            lambda root, inter: (
                f.make_crl(
                    inter,
                    this_update=f.now() - dt.timedelta(days=9),
                    next_update=f.now() - dt.timedelta(days=2),
                ).der
            ),
            "has passed",
        ),
    ],
    ids=["bad signature", "wrong CA", "garbage", "expired"],
)
def test_a_bad_crl_is_refused_with_exit_2_and_the_previous_crl_stays(
    uploaded, chain, tmp_path, make, expected
):
    root, inter = chain
    path = tmp_path / "good.crl"
    path.write_bytes(f.make_crl(inter, (41,)).der)
    run_command("certificates", "crl", "add", "Acme CA", str(path))
    before = CertificateRevocationList.objects.get()
    path.write_bytes(make(root, inter))
    message = refusal("certificates", "crl", "add", "Acme CA", str(path))
    assert message.startswith("crl: ") and expected in message
    after = CertificateRevocationList.objects.get()
    assert (after.sha256, after.revoked_count) == (before.sha256, 1)


def test_an_older_crl_never_replaces_a_newer_one(uploaded, chain, tmp_path):
    _, inter = chain
    path = tmp_path / "x.crl"
    path.write_bytes(f.make_crl(inter, crl_number=9).der)
    run_command("certificates", "crl", "add", "Acme CA", str(path))
    path.write_bytes(f.make_crl(inter, (5,), crl_number=8).der)
    assert "older than the current one" in refusal(
        "certificates", "crl", "add", "Acme CA", str(path)
    )


def test_an_unknown_certificate_name_is_refused(db, tmp_path):
    path = tmp_path / "x.crl"
    path.write_bytes(b"x")
    assert "no uploaded certificate" in refusal("certificates", "crl", "add", "Nope", str(path))


def test_crls_are_listed_and_removed(uploaded, chain, tmp_path):
    root, inter = chain
    for ca in chain:
        path = tmp_path / "x.crl"
        path.write_bytes(f.make_crl(ca).der)
        run_command("certificates", "crl", "add", "Acme CA", str(path), "--stale", "accept")
    rows = json.loads(run_command("certificates", "crl", "list", "--json"))
    assert {r["ca_fingerprint"] for r in rows} == {root.fingerprint, inter.fingerprint}
    assert {r["when_stale"] for r in rows} == {"accept"}
    out = run_command("certificates", "crl", "remove", "Acme CA", "--ca", inter.fingerprint)
    assert "Acme Devices" in out
    assert list(
        CertificateRevocationList.objects.values_list("ca__fingerprint_sha256", flat=True)
    ) == [root.fingerprint]


def test_the_trust_store_subcommands_still_work(uploaded):
    assert "Acme CA" in run_command("certificates", "list")
