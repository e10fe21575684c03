"""Static stability under a mixed load: two gunicorn nodes on a PostgreSQL and a Redis of this
test's own, stopped and started while every answer is checked.

- PostgreSQL down for many times the staleness bound: served throughout (Redis confirms the
  version the nodes hold);
- Redis down: served, and a CA removed meanwhile (by a writer that cannot reach Redis either)
  is refused by both nodes within a second, its certificate and its session cookie alike;
- Redis back, a writer cut off from it: its change is enforced within a second;
- both down: 503 once the staleness bound has passed, and service resumes by itself.

Zero wrong decisions and zero 500s; each writer exits 0 with one warning line; the nodes log
each backend's going and coming once per worker, with no traceback and no django.request
ERROR. Loopback only, settings made small (check every 0.25 s, 1 s of staleness), about a
minute in all. Runs in CI's PostgreSQL + Redis pass (the suite's SQLite pass skips it).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from apps.gateway.health import READYZ_PATH
from tests.factories import certs
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST
from tests.gateway.processes import (
    Gunicorn,
    PostgresServer,
    RedisServer,
    free_port,
    postgres_bin,
    server_database_reason,
    session_cookie,
)
from tests.tools import require_tool

INTERVAL, STALENESS = 0.25, 1.0
WITHIN = 1.0  # a change is enforced everywhere this long after its writer returned
BOUND = STALENESS + INTERVAL  # after both backends stopped, 503 from then on
RESUME = 3.0  # after both came back, served again from then on
WORKERS = 2


@pytest.fixture
def own_backends(tmp_path):
    if reason := server_database_reason():
        pytest.skip(f"runs in the PostgreSQL + Redis pass ({reason})")
    require_tool(postgres_bin() is not None, "initdb and pg_ctl (PostgreSQL) are not installed")
    require_tool(shutil.which("redis-server") is not None, "redis-server is not installed")
    postgres = PostgresServer().init()
    redis = RedisServer(tmp_path)
    try:
        postgres.start()
        redis.start()
        yield postgres, redis
    finally:
        redis.stop()
        postgres.cleanup()


@dataclass
class Kind:
    """One kind of request in the load, and what it must get as changes happen."""

    headers: dict[str, str]
    initial: int
    changes: list[tuple[str, int]] = field(default_factory=list)  # (event, status after it)
    path: str = "/"


@dataclass
class Answer:
    kind: str
    node: int
    sent: float
    received: float
    status: int


class Load:
    """A bounded mixed load on both nodes: a few threads, one request at a time each."""

    def __init__(self, nodes: list[Gunicorn], kinds: dict[str, Kind]) -> None:
        self.nodes, self.kinds = nodes, kinds
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._turn = itertools.count()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(3)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _run(self) -> None:
        while not self._stop.is_set():
            turn = next(self._turn)
            names = list(self.kinds)
            name = names[turn % len(names)]
            node = (turn // len(names)) % len(self.nodes)
            kind = self.kinds[name]
            sent = time.monotonic()
            try:
                status = self.nodes[node].get(HOST, kind.path, kind.headers)[0]
            except OSError:
                status = 0  # no answer at all: as wrong as a 500
            self.answers.append(Answer(name, node, sent, time.monotonic(), status))
            time.sleep(0.01)


class Timeline:
    """When each event began and ended (monotonic), and what a request may get meanwhile."""

    def __init__(self) -> None:
        self.events: dict[str, tuple[float, float]] = {}

    def run(self, name: str, action):
        begin = time.monotonic()
        result = action()
        self.events[name] = (begin, time.monotonic())
        return result

    def acceptable(self, kind: Kind, answer: Answer) -> set[int]:
        inf = float("inf")
        statuses = {kind.initial}
        for event, status in kind.changes:
            begin, end = self.events.get(event, (inf, inf))
            if answer.received < begin:
                break
            statuses = {status} if answer.sent > end + WITHIN else statuses | {status}
        down_begin, down_end = self.events.get("both down", (inf, inf))
        up_begin, up_end = self.events.get("both back", (inf, inf))
        if answer.received < down_begin or answer.sent > up_end + RESUME:
            return statuses
        if answer.sent > down_end + BOUND and answer.received < up_begin:
            return {503}
        return statuses | {503}


def accessctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, as an operator runs it, with ``env``'s database and cache."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("accessctl")), *args],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "accessctl.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def diagnosis(*nodes: Gunicorn) -> str:
    """What the nodes said about their backends, and why they answered 503 (for a failure)."""
    said = []
    for node in nodes:
        reasons: dict[str, int] = {}
        for line in node.log.read_text().splitlines():
            if "accessctl.backends" in line:
                said.append(line)
            elif line.startswith("{") and '"decision": "unavailable"' in line:
                reason = json.loads(line)["reason"]
                reasons[reason] = reasons.get(reason, 0) + 1
        said.append(f"503 reasons: {reasons}")
    return "\n" + "\n".join(said)


def assert_one_warning_line(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "could not be told" in warnings[0], result.stderr
    assert "Traceback" not in result.stderr


def test_two_nodes_stay_right_while_postgresql_and_redis_stop_and_start(own_backends, tmp_path):
    postgres, redis = own_backends
    env = {
        "ACCESSCTL_DATA_DIR": str(tmp_path),
        "SECRET_KEY": settings.SECRET_KEY,  # the nodes' own (tests/gateway/processes.py)
        "DATABASE_URL": postgres.url,
        "CACHE_URL": redis.url,
        "ACCESSCTL_CONFIG_CHECK_INTERVAL": str(INTERVAL),
        "ACCESSCTL_CONFIG_MAX_STALENESS": str(STALENESS),
        "ALLOWED_HOSTS": f"{HOST},localhost,127.0.0.1",
    }
    cut_off = {**env, "CACHE_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens
    leaves, setup = {}, ["call_command('migrate', verbosity=0)"]
    for name in "ABC":
        ca = certs.make_ca(f"Outage CA {name}")
        (tmp_path / f"{name}.pem").write_text(ca.pem)
        pem = str(tmp_path / f"{name}.pem")
        setup.append(
            f"call_command(*{['certificates', 'add', '--name', name, '--hostname', HOST, pem]!r})"
        )
        leaves[name] = {"X-SSL-Client-Cert": escaped(certs.make_leaf(ca, f"device-{name}"))}
    policy = ["policies", "add", "--hostname", HOST, "--decision", "non_identity"]
    setup.append(f"call_command(*{[*policy, '--include', 'valid_certificate']!r})")
    # The operator's commands, in one process (each start of Django costs seconds here).
    script = "from django.core.management import call_command\n" + "\n".join(setup)
    configured = accessctl(env, "shell", "-c", script)
    assert configured.returncode == 0, configured.stderr

    node_env = {**env, "CONN_MAX_AGE": "60", "ACCESSCTL_WORKERS": str(WORKERS)}
    (tmp_path / "n1").mkdir()
    (tmp_path / "n2").mkdir()
    timeline = Timeline()
    with (
        Gunicorn(tmp_path / "n1", **node_env) as one,
        Gunicorn(tmp_path / "n2", **node_env) as two,
    ):
        status, headers, _ = one.exchange(HOST, headers=leaves["C"])
        assert status == 200
        cookie_c = {"Cookie": f"CF_Authorization={session_cookie(headers)}"}
        kinds = {
            "A": Kind(leaves["A"], 200),
            "B": Kind(leaves["B"], 200, [("remove B", 403)]),
            "C": Kind(leaves["C"], 200, [("remove C", 403)]),
            "no certificate": Kind({}, 403),
            "cookie of C": Kind(cookie_c, 200, [("remove C", 403)]),
            "readiness": Kind({}, 200, path=READYZ_PATH),
        }
        with Load([one, two], kinds) as load:
            # Every worker has loaded its snapshot (a worker with none cannot ride out a
            # database outage: documented), then its keys, and the cache has its copies.
            deadline = time.monotonic() + 60
            while not all(
                n.log.read_text().count("configuration snapshot") >= WORKERS for n in (one, two)
            ):
                assert time.monotonic() < deadline, "the workers did not load their snapshots"
                time.sleep(0.2)
            time.sleep(2)

            # PostgreSQL down for eight times the staleness bound: Redis vouches throughout.
            timeline.run("postgres down", postgres.stop)
            time.sleep(8 * STALENESS)
            timeline.run("postgres back", postgres.start)
            time.sleep(1)

            # Redis down: served from the database, and a change made meanwhile is enforced.
            timeline.run("redis down", redis.stop)
            time.sleep(1)
            assert_one_warning_line(
                timeline.run("remove C", lambda: accessctl(env, "certificates", "remove", "C"))
            )
            time.sleep(WITHIN + 0.5)
            timeline.run("redis back", redis.start)
            time.sleep(1)

            # A writer cut off from Redis (Redis up for the nodes): within a second all the same.
            status, headers, _ = two.exchange(HOST, headers=leaves["B"])
            assert status == 200
            cookie_b = {"Cookie": f"CF_Authorization={session_cookie(headers)}"}
            kinds["cookie of B"] = Kind(cookie_b, 200, [("remove B", 403)])
            time.sleep(1)
            assert_one_warning_line(
                timeline.run("remove B", lambda: accessctl(cut_off, "certificates", "remove", "B"))
            )
            time.sleep(WITHIN + 0.5)

            # Both down: 503 once the staleness bound has passed; then back by themselves.
            timeline.run("both down", lambda: (redis.stop(), postgres.stop()))
            time.sleep(BOUND + 2)
            timeline.run("both back", lambda: (postgres.start(), redis.start()))
            time.sleep(RESUME + 1)

    wrong = [a for a in load.answers if a.status not in timeline.acceptable(load.kinds[a.kind], a)]
    assert not wrong, (
        f"{len(wrong)} wrong answers of {len(load.answers)}: {wrong[:10]}; {timeline.events}"
        f"{diagnosis(one, two)}"
    )
    assert not [a for a in load.answers if a.status >= 500 and a.status != 503]
    for name, (begin, end) in timeline.events.items():  # the load ran through every phase
        during = [a for a in load.answers if begin <= a.sent <= end + 1]
        assert len(during) >= 10, f"only {len(during)} requests around {name!r}"
    down_begin, _ = timeline.events["both down"]
    up_begin, _ = timeline.events["both back"]
    refused = [a for a in load.answers if down_begin <= a.sent < up_begin and a.status == 503]
    assert refused, "both backends down and nothing refused"

    for node in (one, two):
        log = node.log.read_text()
        assert "Traceback" not in log
        assert "django.request" not in log
        lines = "\n".join(line for line in log.splitlines() if "accessctl.backends" in line)
        # At most once per worker per transition: two database outages, two cache outages.
        assert log.count("database unreachable") <= 2 * WORKERS, lines
        assert log.count("cache unreachable") <= 2 * WORKERS, lines
        assert "refused as unavailable meanwhile" in log
