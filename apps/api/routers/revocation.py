"""Revocation, which Cloudflare's API does not have, in its style:

- ``accounts/{account_id}/access/certificates/{certificate_id}/crls``: the CRLs of one
  uploaded CA (list; add as PEM, base64 DER or a URL to fetch and refresh from; delete);
- ``accounts/{account_id}/access/revocations``: certificates revoked by serial number or
  SHA-256 fingerprint (list, revoke; ``DELETE`` lifts, the record stays).

Writes go through ``apps.revocation.services``: the dashboard's checks (a CRL signed by a CA
of that upload, well formed, not stale, not older than the current one), refused as a 400
with the message, the previous CRL kept.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import Envelope, invalid, not_found, ok, paginate
from apps.api.routers.common import Deleted, Page, api_write, one_by_id
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import (
    crl_delete,
    crl_fetch,
    crl_store,
    revocation_create,
    revocation_lift,
)
from apps.trust.models import MtlsCertificate

crls = Router(tags=["Access mTLS certificate CRLs"])
revocations = Router(tags=["Access certificate revocations"])

WhenStaleValue = Literal["refuse", "accept"]


class CrlIn(Schema):
    """A CRL for the upload: ``crl`` (PEM, or DER in base64) or ``url`` (fetched now and by
    every refresh), and what happens to the CA's clients once it is past its next update."""

    crl: str | None = Field(None, max_length=12_000_000)
    url: str | None = Field(None, max_length=500)
    when_stale: WhenStaleValue | None = None


class CrlOut(Schema):
    """One CA's current CRL (never its bytes)."""

    id: str
    ca_subject: str
    ca_fingerprint: str
    this_update: dt.datetime
    next_update: dt.datetime
    crl_number: str | None
    revoked_count: int
    url: str | None
    when_stale: str
    stale: bool
    last_error: str | None


def crl_out(crl: CertificateRevocationList) -> dict[str, object]:
    return {
        "id": str(crl.pk),
        "ca_subject": crl.ca.subject,
        "ca_fingerprint": crl.ca.fingerprint_sha256,
        "this_update": crl.this_update,
        "next_update": crl.next_update,
        "crl_number": crl.crl_number or None,
        "revoked_count": crl.revoked_count,
        "url": crl.url or None,
        "when_stale": crl.when_stale,
        "stale": crl.is_stale(),
        "last_error": crl.last_error or None,
    }


def _bundle(certificate_id: str) -> MtlsCertificate:
    return one_by_id(MtlsCertificate.objects.all(), certificate_id, "Certificate")


def _crls_of(bundle: MtlsCertificate) -> list[CertificateRevocationList]:
    rows = CertificateRevocationList.objects.filter(ca__bundle=bundle).select_related("ca")
    return list(rows.defer("der").order_by("ca__position"))


def _crl_bytes(text: str) -> bytes:
    """PEM as it is; anything else is base64 of the DER."""
    if text.lstrip().startswith("-----BEGIN"):
        return text.encode("utf-8", "replace")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("crl: neither PEM nor base64 DER") from None


@crls.get(
    "/{certificate_id}/crls",
    response=Envelope[list[CrlOut]],
    summary="List the CRLs of an mTLS certificate",
)
def list_crls(request: HttpRequest, certificate_id: str) -> dict[str, object]:
    return ok([crl_out(crl) for crl in _crls_of(_bundle(certificate_id))])


@crls.post(
    "/{certificate_id}/crls",
    response=Envelope[CrlOut],
    summary="Add (or replace) a CRL of an mTLS certificate",
)
def add_crl(request: HttpRequest, certificate_id: str, body: CrlIn) -> dict[str, object]:
    token = token_of(request)
    bundle = _bundle(certificate_id)
    if (body.crl is None) == (body.url is None):
        raise invalid("give the CRL one way: crl (PEM or base64 DER) or url")
    with api_write({"crl": "crl", "url": "url"}):
        if body.crl is not None:
            stored = crl_store(
                bundle=bundle,
                data=_crl_bytes(body.crl),
                user=token.actor,
                when_stale=body.when_stale,
            )
        else:
            stored = crl_fetch(
                bundle=bundle, url=body.url, user=token.actor, when_stale=body.when_stale
            )
        record(token, stored, ADDED, "CRL stored through the API")
    return ok(crl_out(stored))


@crls.delete(
    "/{certificate_id}/crls/{crl_id}",
    response=Envelope[Deleted],
    summary="Remove a CRL of an mTLS certificate",
)
def delete_crl(request: HttpRequest, certificate_id: str, crl_id: str) -> dict[str, object]:
    token = token_of(request)
    bundle = _bundle(certificate_id)
    crl = next((c for c in _crls_of(bundle) if str(c.pk) == crl_id), None)
    if crl is None:
        raise not_found("CRL")
    shown = {"id": str(crl.pk)}
    with api_write():
        record(token, crl, DELETED, "CRL removed through the API")
        crl_delete(crl=crl, user=token.actor)
    return ok(shown)


class RevocationIn(Schema):
    """Revoke by ``serial`` (hex) or by ``fingerprint`` (SHA-256 hex); colons allowed."""

    serial: str | None = Field(None, max_length=200)
    fingerprint: str | None = Field(None, max_length=200)
    reason: str = Field("", max_length=1000)


class RevocationOut(Schema):
    """A revocation: what, why, when, by whom; lifted ones keep when they were lifted."""

    id: str
    serial: str | None
    fingerprint: str | None
    reason: str
    revoked_at: dt.datetime
    revoked_by: str | None
    lifted_at: dt.datetime | None


class RevocationFilter(Page):
    """``?all=true`` lists lifted revocations too."""

    all: bool = False


def revocation_out(revocation: Revocation) -> dict[str, object]:
    by_serial = revocation.kind == "serial"
    return {
        "id": str(revocation.pk),
        "serial": revocation.value if by_serial else None,
        "fingerprint": None if by_serial else revocation.value,
        "reason": revocation.reason,
        "revoked_at": revocation.created_at,
        "revoked_by": revocation.created_by.get_username() if revocation.created_by else None,
        "lifted_at": revocation.lifted_at,
    }


@revocations.get("", response=Envelope[list[RevocationOut]], summary="List revoked certificates")
def list_revocations(request: HttpRequest, query: Query[RevocationFilter]) -> dict[str, object]:
    rows = Revocation.objects.select_related("created_by").order_by("pk")
    if not query.all:
        rows = rows.active()
    chosen, info = paginate(rows, query.page, query.per_page)
    return ok([revocation_out(r) for r in chosen], info)


@revocations.post(
    "",
    response=Envelope[RevocationOut],
    summary="Revoke a certificate by serial number or fingerprint",
)
def revoke(request: HttpRequest, body: RevocationIn) -> dict[str, object]:
    token = token_of(request)
    if (body.serial is None) == (body.fingerprint is None):
        raise invalid("give serial or fingerprint, not both")
    if body.serial is not None:
        kind, value = "serial", body.serial
    else:
        kind, value = "fingerprint", body.fingerprint or ""
    with api_write({"value": kind}):
        revocation = revocation_create(kind=kind, value=value, reason=body.reason, user=token.actor)
        record(token, revocation, ADDED, "Revoked through the API")
    return ok(revocation_out(revocation))


@revocations.delete(
    "/{revocation_id}", response=Envelope[RevocationOut], summary="Lift a revocation"
)
def lift(request: HttpRequest, revocation_id: str) -> dict[str, object]:
    token = token_of(request)
    found = one_by_id(Revocation.objects.all(), revocation_id, "Revocation")
    with api_write():
        lifted = revocation_lift(revocation=found, user=token.actor)
        record(token, lifted, CHANGED, "Lifted through the API")
    return ok(revocation_out(lifted))
