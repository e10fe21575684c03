"""Rulings remembered for a request seen a moment ago: the same certificate, hostname and path.

A device that presents its certificate on every request and keeps no cookie (a script, a
sensor, an API client) sends the same bytes again and again. Its ruling, and the session token
it is given, are the same until something they were made from changes, so the whole decision
(routing, verification lookup, evaluation, the session step) is made once and remembered.

A client that keeps its ``CF_Authorization`` cookie and sends it on every request (a
browser, a script with a cookie jar) is remembered the same way: its session is verified,
checked against revocations and logouts and evaluated once, and the next request with the same
Cookie header is answered from memory.

What "the same request" means is everything :func:`apps.gateway.decision.decide` and the
session step read for such a request: the certificate header (and the chain header of
RFC 9440), the SNI header, the whole Cookie header, the Host, the path and the peer's address,
under the same settings object, configuration snapshot version and key ring (its signing key
and generation). Only under WSGI (under ASGI the raw header names are checked on every
request).

An entry never outlives what it was made from: it is keyed by the snapshot version (any
configuration change, a revocation, a token revocation epoch, a logout), the key ring and the
settings object, and it expires at the earliest of the certificate check's own validity
(:data:`accessctl.core.verify.RESULT_TTL` and the expiry of every certificate of the chain),
the new token's reuse window (:func:`apps.tokens.sessions.reusable_until`), and for a session
let in by its cookie, that token's expiry and the time its signing key stops being accepted.
Only allowed rulings are remembered: those with a verified certificate and a session token,
and those a valid session let in. A refusal is already cheap, and a flood of distinct bad
certificates must not push good entries out.

What is still done for every request: a fresh request id, the cookie's remaining lifetime,
and the access log line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from accessctl.core import forwarded as fwd
from accessctl.core.memo import ExpiringLru
from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict, meta_key
from apps.base.conf import AccessSettings, access_settings
from apps.gateway import config
from apps.gateway.decision import request_id_for
from apps.gateway.session_step import SessionEffect
from apps.tokens import keys, sessions

MAX_REMEMBERED = 4096
_CHAIN_META = meta_key(fwd.RFC9440_CHAIN_HEADER)

Key = tuple[bytes, str, str, AccessSettings]


@dataclass(frozen=True, slots=True)
class Remembered:
    """An allowed ruling (request id blank) and the token it was given, or the session effect
    of the cookie that let it in (``session``: the same for every request)."""

    ruling: Ruling
    token: str
    expires_at: dt.datetime
    sends_cookie: bool  # False for "No duration": the application gets the token, no cookie
    session: SessionEffect | None = None

    def for_request(self, request_id: str, now: dt.datetime) -> tuple[Ruling, SessionEffect]:
        """The ruling and session effect for a new request at ``now``."""
        ruling = self.ruling.with_request_id(request_id)
        if self.session is not None:
            return ruling, self.session
        issued = None
        if self.sends_cookie:
            max_age = max(0, int(self.expires_at.timestamp()) - int(now.timestamp()))
            issued = sessions.IssuedSession(self.token, max_age, self.expires_at)
        return ruling, SessionEffect(token=self.token, issued=issued)


class RememberedRulings(ExpiringLru[Key, Remembered]):
    """Allowed rulings by everything they were made from (see the module doc). Bounded (LRU)."""

    def __init__(self, maxsize: int = MAX_REMEMBERED) -> None:
        super().__init__(maxsize)
        self.hits = 0  # requests answered from memory (the metrics count them)

    def key_for(self, req: IncomingRequest, now: dt.datetime) -> Key | None:
        """The key of ``req``, or None when a request like it is never remembered."""
        headers: Mapping[str, object] = req.headers
        if req.raw_header_names is not None:
            return None
        conf = access_settings()
        value = headers.get(conf.client_cert_meta) if conf.client_cert_meta else None
        cookie = str(headers.get("HTTP_COOKIE", ""))
        has_session = sessions.COOKIE_NAME in cookie
        if not (value and isinstance(value, str)) and not has_session:
            return None
        snapshot = config.current_snapshot()
        if snapshot is None:
            return None
        try:
            ring = keys.key_ring(now=now)
            kid = f"{ring.signing_key(now).kid}/{ring.generation}"
        except keys.SigningKeyUnavailable:
            return None
        chain = headers.get(_CHAIN_META, "") if conf.client_cert_format == "rfc9440" else ""
        sni = headers.get(meta_key(conf.sni_header), "") if conf.sni_header else ""
        # Length-prefixed, so that no value can spell the boundary to the next one.
        parts = (
            str(value or ""),
            str(chain),
            str(sni),
            cookie if has_session else "",
            req.host,
            req.path,
            req.remote_addr,
        )
        material = "\0".join(f"{len(part)}:{part}" for part in parts)
        digest = hashlib.sha256(material.encode("utf-8", "surrogateescape")).digest()
        return digest, snapshot.version, kid, conf

    def remember(self, key: Key, ruling: Ruling, session: SessionEffect, now: dt.datetime) -> None:
        """Remember an allowed ruling with a verified certificate and a new session token, or
        one a valid session let in."""
        if ruling.reason == Reason.SESSION:
            self._remember_session(key, ruling, session, now)
            return
        signed = session.signed
        if (
            ruling.verdict is not Verdict.ALLOW
            or ruling.valid_until is None
            or ruling.access is None
            or ruling.access.identity is None
            or signed is None
            or signed.expires_at is None
            or signed.reusable_until is None
            or session.token != signed.token
            or session.clear_cookie
            or session.unauthorized
        ):
            return
        entry = Remembered(
            ruling.with_request_id(""),
            signed.token,
            signed.expires_at,
            sends_cookie=session.issued is not None,
        )
        self.put(key, entry, min(ruling.valid_until, signed.reusable_until, signed.expires_at))

    def _remember_session(
        self, key: Key, ruling: Ruling, session: SessionEffect, now: dt.datetime
    ) -> None:
        claims = session.claims
        if (
            ruling.verdict is not Verdict.ALLOW
            or ruling.access is None
            or claims is None
            or session.token is None
            or session.issued is not None
            or session.clear_cookie
            or session.unauthorized
        ):
            return
        try:
            accepted = keys.key_ring(now=now).accepted_until(claims.kid, keys.overlap())
        except keys.SigningKeyUnavailable:
            return
        ends = [claims.expires_at, accepted]
        if ruling.valid_until is not None:  # the certificate presented with it
            ends.append(ruling.valid_until)
        entry = Remembered(
            ruling.with_request_id(""), session.token, claims.expires_at, False, session
        )
        self.put(key, entry, min(ends))


rulings = RememberedRulings()


def recall(req: IncomingRequest, now: dt.datetime) -> tuple[Key | None, Remembered | None]:
    """The key of ``req`` and what is remembered under it (either may be None)."""
    key = rulings.key_for(req, now)
    if key is None:
        return None, None
    known = rulings.get(key, now)
    if known is not None:
        rulings.hits += 1
    return key, known


def new_request_id(req: IncomingRequest) -> str:
    """A remembered ruling was reached through a trusted proxy (the certificate was read)."""
    return request_id_for(req, trusted=True)
