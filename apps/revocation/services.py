"""Writes to revocation: the one way the dashboard and the command store, fetch, refresh and
remove CRLs, and revoke and lift certificates.

The checks are the pure core's (``accessctl.core.revocation``). Errors are ``ValidationError``
keyed by field (``crl``, ``url``, ``value``) so the admin form shows each next to its field and
the command prints it on one line; nothing is written unless everything is valid, and a CRL
refused keeps the previous one in place. Every write is logged on ``accessctl.revocation``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accessctl.core.revocation import (
    MAX_CRL_BYTES,
    CrlError,
    CrlFacts,
    load_crl,
    normalize_fingerprint,
    normalize_serial,
    validate_crl,
)
from apps.revocation.choices import RevokedBy, WhenStale
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.trust.models import CaCertificate, MtlsCertificate

if TYPE_CHECKING:
    from django.contrib.auth.models import User as UserModel

logger = logging.getLogger("accessctl.revocation")

User: TypeAlias = "UserModel | AnonymousUser | None"
FETCH_TIMEOUT = 10.0  # seconds, per URL


def _operator(user: User) -> UserModel | None:
    return None if user is None or isinstance(user, AnonymousUser) else user


def _who(user: User) -> str:
    operator = _operator(user)
    return operator.get_username() if operator is not None else "the command line"


# --- CRLs ------------------------------------------------------------------------------------


def crl_check(
    *, bundle: MtlsCertificate, data: bytes, now: dt.datetime | None = None
) -> tuple[CaCertificate, CrlFacts]:
    """Check ``data`` (PEM or DER) against the CA certificates of ``bundle``; return the CA
    that signed it and the CRL's facts, or raise ``ValidationError`` on ``crl``."""
    now = now or timezone.now()
    cas = list(bundle.certificates.all())
    certificates = [x509.load_der_x509_certificate(bytes(ca.der)) for ca in cas]
    try:
        facts = validate_crl(data, certificates, now=now)
    except CrlError as exc:
        raise ValidationError({"crl": ValidationError(exc.message, code=exc.code)}) from None
    ca = next(ca for ca in cas if ca.fingerprint_sha256 == facts.issuer_fingerprint)
    current = CertificateRevocationList.objects.filter(ca=ca).first()
    if current is not None and _older(facts, current):
        raise ValidationError(
            {
                "crl": ValidationError(
                    f"this CRL (updated {facts.this_update:%Y-%m-%d %H:%M} UTC) is older than "
                    f"the current one (updated {current.this_update:%Y-%m-%d %H:%M} UTC); "
                    "the current one stays",
                    code="older",
                )
            }
        )
    return ca, facts


def _older(facts: CrlFacts, current: CertificateRevocationList) -> bool:
    """A replayed older CRL (still signed, maybe missing a revocation) never replaces a newer."""
    if facts.crl_number is not None and current.crl_number:
        return facts.crl_number < int(current.crl_number)
    return facts.this_update < current.this_update


@transaction.atomic
def crl_store(
    *,
    bundle: MtlsCertificate,
    data: bytes,
    user: User,
    url: str | None = None,
    when_stale: str | None = None,
    now: dt.datetime | None = None,
) -> CertificateRevocationList:
    """Check and store a CRL for the CA of ``bundle`` that signed it, replacing that CA's
    current one. ``url`` (None: keep the current one) is where refreshes fetch it;
    ``when_stale`` (None: keep, or refuse for a new one) the stale-CRL choice."""
    now = now or timezone.now()
    ca, facts = crl_check(bundle=bundle, data=data, now=now)
    crl = CertificateRevocationList.objects.select_for_update().filter(ca=ca).first()
    if crl is None:
        crl = CertificateRevocationList(ca=ca, created_by=_operator(user))
    crl.der = facts.der
    crl.this_update = facts.this_update
    crl.next_update = facts.next_update
    crl.crl_number = "" if facts.crl_number is None else str(facts.crl_number)
    crl.revoked_count = len(facts.revoked)
    crl.sha256 = hashlib.sha256(facts.der).hexdigest()
    if url is not None:
        crl.url = url
    if crl.url:
        crl.fetched_at = now
    if when_stale is not None:
        crl.when_stale = WhenStale(when_stale)
    crl.last_error = ""
    crl.updated_by = _operator(user)
    crl.save()
    logger.info(
        "CRL of %s (bundle %r) stored by %s: %d revoked, next update %s",
        ca.subject,
        bundle.name,
        _who(user),
        crl.revoked_count,
        facts.next_update.isoformat(),
    )
    return crl


class FetchError(Exception):
    """A CRL could not be fetched; the message is for the operator."""


def check_url(url: str) -> str:
    """An http(s) URL, or ``ValidationError`` on ``url``."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValidationError(
            {"url": ValidationError("a CRL URL is an http:// or https:// URL", code="bad_url")}
        )
    return url.strip()


def _opener() -> urllib.request.OpenerDirector:
    """http and https only, redirects included: urllib's default opener would also follow a
    redirect to ftp:, and open file: URLs."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # the environment's HTTP(S)_PROXY, as curl would
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 3

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme not in {"http", "https"}:
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-HTTP URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The body at ``url`` (http or https, redirects too), at most the CRL size limit;
    :class:`FetchError` otherwise."""
    check_url(url)
    # The scheme was checked above and the opener speaks http and https only.
    request = urllib.request.Request(url, headers={"User-Agent": "accessctl-crl"})  # noqa: S310
    try:
        with _opener().open(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_CRL_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: {reason}") from None
    if len(data) > MAX_CRL_BYTES:
        raise FetchError(f"{url}: larger than {MAX_CRL_BYTES // (1024 * 1024)} MiB")
    return data


def distribution_points(bundle: MtlsCertificate) -> list[str]:
    """The http(s) CRL distribution points named in the bundle's certificates (an
    intermediate names where its issuer's CRL is), for fetching without typing a URL."""
    urls: list[str] = []
    for ca in bundle.certificates.all():
        cert = x509.load_der_x509_certificate(bytes(ca.der))
        try:
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for point in points:
            for name in point.full_name or ():
                if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith(
                    ("http://", "https://")
                ):
                    urls.append(name.value)
    return list(dict.fromkeys(urls))


def crl_fetch(
    *,
    bundle: MtlsCertificate,
    url: str | None,
    user: User,
    when_stale: str | None = None,
    now: dt.datetime | None = None,
) -> CertificateRevocationList:
    """Fetch a CRL from ``url`` (None: the bundle's distribution points, first that works),
    check it and store it with ``url`` for later refreshes; ``ValidationError`` otherwise."""
    urls = [check_url(url)] if url else distribution_points(bundle)
    if not urls:
        raise ValidationError(
            {
                "url": "no URL given, and no certificate of this upload names a CRL "
                "distribution point"
            }
        )
    problems: list[str] = []
    for candidate in urls:
        try:
            data = fetch(candidate)
            return crl_store(
                bundle=bundle,
                data=data,
                user=user,
                url=candidate,
                when_stale=when_stale,
                now=now,
            )
        except FetchError as exc:
            problems.append(str(exc))
        except ValidationError as exc:
            problems.append(f"{candidate}: {' '.join(exc.messages)}")
    raise ValidationError({"url": "; ".join(problems)})


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh did to one CRL."""

    crl: CertificateRevocationList
    ok: bool
    message: str


def crl_refresh(
    *, now: dt.datetime | None = None, force: bool = False, only: Iterable[int] | None = None
) -> list[Refreshed]:
    """Fetch, check and replace every CRL that has a URL and is due (halfway to its
    ``nextUpdate``, or past it; all of them with ``force``). A failure keeps the current CRL
    and records the error on it (shown on the dashboard). ``only``: these CRLs (by id)."""
    now = now or timezone.now()
    results: list[Refreshed] = []
    crls = CertificateRevocationList.objects.exclude(url="").select_related("ca__bundle")
    if only is not None:
        crls = crls.filter(pk__in=list(only))
    for crl in crls.order_by("id"):
        if not force and not crl.refresh_due(now):
            continue
        try:
            data = fetch(crl.url)
            if _unchanged(data, crl):
                if crl.is_stale(now):
                    raise FetchError(f"{crl.url} still serves the CRL that is past its next update")
                CertificateRevocationList.objects.filter(pk=crl.pk).update(
                    fetched_at=now, last_error=""
                )
                crl.refresh_from_db()
                results.append(Refreshed(crl, True, "unchanged (no newer CRL published yet)"))
                continue
            stored = crl_store(bundle=crl.ca.bundle, data=data, user=None, now=now)
        except (FetchError, ValidationError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            CertificateRevocationList.objects.filter(pk=crl.pk).update(last_error=message[:1000])
            logger.warning("CRL of %s not refreshed: %s", crl.ca.subject, message)
            crl.refresh_from_db()
            results.append(Refreshed(crl, False, message))
            continue
        if stored.pk != crl.pk:
            # The URL now serves the CRL of another CA of the bundle: stored there; this one
            # is still to be refreshed.
            message = f"{crl.url} served the CRL of {stored.ca.subject}, not of {crl.ca.subject}"
            CertificateRevocationList.objects.filter(pk=crl.pk).update(last_error=message)
            crl.refresh_from_db()
            results.append(Refreshed(crl, False, message))
            continue
        results.append(
            Refreshed(stored, True, f"next update {stored.next_update:%Y-%m-%d %H:%M} UTC")
        )
    return results


def _unchanged(data: bytes, crl: CertificateRevocationList) -> bool:
    """The server serves the CRL already stored (as PEM or DER)."""
    try:
        der = load_crl(data).public_bytes(Encoding.DER)
    except CrlError:
        return False
    return hashlib.sha256(der).hexdigest() == crl.sha256


@transaction.atomic
def crl_delete(*, crl: CertificateRevocationList, user: User) -> None:
    """Remove a CA's CRL: its clients are no longer checked against it."""
    subject = crl.ca.subject
    crl.delete()
    logger.info("CRL of %s removed by %s", subject, _who(user))


def crls_of(bundle: MtlsCertificate) -> Iterable[CertificateRevocationList]:
    """The CRLs of a bundle's CA certificates, in the bundle's order."""
    return CertificateRevocationList.objects.filter(ca__bundle=bundle).select_related("ca")


# --- Revocation by serial or fingerprint ---------------------------------------------------


def normalized(kind: str, value: str) -> str:
    """``value`` normalized for ``kind``; ``ValidationError`` on ``value``."""
    try:
        if kind == RevokedBy.SERIAL:
            return normalize_serial(value)
        if kind == RevokedBy.FINGERPRINT:
            return normalize_fingerprint(value)
    except ValueError as exc:
        raise ValidationError({"value": ValidationError(str(exc), code="bad_value")}) from None
    raise ValidationError({"kind": "revoke by serial or by fingerprint"})


@transaction.atomic
def revocation_create(*, kind: str, value: str, reason: str, user: User) -> Revocation:
    """Revoke a certificate by serial number or SHA-256 fingerprint; refused (on ``value``)
    when it is revoked already."""
    value = normalized(kind, value)
    reason = " ".join(reason.split())[:200]
    existing = Revocation.objects.active().filter(kind=kind, value=value).first()
    if existing is not None:
        raise ValidationError(
            {"value": ValidationError(f"{existing} is revoked already", code="revoked")}
        )
    operator = _operator(user)
    revocation = Revocation.objects.create(
        kind=kind, value=value, reason=reason, created_by=operator, updated_by=operator
    )
    logger.info("revoked %s by %s: %s", revocation, _who(user), reason or "(no reason given)")
    return revocation


@transaction.atomic
def revocation_lift(*, revocation: Revocation, user: User) -> Revocation:
    """Lift a revocation: the certificate is accepted again (the row stays, as history)."""
    if revocation.lifted_at is not None:
        raise ValidationError(f"{revocation} was lifted already")
    revocation.lifted_at = timezone.now()
    revocation.lifted_by = _operator(user)
    revocation.updated_by = _operator(user)
    revocation.save()
    logger.info("revocation of %s lifted by %s", revocation, _who(user))
    return revocation
