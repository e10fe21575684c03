"""Cloudflare's own Python SDK against accessctl's API on the real gunicorn of the end-to-end
stack, and the seed's curl test through nginx on a hostname configured through the API alone.

The SDK is pointed at ``http://127.0.0.1:<gunicorn>/client/v4`` (127.0.0.1 is a dashboard
hostname in development) with a token made by `accessctl api-tokens add`. api.localhost is
served by nginx but configured by nothing else: no CA, no application, until the SDK makes
them. One test walks the whole journey in order, as an operator's script would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from tests.e2e.stack import (
    API_HOST,
    STATIC,
    CertFiles,
    Response,
    Stack,
    run_curl,
)
from tests.factories import certs as certfactory
from tests.gateway.processes import every_node_has_it


def sdk(stack: Stack, token: str) -> Cloudflare:
    return Cloudflare(
        api_token=token,
        base_url=f"http://127.0.0.1:{stack.gunicorn_port}/client/v4",
        max_retries=2,  # the SDK's default: a 503 (the database busy) is retried
        # Loopback only: no proxy from the environment.
        http_client=httpx.Client(trust_env=False, timeout=30),
    )


def new_token(stack: Stack, name: str, *extra: str) -> str:
    """`accessctl api-tokens add`: the secret is the only line on standard output."""
    out = stack.accessctl("api-tokens", "add", "--name", name, *extra).stdout
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0]


@pytest.fixture(scope="module")
def account(stack: Stack) -> str:
    account_id = stack.accessctl("account").stdout
    assert account_id.count("\n") == 1
    return account_id.strip()


@pytest.fixture(scope="module")
def api_clients(stack: Stack) -> Iterator[dict[str, CertFiles]]:
    """A CA for api.localhost and two of its devices, as files for curl."""
    ca = certfactory.make_ca("e2e API CA")
    (stack.root / "ca-api.pem").write_text(ca.pem)
    made = {}
    for cn in ("api-device-1", "api-device-7"):
        issued = certfactory.make_leaf(ca, cn)
        made[cn] = stack.clients[cn] = CertFiles(issued, *issued.write(stack.root, cn))
    made["ca"] = CertFiles(ca, *ca.write(stack.root, "ca-api"))
    yield made


def test_an_operators_script_configures_access_through_the_sdk_alone(
    stack: Stack, account: str, api_clients: dict[str, CertFiles]
) -> None:
    cf = sdk(stack, new_token(stack, "sdk-e2e"))
    certificates = cf.zero_trust.access.certificates
    ca = api_clients["ca"].issued

    # A CA with its hostname.
    created = certificates.create(
        account_id=account, name="API CA", certificate=ca.pem, associated_hostnames=[API_HOST]
    )
    assert created is not None and created.associated_hostnames == [API_HOST]
    assert stack.https(API_HOST, client="api-device-1").status == 200  # a CA alone enforces nothing

    # Listed across several pages (the SDK pages until it gets an empty one).
    extra = [
        certificates.create(
            account_id=account, name=f"Spare {n}", certificate=certfactory.make_ca(f"S{n}").pem
        )
        for n in range(3)
    ]
    names = [c.name for c in certificates.list(account_id=account, per_page=2)]
    assert {"API CA", "Spare 0", "Spare 1", "Spare 2", "e2e Devices A"} <= set(names)
    assert len(names) == len(set(names))

    # Its hostnames updated.
    updated = certificates.update(
        created.id, account_id=account, associated_hostnames=[API_HOST, "spare.localhost"]
    )
    assert updated is not None and updated.associated_hostnames == [API_HOST, "spare.localhost"]
    certificates.update(created.id, account_id=account, associated_hostnames=[API_HOST])

    # A leaf, or a private key, is refused and nothing is stored.
    before = len(list(certificates.list(account_id=account)))
    leaf = api_clients["api-device-1"].issued
    for refused in (leaf.pem, ca.pem + ca.key_pem):
        with pytest.raises(cloudflare.BadRequestError):
            certificates.create(account_id=account, name="Refused", certificate=refused)
    assert len(list(certificates.list(account_id=account))) == before

    # An application with a reusable Non Identity policy: Valid Certificate.
    apps = cf.zero_trust.access.applications
    app = apps.create(account_id=account, domain=API_HOST, type="self_hosted", name="API app")
    assert app is not None
    valid = cf.zero_trust.access.policies.create(
        account_id=account,
        name="API devices",
        decision="non_identity",
        include=[{"certificate": {}}],
    )
    assert valid is not None and valid.reusable is True
    apps.update(
        app.id,
        account_id=account,
        domain=API_HOST,
        type="self_hosted",
        name="API app",
        policies=[{"id": valid.id, "precedence": 1}],
    )
    assert cf.zero_trust.access.policies.get(valid.id, account_id=account).app_count == 1

    # The seed's curl test through nginx.
    every_node_has_it()
    assert stack.https(API_HOST).status == 403
    allowed = stack.https(API_HOST, client="api-device-1")
    assert allowed.status == 200
    session = allowed.cookie_value("CF_Authorization")
    assert session

    # Then a Common Name policy instead.
    named = cf.zero_trust.access.policies.create(
        account_id=account,
        name="API device 7",
        decision="non_identity",
        include=[{"common_name": {"common_name": "api-device-7"}}],
    )
    apps.update(
        app.id,
        account_id=account,
        domain=API_HOST,
        type="self_hosted",
        name="API app",
        policies=[named.id],
    )
    every_node_has_it()
    assert stack.https(API_HOST, client="api-device-1").status == 403
    seven = stack.https(API_HOST, client="api-device-7")
    assert seven.status == 200 and seven.cookie_value("CF_Authorization")
    cookie = seven.cookie_value("CF_Authorization")
    assert stack.https(API_HOST, cookie=cookie).status == 200

    # Revoke tokens: the session ends.
    apps.revoke_tokens(app.id, account_id=account)
    every_node_has_it()
    assert stack.https(API_HOST, cookie=cookie).status == 403

    # Client-certificate forwarding: the origin behind forward-auth sees the certificate.
    settings = cf.zero_trust.access.certificates.settings
    settings.update(
        account_id=account,
        settings=[
            {"hostname": STATIC, "china_network": False, "client_certificate_forwarding": True}
        ],
    )
    good = stack.clients["good"].issued

    def origin_sees() -> Response:
        return stack.https(STATIC, "/client-cert", client="good", port=stack.forward_auth_port)

    # Once every node has the change, every answer carries the certificate, whichever worker
    # gives it.
    every_node_has_it()
    bodies = [origin_sees().body for _ in range(4)]
    body = bodies[0]
    assert all(b == body for b in bodies), bodies
    assert f"sha256={good.fingerprint}\n" in body
    assert f"der={base64.b64encode(good.der).decode()}\n" in body
    forged = stack.https(
        STATIC,
        "/client-cert",
        headers=["Cf-Client-Cert-Sha256: forged"],
        port=stack.forward_auth_port,
        client="good",
    )
    assert "forged" not in forged.body
    settings.update(account_id=account, settings=[])
    assert not any(s.client_certificate_forwarding for s in settings.get(account_id=account))

    # Delete everything: the hostname first (a certificate with hostnames cannot go), then the
    # application, its policies and the certificates.
    with pytest.raises(cloudflare.ConflictError):
        certificates.delete(created.id, account_id=account)
    certificates.update(created.id, account_id=account, associated_hostnames=[])
    apps.delete(app.id, account_id=account)
    for policy in (valid, named):
        cf.zero_trust.access.policies.delete(policy.id, account_id=account)
    for certificate in [created, *extra]:
        certificates.delete(certificate.id, account_id=account)
    assert "API app" not in {a.name for a in apps.list(account_id=account)}
    assert "API CA" not in {c.name for c in certificates.list(account_id=account)}
    with pytest.raises(cloudflare.NotFoundError):
        apps.get(app.id, account_id=account)
    # Nothing guards it any more, on every node.
    every_node_has_it()
    assert all(stack.https(API_HOST).status == 200 for _ in range(4))


def test_a_read_only_token_reads_but_changes_nothing(stack: Stack, account: str) -> None:
    cf = sdk(stack, new_token(stack, "sdk-read-only", "--read-only"))

    names = {c.name for c in cf.zero_trust.access.certificates.list(account_id=account)}
    assert "e2e Devices A" in names
    with pytest.raises(cloudflare.PermissionDeniedError):
        cf.zero_trust.access.policies.create(
            account_id=account, name="Nope", decision="deny", include=[{"certificate": {}}]
        )
    with pytest.raises(cloudflare.PermissionDeniedError):
        cf.zero_trust.access.certificates.create(
            account_id=account, name="Nope", certificate=certfactory.make_ca("Nope").pem
        )
    assert "Nope" not in {p.name for p in cf.zero_trust.access.policies.list(account_id=account)}


def test_no_token_and_a_revoked_token_are_refused(stack: Stack, account: str) -> None:
    url = f"http://127.0.0.1:{stack.gunicorn_port}/client/v4/accounts/{account}/access/apps"
    with httpx.Client(trust_env=False) as plain:
        answer = plain.get(url)
    assert answer.status_code == 401 and answer.json()["success"] is False

    token = new_token(stack, "sdk-revoked")
    cf = sdk(stack, token)
    assert cf.zero_trust.access.applications.list(account_id=account) is not None
    stack.accessctl("api-tokens", "revoke", "sdk-revoked")
    with pytest.raises(cloudflare.AuthenticationError):
        cf.zero_trust.access.applications.list(account_id=account)


def test_a_curl_script_uses_the_api_as_the_readme_shows(stack: Stack, account: str) -> None:
    token = new_token(stack, "curl-e2e")
    base = f"http://127.0.0.1:{stack.gunicorn_port}/client/v4"
    answer = run_curl(
        [f"{base}/accounts/{account}/access/certificates", "-H", f"Authorization: Bearer {token}"]
    )
    assert answer.status == 200
    assert '"success": true' in answer.body


def test_an_identity_provider_made_through_the_sdk_is_a_login_method_of_the_command_line(
    stack: Stack, account: str
) -> None:
    cf = sdk(stack, new_token(stack, "sdk-idp-e2e"))
    providers = cf.zero_trust.identity_providers
    secret = "e2e-client-secret-" + "k" * 16
    created = providers.create(
        account_id=account,
        name="e2e SSO",
        type="oidc",
        config={
            "client_id": "accessctl-e2e",
            "client_secret": secret,
            "issuer_url": "https://sso.example.com/realms/e2e",
            "scopes": ["openid", "email"],
        },
    )
    assert created is not None and created.id

    listing = stack.accessctl("login_methods", "list", "--json").stdout
    assert secret not in listing
    (method,) = [m for m in json.loads(listing) if m["name"] == "e2e SSO"]
    assert str(method["id"]) == created.id and method["client_secret_set"] is True
    assert method["scopes"] == ["openid", "email"]

    deleted = providers.delete(created.id, account_id=account)
    assert deleted is not None and deleted.id == created.id
    assert "e2e SSO" not in stack.accessctl("login_methods", "list").stdout
