"""The identity section of ``accessctl export``: the login methods (their type; for OpenID
Connect the issuer and URLs, client id, scopes, claims, PKCE, and the client secret only in its
encrypted form, as stored; a one-time PIN method has no secret) and which of them each
application offers (by the application's AUD tag, restored by the policies section before
this one).

A client secret must decrypt with this server's ``ACCESSCTL_KEY_ENCRYPTION_SECRET``, or the
import is refused. ``--without-secrets`` leaves the secrets out: the methods come back
disabled and without a secret, so that they log nobody in until an operator enters the secret
and enables them; the import says so (one-time PIN methods come back as they were).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError

from apps.base import sealing
from apps.base.cli import one_line
from apps.base.portability import ExportOptions, ImportContext, Reader, Section
from apps.identity.models import ApplicationLoginMethod, LoginMethod, LoginMethodType
from apps.policies.models import Application

VERSION = 1
_TEXTS = ("issuer_url", "auth_url", "token_url", "certs_url", "client_id", "scopes")
_CLAIMS = ("email_claim_name", "groups_claim_name")


def dump(options: ExportOptions) -> dict[str, Any]:
    """Every login method by name, and each application's choice (by AUD tag)."""
    methods = []
    for method in LoginMethod.objects.order_by("name"):
        entry: dict[str, Any] = {
            "name": method.name,
            "type": method.type,
            "enabled": method.enabled,
            **{field: getattr(method, field) for field in (*_TEXTS, *_CLAIMS)},
            "pkce_enabled": method.pkce_enabled,
        }
        if options.secrets and not method.is_one_time_pin:
            entry["encrypted_client_secret"] = base64.b64encode(
                bytes(method.encrypted_client_secret)
            ).decode()
        methods.append(entry)
    offered: dict[str, list[str]] = {}
    for link in ApplicationLoginMethod.objects.select_related("application", "login_method"):
        offered.setdefault(link.application.aud, []).append(link.login_method.name)
    return {
        "login_methods": methods,
        "applications": [
            {"aud": aud, "login_methods": sorted(names)} for aud, names in sorted(offered.items())
        ],
    }


def _method(item: Reader, context: ImportContext) -> tuple[LoginMethod, bool]:
    """The method as the file says (not saved), and whether it lost its secret."""
    kind = item.text("type")
    if kind not in LoginMethodType.values:
        raise item.refuse(f"unknown login method type {kind[:20]!r}", "type")
    method = LoginMethod(
        name=item.text("name"),
        type=kind,
        enabled=item.flag("enabled"),
        pkce_enabled=item.flag("pkce_enabled"),
        **{field: item.text(field) for field in (*_TEXTS, *_CLAIMS)},
    )
    try:
        method.full_clean()
    except ValidationError as exc:
        raise item.refuse(f"{method.name[:100]!r}: {one_line(exc)}") from None
    if method.is_one_time_pin:
        return method, False  # it mails its codes itself: no secret to carry
    if "encrypted_client_secret" not in item.keys():
        if context.secrets:
            raise item.refuse("missing (a string expected)", "encrypted_client_secret")
        method.enabled = False  # no secret: it can log nobody in, so it offers nothing
        return method, True
    try:
        method.encrypted_client_secret = base64.b64decode(
            item.text("encrypted_client_secret"), validate=True
        )
    except (binascii.Error, ValueError):
        raise item.refuse("not base64", "encrypted_client_secret") from None
    try:
        method.client_secret()
    except sealing.SealError:
        raise item.refuse(
            f"the client secret of login method {method.name!r} cannot be decrypted with "
            "this server's ACCESSCTL_KEY_ENCRYPTION_SECRET: set the exporting server's, or "
            "export --without-secrets"
        ) from None
    return method, not method.has_client_secret


def load(reader: Reader, version: int, context: ImportContext) -> str | None:
    """Each method (checked as the dashboard checks it), then the applications' choices."""
    by_name: dict[str, LoginMethod] = {}
    without_secret = []
    for item in reader.items("login_methods"):
        method, lost = _method(item, context)
        if method.name in by_name:
            raise item.refuse(f"a second login method named {method.name!r}", "name")
        method.save()
        by_name[method.name] = method
        if lost:
            without_secret.append(method.name)
    seen: set[str] = set()
    for item in reader.items("applications"):
        aud = item.text("aud")
        application = Application.objects.filter(aud=aud).first()
        if application is None or aud in seen:
            raise item.refuse(f"no application (or a second entry) with AUD tag {aud!r}", "aud")
        seen.add(aud)
        names = item.texts("login_methods")
        unknown = sorted(set(names) - set(by_name))
        if unknown:
            raise item.refuse(f"no login method named {unknown[0]!r}", "login_methods")
        ApplicationLoginMethod.objects.bulk_create(
            ApplicationLoginMethod(application=application, login_method=by_name[name])
            for name in sorted(set(names))
        )
    if without_secret:
        return (
            f"restored disabled, without a client secret (the file was made "
            f"--without-secrets): {', '.join(without_secret)}; enter each secret and enable it"
        )
    return None


def count() -> str:
    """``"2 login methods"``, or empty."""
    held = LoginMethod.objects.count()
    return f"{held} login method{'s' if held != 1 else ''}" if held else ""


SECTION = Section(name="identity", version=VERSION, dump=dump, load=load, count=count)
