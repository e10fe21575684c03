"""Writes to the trust store: the one way the dashboard and the command add, change and remove
uploaded CA bundles.

Validation is the pure core's (``accessctl.core.truststore``, ``accessctl.core.hostnames``);
errors are ``ValidationError`` keyed by field — ``name``, ``pem`` (the certificate content),
``hostnames`` — so the admin form shows each next to its field and the command prints them on
one line. Nothing is written unless everything is valid.

Every write is logged on ``accessctl.trust`` (name, fingerprints, hostnames, who): never the
bundle text, which is where a pasted private key would have been.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accessctl.core.hostnames import InvalidHostname, parse_hostname_list
from accessctl.core.pem import contains_private_key
from accessctl.core.truststore import BundleError, CaFacts, bundle_pem, validate_ca_bundle
from apps.trust.models import AssociatedHostname, CaCertificate, MtlsCertificate

if TYPE_CHECKING:
    # settings.AUTH_USER_MODEL (Django's default): the model the audit columns point to.
    from django.contrib.auth.models import User as UserModel

logger = logging.getLogger("accessctl.trust")

NAME_MAX_LENGTH = MtlsCertificate._meta.get_field("name").max_length or 100

User: TypeAlias = "UserModel | AnonymousUser | None"


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    """A validated upload, ready to be stored."""

    name: str
    certificates: list[CaFacts]
    hostnames: list[str]


def known_fingerprints() -> dict[str, str]:
    """Fingerprint → name of the uploaded bundle holding it, for every stored certificate."""
    return dict(CaCertificate.objects.values_list("fingerprint_sha256", "bundle__name"))


def certificate_check(
    *,
    name: str,
    pem: str,
    hostnames: Iterable[str],
    now: dt.datetime | None = None,
    hostnames_required: bool = True,
) -> CheckedUpload:
    """Validate an upload without writing anything; raise ``ValidationError`` by field.

    ``hostnames`` are values as typed (each may itself hold several, separated by commas or
    whitespace); they are normalized. All fields are checked, so every error is reported at
    once. ``hostnames_required=False`` (the API, as Cloudflare's) accepts none.
    """
    errors: dict[str, list[ValidationError]] = {}
    name = _check_name(name, errors)
    checked_hosts = _check_hostnames(hostnames, errors, required=hostnames_required)
    certificates: list[CaFacts] = []
    try:
        certificates = validate_ca_bundle(
            pem, now=now or timezone.now(), known_fingerprints=known_fingerprints()
        )
    except BundleError as exc:
        errors["pem"] = [ValidationError(exc.message, code=exc.code)]
    if errors:
        raise ValidationError(errors)
    return CheckedUpload(name=name, certificates=certificates, hostnames=checked_hosts)


@transaction.atomic
def certificate_create(
    *,
    name: str,
    pem: str,
    hostnames: Iterable[str],
    user: User,
    enabled: bool = True,
    now: dt.datetime | None = None,
    hostnames_required: bool = True,
) -> MtlsCertificate:
    """Validate and store an uploaded CA bundle with its certificates and hostnames.

    All or nothing: raises ``ValidationError`` (keyed ``name``, ``pem``, ``hostnames``) and
    writes nothing when anything is wrong, including when a concurrent upload of the same
    certificate or name wins the race to the database.
    """
    checked = certificate_check(
        name=name, pem=pem, hostnames=hostnames, now=now, hostnames_required=hostnames_required
    )
    author = _author(user)
    try:
        with transaction.atomic():
            bundle = MtlsCertificate.objects.create(
                name=checked.name,
                pem=bundle_pem(checked.certificates),
                enabled=enabled,
                created_by=author,
                updated_by=author,
            )
            for facts in checked.certificates:
                # One save per row (not bulk_create): post_save bumps the configuration version.
                CaCertificate.objects.create(
                    bundle=bundle,
                    position=facts.position,
                    subject=facts.subject,
                    issuer=facts.issuer,
                    serial_number=facts.serial_hex,
                    fingerprint_sha256=facts.fingerprint_sha256,
                    not_before=facts.not_before,
                    not_after=facts.not_after,
                    key_type=facts.key_type,
                    key_size=facts.key_size,
                    signature_algorithm=facts.signature_algorithm,
                    is_root=facts.is_root,
                    der=facts.der,
                )
            for hostname in checked.hostnames:
                AssociatedHostname.objects.create(certificate=bundle, hostname=hostname)
    except IntegrityError:
        raise _conflict(checked, pem, now) from None
    logger.info(
        "mtls certificate created name=%r fingerprints=%s hostnames=%s by=%s",
        bundle.name,
        ",".join(f.fingerprint_sha256 for f in checked.certificates),
        ",".join(checked.hostnames),
        _username(author),
    )
    return bundle


@transaction.atomic
def certificate_update(
    *,
    certificate: MtlsCertificate,
    name: str,
    hostnames: Iterable[str],
    enabled: bool,
    user: User,
    hostnames_required: bool = True,
) -> MtlsCertificate:
    """Change what can change after upload: the name, the hostnames, enabled.

    The bundle itself never changes (rotation is a new upload). Raises ``ValidationError``
    keyed ``name`` / ``hostnames`` and writes nothing on error. ``hostnames_required=False``
    (the API) accepts none: the bundle then guards nothing.
    """
    errors: dict[str, list[ValidationError]] = {}
    name = _check_name(name, errors, exclude_pk=certificate.pk)
    wanted = _check_hostnames(hostnames, errors, required=hostnames_required)
    if errors:
        raise ValidationError(errors)
    certificate.name = name
    certificate.enabled = enabled
    certificate.updated_by = _author(user)
    try:
        with transaction.atomic():
            certificate.save(update_fields=["name", "enabled", "updated_by", "updated_at"])
            current = set(certificate.hostnames.values_list("hostname", flat=True))
            for row in certificate.hostnames.exclude(hostname__in=wanted):
                row.delete()
            for hostname in wanted:
                if hostname not in current:
                    AssociatedHostname.objects.create(certificate=certificate, hostname=hostname)
    except IntegrityError:
        raise ValidationError(
            {"name": [ValidationError(_name_taken(name), code="name_taken")]}
        ) from None
    logger.info(
        "mtls certificate updated name=%r enabled=%s hostnames=%s by=%s",
        certificate.name,
        enabled,
        ",".join(wanted),
        _username(certificate.updated_by),
    )
    return certificate


@transaction.atomic
def certificate_delete(*, certificate: MtlsCertificate, user: User) -> None:
    """Remove an uploaded bundle with its certificates and hostname bindings.

    Clients it verified stop being accepted at the next configuration check (the gateway's
    version stamp), and live sessions bound to its hostnames end.
    """
    name, pk = certificate.name, certificate.pk
    fingerprints = list(certificate.certificates.values_list("fingerprint_sha256", flat=True))
    certificate.delete()
    logger.info(
        "mtls certificate deleted name=%r id=%s fingerprints=%s by=%s",
        name,
        pk,
        ",".join(fingerprints),
        _username(_author(user)),
    )


def _check_name(
    name: str, errors: dict[str, list[ValidationError]], exclude_pk: int | None = None
) -> str:
    name = (name or "").strip()
    if not name:
        errors["name"] = [ValidationError("A name is required.", code="required")]
    elif contains_private_key(name):
        errors["name"] = [ValidationError("The name contains a private key.", code="private_key")]
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = [
            ValidationError(f"At most {NAME_MAX_LENGTH} characters.", code="max_length")
        ]
    else:
        taken = MtlsCertificate.objects.filter(name=name)
        if exclude_pk is not None:  # an update: the bundle's own name is not taken
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            errors["name"] = [ValidationError(_name_taken(name), code="name_taken")]
    return name


def parse_hostnames(values: Iterable[str]) -> list[str]:
    """Normalized hostnames from field values (each may hold several); ``ValidationError``
    naming the bad one. A private key pasted into the wrong field is refused without echo."""
    if isinstance(values, str):
        values = [values]  # a single string is one field's text, not a list of characters
    text = "\n".join(values)
    if contains_private_key(text):
        raise ValidationError(
            "This field contains a private key; remove it (a private key is never uploaded).",
            code="private_key",
        )
    try:
        return parse_hostname_list(text)
    except InvalidHostname as exc:
        raise ValidationError(str(exc), code="invalid_hostname") from None


def _check_hostnames(
    values: Iterable[str], errors: dict[str, list[ValidationError]], *, required: bool = True
) -> list[str]:
    values = [values] if isinstance(values, str) else list(values)
    if not required and not "".join(values).strip():
        return []
    try:
        return parse_hostnames(values)
    except ValidationError as exc:
        errors["hostnames"] = [exc]
        return []


def _name_taken(name: str) -> str:
    return f"A certificate named {name!r} already exists."


def _conflict(checked: CheckedUpload, pem: str, now: dt.datetime | None) -> ValidationError:
    """The database refused the insert: a concurrent write took the name or a certificate.

    Validating again against the rows now stored gives the same message a later upload gets.
    """
    if MtlsCertificate.objects.filter(name=checked.name).exists():
        return ValidationError(
            {"name": [ValidationError(_name_taken(checked.name), code="name_taken")]}
        )
    try:
        validate_ca_bundle(pem, now=now or timezone.now(), known_fingerprints=known_fingerprints())
    except BundleError as exc:
        return ValidationError({"pem": [ValidationError(exc.message, code=exc.code)]})
    return ValidationError(
        {"pem": [ValidationError("The certificate could not be stored; try again.")]}
    )


def _author(user: User) -> UserModel | None:
    return user if isinstance(user, AbstractBaseUser) else None


def _username(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None else "-"
