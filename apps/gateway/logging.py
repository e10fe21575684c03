"""One structured JSON line per access decision, on the ``accessctl.access`` logger.

Logged: every decision on a guarded hostname (allow, deny, and bypass too: unlike Cloudflare,
which does not log Bypass, accessctl keeps them so an audit sees every request a policy let
through; filter on ``"decision": "bypass"`` to drop them), every 421 and every 503. Not
logged: requests to dashboard hostnames and to hostnames no policy guards, which are not
access decisions. Never logged: tokens, cookies, header values.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.gateway.decision import is_trusted_proxy

access_logger = logging.getLogger("accessctl.access")


def client_ip(req: IncomingRequest) -> str:
    """The client's address: the one a trusted proxy appended to X-Forwarded-For, else the peer."""
    if is_trusted_proxy(req.remote_addr):
        forwarded_for = str(req.headers.get("HTTP_X_FORWARDED_FOR", ""))
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return req.remote_addr


def ruling_record(req: IncomingRequest, ruling: Ruling) -> dict[str, Any]:
    """The fields of the log line, as a dict (also what tests inspect)."""
    outcome = ruling.outcome
    policy = outcome.policy if outcome else None
    cert = ruling.certificate
    label = ruling.verdict.value
    if outcome is not None and outcome.allowed and outcome.reason == Reason.BYPASS:
        label = "bypass"
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "request_id": ruling.request_id,
        "hostname": ruling.hostname or req.host[:253],
        "method": req.method[:16],
        "path": req.path[:1024],
        "client_ip": client_ip(req),
        "peer": req.remote_addr,
        "decision": label,
        "reason": ruling.reason,
        "detail": ruling.detail[:300],
        "application_id": ruling.application.id if ruling.application else None,
        "application_name": ruling.application.name if ruling.application else None,
        "policy_id": policy.id if policy else None,
        "policy_name": policy.name if policy else None,
        "cert_fingerprint_sha256": cert.fingerprint_sha256 if cert else None,
        "cert_issuer": cert.issuer if cert else None,
        "cert_serial": cert.serial if cert else None,
        "cert_common_name": cert.common_name if cert else None,
        "cert_verified": bool(ruling.access and ruling.access.identity),
    }


_NOT_LOGGED = frozenset({Verdict.DASHBOARD, Verdict.UNGUARDED})
# The fields that change with every request, first in the line; the rest is the same for
# every request one decision covers (the same application, policy, certificate and reason).
_PER_REQUEST = ("time", "request_id", "hostname", "method", "path", "client_ip", "peer")
_MAX_REMEMBERED_TAILS = 4096
_tails: dict[tuple[Any, ...], tuple[tuple[object, ...], str]] = {}
# json's own string encoder (what json.dumps uses for str with ensure_ascii=True).
_json_string = json.encoder.encode_basestring_ascii


def access_line(req: IncomingRequest, ruling: Ruling) -> str:
    """``json.dumps(ruling_record(req, ruling))``, the same text, made faster: the part after
    the per-request fields is serialised once per decision and remembered (bounded), so a
    request costs the encoding of its own few strings."""
    outcome = ruling.outcome
    parts = (ruling.application, outcome.policy if outcome else None, ruling.certificate)
    bypass = outcome is not None and outcome.allowed and outcome.reason == Reason.BYPASS
    verified = ruling.access is not None and ruling.access.identity is not None
    key = (ruling.verdict, ruling.reason, ruling.detail, bypass, verified, *map(id, parts))
    remembered = _tails.get(key)
    if remembered is None or any(a is not b for a, b in zip(remembered[0], parts, strict=True)):
        record = ruling_record(req, ruling)
        tail = json.dumps({k: v for k, v in record.items() if k not in _PER_REQUEST})
        if len(_tails) >= _MAX_REMEMBERED_TAILS:
            _tails.clear()
        # The objects are kept with their tail: an id is only compared while its object lives.
        remembered = _tails[key] = (parts, tail[1:])
    values = (
        dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        ruling.request_id,
        ruling.hostname or req.host[:253],
        req.method[:16],
        req.path[:1024],
        client_ip(req),
        req.remote_addr,
    )
    head = ", ".join(
        f'"{name}": {_json_string(value)}' for name, value in zip(_PER_REQUEST, values, strict=True)
    )
    return "{" + head + ", " + remembered[1]


def log_ruling(req: IncomingRequest, ruling: Ruling) -> None:
    """Write the ruling's line, unless it is not an access decision (see module doc) or no
    handler would emit it (the line is then never built)."""
    if ruling.verdict in _NOT_LOGGED:
        return
    level = logging.INFO if ruling.verdict.passes else logging.WARNING
    if not access_logger.isEnabledFor(level):
        return
    line = access_line(req, ruling)
    handlers = access_logger.handlers
    if len(handlers) == 1 and not access_logger.propagate and not access_logger.filters:
        # The shipped configuration: one buffered handler whose line is the message. It takes
        # the line as is, and no record is made (apps.base.log_handlers).
        write_message = getattr(handlers[0], "write_message", None)
        if write_message is not None and write_message(line, level):
            return
    # makeRecord + handle rather than .log(): the same record and handlers, without looking
    # up the calling frame on every request (the line says where it is from).
    access_logger.handle(
        access_logger.makeRecord(access_logger.name, level, __file__, 0, line, (), None)
    )
