"""Every answer of /client/v4 is Cloudflare's envelope, whatever the request."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client

from apps.api.routers import policies
from tests.factories.api import ApiClient
from tests.factories.hosts import HOST

ENVELOPE_KEYS = {"success", "errors", "messages", "result", "result_info"}


def assert_error(answer, status: int) -> None:
    assert answer.status == status
    assert set(answer.body) == ENVELOPE_KEYS
    assert answer.body["success"] is False
    assert answer.body["result"] is None
    assert answer.body["errors"] and all(
        isinstance(e["code"], int) and e["message"] for e in answer.body["errors"]
    )


def test_a_list_answers_in_the_envelope_with_result_info(api: ApiClient) -> None:
    answer = api.get("access/apps")

    assert answer.status == 200
    assert set(answer.body) == ENVELOPE_KEYS
    assert answer.body["success"] is True
    assert answer.body["errors"] == [] and answer.body["messages"] == []
    assert answer.body["result_info"] == {
        "page": 1,
        "per_page": 25,
        "count": 0,
        "total_count": 0,
        "total_pages": 0,
    }


@pytest.mark.parametrize("path", ["/nothing", "/accounts", "/accounts/x/access/nothing", ""])
def test_an_unknown_path_is_a_404_envelope(api: ApiClient, path: str) -> None:
    assert_error(api.get(path if path.startswith("/") else "/" + path), 404)


def test_a_method_the_route_lacks_is_a_405_envelope(api: ApiClient) -> None:
    assert_error(api.call("PATCH", "access/certificates"), 405)


def test_malformed_json_is_a_400_envelope(api: ApiClient) -> None:
    answer = api.call("POST", "access/certificates", raw=b'{"name": "x", ')

    assert_error(answer, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"name": ["a list"], "certificate": 7},
        [],
        "a string",
        {"name": "x"},
        {"name": "x", "certificate": "y", "associated_hostnames": "not a list"},
    ],
)
def test_wrong_types_are_a_400_envelope_naming_the_field(api: ApiClient, body) -> None:
    answer = api.post("access/certificates", body)

    assert_error(answer, 400)


def test_wrong_query_types_are_a_400_envelope(api: ApiClient) -> None:
    assert_error(api.get("access/certificates", page="two"), 400)
    assert_error(api.get("access/certificates", per_page=0), 400)


def test_a_huge_body_is_refused_in_the_envelope(api: ApiClient, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "x", "certificate": "A" * 20_000}).encode()

    answer = api.call("POST", "access/certificates", raw=body)

    assert_error(answer, 413)


def test_another_account_id_is_a_404_envelope(api: ApiClient) -> None:
    answer = api.get("/accounts/0123456789abcdef0123456789abcdef/access/apps")

    assert_error(answer, 404)
    assert "one account" in answer.messages[0]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_zone_scoped_paths_say_that_accessctl_is_account_scoped(
    api: ApiClient, method: str
) -> None:
    answer = api.call(method, "/zones/023e105f4ecef8ad9ca31a8372d0c353/access/certificates")

    assert_error(answer, 400)
    assert "account-scoped" in answer.messages[0]


def test_a_page_past_the_end_is_an_empty_result(api: ApiClient) -> None:
    answer = api.get("access/policies", page=5)

    assert answer.result == []
    assert answer.body["result_info"]["count"] == 0


def test_the_api_is_not_served_on_a_guarded_hostname(api: ApiClient) -> None:
    response = Client().get(
        f"/client/v4/accounts/{api.account}/access/apps",
        HTTP_HOST=HOST,
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )

    assert response.status_code == 404
    assert b"success" not in response.content


def test_the_api_needs_no_dashboard_session_nor_csrf_token(api: ApiClient) -> None:
    client = Client(enforce_csrf_checks=True)

    answer = ApiClient(api.secret, client).post("access/policies", {"name": "x"})

    assert answer.status == 400  # the body's problem, not a CSRF refusal (403)


def test_the_openapi_document_describes_every_route_served(db) -> None:
    response = Client().get("/client/v4/openapi.json")

    document = response.json()
    assert response.status_code == 200
    paths = document["paths"]
    assert "/client/v4/accounts/{account_id}/access/certificates/settings" in paths
    assert set(paths["/client/v4/accounts/{account_id}/access/apps/{app_id}"]) == {
        "get",
        "put",
        "delete",
    }
    operation = paths["/client/v4/accounts/{account_id}/access/apps"]["post"]
    assert operation["parameters"][0]["name"] == "account_id"
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


def test_a_nul_character_anywhere_is_a_400_not_a_database_error(api: ApiClient) -> None:
    assert_error(api.post("access/policies", {"name": "a\x00b", "decision": "deny"}), 400)
    assert_error(api.get("access/apps", name="a\x00b"), 400)
    assert_error(api.get("access/apps/a%00b"), 404)


COLLECTIONS = ("access/certificates", "access/policies", "access/apps", "access/identity_providers")


@pytest.mark.parametrize("odd_id", ["²", "١٢", "-1", "1e3", "9" * 19, "0x10", "999999"])
def test_an_id_that_is_no_number_of_ours_or_names_nothing_is_a_404(
    api: ApiClient, odd_id: str
) -> None:
    for path in COLLECTIONS:
        assert_error(api.get(f"{path}/{odd_id}"), 404)
    assert_error(api.get(f"access/certificates/{odd_id}/crls"), 404)
    assert_error(api.delete(f"access/revocations/{odd_id}"), 404)


def test_a_busy_database_is_a_503_to_retry_not_a_500(api: ApiClient, monkeypatch) -> None:
    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(policies, "reusable_policies", busy)

    answer = api.get("access/policies")

    assert_error(answer, 503)
