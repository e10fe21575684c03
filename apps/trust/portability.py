"""The trust store's section of ``accessctl export``: every uploaded CA bundle, its
certificates (the stored PEM), its hostnames and whether it is enabled; and the hostname
settings (client-certificate forwarding, set through the API), absent from older exports.

Restored through :func:`apps.trust.services.certificate_create`, with the upload's own checks.
A bundle is checked as of the moment it was first uploaded (its ``created_at``), so a CA that
has expired since is restored as it was -- listed as expired, verifying nobody -- rather than
refused; every other rule of the upload applies as it does today.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apps.base.cli import one_line
from apps.base.portability import ExportOptions, ImportContext, Reader, Section, timestamp
from apps.trust.models import HostnameSetting, MtlsCertificate
from apps.trust.services import certificate_create

VERSION = 1


def dump(options: ExportOptions) -> dict[str, Any]:
    """Every bundle, by name (a CA bundle holds no secret)."""
    bundles = MtlsCertificate.objects.prefetch_related("hostnames").order_by("name")
    return {
        "certificates": [
            {
                "name": bundle.name,
                "enabled": bundle.enabled,
                "hostnames": bundle.hostname_list(),
                "pem": bundle.pem,
                "created_at": timestamp(bundle.created_at),
            }
            for bundle in bundles
        ],
        "hostname_settings": [
            {
                "hostname": row.hostname,
                "china_network": row.china_network,
                "client_certificate_forwarding": row.client_certificate_forwarding,
            }
            for row in HostnameSetting.objects.order_by("hostname")
        ],
    }


def load(reader: Reader, version: int, context: ImportContext) -> None:
    """Upload each bundle again; the first one refused stops the import."""
    for item in reader.items("certificates"):
        name = item.text("name")
        uploaded = item.time("created_at") or context.exported_at
        try:
            bundle = certificate_create(
                name=name,
                pem=item.text("pem"),
                hostnames=item.texts("hostnames"),
                enabled=item.flag("enabled"),
                user=None,
                now=uploaded,
                hostnames_required=False,  # the API keeps bundles bound to no hostname
            )
        except ValidationError as exc:
            raise item.refuse(f"{name!r}: {one_line(exc)}") from None
        # The upload's time is kept: the next restore checks the bundle as of it again.
        MtlsCertificate.objects.filter(pk=bundle.pk).update(created_at=uploaded)
    for item in reader.items("hostname_settings", []):
        HostnameSetting.objects.update_or_create(
            hostname=item.text("hostname"),
            defaults={
                "china_network": item.flag("china_network", False),
                "client_certificate_forwarding": item.flag("client_certificate_forwarding", False),
            },
        )


def count() -> str:
    """``"2 CA bundles"``, or empty."""
    held = MtlsCertificate.objects.count()
    return f"{held} CA bundle{'s' if held != 1 else ''}" if held else ""


SECTION = Section(name="trust", version=VERSION, dump=dump, load=load, count=count)
