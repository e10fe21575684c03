"""The single-use code that carries a login from the authentication hostname to an
application's hostname.

After the identity provider's callback (``apps.identity``), the browser is sent to
``https://<app hostname>/cdn-cgi/access/authorized?code=…``: the code is random, valid for
:data:`HANDOFF_SECONDS`, redeemable once, and names what it was made for (the application's
AUD tag, the hostname and the URL to return to), so that no long-lived token travels in a URL
and the code is useless anywhere else. Codes are rows of the database (``LoginCode``, only
their digest stored), so any worker of any node can redeem what another made, whatever the
cache; a login writes one row, the request path none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accessctl.core.people import Person
from apps.tokens.models import LoginCode

HANDOFF_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Handoff:
    """A login on its way to one application."""

    person: Person
    identity_nonce: str
    audience: str
    hostname: str
    redirect_url: str


def _digest(code: str) -> str:
    # The table holds a digest, not the code: reading it does not give codes away.
    return hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()


def handoff_create(handoff: Handoff) -> str:
    """Store ``handoff`` and return its code."""
    code = secrets.token_urlsafe(32)
    person = handoff.person
    value = {
        "person": {
            "email": person.email,
            "subject": person.subject,
            "login_method": person.login_method,
            "login_method_name": person.login_method_name,
            "login_method_type": person.login_method_type,
            "groups": list(person.groups),
            "claims": {name: list(values) for name, values in person.claims.items()},
        },
        "identity_nonce": handoff.identity_nonce,
        "audience": handoff.audience,
        "hostname": handoff.hostname,
        "redirect_url": handoff.redirect_url,
    }
    now = timezone.now()
    LoginCode.objects.filter(expires_at__lte=now).delete()  # what no one redeemed in time
    LoginCode.objects.create(
        code_sha256=_digest(code),
        payload=value,
        expires_at=now + dt.timedelta(seconds=HANDOFF_SECONDS),
    )
    return code


def handoff_redeem(code: str) -> Handoff | None:
    """The handoff of ``code``, once: None when unknown, expired or already redeemed."""
    if not code or len(code) > 100:
        return None
    row = LoginCode.objects.filter(code_sha256=_digest(code), expires_at__gt=timezone.now()).first()
    # The row is deleted by one caller only: two requests racing with one code get it once.
    if row is None or LoginCode.objects.filter(pk=row.pk).delete()[0] != 1:
        return None
    value: Any = row.payload
    if not isinstance(value, dict):
        return None
    person = value["person"]
    return Handoff(
        person=Person(
            email=person["email"],
            subject=person["subject"],
            login_method=person["login_method"],
            login_method_name=person["login_method_name"],
            login_method_type=person.get("login_method_type", ""),
            groups=tuple(person["groups"]),
            claims={name: tuple(values) for name, values in person["claims"].items()},
        ),
        identity_nonce=value["identity_nonce"],
        audience=value["audience"],
        hostname=value["hostname"],
        redirect_url=value["redirect_url"],
    )
