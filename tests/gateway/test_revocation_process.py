"""A certificate revoked on one node ends its sessions on every node within a second: two
accessctl processes (gunicorn) on the shared PostgreSQL database and Redis cache, a session
issued by one and used on both, revoked through the ORM of a third (the test).

Skipped (with the reason) on in-memory SQLite; CI's PostgreSQL + Redis pass runs it.
"""

from __future__ import annotations

import pytest

from apps.revocation.services import crl_store, revocation_create
from tests.factories import certs
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca
from tests.gateway.processes import (
    Gunicorn,
    every_node_has_it,
    session_cookie,
    settle,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("server_database")]


@pytest.mark.parametrize("by", ["fingerprint", "crl"])
def test_a_revoked_certificates_session_ends_on_both_nodes_within_a_second(tmp_path, by):
    root = certs.make_ca("Two Nodes Root")
    inter = certs.make_ca("Two Nodes Devices", issuer=root)
    bundle = upload_ca("Fleet", [HOST], root, inter)
    add_policy()
    leaf = certs.make_leaf(inter, "laptop")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Gunicorn(tmp_path / "a") as node_a, Gunicorn(tmp_path / "b") as node_b:
        assert settle(lambda: node_a.get(HOST)[0] == 403) < 1.0
        status, headers, _ = node_a.exchange(HOST, headers={"X-SSL-Client-Cert": escaped(leaf)})
        assert status == 200
        session = {"Cookie": f"CF_Authorization={session_cookie(headers)}"}
        for node in (node_a, node_b):
            assert settle(lambda node=node: node.get(HOST, headers=session)[0] == 200) < 1.0
        if by == "fingerprint":
            revocation_create(kind="fingerprint", value=leaf.fingerprint, reason="lost", user=None)
        else:
            crl_store(bundle=bundle, data=certs.make_crl(inter, (leaf,)).der, user=None)
        for node in (node_a, node_b):
            assert settle(lambda node=node: node.get(HOST, headers=session)[0] == 403) < 1.0
        every_node_has_it()  # the answers above may all have come from one worker of each node
        certificate = {"X-SSL-Client-Cert": escaped(leaf)}
        for node in (node_a, node_b):
            assert [node.get(HOST, headers=session)[0] for _ in range(6)] == [403] * 6
            assert [node.get(HOST, headers=certificate)[0] for _ in range(6)] == [403] * 6
        other = {"X-SSL-Client-Cert": escaped(certs.make_leaf(inter, "desktop"))}
        assert node_b.get(HOST, headers=other)[0] == 200
