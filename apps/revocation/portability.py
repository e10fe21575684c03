"""Revocation's section of ``accessctl export``: every stored CRL (by the upload and CA it
belongs to) and every revocation by serial or fingerprint, lifted ones included.

Without it a restore would accept again every certificate revoked before: a fail-open.
Restored through the services, with their checks: a CRL as of its own ``thisUpdate`` (one
that has gone stale since is restored as it was, and then refused or accepted with a warning
as its CA's choice says, rather than refused by the import); its URL and stale choice as
they were. Revocations keep when they were made and lifted (not who: operators are not part
of an export).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError

from accessctl.core.revocation import CrlError, load_crl
from apps.base.cli import one_line
from apps.base.portability import ExportOptions, ImportContext, Reader, Section, timestamp
from apps.revocation.choices import RevokedBy, WhenStale
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import crl_store, normalized, revocation_create
from apps.trust.models import MtlsCertificate

VERSION = 1


def dump(options: ExportOptions) -> dict[str, Any]:
    """Every CRL (DER, base64) and every revocation (no secret in either)."""
    crls = CertificateRevocationList.objects.select_related("ca__bundle").order_by("id")
    revocations = Revocation.objects.order_by("created_at", "id")
    return {
        "crls": [
            {
                "certificate": crl.ca.bundle.name,
                "ca_fingerprint": crl.ca.fingerprint_sha256,
                "der": base64.b64encode(bytes(crl.der)).decode("ascii"),
                "url": crl.url,
                "when_stale": crl.when_stale,
            }
            for crl in crls
        ],
        "revocations": [
            {
                "kind": revocation.kind,
                "value": revocation.value,
                "reason": revocation.reason,
                "revoked_at": timestamp(revocation.created_at),
                "lifted_at": timestamp(revocation.lifted_at) if revocation.lifted_at else None,
            }
            for revocation in revocations
        ],
    }


def load(reader: Reader, version: int, context: ImportContext) -> None:
    """Store each CRL and each revocation again; the first one refused stops the import."""
    for item in reader.items("crls", []):
        name = item.text("certificate")
        bundle = MtlsCertificate.objects.filter(name=name).first()
        if bundle is None:
            raise item.refuse(f"no uploaded certificate is named {name!r}", "certificate")
        try:
            der = base64.b64decode(item.text("der"), validate=True)
        except (binascii.Error, ValueError):
            raise item.refuse("not base64", "der") from None
        when_stale = item.text("when_stale")
        if when_stale not in WhenStale.values:
            raise item.refuse(f"one of {', '.join(WhenStale.values)}", "when_stale")
        try:
            this_update = load_crl(der).last_update_utc
            crl = crl_store(
                bundle=bundle,
                data=der,
                user=None,
                url=item.text("url"),
                when_stale=when_stale,
                now=this_update,
            )
        except ValidationError as exc:
            raise item.refuse(f"CRL of {name!r}: {one_line(exc)}") from None
        except CrlError as exc:
            raise item.refuse(f"CRL of {name!r}: {exc.message}", "der") from None
        if crl.ca.fingerprint_sha256 != item.text("ca_fingerprint"):
            raise item.refuse(f"the CRL of {name!r} is signed by another CA", "ca_fingerprint")
    for item in reader.items("revocations", []):
        kind = item.text("kind")
        if kind not in RevokedBy.values:
            raise item.refuse(f"one of {', '.join(RevokedBy.values)}", "kind")
        try:
            if item.time("lifted_at") is None:
                revocation = revocation_create(
                    kind=kind, value=item.text("value"), reason=item.text("reason"), user=None
                )
            else:
                revocation = _lifted(item, kind)
        except ValidationError as exc:
            raise item.refuse(one_line(exc)) from None
        revoked_at = item.time("revoked_at") or context.exported_at
        Revocation.objects.filter(pk=revocation.pk).update(created_at=revoked_at)


def _lifted(item: Reader, kind: str) -> Revocation:
    """A lifted revocation, kept as history: written as it was (several may name one value)."""
    return Revocation.objects.create(
        kind=kind,
        value=normalized(kind, item.text("value")),
        reason=item.text("reason")[:200],
        lifted_at=item.time("lifted_at"),
    )


def count() -> str:
    """``"1 CRL, 2 revocations"``, or empty."""
    crls, revocations = CertificateRevocationList.objects.count(), Revocation.objects.count()
    parts = []
    if crls:
        parts.append(f"{crls} CRL{'s' if crls != 1 else ''}")
    if revocations:
        parts.append(f"{revocations} revocation{'s' if revocations != 1 else ''}")
    return ", ".join(parts)


SECTION = Section(name="revocation", version=VERSION, dump=dump, load=load, count=count)
