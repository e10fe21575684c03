"""A gunicorn worker that is asked to stop (a deploy, ``kill -TERM``) first writes the access
log rows it still holds in memory (``apps.base.draining``, run by gunicorn's ``worker_exit``):
a restart loses no record of what the guard decided.

Needs a server database that the gunicorn process shares with the test: skipped (with the
reason) on in-memory SQLite; CI's PostgreSQL + Redis pass runs it.
"""

from __future__ import annotations

import pytest

from apps.traffic.models import AccessLogEntry
from tests.factories import certs
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca
from tests.gateway.processes import Gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("server_database")]


def test_a_stopping_worker_writes_the_access_log_rows_it_still_holds(tmp_path):
    root = certs.make_ca("Stopping Root")
    upload_ca("Fleet", [HOST], root)
    add_policy()
    device = {"X-SSL-Client-Cert": escaped(certs.make_leaf(root, "laptop"))}
    stranger = {"X-SSL-Client-Cert": escaped(certs.make_leaf(certs.make_ca("Elsewhere"), "x"))}
    # An hour between the recorder's writes: nothing is written while the server runs.
    with Gunicorn(tmp_path, ACCESSCTL_TRAFFIC_FLUSH_SECONDS="3600") as server:
        statuses = [server.get(HOST, headers=device)[0] for _ in range(4)]
        statuses += [server.get(HOST, headers=stranger)[0] for _ in range(3)]
        assert statuses == [200] * 4 + [403] * 3
        assert not AccessLogEntry.objects.exists()
    # Stopped (SIGTERM): every worker wrote what it held as it left.
    decisions = sorted(AccessLogEntry.objects.values_list("decision", "reason"))
    assert decisions == [("allow", "policy_allow")] * 4 + [("deny", "chain_untrusted")] * 3
    assert "not finished" not in server.log.read_text()
