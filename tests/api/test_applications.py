"""accounts/{id}/access/apps, apps/{id}/policies and access/policies: applications and their
policies through the API, with the dashboard's checks, enforced as soon as they are made."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.policies.models import AccessPolicy, Application
from tests.factories.api import ApiClient
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

VALID_CERTIFICATE = {"certificate": {}}


@pytest.fixture
def bound(db, root_ca):
    """HOST bound to the shared test root, with no policy yet."""
    return upload_ca("Fleet", [HOST], root_ca)


def reusable(api: ApiClient, name: str = "Devices", **body) -> dict:
    answer = api.post(
        "access/policies",
        {"name": name, "decision": "non_identity", "include": [VALID_CERTIFICATE], **body},
    )
    assert answer.status == 200, answer.body
    return answer.result


def app(api: ApiClient, **body) -> dict:
    answer = api.post("access/apps", {"type": "self_hosted", "name": "App", "domain": HOST, **body})
    assert answer.status == 200, answer.body
    return answer.result


def test_a_reusable_policy_is_made_with_cloudflares_rule_objects(api: ApiClient) -> None:
    policy = reusable(api, session_duration="30m")

    assert policy["reusable"] is True and policy["app_count"] == 0
    assert policy["decision"] == "non_identity"
    assert policy["include"] == [VALID_CERTIFICATE]
    assert policy["session_duration"] == "30m"
    assert AccessPolicy.objects.get(pk=policy["id"]).session_seconds == 1800


def test_the_projects_own_certificate_rules_have_the_same_shape(api: ApiClient) -> None:
    rules = [
        {"common_name": {"common_name": "device-7"}},
        {"san_dns": {"san_dns": "*.devices.example.com"}},
        {"san_email": {"san_email": "ops@example.com"}},
        {"san_uri": {"san_uri": "spiffe://example.com/device"}},
        {"organizational_unit": {"organizational_unit": "Fleet"}},
        {"fingerprint_sha256": {"fingerprint_sha256": "ab" * 32}},
        {"spki_sha256": {"spki_sha256": "cd" * 32}},
    ]

    policy = reusable(api, include=rules, exclude=[{"common_name": {"common_name": "lost"}}])

    assert policy["include"] == rules
    assert policy["exclude"] == [{"common_name": {"common_name": "lost"}}]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"decision": "allow_all"}, "decision"),
        ({"include": [{"ip": {"ip": "192.0.2.1/32"}}]}, "not a rule accessctl has"),
        # An identity rule in a Non Identity policy (the default decision): refused by the core.
        ({"include": [{"email": {"email": "a@example.com"}}]}, "need a login"),
        ({"include": [{"certificate": {}, "common_name": {"common_name": "x"}}]}, "exactly one"),
        ({"include": [{"common_name": {"cn": "x"}}]}, '{"common_name": {"common_name"'),
        ({"include": [{"certificate": {"x": "y"}}]}, "empty object"),
        ({"include": []}, "Include"),
        ({"session_duration": "1 day"}, "session_duration"),
        ({"include": [{"fingerprint_sha256": {"fingerprint_sha256": "zz"}}]}, "rule 1"),
    ],
)
def test_a_policy_accessctl_cannot_hold_is_refused_with_a_reason(
    api: ApiClient, body: dict, words: str
) -> None:
    answer = api.post(
        "access/policies",
        {"name": "Bad", "decision": "non_identity", "include": [VALID_CERTIFICATE], **body},
    )

    assert answer.status == 400
    assert words in " ".join(answer.messages)
    assert not AccessPolicy.objects.exists()


def test_only_self_hosted_applications_are_accepted(api: ApiClient, bound) -> None:
    answer = api.post("access/apps", {"type": "saas", "name": "SaaS", "domain": HOST})

    assert answer.status == 400
    assert "self_hosted" in answer.messages[0]
    assert not Application.objects.exists()


def test_an_application_has_its_domains_aud_and_go_style_session(api: ApiClient, bound) -> None:
    made = app(
        api,
        self_hosted_domains=[HOST, f"{HOST}/api"],
        session_duration="730h",
    )

    assert made["domain"] == HOST
    assert made["self_hosted_domains"] == [HOST, f"{HOST}/api"]
    assert made["destinations"] == [
        {"type": "public", "uri": HOST},
        {"type": "public", "uri": f"{HOST}/api"},
    ]
    assert made["session_duration"] == "730h"
    assert made["aud"] == Application.objects.get().aud and len(made["aud"]) == 64
    assert api.get(f"access/apps/{made['aud']}").result["id"] == made["id"]


def test_destinations_name_the_domains_too(api: ApiClient, bound) -> None:
    made = app(api, domain=None, destinations=[{"type": "public", "uri": f"{HOST}/admin"}])

    assert made["self_hosted_domains"] == [f"{HOST}/admin"]


def test_a_dashboard_hostname_is_refused_as_a_domain(api: ApiClient) -> None:
    answer = api.post("access/apps", {"type": "self_hosted", "name": "X", "domain": "testserver"})

    assert answer.status == 400
    assert "dashboard" in answer.messages[0]


def test_policies_attach_by_id_by_id_and_precedence_and_inline(api: ApiClient, bound) -> None:
    shared = reusable(api)
    other = reusable(api, "Other")

    made = app(
        api,
        policies=[
            {"id": shared["id"], "precedence": 3},
            other["id"],
            {
                "name": "Named device",
                "decision": "non_identity",
                "include": [{"common_name": {"common_name": "device-7"}}],
                "precedence": 1,
            },
        ],
    )

    names = [(p["name"], p["precedence"], p["reusable"]) for p in made["policies"]]
    assert names == [("Named device", 1, False), ("Other", 2, True), ("Devices", 3, True)]
    assert api.get(f"access/policies/{shared['id']}").result["app_count"] == 1


def test_an_unknown_policy_id_refuses_the_whole_application(api: ApiClient, bound) -> None:
    answer = api.post(
        "access/apps",
        {"type": "self_hosted", "name": "App", "domain": HOST, "policies": ["9999"]},
    )

    assert answer.status == 400
    assert not Application.objects.exists()


def test_what_the_api_configures_is_enforced_at_once(api: ApiClient, bound, device) -> None:
    made = app(api)
    assert fetch(Client(), cert=escaped(device)).status_code == 200  # no policy: unguarded

    shared = reusable(api)
    api.put(
        f"access/apps/{made['id']}",
        {"type": "self_hosted", "name": "App", "domain": HOST, "policies": [shared["id"]]},
    )

    assert fetch(Client()).status_code == 403
    allowed = fetch(Client(), cert=escaped(device))
    assert allowed.status_code == 200 and "CF_Authorization" in allowed.cookies

    api.post(
        f"access/apps/{made['id']}/policies",
        {
            "name": "Only device-1",
            "decision": "deny",
            "include": [{"common_name": {"common_name": "device-7"}}],
            "precedence": 2,
        },
    )
    assert fetch(Client(), cert=escaped(device)).status_code == 200  # non_identity goes first
    api.put(
        f"access/policies/{shared['id']}",
        {
            "name": "Devices",
            "decision": "non_identity",
            "include": [{"common_name": {"common_name": "device-1"}}],
        },
    )
    assert fetch(Client(), cert=escaped(device)).status_code == 403


def test_the_application_policies_list_has_precedence(api: ApiClient, bound) -> None:
    made = app(api, policies=[reusable(api)["id"]])
    api.post(
        f"access/apps/{made['id']}/policies",
        {
            "name": "CN",
            "decision": "non_identity",
            "include": [{"common_name": {"common_name": "x"}}],
        },
    )

    listed = api.get(f"access/apps/{made['id']}/policies").result

    assert [(p["name"], p["precedence"]) for p in listed] == [("Devices", 1), ("CN", 2)]


def test_a_change_that_leaves_a_hostname_unenforced_needs_confirming(api: ApiClient, bound) -> None:
    shared = reusable(api)
    made = app(api, policies=[shared["id"]])

    refused = api.delete(f"access/apps/{made['id']}")

    assert refused.status == 400
    assert "confirm" in refused.messages[0].lower() and HOST in refused.messages[0]
    assert Application.objects.exists()
    detached = api.delete(f"access/apps/{made['id']}/policies/{shared['id']}")
    assert detached.status == 400
    assert api.delete(f"access/apps/{made['id']}", confirm_unenforced="true").status == 200
    assert not Application.objects.exists()
    assert AccessPolicy.objects.filter(pk=shared["id"]).exists()  # reusable: it stays


def test_revoke_tokens_ends_the_applications_sessions(api: ApiClient, bound) -> None:
    made = app(api)
    before = Application.objects.get().token_generation

    answer = api.post(f"access/apps/{made['id']}/revoke_tokens")

    assert answer.status == 200 and answer.body["success"] is True
    assert Application.objects.get().token_generation == before + 1


def test_the_list_filters_as_cloudflares(api: ApiClient, root_ca) -> None:
    upload_ca("Fleet", [HOST, "api.example.com"], root_ca)
    first = app(api, name="Portal")
    app(api, name="Backend", domain="api.example.com")

    def names(**query) -> list[str]:
        return [a["name"] for a in api.get("access/apps", **query).result]

    assert names() == ["Portal", "Backend"]
    assert names(name="Backend") == ["Backend"]
    assert names(domain=HOST) == ["Portal"]
    assert names(aud=first["aud"]) == ["Portal"]
    assert names(search="back") == ["Backend"]
    assert names(search="example.com") == ["Portal", "Backend"]


def test_an_update_keeps_the_policies_when_none_are_sent(api: ApiClient, bound) -> None:
    made = app(api, policies=[reusable(api)["id"]])

    updated = api.put(
        f"access/apps/{made['id']}",
        {"type": "self_hosted", "name": "Renamed", "domain": HOST, "session_duration": "0s"},
    ).result

    assert updated["name"] == "Renamed" and updated["session_duration"] == "0s"
    assert [p["name"] for p in updated["policies"]] == ["Devices"]


def test_an_unknown_application_is_a_404(api: ApiClient) -> None:
    assert api.get("access/apps/9999").status == 404
    assert api.post("access/apps/nope/revoke_tokens").status == 404
