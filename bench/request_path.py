"""Benchmark of the request path: the cost of a guarded request relative to an unguarded one.

    .venv/bin/python bench/request_path.py [--requests 1000] [--quick]

Runs in-process (Django's WSGI handler through the test client, no network) against a
throwaway SQLite database, with the shipped settings otherwise (check interval 0.5 s, so the
version stamp is read from the database twice a second, as in production with LocMemCache).
Reports microseconds per request and the ratio to an unguarded request measured in the same
run, for:

- unguarded: a hostname with no policy (the baseline: Django + the middleware's lookups);
- guarded, allowed: a valid certificate seen before (verification cached), session issued;
- guarded, refused: no certificate;
- guarded, new certificate each time: every request a distinct valid leaf (a cache miss:
  parse, chain verification and identity extraction each time);
- guarded, flood of bad certificates: distinct leaves from an unknown CA;
- guarded, malformed header values: garbage, a truncated certificate, NUL, CRLF, double
  encoding, a private key, two leaves, a 64 KiB value and a PEM body of junk just under the
  16 KiB limit, in turn (refused before any chain is built: it must stay cheaper than
  verifying a new certificate, or a flood of junk would cost more than real clients).

A second table times the decision function alone (no request cycle, no view, no session), so
that the enforcement cost is not hidden behind the page rendering.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(tmp: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "accessctl.settings",
            "ACCESSCTL_ENV": "development",
            "ACCESSCTL_DATA_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "CACHE_URL": "locmemcache://bench",
            "ALLOWED_HOSTS": "app.example.com,open.example.com,localhost",
            "LOG_LEVEL": "ERROR",
        }
    )
    import django

    # Without collectstatic, WhiteNoise warns that STATIC_ROOT is missing: irrelevant here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("accessctl.access").setLevel(logging.ERROR)  # no log I/O in the timing
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    call_command("migrate", verbosity=0)


def cold(meta_for):
    """Mark a case whose certificates must be verified afresh in every round."""
    meta_for.cold = True
    return meta_for


def forget_results(meta_for) -> None:
    from apps.gateway import verification

    if getattr(meta_for, "cold", False):
        verification.results.clear()


def measure(client, n: int, meta_for) -> float:
    """Median of 5 rounds of ``n`` requests, in microseconds per request."""
    rounds = []
    for _ in range(5):
        forget_results(meta_for)
        metas = [meta_for(i) for i in range(n)]
        start = time.perf_counter()
        for meta in metas:
            client.cookies.clear()
            client.get("/", **meta)
        rounds.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="requests per round (default 1000)")
    parser.add_argument("--quick", action="store_true", help="200 requests per round (CI)")
    args = parser.parse_args()
    args.requests = args.requests or (200 if args.quick else 1000)
    with tempfile.TemporaryDirectory() as tmp:
        setup(tmp)
        from django.test import Client

        from apps.gateway.config import bump_version
        from apps.policies.services import policy_create
        from apps.trust.services import certificate_create
        from tests.factories import certs

        root = certs.make_ca("Bench Root")
        inter = certs.make_ca("Bench Devices", issuer=root)
        # Through the product's own services, as an operator configures it.
        certificate_create(
            name="Bench", pem=root.pem + inter.pem, hostnames=["app.example.com"], user=None
        )
        policy_create(
            hostname="app.example.com",
            name="devices",
            decision="non_identity",
            rules=[("include", "valid_certificate", "")],
        )
        bump_version()

        n = args.requests
        fresh = [quote(certs.make_leaf(inter, f"d{i}").pem, safe="") for i in range(n)]
        stranger = certs.make_ca("Unknown CA")
        bad = [quote(certs.make_leaf(stranger, f"x{i}").pem, safe="") for i in range(n)]
        known = quote(certs.make_leaf(inter, "device-1").pem, safe="")
        malformed = malformed_values(certs.make_leaf(inter, "device-2"))

        def meta(host: str, cert: str | None = None) -> dict[str, str]:
            base = {"HTTP_HOST": host, "REMOTE_ADDR": "127.0.0.1"}
            return {**base, "HTTP_X_SSL_CLIENT_CERT": cert} if cert else base

        client = Client()
        for host in ("open.example.com", "app.example.com"):  # warm up
            client.get("/", **meta(host, known))
        for value in malformed:  # timing a refusal only means something if it is one
            status = client.get("/", **meta("app.example.com", value)).status_code
            if status != 403:
                sys.exit(f"malformed header value answered {status}, not 403: {value[:60]!r}")
        cases = {
            "unguarded": lambda i: meta("open.example.com"),
            "guarded, allowed (cached verification)": lambda i: meta("app.example.com", known),
            "guarded, refused (no certificate)": lambda i: meta("app.example.com"),
            "guarded, new certificate each request": cold(
                lambda i: meta("app.example.com", fresh[i])
            ),
            "guarded, flood of unknown-CA certificates": cold(
                lambda i: meta("app.example.com", bad[i])
            ),
            "guarded, malformed header values": lambda i: meta(
                "app.example.com", malformed[i % len(malformed)]
            ),
        }
        report(
            "Whole request (test client, middleware, session, view)",
            {name: measure(client, n, case) for name, case in cases.items()},
        )
        decisions = {name: measure_decide(n, case) for name, case in cases.items()}
        report("The decision alone (apps.gateway.decision.decide)", decisions)
        # A regression this can detect: the verification cache no longer saving the work.
        cached = decisions["guarded, allowed (cached verification)"]
        uncached = decisions["guarded, new certificate each request"]
        if cached > 0.5 * uncached:
            sys.exit(
                f"regression: a cached verification ({cached:.0f} µs) costs more than half of"
                f" a fresh one ({uncached:.0f} µs): is the verification cache working?"
            )
        # And the other: a malformed value must be refused before the expensive work.
        junk = decisions["guarded, malformed header values"]
        if junk > uncached:
            sys.exit(
                f"regression: refusing a malformed header ({junk:.0f} µs) costs more than"
                f" verifying a new certificate ({uncached:.0f} µs)"
            )


def malformed_values(leaf) -> list[str]:
    """Header values accessctl must refuse (docs/security.md, "Header parsing"), nginx format."""
    pem = leaf.pem
    junk_body = "\n".join(["QUFB" * 16] * 180)  # valid base64, no certificate, ~11.5 KiB
    return [
        "garbage!",
        quote(pem[:200] + pem[-26:], safe=""),  # truncated
        quote(pem, safe="") + "%00",
        quote(pem, safe="") + "\r\nX-Injected: 1",
        quote(quote(pem, safe=""), safe=""),  # double-encoded
        quote(pem + leaf.key_pem, safe=""),
        quote(pem + pem, safe=""),  # two leaves
        "A" * 64 * 1024,
        quote(f"-----BEGIN CERTIFICATE-----\n{junk_body}\n-----END CERTIFICATE-----\n", safe=""),
    ]


def measure_decide(n: int, meta_for) -> float:
    """Like :func:`measure`, for the decision function only (no Django request cycle)."""
    from accessctl.core.request import IncomingRequest
    from apps.gateway.decision import decide

    rounds = []
    for _ in range(5):
        forget_results(meta_for)
        requests = []
        for i in range(n):
            meta = meta_for(i)
            requests.append(IncomingRequest("127.0.0.1", meta["HTTP_HOST"], "/", meta))
        start = time.perf_counter()
        for req in requests:
            decide(req)
        rounds.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(rounds)


def report(title: str, results: dict[str, float]) -> None:
    base = results["unguarded"]
    print(f"\n{title}")
    print(f"{'request':45} {'µs/request':>11} {'× unguarded':>12}")
    for name, micros in results.items():
        print(f"{name:45} {micros:11.1f} {micros / base:12.2f}")


if __name__ == "__main__":
    main()
