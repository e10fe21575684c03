"""A change saved in the dashboard (or through the ORM) is enforced by another process within
one second, live sessions included, and a process whose database (and cache) become
unreachable fails closed and recovers by itself.

These need a server database that a second process can share: skipped (with the reason) when
the suite runs on in-memory SQLite; CI runs the suite again on PostgreSQL and Redis, where
they run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from apps.policies.models import AccessPolicy, Application, PolicyRule
from apps.policies.services import application_revoke_tokens
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST
from tests.factories.policies import (
    POLICY_ADD,
    UNGUARDED_CONFIRMED,
    VALID_CERTIFICATE,
    add_policy,
    policy_form,
)
from tests.factories.trust import upload_ca
from tests.gateway.processes import (
    Gunicorn,
    TcpProxy,
    cache_url,
    database_url,
    session_cookie,
    settle,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("server_database")]


def test_a_change_saved_through_the_orm_is_enforced_by_another_process_within_a_second(
    pki, tmp_path
):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    with Gunicorn(tmp_path) as server:
        assert settle(lambda: server.get(HOST)[0] == 200) < 1.0  # a CA alone guards nothing
        policy = add_policy()  # committed: the version is bumped on commit
        assert settle(lambda: server.get(HOST)[0] == 403) < 1.0
        policy.enabled = False
        policy.save()
        assert settle(lambda: server.get(HOST)[0] == 200) < 1.0


def test_a_policy_added_then_deleted_in_the_dashboard_reaches_another_process_in_a_second(
    pki, tmp_path, client, admin_user
):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    client.force_login(admin_user)
    with Gunicorn(tmp_path) as server:
        assert settle(lambda: server.get(HOST)[0] == 200) < 1.0
        response = client.post(reverse(POLICY_ADD), policy_form(VALID_CERTIFICATE))
        assert response.status_code == 302, response.content.decode()[:2000]
        assert settle(lambda: server.get(HOST)[0] == 403) < 1.0
        policy = AccessPolicy.objects.get()
        delete = reverse("admin:policies_accesspolicy_delete", args=[policy.pk])
        assert client.post(delete, {"post": "yes"} | UNGUARDED_CONFIRMED).status_code == 302
        assert not AccessPolicy.objects.exists()
        assert settle(lambda: server.get(HOST)[0] == 200) < 1.0


def test_a_rule_change_ends_another_process_sessions_within_a_second(pki, tmp_path):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    policy = add_policy()
    certificate = {"X-SSL-Client-Cert": escaped(pki.leaf)}
    with Gunicorn(tmp_path) as server:
        assert settle(lambda: server.get(HOST)[0] == 403) < 1.0
        status, headers, _ = server.exchange(HOST, headers=certificate)
        assert status == 200
        session = {"Cookie": f"CF_Authorization={session_cookie(headers)}"}
        assert server.get(HOST, headers=session)[0] == 200
        # A rule that still lets device-1 in, but changes what the policy says.
        PolicyRule.objects.create(
            policy=policy, group="exclude", type="common_name", value="device-9"
        )
        assert settle(lambda: server.get(HOST, headers=session)[0] == 403) < 1.0
        assert server.get(HOST, headers=certificate)[0] == 200


def test_the_underscore_spelling_never_reaches_the_other_process(pki, tmp_path):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy()
    with Gunicorn(tmp_path) as server:
        value = escaped(pki.leaf)
        assert server.get(HOST, headers={"X_SSL_Client_Cert": value})[0] == 403
        assert server.get(HOST, headers={"X-SSL-Client-Cert": value})[0] == 200


def _proxied(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or (6379 if "redis" in url else 5432)


def test_an_unreachable_database_and_cache_fail_closed_and_recover(pki, tmp_path):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy()
    db = connection.settings_dict
    with TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)) as db_proxy:
        env = {"DATABASE_URL": database_url("127.0.0.1", db_proxy.port)}
        proxies = [db_proxy]
        if cache_url().startswith("redis"):
            cache_proxy = TcpProxy(*_proxied(cache_url()))
            cache_proxy.up()
            proxies.append(cache_proxy)
            parts = urlsplit(cache_url())
            env["CACHE_URL"] = f"redis://127.0.0.1:{cache_proxy.port}{parts.path}"
        try:
            with Gunicorn(tmp_path, **env) as server:
                assert settle(lambda: server.get(HOST)[0] == 403) < 1.0
                for proxy in proxies:
                    proxy.down()
                # Unconfirmed for longer than MAX_STALENESS (1 s): 503, never a pass.
                assert settle(lambda: server.get(HOST)[0] == 503) < 2.5
                assert server.get(HOST, headers={"X-SSL-Client-Cert": escaped(pki.leaf)})[0] == 503
                assert server.get("localhost")[0] == 302  # the dashboard host is unaffected
                for proxy in proxies:
                    proxy.up()
                assert settle(lambda: server.get(HOST)[0] == 403) < 2.0
        finally:
            for proxy in proxies:
                proxy.down()


def test_revoking_one_applications_tokens_ends_its_sessions_in_another_process_only(pki, tmp_path):
    upload_ca("Fleet", [HOST, "other.example.com"], pki.root, pki.inter)
    add_policy()
    add_policy("other.example.com", "others")
    certificate = {"X-SSL-Client-Cert": escaped(pki.leaf)}
    with Gunicorn(tmp_path) as server:
        sessions = {}
        for hostname in (HOST, "other.example.com"):
            assert settle(lambda h=hostname: server.get(h)[0] == 403) < 1.0
            status, headers, _ = server.exchange(hostname, headers=certificate)
            assert status == 200
            sessions[hostname] = {"Cookie": f"CF_Authorization={session_cookie(headers)}"}
            assert server.get(hostname, headers=sessions[hostname])[0] == 200
        application_revoke_tokens(application=Application.objects.get(name=HOST))
        assert settle(lambda: server.get(HOST, headers=sessions[HOST])[0] == 403) < 1.0
        # The other application's session is untouched, and the certificate still gets in.
        other = sessions["other.example.com"]
        assert all(server.get("other.example.com", headers=other)[0] == 200 for _ in range(6))
        assert server.get(HOST, headers=certificate)[0] == 200
