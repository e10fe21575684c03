"""Real traffic through a real gunicorn with two workers: the access log and the inventory
are written by both workers' recorders and pruned by the command; the metrics add up every
worker's counts in each scrape, from any worker; a replaced worker's gauge files go."""

from __future__ import annotations

import datetime as dt
import os
import signal

from prometheus_client.parser import text_string_to_metric_families

from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.served import Served, served_accessctl

ALLOWED, REFUSED = 24, 6


def _configure(pki):
    def configure(served: Served) -> None:
        bundle = served.tmp / "fleet.pem"
        bundle.write_text(certs.pem_bundle(pki.root, pki.inter))
        served.accessctl("certificates", "add", "--name", "Fleet", "--hostname", HOST, str(bundle))
        served.accessctl(
            "policies",
            "add",
            "--hostname",
            HOST,
            "--decision",
            "non_identity",
            "--include",
            "valid_certificate",
        )

    return configure


def _decisions(served: Served) -> dict[tuple[str, str], float]:
    status, body = served.get("localhost", "/_accessctl/metrics")
    assert status == 200, body
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "accessctl_decisions_total" and sample.labels["hostname"] == HOST:
                key = (sample.labels["decision"], sample.labels["reason"])
                counts[key] = counts.get(key, 0) + sample.value
    return counts


def test_two_workers_fill_the_access_log_inventory_and_metrics_and_prune(tmp_path, pki):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by an earlier run")
    laptop = certs.make_leaf(pki.inter, "laptop-9", san_dns=("laptop-9.corp",))
    with served_accessctl(
        tmp_path, [HOST], configure=_configure(pki), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    ) as served:
        assert not (metrics_dir / "counter_999999.db").exists()  # emptied at start
        for i in range(ALLOWED):
            assert served.get(HOST, f"/?i={i}", cert=laptop if i % 2 else pki.leaf)[0] == 200
        for _ in range(REFUSED):
            assert served.get(HOST, "/")[0] == 403

        def logged() -> int:
            return served.query("SELECT COUNT(*) FROM traffic_accesslogentry")[0][0]

        served.wait_for(lambda: logged() == ALLOWED + REFUSED, "every decision in the access log")
        decisions = dict(
            served.query("SELECT decision, COUNT(*) FROM traffic_accesslogentry GROUP BY decision")
        )
        assert decisions == {"allow": ALLOWED, "deny": REFUSED}
        inventory = served.query(
            "SELECT common_name, request_count FROM traffic_clientcertificate ORDER BY common_name"
        )
        assert inventory == [("device-1", ALLOWED // 2), ("laptop-9", ALLOWED // 2)]
        reached = served.query("SELECT DISTINCT hostname FROM traffic_clientcertificatehostname")
        assert reached == [(HOST,)]

        # Each scrape, whichever worker answers it, counts both workers' decisions.
        expected = {("allow", "policy_allow"): ALLOWED, ("deny", "certificate_required"): REFUSED}
        served.wait_for(lambda: _decisions(served) == expected, "the metrics of both workers")
        for _ in range(6):
            assert _decisions(served) == expected

        # Pruning: the decisions of 40 days ago go, today's stay.
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S")
        served.query("UPDATE traffic_accesslogentry SET time = ? WHERE decision = 'deny'", old)
        assert f"Deleted {REFUSED} " in served.accessctl("accesslog", "prune")
        assert logged() == ALLOWED
        exported = served.accessctl("accesslog", "export", "--format", "json")
        assert exported.count('"decision": "allow"') == ALLOWED

        # A replaced worker's live gauge (configuration staleness) is removed by child_exit.
        gauges = sorted(metrics_dir.glob("gauge_livemax_*.db"))
        assert len(gauges) == 2, gauges
        pid = int(gauges[0].stem.rsplit("_", 1)[1])
        os.kill(pid, signal.SIGTERM)
        served.wait_for(lambda: not gauges[0].exists(), "the dead worker's gauge file removed")
