"""The revocation endpoints: CRLs of an uploaded CA and revocations by serial or fingerprint,
with the dashboard's checks, in the API's envelope."""

from __future__ import annotations

import base64

import pytest

from apps.revocation.models import CertificateRevocationList, Revocation
from tests.factories import certs
from tests.factories.api import ApiClient
from tests.factories.crl_server import crl_server
from tests.factories.trust import upload_ca


@pytest.fixture
def chain(db):
    root = certs.make_ca("API Root")
    inter = certs.make_ca("API Devices", issuer=root)
    bundle = upload_ca("API CA", ["app.example.com"], root, inter)
    return bundle, root, inter


def test_a_crl_is_added_as_base64_der_listed_and_removed(api: ApiClient, chain) -> None:
    bundle, _, inter = chain
    der = certs.make_crl(inter, (5, 6)).der
    path = f"access/certificates/{bundle.pk}/crls"
    added = api.post(path, {"crl": base64.b64encode(der).decode(), "when_stale": "accept"})
    assert added.status == 200, added.body
    assert added.result["ca_fingerprint"] == inter.fingerprint
    assert (added.result["revoked_count"], added.result["when_stale"]) == (2, "accept")
    assert api.get(path).result == [added.result]
    removed = api.delete(f"{path}/{added.result['id']}")
    assert removed.result == {"id": added.result["id"]}
    assert not CertificateRevocationList.objects.exists()


def test_a_crl_of_another_ca_is_refused_with_the_dashboards_message(api: ApiClient, chain) -> None:
    bundle, _, inter = chain
    path = f"access/certificates/{bundle.pk}/crls"
    api.post(path, {"crl": certs.make_crl(inter, (1,)).pem.decode()})
    answer = api.post(path, {"crl": certs.make_crl(certs.make_ca("Elsewhere")).pem.decode()})
    assert answer.status == 400
    assert answer.messages[0].startswith("crl: the CRL was issued by")
    assert CertificateRevocationList.objects.get().revoked_count == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"crl": "x", "url": "http://a.test/"}, {"crl": "@@not base64@@"}],
    ids=["nothing", "both", "garbage"],
)
def test_a_crl_body_that_is_not_one_crl_is_refused(api: ApiClient, chain, body) -> None:
    bundle, _, _ = chain
    answer = api.post(f"access/certificates/{bundle.pk}/crls", body)
    assert answer.status == 400 and answer.body["success"] is False
    assert not CertificateRevocationList.objects.exists()


def test_a_crl_is_fetched_from_a_url(api: ApiClient, chain) -> None:
    bundle, root, _ = chain
    with crl_server() as server:
        server.files["/root.crl"] = certs.make_crl(root).der
        answer = api.post(f"access/certificates/{bundle.pk}/crls", {"url": server.url("/root.crl")})
    assert answer.status == 200 and answer.result["url"] == server.url("/root.crl")


def test_an_unknown_certificate_is_404(api: ApiClient, db) -> None:
    assert api.get("access/certificates/999/crls").status == 404


def test_a_certificate_is_revoked_listed_and_lifted(api: ApiClient, db) -> None:
    answer = api.post("access/revocations", {"serial": "0A:1B", "reason": "lost laptop"})
    assert answer.status == 200, answer.body
    assert (answer.result["serial"], answer.result["reason"]) == ("a1b", "lost laptop")
    assert answer.result["revoked_by"].startswith("api-token:")
    assert [r["id"] for r in api.get("access/revocations").result] == [answer.result["id"]]
    lifted = api.delete(f"access/revocations/{answer.result['id']}")
    assert lifted.result["lifted_at"] is not None
    assert api.get("access/revocations").result == []
    assert len(api.get("access/revocations", all="true").result) == 1
    assert api.delete(f"access/revocations/{answer.result['id']}").status == 400


@pytest.mark.parametrize(
    "body",
    [{"fingerprint": "abc"}, {"serial": "1", "fingerprint": "ab" * 32}, {}],
    ids=["short fingerprint", "both", "neither"],
)
def test_a_bad_revocation_is_refused(api: ApiClient, db, body) -> None:
    answer = api.post("access/revocations", body)
    assert answer.status == 400
    assert not Revocation.objects.exists()


def test_a_read_only_token_may_list_but_not_revoke(read_only_api: ApiClient, db) -> None:
    assert read_only_api.get("access/revocations").status == 200
    assert read_only_api.post("access/revocations", {"serial": "1"}).status == 403
