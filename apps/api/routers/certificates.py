"""``accounts/{account_id}/access/certificates``: the Mutual TLS page, as Cloudflare's API.

Writes go through the trust store's services (``apps.trust.services``): the same
all-or-nothing checks as the dashboard, the per-certificate message in the error. The PEM is
never returned.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import CODE_CONFLICT, ApiError, Envelope, ok, paginate
from apps.api.routers.common import Deleted, Page, api_write, one_by_id
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_create, certificate_delete, certificate_update

router = Router(tags=["Access mTLS certificates"])

LABELS = {"pem": "certificate", "hostnames": "associated_hostnames"}


class CertificateIn(Schema):
    """A CA bundle to upload: its PEM (root and intermediates) and the hostnames it guards."""

    name: str = Field(max_length=10_000)
    certificate: str = Field(max_length=1_000_000)
    associated_hostnames: list[str] = Field(default_factory=list, max_length=1000)


class CertificateUpdate(Schema):
    """What can change: the hostnames (missing means none, as Terraform sends) and the name."""

    associated_hostnames: list[str] = Field(default_factory=list, max_length=1000)
    name: str | None = Field(None, max_length=10_000)


class CertificateOut(Schema):
    """An uploaded CA bundle as Cloudflare's API shows it (never its PEM)."""

    id: str
    name: str
    fingerprint: str  # SHA-256 of the bundle's root (its first certificate without one)
    associated_hostnames: list[str]
    expires_on: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


def as_out(certificate: MtlsCertificate) -> dict[str, object]:
    chain = list(certificate.certificates.all())
    anchor = next((c for c in chain if c.is_root), chain[0] if chain else None)
    return {
        "id": str(certificate.pk),
        "name": certificate.name,
        "fingerprint": anchor.fingerprint_sha256 if anchor is not None else "",
        "associated_hostnames": certificate.hostname_list(),
        "expires_on": min((c.not_after for c in chain), default=None),
        "created_at": certificate.created_at,
        "updated_at": certificate.updated_at,
    }


def _listing() -> QuerySet[MtlsCertificate]:
    return MtlsCertificate.objects.prefetch_related("certificates", "hostnames").order_by("pk")


def _get(certificate_id: str) -> MtlsCertificate:
    return one_by_id(_listing(), certificate_id, "Certificate")


@router.get("", response=Envelope[list[CertificateOut]], summary="List mTLS certificates")
def list_certificates(request: HttpRequest, page: Query[Page]) -> dict[str, object]:
    chosen, info = paginate(_listing(), page.page, page.per_page)
    return ok([as_out(c) for c in chosen], info)


@router.post("", response=Envelope[CertificateOut], summary="Add an mTLS certificate")
def create_certificate(request: HttpRequest, body: CertificateIn) -> dict[str, object]:
    token = token_of(request)
    with api_write(LABELS):
        created = certificate_create(
            name=body.name,
            pem=body.certificate,
            hostnames=body.associated_hostnames,
            user=token.actor,
            hostnames_required=False,
        )
        record(token, created, ADDED, "Added through the API")
    return ok(as_out(_get(str(created.pk))))


@router.get(
    "/{certificate_id}", response=Envelope[CertificateOut], summary="Get an mTLS certificate"
)
def get_certificate(request: HttpRequest, certificate_id: str) -> dict[str, object]:
    return ok(as_out(_get(certificate_id)))


@router.put(
    "/{certificate_id}", response=Envelope[CertificateOut], summary="Update an mTLS certificate"
)
def update_certificate(
    request: HttpRequest, certificate_id: str, body: CertificateUpdate
) -> dict[str, object]:
    token = token_of(request)
    certificate = _get(certificate_id)
    with api_write(LABELS):
        certificate_update(
            certificate=certificate,
            name=certificate.name if body.name is None else body.name,
            hostnames=body.associated_hostnames,
            enabled=certificate.enabled,
            user=token.actor,
            hostnames_required=False,
        )
        record(token, certificate, CHANGED, "Changed through the API")
    return ok(as_out(_get(certificate_id)))


@router.delete(
    "/{certificate_id}", response=Envelope[Deleted], summary="Delete an mTLS certificate"
)
def delete_certificate(request: HttpRequest, certificate_id: str) -> dict[str, object]:
    token = token_of(request)
    certificate = _get(certificate_id)
    hostnames = certificate.hostname_list()
    if hostnames:
        # Cloudflare's rule: a certificate still bound to hostnames cannot be deleted.
        raise ApiError(
            409,
            CODE_CONFLICT,
            f"The certificate is still associated with {', '.join(hostnames)}: update it with "
            "no associated_hostnames first, then delete it.",
        )
    shown = {"id": str(certificate.pk)}
    with api_write():
        record(token, certificate, DELETED, "Deleted through the API")
        certificate_delete(certificate=certificate, user=token.actor)
    return ok(shown)
