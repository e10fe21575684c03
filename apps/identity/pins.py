"""One-time PINs by email (Cloudflare's ``onetimepin`` login method): the code's life.

A code is 6 digits, valid :data:`CODE_SECONDS`, checked at most :data:`MAX_ATTEMPTS` times
and used once. Only its HMAC-SHA256 is stored, keyed by a key of its own derived from
``ACCESSCTL_KEY_ENCRYPTION_SECRET`` (``apps.base.sealing.derived_key``) and bound to the row's
id, so that reading the table gives no code away and a digest copied onto another row does
not match. A new code for an address cancels that address's earlier codes for the method,
so that an address has one live code at a time.

Everything is counted in the database, so that every node shares the counts: requests for
codes (:data:`PER_ADDRESS` per address from one client network, :data:`PER_CLIENT` per client
network, in :data:`WINDOW`; a network is an IPv4 address or an IPv6 /64, which one host
usually holds whole) and wrong codes (:data:`WRONG_CODES_PER_HOUR` per login method, whoever
types them: at that budget, which only guessing reaches, an ERROR line says so and the method
issues no code until the last hour's count falls below it).

Every function takes ``now``, so that the tests control the clock.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import ipaddress
import logging
import secrets
import uuid
from dataclasses import dataclass
from hashlib import sha256

from django.db import transaction
from django.db.models import F

from apps.base import sealing
from apps.identity.models import LoginMethod, PinChallenge, PinRequest, PinWrongCode

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_SECONDS = 600
MAX_ATTEMPTS = 5
PER_ADDRESS = 5
PER_CLIENT = 20
WINDOW = dt.timedelta(minutes=15)
WRONG_CODES_PER_HOUR = 200  # per login method: a guesser's odds stay near 1 in 5,000 an hour
BUDGET_WINDOW = dt.timedelta(hours=1)

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

    The address's earlier codes for ``method`` are cancelled (deleted: one live code per
    address), and challenges that expired are deleted on the way (no job needed to keep the
    table small).
    """
    PinChallenge.objects.filter(expires_at__lte=now).delete()
    PinChallenge.objects.filter(login_method=method, email=email.lower()).delete()
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
        _wrong_code_count(method_id=challenge.login_method_id, now=now)
        # Read again: another request may have counted an attempt since the row was read.
        attempts = PinChallenge.objects.values_list("attempts", flat=True).get(pk=key)
        left = MAX_ATTEMPTS - attempts
        if left > 0:
            return PinCheck(Checked.WRONG, challenge, left)
        return PinCheck(Checked.EXHAUSTED, challenge)
    challenge.refresh_from_db()
    if challenge.used_at is not None:
        return PinCheck(Checked.USED, challenge)
    return PinCheck(Checked.EXHAUSTED, challenge)


def client_network(client: str) -> str:
    """What the request counter keeps of a client: an IPv4 address as it is, an IPv6 address
    as its /64 (a host usually gets a whole /64 and picks addresses in it at will)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def pin_request_allow(*, email: str, client: str, now: dt.datetime) -> bool:
    """Whether one more code may be sent to ``email`` for ``client`` in this window; a
    granted request is counted (a refused one is not, so a flood does not extend the wait).

    The request is recorded first and the window counted after, itself included, each in
    its own autocommit statement: of requests racing on any nodes, each counts every other
    that was recorded before its count, so that no more than the limit pass (when many race
    at the limit, all of them may be refused, never too many granted). A refused request
    deletes its own row. Hence no ``transaction.atomic`` here: inside one, the rows of racing
    requests would stay invisible to each other until too late.
    """
    since = now - WINDOW
    PinRequest.objects.filter(created_at__lte=since).delete()
    address, network = address_hmac(email), client_network(client)
    mine = PinRequest.objects.create(created_at=now, address_hmac=address, client=network)
    recent = PinRequest.objects.filter(created_at__gt=since)
    if (
        recent.filter(address_hmac=address, client=network).count() > PER_ADDRESS
        or recent.filter(client=network).count() > PER_CLIENT
    ):
        mine.delete()
        return False
    return True


def _wrong_code_count(*, method_id: int, now: dt.datetime) -> None:
    """Count a wrong code against the method's budget; the one that reaches it is logged."""
    since = now - BUDGET_WINDOW
    PinWrongCode.objects.filter(created_at__lte=since).delete()
    PinWrongCode.objects.create(login_method_id=method_id, created_at=now)
    count = PinWrongCode.objects.filter(login_method_id=method_id, created_at__gt=since).count()
    if count == WRONG_CODES_PER_HOUR:
        method = LoginMethod.objects.filter(pk=method_id).first()
        logger.error(
            "one-time PIN method %r: %d wrong codes in the last hour, someone is guessing; "
            "no new code is issued until the count falls below the budget",
            method.name if method else method_id,
            WRONG_CODES_PER_HOUR,
        )


def pin_budget_spent(*, method: LoginMethod, now: dt.datetime) -> bool:
    """Whether the method's wrong codes of the last hour reached :data:`WRONG_CODES_PER_HOUR`
    (then no code is issued and the code page asks to try later)."""
    recent = PinWrongCode.objects.filter(login_method=method, created_at__gt=now - BUDGET_WINDOW)
    return recent.count() >= WRONG_CODES_PER_HOUR
