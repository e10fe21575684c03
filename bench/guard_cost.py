"""What guarding a route costs, under a real server: gunicorn as shipped, driven by wrk.

    .venv/bin/python bench/guard_cost.py            # the full run (a few minutes)
    .venv/bin/python bench/guard_cost.py --quick    # the regression guard CI runs (seconds)

Every scenario requests the same minimal view (``/bench/ok``, two bytes, bench/_site/urls.py)
on loopback, so a ratio is the guard's cost alone. The scenarios run in interleaved rounds;
each figure is the median over the rounds, and each ratio the median of the per-round ratios
to the baseline measured in the same round. wrk's script (bench/_requests.lua) counts every
status it gets: any answer other than the scenario's expected status fails the run (a fast
wrong answer is a failure).

Scenarios, one sync gunicorn worker (so wrk has the other core), then the shipped worker count:

1. an unguarded hostname: the baseline;
2. a valid certificate on every request, no cookie (a device that keeps none);
3. the ``CF_Authorization`` cookie on every request, no certificate;
4. a different valid certificate on every request (thousands, made beforehand);
5. a certificate from an unknown CA (403);
6. no certificate at all (403);
7. a "No duration" policy, a certificate on every request;
8. an identity session cookie with the certificate it is bound to (the second layer: Allow —
   Include: Everyone — Require: Valid Certificate; the person's session minted as a login
   would, the certificate on every request);
9. the unguarded hostname, against the same project without the access middleware;
10. forward-auth (``/_accessctl/forward-auth``, as nginx's auth_request asks: a valid
    certificate, a cookie, a refusal), against the minimal view in the same gunicorn;
11. for the record: the unguarded request against a minimal Django project and a bare WSGI
    callable under the same gunicorn;
12. what writing the access log costs the cheapest decision: scenario 5's refusals against
    the same refusals on a worker whose recorder does everything but the rows' INSERTs
    (bench/_site/unwritten.py).

Then memory: the worker's RSS before and after tens of thousands of distinct certificates
(every cache is bounded). A second table times the pure path in-process against the bare
library calls it is made of. Exit status 1 when a target is missed (``--quick``: only on a
gross regression, judged by the best round after measuring again, so that a noisy machine
never fails CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from _servers import BENCH, accessctl, rss, server_env, start_gunicorn, worker_pids

from apps.console.servers import free_port, stop_process
from tests.factories import certs

APP, NODUR, OPEN = "app.localhost", "nodur.localhost", "open.localhost"
IDENT = "ident.localhost"
LUA = BENCH / "_requests.lua"
MIB = 1024 * 1024

# (target ratio, gross floor for --quick); None: reported, not checked.
TARGETS: dict[str, tuple[float, float | None] | None] = {
    "2 certificate every request": (0.90, 0.60),
    "3 cookie every request": (0.90, 0.60),
    "4 new certificate every request": (0.60, 0.30),
    "5 unknown CA": (0.95, 0.70),
    "6 no certificate": (0.95, 0.70),
    "7 no duration": (0.90, 0.60),
    "8 identity session and certificate": (0.90, 0.60),
    "9 installed, unguarded": (0.97, 0.80),
    "10 forward-auth, certificate": (0.80, 0.50),
    "10 forward-auth, cookie": (0.80, 0.50),
    "10 forward-auth, refused": (0.80, 0.50),
    "11 vs minimal Django": None,
    "11 vs bare WSGI": None,
    "12 unknown CA, access log written": (0.95, None),
}
MEMORY_BUDGET = 50 * MIB
PURE_PATH_BUDGET = 1.3


@dataclass
class Scenario:
    name: str
    server: str  # key of the gunicorn it runs against
    lines: list[str]  # requests, one per line: "Header: value" pairs separated by tabs
    status: int
    path: str = "/bench/ok"
    baseline: str = "1 unguarded"  # the scenario its ratio is taken against
    results: list[dict[str, float]] = field(default_factory=list)


def wrk(port: int, scenario: Scenario, tmp: Path, seconds: float, connections: int) -> dict:
    """One wrk run of ``scenario``; its JSON summary (requests/s, p50, p99, statuses)."""
    requests = tmp / f"requests-{abs(hash(scenario.name))}.txt"
    if not requests.exists():
        requests.write_text("\n".join(scenario.lines) + "\n")
    threads = max(1, min(2, connections // 2))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds only
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests),
        scenario.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    return summary


def header(name: str, value: str) -> str:
    return f"{name}: {value}"


def certificate_line(host: str, pem: str) -> str:
    return "\t".join([header("Host", host), header("X-SSL-Client-Cert", quote(pem, safe=""))])


def first_cookie(port: int, host: str, pem: str) -> str:
    """The CF_Authorization a request with a valid certificate is given."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"http://127.0.0.1:{port}/bench/ok",
        headers={"Host": host, "X-SSL-Client-Cert": quote(pem, safe="")},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        for name, value in response.headers.items():
            if name.lower() == "set-cookie" and value.startswith("CF_Authorization="):
                return value.split(";", 1)[0]
    raise RuntimeError("no CF_Authorization cookie for a valid certificate")


def configure(tmp: Path, env: dict[str, str], root: certs.Issued) -> None:
    """The CA bound to app.localhost and nodur.localhost, each with its policy, by command."""
    accessctl(env, "migrate", "--noinput", "--verbosity", "0")
    ca = tmp / "ca.pem"
    ca.write_text(root.pem)
    accessctl(env, "certificates", "add", "--name", "Bench CA", "--hostname", APP,
              "--hostname", NODUR, "--hostname", IDENT, str(ca))  # fmt: skip
    for host, duration in ((APP, "24h"), (NODUR, "no_duration")):
        accessctl(env, "policies", "add", "--hostname", host, "--name", "devices",
                  "--decision", "non_identity", "--include", "valid_certificate",
                  "--session-duration", duration)  # fmt: skip
    accessctl(env, "policies", "add", "--hostname", IDENT, "--name", "people",
              "--decision", "allow", "--include", "everyone", "--require",
              "valid_certificate")  # fmt: skip


# What a login ends with (apps.gateway.access_endpoints.authorized): the person's session for
# the application, bound to the certificate. Minted in a shell of the same database, as the
# benchmark has no identity provider.
_MINT_IDENTITY_SESSION = """
import datetime as dt, sys
from cryptography import x509
from accessctl.core.identity import identity_of
from accessctl.core.people import Person
from accessctl.core.policy import RequestFacts, evaluate
from apps.gateway.snapshot import build_snapshot
from apps.tokens.sessions import identity_session_issue
application = build_snapshot().host("%s").route_for("/").application
certificate = identity_of(x509.load_pem_x509_certificate(open("%s", "rb").read()))
person = Person(email="ada@example.com", subject="bench-person", login_method="1")
now = dt.datetime.now(dt.UTC)
facts = RequestFacts("%s", "/", certificate, None, now, person)
outcome = evaluate(application.policies, facts)
assert outcome.allowed, outcome
print(identity_session_issue(application=application, person=person, identity_nonce="bench",
                             outcome=outcome, certificate=certificate, now=now).token)
"""


def identity_cookie(tmp: Path, env: dict[str, str], leaf: certs.Issued) -> str:
    """``CF_Authorization=…`` of a person's identity session on IDENT, bound to ``leaf``."""
    pem = tmp / "identity-leaf.pem"
    pem.write_text(leaf.pem)
    code = _MINT_IDENTITY_SESSION % (IDENT, pem, IDENT)
    return "CF_Authorization=" + accessctl(env, "shell", "-c", code).strip().splitlines()[-1]


def median_ratio(scenario: Scenario, baseline: Scenario) -> float:
    return statistics.median(
        s["rps"] / b["rps"] for s, b in zip(scenario.results, baseline.results, strict=True)
    )


def run_rounds(
    scenarios: list[Scenario],
    ports: dict[str, int],
    tmp: Path,
    rounds: int,
    seconds: float,
    connections: int,
    failures: list[str],
) -> None:
    for scenario in scenarios:  # warm up: imports, snapshot, caches, the first token
        wrk(ports[scenario.server], scenario, tmp, 1, connections)
    for _ in range(rounds):
        for scenario in scenarios:
            result = wrk(ports[scenario.server], scenario, tmp, seconds, connections)
            wrong = {s: n for s, n in result["statuses"].items() if int(s) != scenario.status}
            if wrong or result["socket_errors"]:
                failures.append(
                    f"{scenario.name}: expected {scenario.status} only, got {wrong}"
                    f" and {result['socket_errors']} socket errors"
                )
            scenario.results.append(result)


def table(scenarios: list[Scenario], title: str, rss_of: Callable[[str], float]) -> list[str]:
    by_name = {s.name: s for s in scenarios}
    lines = [
        f"### {title}",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | RSS/worker MiB | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for scenario in scenarios:
        rps = statistics.median(r["rps"] for r in scenario.results)
        p50 = statistics.median(r["p50_us"] for r in scenario.results) / 1000
        p99 = statistics.median(r["p99_us"] for r in scenario.results) / 1000
        ratio = ""
        target = ""
        if scenario.name != scenario.baseline and scenario.baseline in by_name:
            ratio = f"{median_ratio(scenario, by_name[scenario.baseline]):.2f}"
            goal = TARGETS.get(scenario.name)
            target = (
                f"≥ {goal[0]:.2f} of {scenario.baseline}" if goal else f"of {scenario.baseline}"
            )
        lines.append(
            f"| {scenario.name} | {rps:.0f} | {p50:.2f} | {p99:.2f} |"
            f" {rss_of(scenario.server) / MIB:.1f} | {ratio} | {target} |"
        )
    return lines


def best_ratio(scenario: Scenario, baseline: Scenario) -> float:
    return max(s["rps"] / b["rps"] for s, b in zip(scenario.results, baseline.results, strict=True))


def missed_targets(scenarios: list[Scenario], quick: bool) -> list[str]:
    """What misses its target, one line each. ``quick`` judges each scenario's gross floor by
    its best round: a gross regression makes every round slow, while a shared machine's
    hiccup (the VM's neighbours) slows some rounds of the same code to half their speed."""
    missed = []
    by_name = {s.name: s for s in scenarios}
    for scenario in scenarios:
        goal = TARGETS.get(scenario.name)
        if goal is None or scenario.baseline not in by_name:
            continue
        target, floor = goal
        limit = floor if quick else target
        if limit is None:
            continue
        judge = best_ratio if quick else median_ratio
        ratio = judge(scenario, by_name[scenario.baseline])
        if ratio < limit:
            missed.append(f"{scenario.name}: {ratio:.2f} of {scenario.baseline}, below {limit:.2f}")
    return missed


def pure_path_table(root: certs.Issued, quick: bool, failures: list[str]) -> list[str]:
    """The pure path for a new certificate (decode, verify, describe, evaluate, sign) against
    the bare library calls it is made of (chain verification, the RS256 signature), and a
    token's verification, in-process, microseconds per call."""
    import jwt
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store

    from accessctl.core import forwarded
    from accessctl.core.policy import (
        Decision,
        Policy,
        RequestFacts,
        Rule,
        RuleGroup,
        RuleType,
        evaluate,
    )
    from accessctl.core.tokens import (
        Algorithm,
        Signer,
        generate_private_key,
        mint_token,
        verify_token,
    )
    from accessctl.core.verify import CA_POLICY, EE_POLICY, TrustAnchors, check_certificate

    count = 200 if quick else 1000
    key = certs.new_key()
    leaves = [certs.make_leaf(root, f"pure-{i}", key=key) for i in range(count)]
    values = [quote(leaf.pem, safe="") for leaf in leaves]
    anchors = TrustAnchors.build([root.cert], [])
    signer = Signer("bench", generate_private_key(Algorithm.RS256))
    policy = Policy(1, "devices", Decision.NON_IDENTITY, 1,
                    (Rule(RuleGroup.INCLUDE, RuleType.VALID_CERTIFICATE),), 86400)  # fmt: skip
    now = dt.datetime.now(dt.UTC)

    def ours(value: str) -> str:
        presented = forwarded.decode("nginx", value)
        assert presented is not None
        check = check_certificate(presented, anchors, now=now)
        identity = check.identity
        assert identity is not None, check.error
        outcome = evaluate((policy,), RequestFacts(APP, "/", identity, None, now))
        return mint_token(
            key=signer,
            fingerprint_sha256=identity.fingerprint_sha256,
            common_name=identity.common_name,
            audience="a" * 64,
            issuer="https://localhost",
            epoch="e",
            session_seconds=outcome.session_seconds or 0,
            now=now,
            policy_id=1,
            not_after=identity.not_after,
        ).token

    store = Store([root.cert])

    def bare(leaf: certs.Issued) -> str:
        cert = x509.load_der_x509_certificate(leaf.der)
        verifier = (
            PolicyBuilder()
            .store(store)
            .time(now)
            .extension_policies(ca_policy=CA_POLICY, ee_policy=EE_POLICY)
            .build_client_verifier()
        )
        verifier.verify(cert, [])
        claims = {"aud": ["a" * 64], "iss": "https://localhost", "sub": leaf.fingerprint,
                  "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 86400}  # fmt: skip
        return jwt.encode(claims, signer.private_key, algorithm="RS256", headers={"kid": "bench"})

    def timed(call: Callable[[int], object]) -> float:
        start = time.perf_counter()
        for i in range(count):
            call(i)
        return (time.perf_counter() - start) / count * 1e6

    timed(lambda i: ours(values[i]))  # warm up
    ours_us = min(timed(lambda i: ours(values[i])) for _ in range(3))
    bare_us = min(timed(lambda i: bare(leaves[i])) for _ in range(3))
    token = ours(values[0])
    public = {"bench": signer.private_key.public_key()}

    def verify_ours(_: int) -> object:
        return verify_token(token, keys=public, audience="a" * 64, issuer="https://localhost",
                            epoch="e", now=now)  # fmt: skip

    def bare_verify(_: int) -> object:
        return jwt.decode(token, public["bench"], algorithms=["RS256"], audience="a" * 64,
                          options={"verify_exp": False})  # fmt: skip

    verify_us = min(timed(verify_ours) for _ in range(3))
    bare_verify_us = min(timed(bare_verify) for _ in range(3))
    ratio = ours_us / bare_us
    limit = PURE_PATH_BUDGET * (1.5 if quick else 1.0)
    if ratio > limit:
        # As the scenarios do: measured again before failing, so a burst of load from another
        # process on a shared machine is not taken for a regression.
        ours_us = min(timed(lambda i: ours(values[i])) for _ in range(3))
        bare_us = min(timed(lambda i: bare(leaves[i])) for _ in range(3))
        ratio = ours_us / bare_us
    if ratio > limit:
        failures.append(
            f"pure path for a new certificate: {ratio:.2f}x the bare calls, over"
            f" {PURE_PATH_BUDGET:.1f}x"
        )
    return [
        "### The pure path in-process, against the bare library calls",
        "",
        "| call | µs | × bare |",
        "|---|---:|---:|",
        f"| a new certificate: decode, verify, describe, evaluate, sign (RS256) | {ours_us:.0f}"
        f" | {ratio:.2f} (target ≤ {PURE_PATH_BUDGET}) |",
        f"| bare: load the leaf, cryptography's verifier, PyJWT RS256 encode | {bare_us:.0f}"
        " | 1.00 |",
        f"| a token's verification (pinned algorithm, every claim checked) | {verify_us:.0f}"
        f" | {verify_us / bare_verify_us:.2f} |",
        f"| bare: PyJWT RS256 decode | {bare_verify_us:.0f} | 1.00 |",
    ]


def memory_phase(
    port: int, master: int, root: certs.Issued, tmp: Path, count: int, failures: list[str]
) -> list[str]:
    """The worker's RSS before and after ``count`` distinct certificates."""
    (worker,) = worker_pids(master)
    key = certs.new_key()
    lines = [
        certificate_line(APP, certs.make_leaf(root, f"m-{i}", key=key).pem) for i in range(count)
    ]
    scenario = Scenario("memory", "main", lines, 200)
    before = rss(worker)
    sent = 0
    while sent < count:
        result = wrk(port, scenario, tmp, 5, 4)
        sent += result["requests"]
        wrong = {s: n for s, n in result["statuses"].items() if int(s) != 200}
        if wrong:
            failures.append(f"memory phase: expected 200 only, got {wrong}")
            break
    after = rss(worker)
    if after - before > MEMORY_BUDGET:
        failures.append(
            f"RSS grew by {(after - before) / MIB:.1f} MiB over {sent} distinct certificates"
            f" (budget {MEMORY_BUDGET / MIB:.0f} MiB)"
        )
    return [
        f"Memory: {sent} requests with {count} distinct certificates: the worker's RSS"
        f" {before / MIB:.1f} → {after / MIB:.1f} MiB ({(after - before) / MIB:+.1f} MiB,"
        f" budget {MEMORY_BUDGET / MIB:.0f} MiB)."
    ]


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{os.cpu_count()} × {cpu}, Linux {platform.release()}, Python"
        f" {platform.python_version()}, {version.stdout.split()[1] if version.stdout else 'wrk'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI's regression guard: seconds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; quick 2)")
    parser.add_argument("--seconds", type=float, help="per wrk run (default 3; quick 1)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--only", help="scenario numbers to run, e.g. 1,2,9 (their baselines are kept)"
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="leave out the memory phase (50,000 certificates): for quick experiments",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/guard_cost.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 1
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    began = time.monotonic()
    failures: list[str] = []
    root = certs.make_ca("Bench Root")
    known = certs.make_leaf(root, "device-1")
    key = certs.new_key()
    many = 500 if args.quick else 3000
    fresh = [
        certificate_line(APP, certs.make_leaf(root, f"d-{i}", key=key).pem) for i in range(many)
    ]
    stranger = certs.make_leaf(certs.make_ca("Unknown CA"), "device-1")
    servers: dict[str, subprocess.Popen[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="accessctl-guard-") as name:
        tmp = Path(name)
        servers_ = ("main", "shipped", "noaccess", "minimal", "bare", "unwritten")
        ports = {key_: free_port() for key_ in servers_}
        site = ["--pythonpath", str(BENCH)]
        base = server_env(tmp, ports["main"], [APP, NODUR, OPEN, IDENT])
        configure(tmp, base, root)
        try:
            launches = {
                "main": (
                    {"DJANGO_SETTINGS_MODULE": "_site.settings", "ACCESSCTL_WORKERS": "1"},
                    [],
                ),
                "shipped": ({"DJANGO_SETTINGS_MODULE": "_site.settings"}, []),
                "noaccess": (
                    {
                        "DJANGO_SETTINGS_MODULE": "_site.settings_without_access",
                        "ACCESSCTL_WORKERS": "1",
                    },
                    [],
                ),  # fmt: skip
                "minimal": (
                    {"DJANGO_SETTINGS_MODULE": "_site.minimal", "ACCESSCTL_WORKERS": "1"},
                    ["_site.minimal:django_application"],
                ),  # fmt: skip
                "bare": ({"ACCESSCTL_WORKERS": "1"}, ["_site.minimal:bare_application"]),
                "unwritten": (
                    {"DJANGO_SETTINGS_MODULE": "_site.settings", "ACCESSCTL_WORKERS": "1"},
                    ["_site.unwritten:application"],
                ),  # fmt: skip
            }
            for key_, (extra, app) in launches.items():
                env = {**base, **extra, "ACCESSCTL_BIND": f"127.0.0.1:{ports[key_]}"}
                if key_ == "shipped":
                    env.pop("ACCESSCTL_WORKERS", None)
                servers[key_] = start_gunicorn(
                    tmp, env, ports[key_], *site, *app, log=f"{key_}.log"
                )
            cookie = first_cookie(ports["main"], APP, known.pem)
            with_cert = certificate_line(APP, known.pem)
            with_cookie = "\t".join([header("Host", APP), header("Cookie", cookie)])
            person = "\t".join(
                [
                    certificate_line(IDENT, known.pem),
                    header("Cookie", identity_cookie(tmp, base, known)),
                ]
            )
            forward = "/_accessctl/forward-auth"
            scenarios = [
                Scenario("1 unguarded", "main", [header("Host", OPEN)], 200),
                Scenario("2 certificate every request", "main", [with_cert], 200),
                Scenario("3 cookie every request", "main", [with_cookie], 200),
                Scenario("4 new certificate every request", "main", fresh, 200),
                Scenario("5 unknown CA", "main", [certificate_line(APP, stranger.pem)], 403),
                Scenario("6 no certificate", "main", [header("Host", APP)], 403),
                Scenario("7 no duration", "main", [certificate_line(NODUR, known.pem)], 200),
                Scenario("8 identity session and certificate", "main", [person], 200),
                Scenario(
                    "9 installed, unguarded",
                    "main",
                    [header("Host", OPEN)],
                    200,
                    baseline="9 not installed",
                ),  # fmt: skip
                Scenario(
                    "9 not installed",
                    "noaccess",
                    [header("Host", OPEN)],
                    200,
                    baseline="9 not installed",
                ),  # fmt: skip
                Scenario("10 forward-auth, certificate", "main", [with_cert], 200, forward),
                Scenario("10 forward-auth, cookie", "main", [with_cookie], 200, forward),
                Scenario("10 forward-auth, refused", "main", [header("Host", APP)], 403, forward),
                Scenario(
                    "12 unknown CA, access log written",
                    "main",
                    [certificate_line(APP, stranger.pem)],
                    403,
                    baseline="12 unknown CA, no access log row",
                ),  # fmt: skip
                Scenario(
                    "12 unknown CA, no access log row",
                    "unwritten",
                    [certificate_line(APP, stranger.pem)],
                    403,
                    baseline="12 unknown CA, no access log row",
                ),  # fmt: skip
                Scenario(
                    "11 vs minimal Django",
                    "minimal",
                    [header("Host", OPEN)],
                    200,
                    baseline="11 vs minimal Django",
                ),  # fmt: skip
                Scenario(
                    "11 vs bare WSGI",
                    "bare",
                    [header("Host", OPEN)],
                    200,
                    baseline="11 vs bare WSGI",
                ),  # fmt: skip
            ]
            if args.quick:
                keep = {"1 unguarded", "2 certificate every request", "3 cookie every request",
                        "5 unknown CA", "8 identity session and certificate",
                        "10 forward-auth, certificate"}  # fmt: skip
                scenarios = [s for s in scenarios if s.name in keep]
            if args.only:
                numbers = {n.strip() for n in args.only.split(",")}
                wanted = [s for s in scenarios if s.name.split()[0] in numbers]
                bases = {s.baseline for s in wanted}
                scenarios = [s for s in scenarios if s in wanted or s.name in bases]
            run_rounds(scenarios, ports, tmp, rounds, seconds, 4, failures)
            shipped = [
                Scenario(s.name, "shipped", s.lines, s.status, s.path)
                for s in scenarios
                if s.server == "main" and not s.name.startswith(("9", "12"))
            ]
            if not args.quick:
                run_rounds(shipped, ports, tmp, max(2, rounds // 2), seconds, 16, failures)

            def rss_of(server: str) -> float:
                pids = worker_pids(servers[server].pid)
                return statistics.mean(rss(pid) for pid in pids) if pids else 0.0

            report = [
                f"Measured on {machine()}, {dt.datetime.now(dt.UTC).date().isoformat()},"
                f" {rounds} interleaved rounds of {seconds:g} s per scenario.",
                "",
                *table(scenarios, "One sync worker (wrk -c4)", rss_of),
                "",
                "Scenario 8 sends a person's identity session with the certificate it is bound"
                " to (Allow — Include: Everyone — Require: Valid Certificate). Scenario"
                " 11 is for the record: accessctl's unguarded request against a minimal Django"
                " project and a bare WSGI callable under the same gunicorn.",
            ]
            # Ratios of scenario 11: the project against the minimal ones, per round.
            by_name = {s.name: s for s in scenarios}
            for other in ("11 vs minimal Django", "11 vs bare WSGI"):
                if other in by_name:
                    ratio = median_ratio(by_name["1 unguarded"], by_name[other])
                    report.append(f"- unguarded accessctl / {other[6:]}: {ratio:.2f}")
            if not args.quick:
                report += ["", *table(shipped, "The shipped worker count (wrk -c16)", rss_of)]
            if not args.quick and not args.no_memory:
                report += ["", *memory_phase(ports["main"], servers["main"].pid, root, tmp,
                                              50_000, failures)]  # fmt: skip
            missed = missed_targets(scenarios, args.quick)
            if missed and args.quick:
                # A gross regression persists; a neighbour's burst of CPU does not. Before
                # failing CI, measure every quick scenario for more rounds and judge the median
                # of all of them.
                print("below a floor, measuring again:", *missed, sep="\n  ", file=sys.stderr)
                run_rounds(scenarios, ports, tmp, 3, seconds, 4, failures)
                missed = missed_targets(scenarios, args.quick)
            failures += missed
        finally:
            for server in servers.values():
                stop_process(server)
    report += ["", *pure_path_table(root, args.quick, failures)]
    print("\n".join(report))
    print(f"\n{time.monotonic() - began:.0f} s")
    if args.markdown:
        args.markdown.write_text("\n".join(report) + "\n")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
