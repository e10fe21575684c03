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

from apps.gateway.decision import AccessRequest, Decision, Verdict, is_trusted_proxy

access_logger = logging.getLogger("accessctl.access")


def client_ip(req: AccessRequest) -> str:
    """The client's address: the one a trusted proxy appended to X-Forwarded-For, else the peer."""
    if is_trusted_proxy(req.remote_addr):
        forwarded_for = str(req.headers.get("HTTP_X_FORWARDED_FOR", ""))
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return req.remote_addr


def decision_record(req: AccessRequest, decision: Decision) -> dict[str, Any]:
    """The fields of the log line, as a dict (also what tests inspect)."""
    outcome = decision.outcome
    policy = outcome.policy if outcome else None
    cert = decision.certificate
    label = decision.verdict.value
    if outcome is not None and outcome.allowed and outcome.reason == "bypass":
        label = "bypass"
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "request_id": decision.request_id,
        "hostname": decision.hostname or req.host[:253],
        "path": req.path[:1024],
        "client_ip": client_ip(req),
        "peer": req.remote_addr,
        "decision": label,
        "reason": decision.reason,
        "detail": decision.detail[:300],
        "policy_id": policy.id if policy else None,
        "policy_name": policy.name if policy else None,
        "cert_fingerprint_sha256": cert.fingerprint_sha256 if cert else None,
        "cert_issuer": cert.issuer if cert else None,
        "cert_serial": cert.serial if cert else None,
        "cert_common_name": cert.common_name if cert else None,
        "cert_verified": bool(decision.access and decision.access.identity),
    }


def log_decision(req: AccessRequest, decision: Decision) -> None:
    """Write the decision's line, unless it is not an access decision (see module doc)."""
    if decision.verdict in {Verdict.DASHBOARD, Verdict.UNGUARDED}:
        return
    level = logging.INFO if decision.verdict.passes else logging.WARNING
    access_logger.log(level, json.dumps(decision_record(req, decision), ensure_ascii=True))
