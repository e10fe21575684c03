"""`accessctl certificates crl|revoke|revoked|unrevoke`: revocation on the command line.

Subcommands of the trust store's ``accessctl certificates``, added through
``apps.trust.commands`` (registered in ``RevocationConfig.ready()``):

    accessctl certificates crl add "Acme CA" acme.crl            # PEM or DER; - for stdin
    accessctl certificates crl fetch "Acme CA" [--url URL]       # default: distribution points
    accessctl certificates crl list [--json]
    accessctl certificates crl remove "Acme CA" [--ca FINGERPRINT]
    accessctl certificates crl refresh [--force]                 # cron / systemd timer
    accessctl certificates revoke --serial 0A:1B [--reason "lost laptop"]
    accessctl certificates revoke --fingerprint AB:CD:… [--reason TEXT]
    accessctl certificates revoked [--all] [--json]
    accessctl certificates unrevoke --serial 0A:1B | --fingerprint AB:CD:…

Bad input prints one line on stderr and exits 2; the previous CRL stays. ``crl refresh``
prints one line per CRL and exits 1 when any could not be refreshed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accessctl.core.revocation import MAX_CRL_BYTES, normalize_fingerprint
from apps.base.cli import bad_input, one_line, read_input
from apps.revocation.choices import RevokedBy, WhenStale
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import (
    crl_delete,
    crl_fetch,
    crl_refresh,
    crl_store,
    normalized,
    revocation_create,
    revocation_lift,
)
from apps.trust.commands import CertificatesExtension
from apps.trust.models import MtlsCertificate

CRL_LABELS = {"crl": "crl", "url": "url", "value": "value", "kind": "kind"}
STALE_CHOICES = [c.value for c in WhenStale]


def bundle_named(text: str) -> MtlsCertificate:
    """The uploaded certificate of that name, or that id; exit 2 otherwise."""
    found = MtlsCertificate.objects.filter(name=text).first()
    if found is None and text.isdigit():
        found = MtlsCertificate.objects.filter(pk=int(text)).first()
    if found is None:
        raise bad_input(f"certificate: no uploaded certificate is named (or has the id) {text!r}")
    return found


def crl_as_dict(crl: CertificateRevocationList, now: Any) -> dict[str, Any]:
    """The JSON shape of one CRL (``crl list --json``)."""
    return {
        "certificate": crl.ca.bundle.name,
        "ca_subject": crl.ca.subject,
        "ca_fingerprint": crl.ca.fingerprint_sha256,
        "this_update": crl.this_update.isoformat(),
        "next_update": crl.next_update.isoformat(),
        "crl_number": crl.crl_number or None,
        "revoked": crl.revoked_count,
        "url": crl.url or None,
        "when_stale": crl.when_stale,
        "stale": crl.is_stale(now),
        "last_error": crl.last_error or None,
    }


def revocation_as_dict(revocation: Revocation) -> dict[str, Any]:
    """The JSON shape of one revocation (``revoked --json``)."""
    return {
        "id": revocation.pk,
        "kind": revocation.kind,
        "value": revocation.value,
        "reason": revocation.reason,
        "revoked_at": revocation.created_at.isoformat(),
        "revoked_by": revocation.created_by.get_username() if revocation.created_by else None,
        "lifted_at": revocation.lifted_at.isoformat() if revocation.lifted_at else None,
        "lifted_by": revocation.lifted_by.get_username() if revocation.lifted_by else None,
    }


def _target(parser: CommandParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--serial", metavar="HEX", help="the certificate's serial number")
    group.add_argument("--fingerprint", metavar="HEX", help="its SHA-256 fingerprint")


class RevocationActions:
    """The revocation subcommands, writing to the running command's output."""

    def __init__(self, command: BaseCommand) -> None:
        self.stdout = command.stdout

    @staticmethod
    def add_parsers(sub: Any) -> None:
        crl = sub.add_parser("crl", help="the CRLs of uploaded CA certificates")
        crl_sub = crl.add_subparsers(dest="crl_action", required=True, parser_class=CommandParser)
        add = crl_sub.add_parser("add", help="upload a CRL (PEM or DER) for an uploaded CA")
        add.add_argument("certificate", metavar="CERTIFICATE_NAME_OR_ID")
        add.add_argument("file", metavar="FILE", help="the CRL file, or - for standard input")
        add.add_argument("--stale", choices=STALE_CHOICES, help="past nextUpdate: refuse or accept")
        fetch = crl_sub.add_parser("fetch", help="fetch a CRL from a URL and keep refreshing it")
        fetch.add_argument("certificate", metavar="CERTIFICATE_NAME_OR_ID")
        fetch.add_argument("--url", help="default: the CRL distribution points of the upload")
        fetch.add_argument("--stale", choices=STALE_CHOICES)
        listing = crl_sub.add_parser("list", help="list the stored CRLs")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        remove = crl_sub.add_parser("remove", help="remove the CRLs of an uploaded CA")
        remove.add_argument("certificate", metavar="CERTIFICATE_NAME_OR_ID")
        remove.add_argument("--ca", metavar="FINGERPRINT", help="only the CRL of this CA")
        refresh = crl_sub.add_parser("refresh", help="fetch every CRL that is due (cron)")
        refresh.add_argument("--force", action="store_true", help="fetch every CRL with a URL")
        revoke = sub.add_parser("revoke", help="revoke a certificate by serial or fingerprint")
        _target(revoke)
        revoke.add_argument("--reason", default="", help="why (shown in the list)")
        revoked = sub.add_parser("revoked", help="list revoked certificates")
        revoked.add_argument("--all", action="store_true", help="lifted ones too")
        revoked.add_argument("--json", action="store_true", help="print a JSON array")
        unrevoke = sub.add_parser("unrevoke", help="lift a revocation")
        _target(unrevoke)

    def handle(self, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "crl":
            getattr(self, f"_crl_{options['crl_action']}")(options)
        else:
            getattr(self, f"_{action}")(options)

    # --- CRLs -----------------------------------------------------------------------------

    def _crl_add(self, options: dict[str, Any]) -> None:
        bundle = bundle_named(options["certificate"])
        data = read_input(options["file"], limit=MAX_CRL_BYTES, label="crl")
        try:
            crl = crl_store(bundle=bundle, data=data, user=None, when_stale=options["stale"])
        except ValidationError as exc:
            raise bad_input(one_line(exc, CRL_LABELS)) from None
        self._stored(crl)

    def _crl_fetch(self, options: dict[str, Any]) -> None:
        bundle = bundle_named(options["certificate"])
        try:
            crl = crl_fetch(
                bundle=bundle, url=options["url"], user=None, when_stale=options["stale"]
            )
        except ValidationError as exc:
            raise bad_input(one_line(exc, CRL_LABELS)) from None
        self._stored(crl)

    def _stored(self, crl: CertificateRevocationList) -> None:
        self.stdout.write(
            f"CRL of {crl.ca.subject} stored for {crl.ca.bundle.name!r}: "
            f"{crl.revoked_count} revoked, next update {crl.next_update:%Y-%m-%d %H:%M} UTC"
            + (f", refreshed from {crl.url}" if crl.url else "")
        )

    def _crl_list(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        crls = CertificateRevocationList.objects.select_related("ca__bundle")
        rows = [crl_as_dict(crl, now) for crl in crls]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("no CRL stored")
            return
        for row in rows:
            state = " STALE" if row["stale"] else ""
            self.stdout.write(
                f"{row['certificate']}: {row['ca_subject']} | {row['revoked']} revoked | "
                f"next update {row['next_update']}{state} | when stale: {row['when_stale']}"
                + (f" | from {row['url']}" if row["url"] else "")
                + (f" | last error: {row['last_error']}" if row["last_error"] else "")
            )

    def _crl_remove(self, options: dict[str, Any]) -> None:
        bundle = bundle_named(options["certificate"])
        crls = CertificateRevocationList.objects.filter(ca__bundle=bundle).select_related("ca")
        if options["ca"]:
            try:
                fingerprint = normalize_fingerprint(options["ca"])
            except ValueError as exc:
                raise bad_input(f"ca: {exc}") from None
            crls = crls.filter(ca__fingerprint_sha256=fingerprint)
        found = list(crls)
        if not found:
            raise bad_input(f"certificate: {bundle.name!r} has no such CRL")
        for crl in found:
            subject = crl.ca.subject
            crl_delete(crl=crl, user=None)
            self.stdout.write(f"removed the CRL of {subject}")

    def _crl_refresh(self, options: dict[str, Any]) -> None:
        results = crl_refresh(force=options["force"])
        for result in results:
            state = "refreshed" if result.ok else "NOT refreshed"
            self.stdout.write(
                f"{result.crl.ca.bundle.name}: CRL of {result.crl.ca.subject} {state}: "
                f"{result.message}"
            )
        if not results:
            self.stdout.write("no CRL due for a refresh")
        failed = [r for r in results if not r.ok]
        if failed:
            raise CommandError(f"{len(failed)} CRL(s) could not be refreshed", returncode=1)

    # --- Revocation by serial or fingerprint ------------------------------------------------

    @staticmethod
    def _kind_value(options: dict[str, Any]) -> tuple[str, str]:
        if options["serial"] is not None:
            return RevokedBy.SERIAL, options["serial"]
        return RevokedBy.FINGERPRINT, options["fingerprint"]

    def _revoke(self, options: dict[str, Any]) -> None:
        kind, value = self._kind_value(options)
        try:
            revocation = revocation_create(
                kind=kind, value=value, reason=options["reason"], user=None
            )
        except ValidationError as exc:
            raise bad_input(one_line(exc, {"value": kind})) from None
        self.stdout.write(f"revoked {revocation}")

    def _revoked(self, options: dict[str, Any]) -> None:
        revocations = Revocation.objects.select_related("created_by", "lifted_by")
        if not options["all"]:
            revocations = revocations.active()
        rows = [revocation_as_dict(r) for r in revocations]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("no certificate is revoked")
            return
        for row in rows:
            lifted = f" | lifted {row['lifted_at']} by {row['lifted_by'] or 'the command line'}"
            self.stdout.write(
                f"{row['kind']} {row['value']} | revoked {row['revoked_at']} by "
                f"{row['revoked_by'] or 'the command line'} | {row['reason'] or '(no reason)'}"
                + (lifted if row["lifted_at"] else "")
            )

    def _unrevoke(self, options: dict[str, Any]) -> None:
        kind, value = self._kind_value(options)
        try:
            value = normalized(kind, value)
        except ValidationError as exc:
            raise bad_input(one_line(exc, {"value": kind})) from None
        revocation = Revocation.objects.active().filter(kind=kind, value=value).first()
        if revocation is None:
            raise bad_input(f"{kind}: {value} is not revoked")
        revocation_lift(revocation=revocation, user=None)
        self.stdout.write(f"lifted the revocation of {revocation}")


EXTENSION = CertificatesExtension(
    actions=frozenset({"crl", "revoke", "revoked", "unrevoke"}),
    add_parsers=RevocationActions.add_parsers,
    handle=lambda command, options: RevocationActions(command).handle(options),
)
