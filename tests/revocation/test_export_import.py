"""Revocation's section of `accessctl export` / `import`: CRLs and revocations come back (a
restore never accepts again what was revoked), a stale CRL included, lifted ones as history."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import crl_store, revocation_create, revocation_lift
from apps.trust.models import MtlsCertificate
from tests.factories import certs as f
from tests.factories.commands import refusal, run_command

pytestmark = pytest.mark.django_db


def _wipe() -> None:
    MtlsCertificate.objects.all().delete()  # its CRLs go with it
    Revocation.objects.all().delete()


def test_crls_and_revocations_are_exported_and_restored(uploaded, chain):
    root, inter = chain
    crl_store(
        bundle=uploaded,
        data=f.make_crl(inter, (9,), crl_number=3).der,
        user=None,
        url="http://ca.test/devices.crl",
        when_stale="accept",
    )
    stale = f.make_crl(
        root,
        (inter,),
        this_update=f.now() - dt.timedelta(days=9),
        next_update=f.now() - dt.timedelta(days=2),
    )
    crl_store(bundle=uploaded, data=stale.der, user=None, now=f.now() - dt.timedelta(days=8))
    revocation_create(kind="serial", value="a1", reason="lost laptop", user=None)
    lifted = revocation_create(kind="fingerprint", value="ab" * 32, reason="found", user=None)
    revocation_lift(revocation=lifted, user=None)
    exported = run_command("export", "--without-secrets")
    section = json.loads(exported)["sections"]["revocation"]
    assert len(section["crls"]) == 2 and len(section["revocations"]) == 2

    _wipe()
    run_command("import", "-", stdin=exported)

    crls = {c.ca.fingerprint_sha256: c for c in CertificateRevocationList.objects.all()}
    assert crls[inter.fingerprint].url == "http://ca.test/devices.crl"
    assert crls[inter.fingerprint].when_stale == "accept"
    assert crls[inter.fingerprint].crl_number == "3"
    assert crls[root.fingerprint].is_stale()  # restored as it was, refused as chosen
    active = Revocation.objects.active().get()
    assert (active.kind, active.value, active.reason) == ("serial", "a1", "lost laptop")
    assert Revocation.objects.filter(lifted_at__isnull=False).get().value == "ab" * 32
    again = json.loads(run_command("export", "--without-secrets"))["sections"]["revocation"]
    assert again == section


def test_a_crl_for_an_upload_not_in_the_file_is_refused_and_nothing_is_written(uploaded, chain):
    _, inter = chain
    crl_store(bundle=uploaded, data=f.make_crl(inter).der, user=None)
    document = json.loads(run_command("export", "--without-secrets"))
    document["sections"]["revocation"]["crls"][0]["certificate"] = "Nobody"
    _wipe()
    message = refusal("import", "-", stdin=json.dumps(document))
    assert "Nobody" in message
    assert not MtlsCertificate.objects.exists() and not CertificateRevocationList.objects.exists()
