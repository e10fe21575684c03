"""Load benchmark: a flood of bad certificates, and memory under distinct certificates.

    .venv/bin/python bench/flood.py [--clients 2] [--requests 250] [--rounds 3] [--flooders 4]
    .venv/bin/python bench/flood.py --quick   # what CI runs

About a minute on a 2-core machine (34,000 requests in the memory streams, 7,500 in the
latency phases), all on loopback.

Starts gunicorn (accessctl/gunicorn.conf.py, 2 workers, 127.0.0.1 on a free port) on a
throwaway SQLite database in a temporary directory, configured through the commands an
operator would use: ``accessctl migrate``, ``accessctl certificates add`` (a CA made at run
time, bound to app.localhost) and ``accessctl policies add`` (Non Identity, Include Valid
Certificate). Requests come from 127.0.0.1, a trusted proxy, with the certificate URL-encoded
in X-SSL-Client-Cert as nginx forwards it.

Flood — a flood of bad certificates does not push valid clients' p99 over budget. Valid clients
(threads of this process, one certificate each) send a fixed number of requests and their
latency (connect to last byte) is measured in four phases of the same run, repeated in three
interleaved rounds (each figure is the median over the rounds):

- unguarded, quiet: the same clients on open.localhost (no policy): the baseline;
- guarded, quiet: valid certificates on app.localhost;
- guarded, ordinary load: as many flooding processes sending unguarded requests, a control
  that shows what merely sharing two workers with other traffic costs;
- guarded, bad-certificate flood: the flooding processes send distinct bad certificates
  (unknown CA, garbage between PEM markers, a value over the 16 KiB limit), never one twice.

It fails only on a gross regression: p99 under the flood over 10x the quiet guarded p99 (the
machine running CI may have 2 shared cores, so anything finer would flake), a valid client
refused, a bad certificate let through, or any 5xx.

Memory — tens of thousands of distinct certificates keep memory bounded. Two streams of distinct
certificates are sent by the flooding processes: 2.1 x the verification cache's size in valid
leaves (each worker sees about half, so both caches are full after it), then 1.0 x more, each
with a tenth as many unknown-CA leaves. The workers' RSS (/proc/<pid>/status) is read before,
between and after. A bounded cache grows during the first stream and stays flat during the
second; an unbounded one grows as much per certificate again. It fails when the second stream's
growth exceeds half the first's per certificate plus 4 MiB, or when a worker was replaced.

Every process it starts is stopped on the way out, failure or not; nothing is written outside
the temporary directory. Exit status 0 when within budget, 1 on a regression.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from multiprocessing.synchronize import Event
from pathlib import Path
from urllib.parse import quote

from _servers import accessctl, rss, server_env, start_gunicorn, worker_pids

from accessctl.core.forwarded import MAX_HEADER_BYTES
from apps.console.servers import free_port, stop_process
from apps.gateway.verification import MAX_FAILURES, MAX_RESULTS
from tests.factories import certs

GUARDED = "app.localhost"
UNGUARDED = "open.localhost"
# What each kind of request must be answered with; anything else is a failure of the run.
EXPECTED = {"valid": 200, "unguarded": 200, "unknown_ca": 403, "garbage": 403, "oversize": 403}
MAX_FLOOD_RATIO = 10.0  # p99 under the bad-certificate flood / quiet guarded p99
MEMORY_SLACK = 4 * 1024 * 1024  # bytes of growth the second stream may show whatever happens

# One request: (kind, Host, X-SSL-Client-Cert value or None).
Item = tuple[str, str, str | None]


# --- Certificates --------------------------------------------------------------------------


class LeafMaker:
    """Distinct leaves from one issuer, fast: one key reused, a fresh serial and CN each."""

    def __init__(self, issuer: certs.Issued) -> None:
        self.issuer = issuer
        self.key = certs.new_key()

    def quoted_pem(self, common_name: str) -> str:
        """A new leaf, URL-encoded PEM as nginx's $ssl_client_escaped_cert forwards it."""
        return quote(certs.make_leaf(self.issuer, common_name, key=self.key).pem, safe="")


def garbage(size: int) -> str:
    """Random bytes between PEM markers (distinct every time), URL-encoded."""
    body = base64.encodebytes(os.urandom(size)).decode()
    return quote(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n", safe="")


def bad_certificates(stranger: LeafMaker, count: int, tag: str) -> list[Item]:
    """``count`` distinct bad certificates, the three kinds interleaved."""
    items: list[Item] = []
    for i in range(count):
        if i % 3 == 0:
            items.append(("unknown_ca", GUARDED, stranger.quoted_pem(f"{tag}-{i}")))
        elif i % 3 == 1:
            items.append(("garbage", GUARDED, garbage(600)))
        else:  # over the limit accessctl checks first, under gunicorn's (raised below)
            items.append(("oversize", GUARDED, garbage(MAX_HEADER_BYTES * 3 // 4 + 512)))
    return items


# --- HTTP ----------------------------------------------------------------------------------


def fetch(port: int, host: str, cert: str | None) -> int:
    """One GET / on a new connection (gunicorn's sync workers close it anyway): the status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": host, "Accept": "application/json"}
        if cert is not None:
            headers["X-SSL-Client-Cert"] = cert
        conn.request("GET", "/", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0  # a refused or reset connection: counted as an unexpected status
    finally:
        conn.close()


def flood(port: int, items: Sequence[Item], stop: Event, results: multiprocessing.Queue) -> None:
    """Send ``items`` one after another until they run out or ``stop`` is set (a process)."""
    statuses: Counter[tuple[str, int]] = Counter()
    for kind, host, cert in items:
        if stop.is_set():
            break
        statuses[kind, fetch(port, host, cert)] += 1
    results.put(statuses)


def run_flooders(port: int, slices: Sequence[Sequence[Item]], stop: Event) -> FloodHandle:
    """Start one flooding process per slice (forked before any thread of ours exists)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [
        context.Process(target=flood, args=(port, items, stop, results), daemon=True)
        for items in slices
    ]
    for process in processes:
        process.start()
    return FloodHandle(processes, results, stop)


class FloodHandle:
    """Flooding processes started by :func:`run_flooders`; ``finish`` collects their counts."""

    def __init__(self, processes: list, results: multiprocessing.Queue, stop: Event) -> None:
        self.processes = processes
        self.results = results
        self.stop = stop

    def finish(self) -> Counter[tuple[str, int]]:
        """Stop the flood and return the statuses it received, by kind."""
        self.stop.set()
        total: Counter[tuple[str, int]] = Counter()
        for _ in self.processes:
            total.update(self.results.get(timeout=60))
        for process in self.processes:
            process.join(10)
        return total

    def kill(self) -> None:
        """Used on the way out after a failure: no flooding process outlives the run."""
        self.stop.set()
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(5)


def valid_clients(
    port: int, host: str, clients: Sequence[str | None], requests: int
) -> tuple[list[float], Counter[tuple[str, int]]]:
    """Each client a thread sending ``requests`` requests: latencies (s) and statuses."""
    kind = "valid" if host == GUARDED else "unguarded"
    latencies: list[float] = []
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()

    def client(cert: str | None) -> None:
        mine: list[float] = []
        seen: Counter[tuple[str, int]] = Counter()
        for _ in range(requests):
            start = time.perf_counter()
            status = fetch(port, host, cert if host == GUARDED else None)
            mine.append(time.perf_counter() - start)
            seen[kind, status] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(cert,)) for cert in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank), of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def unexpected(statuses: Counter[tuple[str, int]]) -> list[str]:
    """Human-readable lines for every answer that is not what its kind must get."""
    return [
        f"{count} x {kind} answered {status or 'no response'} (expected {EXPECTED[kind]})"
        for (kind, status), count in sorted(statuses.items())
        if status != EXPECTED[kind]
    ]


# --- Server --------------------------------------------------------------------------------


def configure(tmp: Path, env: dict[str, str], root: certs.Issued) -> None:
    """Database, the CA bound to app.localhost and a Valid Certificate policy, by command."""
    accessctl(env, "migrate", "--noinput", "--verbosity", "0")
    ca_file = tmp / "ca.pem"
    ca_file.write_text(root.pem)
    accessctl(env, "certificates", "add", "--name", "Flood CA", "--hostname", GUARDED, str(ca_file))
    accessctl(env, "policies", "add", "--hostname", GUARDED, "--name", "devices",
              "--decision", "non_identity", "--include", "valid_certificate")  # fmt: skip


# --- The run -------------------------------------------------------------------------------


def latency_phases(
    port: int, args: argparse.Namespace, clients: list[str], bad: list[Item]
) -> tuple[list[str], list[str]]:
    """The flood. Returns (report lines, failures).

    The four phases run in ``args.rounds`` interleaved rounds and each figure is the median
    over the rounds, so that a burst of unrelated load on a shared machine spoils one round's
    p99, not the verdict.
    """
    failures: list[str] = []
    names = [
        "unguarded, quiet",
        "guarded, quiet",
        "guarded, ordinary load",
        "guarded, bad-certificate flood",
    ]
    p50s: dict[str, list[float]] = {name: [] for name in names}
    p99s: dict[str, list[float]] = {name: [] for name in names}
    flooded_total: Counter[str] = Counter()

    def phase(name: str, host: str, load: list[Item] | None) -> None:
        handle = None
        if load is not None:
            step = len(load) // args.flooders
            slices = [load[i * step : (i + 1) * step] for i in range(args.flooders)]
            handle = run_flooders(port, slices, multiprocessing.get_context("fork").Event())
            time.sleep(0.3)  # let the flood reach the server before measuring
        try:
            latencies, statuses = valid_clients(port, host, clients, args.requests)
        finally:
            flooded = handle.finish() if handle else Counter()
        failures.extend(f"{name}: {line}" for line in unexpected(statuses + flooded))
        p50s[name].append(statistics.median(latencies))
        p99s[name].append(percentile(latencies, 0.99))
        flooded_total[name] += sum(flooded.values())
        if load is not None and sum(flooded.values()) < len(latencies):
            failures.append(f"{name}: the flood sent only {sum(flooded.values())} requests")

    valid_clients(port, GUARDED, clients, 5)  # warm up: imports, snapshot, cached verifications
    valid_clients(port, UNGUARDED, clients, 5)
    per_round = len(bad) // args.rounds
    for i in range(args.rounds):
        phase(names[0], UNGUARDED, None)
        phase(names[1], GUARDED, None)
        phase(names[2], GUARDED, [("unguarded", UNGUARDED, None)] * per_round)
        phase(names[3], GUARDED, bad[i * per_round : (i + 1) * per_round])  # never resent

    def med(values: dict[str, list[float]], name: str) -> float:
        return statistics.median(values[name])

    base, quiet = med(p99s, names[0]), med(p99s, names[1])
    lines = [
        f"median of {args.rounds} rounds of {args.clients} x {args.requests} requests",
        f"{'valid clients':32} {'p50 ms':>8} {'p99 ms':>8} {'p99/unguarded':>14}"
        f" {'p99/quiet':>10} {'flood requests':>15}",
    ]
    for name in names:
        p99 = med(p99s, name)
        lines.append(
            f"{name:32} {med(p50s, name) * 1e3:8.2f} {p99 * 1e3:8.2f} {p99 / base:14.2f}"
            f" {p99 / quiet:10.2f} {flooded_total[name]:15d}"
        )
    under_flood = med(p99s, names[3])
    if under_flood > MAX_FLOOD_RATIO * quiet:
        failures.append(
            f"p99 under the bad-certificate flood ({under_flood * 1e3:.1f} ms) is over"
            f" {MAX_FLOOD_RATIO:.0f}x the quiet p99 ({quiet * 1e3:.1f} ms)"
        )
    return lines, failures


def memory_phases(
    port: int, master: int, args: argparse.Namespace, valid: LeafMaker, stranger: LeafMaker
) -> tuple[list[str], list[str]]:
    """Memory. Returns (report lines, failures)."""
    workers = worker_pids(master)
    if len(workers) != 2:
        return [], [f"expected 2 gunicorn workers, found {workers}"]
    samples = [sum(rss(pid) for pid in workers)]
    per_worker = [[rss(pid) for pid in workers]]
    failures: list[str] = []
    sent = 0
    rates: list[float] = []
    # The first stream fills both workers' caches (each sees about half of it); the second
    # only adds, past that bound, what an unbounded cache would keep.
    streams = {"first": args.fill_factor, "second": args.memory_factor}
    for stream, factor in streams.items():
        items: list[Item] = [
            ("valid", GUARDED, valid.quoted_pem(f"{stream}-{i}"))
            for i in range(int(factor * MAX_RESULTS))
        ]
        items += [
            ("unknown_ca", GUARDED, stranger.quoted_pem(f"{stream}-{i}"))
            for i in range(int(factor * MAX_FAILURES))
        ]
        slices = [items[i :: args.flooders] for i in range(args.flooders)]
        started = time.monotonic()
        handle = run_flooders(port, slices, multiprocessing.get_context("fork").Event())
        try:
            for process in handle.processes:
                process.join(120)
        finally:
            statuses = handle.finish()
        sent += sum(statuses.values())
        rates.append(sum(statuses.values()) / (time.monotonic() - started))
        failures.extend(f"{stream} stream: {line}" for line in unexpected(statuses))
        samples.append(sum(rss(pid) for pid in workers))
        per_worker.append([rss(pid) for pid in workers])
    if worker_pids(master) != workers:
        failures.append(
            f"a worker was replaced (crashed or timed out): {workers} became {worker_pids(master)}"
        )
    mib = 1024 * 1024
    lines = [
        f"distinct certificates sent: {sent} ({MAX_RESULTS} verification results and"
        f" {MAX_FAILURES} failures cached per worker at most),"
        f" {min(rates):.0f} requests/s",
        "workers' RSS, MiB: "
        + " -> ".join("+".join(f"{b / mib:.1f}" for b in sizes) for sizes in per_worker),
        f"growth: first stream {(samples[1] - samples[0]) / mib:+.1f} MiB,"
        f" second stream {(samples[2] - samples[1]) / mib:+.1f} MiB",
    ]
    first, second = samples[1] - samples[0], samples[2] - samples[1]
    # An unbounded cache grows in proportion to the certificates sent: as much per certificate
    # in the second stream as in the first. Half of that, plus some slack, is the limit.
    budget = 0.5 * max(first, 0) * args.memory_factor / args.fill_factor + MEMORY_SLACK
    lines.append(f"second stream budget: +{budget / mib:.1f} MiB")
    if second > budget:
        failures.append(
            f"memory kept growing: +{second / mib:.1f} MiB during the second stream after"
            f" +{first / mib:.1f} MiB during the first (a bounded cache stays flat)"
        )
    return lines, failures


def main() -> int:
    """Run both benchmarks; 0 within budget, 1 on a regression."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI: 2 rounds of 150 requests (memory as ever)"
    )
    parser.add_argument("--clients", type=int, default=2, help="valid client threads")
    parser.add_argument(
        "--requests", type=int, default=250, help="requests per valid client and round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the latency phases")
    parser.add_argument("--flooders", type=int, default=4, help="flooding processes")
    parser.add_argument(
        "--fill-factor",
        type=float,
        default=2.1,
        help="first memory stream: distinct certificates, as a multiple of the cache sizes",
    )
    parser.add_argument(
        "--memory-factor",
        type=float,
        default=1.0,
        help="second memory stream: distinct certificates, as a multiple of the cache sizes",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests = min(args.rounds, 2), min(args.requests, 150)
    began = time.monotonic()
    root = certs.make_ca("Flood Root")
    valid = LeafMaker(root)
    stranger = LeafMaker(certs.make_ca("Unknown CA"))
    clients = [valid.quoted_pem(f"device-{i}") for i in range(args.clients)]
    # Enough for the flood to outlast the measured clients at any plausible speed.
    bad = bad_certificates(stranger, args.rounds * args.clients * args.requests * 5, "flood")
    with tempfile.TemporaryDirectory(prefix="accessctl-flood-") as name:
        tmp = Path(name)
        port = free_port()
        env = server_env(tmp, port, [GUARDED, UNGUARDED])
        configure(tmp, env, root)
        server = start_gunicorn(tmp, env, port)
        try:
            latency_lines, failures = latency_phases(port, args, clients, bad)
            memory_lines, memory_failures = memory_phases(port, server.pid, args, valid, stranger)
            failures += memory_failures
        finally:
            stop_process(server)
    print("Flood: valid clients' latency, without and with a flood of bad certificates")
    print("\n".join(latency_lines))
    print("\nMemory: tens of thousands of distinct certificates")
    print("\n".join(memory_lines))
    print(f"\n{time.monotonic() - began:.0f} s")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
