"""One-time PINs by email (Cloudflare's ``onetimepin`` login method): the code's life.

A code is 6 digits, valid :data:`CODE_SECONDS`, checked at most :data:`MAX_ATTEMPTS` times
and used once. Only its HMAC-SHA256 is stored, keyed by a key of its own derived from
``ACCESSCTL_KEY_ENCRYPTION_SECRET`` (``apps.base.sealing.derived_key``) and bound to the row's
id, so that reading the table gives no code away and a digest copied onto another row does
not match. Requests for codes are counted in the database (:data:`PER_ADDRESS` per address,
:data:`PER_CLIENT` per client address, in :data:`WINDOW`), so that every node shares the count.

Every function takes ``now``, so that the tests control the clock.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging
import secrets
import smtplib
import uuid
from dataclasses import dataclass
from hashlib import sha256

from django.core.mail import BadHeaderError, EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string

from apps.base import sealing
from apps.identity.models import LoginMethod, PinChallenge, PinRequest

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_SECONDS = 600
MAX_ATTEMPTS = 5
PER_ADDRESS = 5
PER_CLIENT = 20
WINDOW = dt.timedelta(minutes=15)

_PURPOSE = sealing.Purpose(
    salt=b"accessctl/identity/one-time-pin", info=b"HMAC-SHA256 key for one-time PINs, v1"
)


def _hmac(message: str) -> str:
    return hmac.new(sealing.derived_key(_PURPOSE), message.encode(), sha256).hexdigest()


def _code_hmac(challenge_id: uuid.UUID, code: str) -> str:
    return _hmac(f"code|{challenge_id}|{code}")


def address_hmac(email: str) -> str:
    """What the request counter keeps of an address (never the address itself)."""
    return _hmac(f"address|{email.lower()}")


def pin_issue(*, method: LoginMethod, email: str, now: dt.datetime) -> tuple[PinChallenge, str]:
    """A new code for ``email``: the stored challenge (its HMAC only) and the code to mail.

    Challenges that expired are deleted on the way (no job needed to keep the table small).
    """
    PinChallenge.objects.filter(expires_at__lte=now).delete()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    challenge = PinChallenge(
        login_method=method,
        email=email.lower(),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
    )
    challenge.code_hmac = _code_hmac(challenge.id, code)
    challenge.save()
    return challenge, code


class Checked(enum.Enum):
    """What a code typed for a challenge turned out to be."""

    CORRECT = "correct"
    WRONG = "wrong"  # attempts remain
    EXHAUSTED = "exhausted"  # too many wrong attempts: the code is dead
    EXPIRED = "expired"
    USED = "used"  # already used once (a replay)
    UNKNOWN = "unknown"  # no such challenge (deleted after expiry, or never made)


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The result of :func:`pin_check`; ``attempts_left`` after a wrong code."""

    result: Checked
    challenge: PinChallenge | None = None
    attempts_left: int = 0


def is_well_formed(code: str) -> bool:
    """Six ASCII digits: anything else is a typing mistake, not an attempt."""
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


@transaction.atomic
def pin_check(*, challenge_id: str, code: str, now: dt.datetime) -> PinCheck:
    """Check ``code`` against the challenge, counting the attempt; a correct code is used up
    at once. Each step is a conditional UPDATE, so that two requests racing with one code (on
    any nodes) get it once, and never more than :data:`MAX_ATTEMPTS` attempts."""
    try:
        key = uuid.UUID(challenge_id)
    except ValueError:
        return PinCheck(Checked.UNKNOWN)
    challenge = PinChallenge.objects.filter(pk=key).first()
    if challenge is None:
        return PinCheck(Checked.UNKNOWN)
    if challenge.used_at is not None:
        return PinCheck(Checked.USED, challenge)
    if challenge.expires_at <= now:
        return PinCheck(Checked.EXPIRED, challenge)
    live = PinChallenge.objects.filter(
        pk=key, used_at__isnull=True, expires_at__gt=now, attempts__lt=MAX_ATTEMPTS
    )
    if hmac.compare_digest(challenge.code_hmac, _code_hmac(key, code)):
        if live.update(used_at=now, attempts=F("attempts") + 1) == 1:
            return PinCheck(Checked.CORRECT, challenge)
    elif live.update(attempts=F("attempts") + 1) == 1:
        left = MAX_ATTEMPTS - (challenge.attempts + 1)
        if left > 0:
            return PinCheck(Checked.WRONG, challenge, left)
        return PinCheck(Checked.EXHAUSTED, challenge)
    challenge.refresh_from_db()
    if challenge.used_at is not None:
        return PinCheck(Checked.USED, challenge)
    return PinCheck(Checked.EXHAUSTED, challenge)


@transaction.atomic
def pin_request_allow(*, email: str, client: str, now: dt.datetime) -> bool:
    """Whether one more code may be sent to ``email`` for ``client`` in this window; a
    granted request is counted (a refused one is not, so a flood does not extend the wait)."""
    since = now - WINDOW
    PinRequest.objects.filter(created_at__lte=since).delete()
    address = address_hmac(email)
    recent = PinRequest.objects.filter(created_at__gt=since)
    if (
        recent.filter(address_hmac=address).count() >= PER_ADDRESS
        or recent.filter(client=client).count() >= PER_CLIENT
    ):
        return False
    PinRequest.objects.create(created_at=now, address_hmac=address, client=client[:64])
    return True


def pin_mail_send(*, to: str, code: str, application: str, hostname: str) -> bool:
    """Mail ``code`` through Django's email backend (``EMAIL_URL``); False when the mail
    could not be handed over (logged: the page must not tell the person anything else)."""
    context = {"code": code, "application": application, "hostname": hostname}
    message = EmailMessage(
        subject=f"{code} is your sign-in code for {application}",
        body=render_to_string("identity/pin_mail.txt", context),
        to=[to],
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException, BadHeaderError) as exc:
        logger.error("one-time PIN mail to %s not sent: %s", to, exc)
        return False
    return True
