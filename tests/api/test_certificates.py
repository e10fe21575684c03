"""accounts/{id}/access/certificates: the Mutual TLS page's checks and records, as
Cloudflare's API."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry

from apps.api.models import ApiToken
from apps.trust.models import MtlsCertificate
from tests.factories import certs
from tests.factories.api import ApiClient


def upload(api: ApiClient, name: str, ca: certs.Issued, hostnames: list[str]):
    return api.post(
        "access/certificates",
        {"name": name, "certificate": ca.pem, "associated_hostnames": hostnames},
    )


def test_a_ca_is_uploaded_with_its_hostnames_and_its_pem_is_never_returned(
    api: ApiClient, root_ca
) -> None:
    answer = upload(api, "Fleet", root_ca, ["App.Example.com", "api.example.com"])

    result = answer.result
    assert answer.status == 200
    assert result["name"] == "Fleet"
    assert result["associated_hostnames"] == ["api.example.com", "app.example.com"]
    assert result["fingerprint"] == root_ca.fingerprint
    assert "BEGIN" not in str(answer.body)
    assert api.get(f"access/certificates/{result['id']}").result == result


def test_a_leaf_is_refused_with_the_per_certificate_message_and_nothing_is_stored(
    api: ApiClient, root_ca
) -> None:
    leaf = certs.make_leaf(root_ca, "device-1")

    answer = upload(api, "Leaf", leaf, ["app.example.com"])

    assert answer.status == 400
    assert answer.messages[0].startswith("certificate: ")
    assert "#1" in answer.messages[0] or "certificate 1" in answer.messages[0].lower()
    assert not MtlsCertificate.objects.exists()


def test_a_private_key_is_refused_and_never_echoed(api: ApiClient, root_ca) -> None:
    answer = api.post(
        "access/certificates",
        {"name": "Key", "certificate": root_ca.pem + root_ca.key_pem, "associated_hostnames": []},
    )

    assert answer.status == 400
    assert "private key" in answer.messages[0].lower()
    assert not any("BEGIN" in message for message in answer.messages)
    assert not MtlsCertificate.objects.exists()


def test_every_problem_is_reported_at_once(api: ApiClient, root_ca) -> None:
    upload(api, "Fleet", root_ca, ["app.example.com"])

    answer = upload(api, "Fleet", root_ca, ["not a hostname!"])

    assert answer.status == 400
    fields = {message.split(":")[0] for message in answer.messages}
    assert fields == {"name", "certificate", "associated_hostnames"}


def test_the_list_pages_through_every_certificate(api: ApiClient) -> None:
    for n in range(5):
        assert upload(api, f"CA {n}", certs.make_ca(f"CA {n}"), []).status == 200

    pages = [api.get("access/certificates", page=p, per_page=2) for p in (1, 2, 3, 4)]

    assert [len(page.result) for page in pages] == [2, 2, 1, 0]
    assert pages[0].body["result_info"]["total_count"] == 5
    assert pages[0].body["result_info"]["total_pages"] == 3
    names = [c["name"] for page in pages for c in page.result]
    assert names == [f"CA {n}" for n in range(5)]


def test_an_update_replaces_the_hostnames_and_can_rename(api: ApiClient, root_ca) -> None:
    created = upload(api, "Fleet", root_ca, ["app.example.com"]).result

    answer = api.put(
        f"access/certificates/{created['id']}",
        {"name": "Fleet 2", "associated_hostnames": ["api.example.com"]},
    )

    assert answer.result["associated_hostnames"] == ["api.example.com"]
    assert answer.result["name"] == "Fleet 2"


def test_an_update_without_hostnames_leaves_none_as_terraform_means_it(
    api: ApiClient, root_ca
) -> None:
    created = upload(api, "Fleet", root_ca, ["app.example.com"]).result

    answer = api.put(f"access/certificates/{created['id']}", {"name": "Fleet"})

    assert answer.result["associated_hostnames"] == []
    assert answer.result["name"] == "Fleet"


def test_a_certificate_with_hostnames_cannot_be_deleted(api: ApiClient, root_ca) -> None:
    created = upload(api, "Fleet", root_ca, ["app.example.com"]).result

    answer = api.delete(f"access/certificates/{created['id']}")

    assert answer.status == 409
    assert "app.example.com" in answer.messages[0]
    assert MtlsCertificate.objects.filter(pk=created["id"]).exists()


def test_a_certificate_without_hostnames_is_deleted(api: ApiClient, root_ca) -> None:
    created = upload(api, "Fleet", root_ca, []).result

    answer = api.delete(f"access/certificates/{created['id']}")

    assert answer.result == {"id": created["id"]}
    assert api.get(f"access/certificates/{created['id']}").status == 404


def test_an_unknown_certificate_id_is_a_404(api: ApiClient) -> None:
    for certificate_id in ["999", "abc", "1" * 40]:
        assert api.get(f"access/certificates/{certificate_id}").status == 404


def test_api_changes_are_in_the_dashboards_history_naming_the_token(
    api: ApiClient, root_ca
) -> None:
    created = upload(api, "Fleet", root_ca, ["app.example.com"]).result
    api.put(f"access/certificates/{created['id']}", {"associated_hostnames": []})
    api.delete(f"access/certificates/{created['id']}")

    actor = ApiToken.objects.get(name="edit").actor
    entries = LogEntry.objects.filter(object_id=created["id"]).order_by("pk")
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE, DELETION]
    assert {e.user_id for e in entries} == {actor.pk}
    assert all("API token 'edit'" in e.change_message for e in entries)


def test_the_stored_row_names_the_token_as_its_author(api: ApiClient, root_ca) -> None:
    created = upload(api, "Fleet", root_ca, ["app.example.com"]).result

    stored = MtlsCertificate.objects.get(pk=created["id"])
    assert stored.created_by.username == stored.updated_by.username == "api-token:edit"
