"""The policy tester page: the decision for a pasted certificate, step by step."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import load_der_x509_certificate
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.console.tester import parse_certificates
from tests.factories import certs, der
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_TESTER, add_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def policies(bound):
    add_policy(
        name="block contractors",
        decision="deny",
        rules=[("include", "organizational_unit", "Contractors")],
        order=1,
    )
    add_policy(
        name="fleet",
        decision="allow",  # Allow, not Non Identity: the Block (order 1) is evaluated first
        rules=[("include", "common_name", "device-7"), ("require", "valid_certificate", "")],
        session_duration="1h",
        order=2,
    )


def submit(client, **data):
    return client.post(reverse(POLICY_TESTER), {"hostname": HOST, "path": "/"} | data)


def test_a_matching_certificate_is_allowed_by_the_deciding_policy(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-7")
    response = submit(signed_in, certificate=leaf.pem)
    assert response.status_code == 200
    outcome = response.context["outcome"]
    assert (outcome.allowed, outcome.reason, outcome.policy.name) == (
        True,
        "policy_allow",
        "fleet",
    )
    assert outcome.session_seconds == 3600
    html = response.content.decode()
    assert "Decision: <strong>allowed</strong>" in html
    assert "✔ Include: Common Name is device-7 — CN is &#x27;device-7&#x27;" in html
    assert "✘ Include: Organizational Unit is Contractors" in html
    assert "(Allow) — session 1 hour" in " ".join(html.split())
    assert response.context["chain"].reason == "verified"


def test_a_blocked_certificate_is_denied_with_the_block_reason(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-7", ou="Contractors")
    response = submit(signed_in, certificate=leaf.pem)
    outcome = response.context["outcome"]
    assert (outcome.allowed, outcome.reason, outcome.policy.name) == (
        False,
        "policy_block",
        "block contractors",
    )
    statuses = [row["check"].status for row in response.context["policies"]]
    assert statuses == ["decided", "not_reached"]


def test_a_certificate_from_an_unbound_ca_is_denied_with_the_chain_reason(signed_in, policies):
    stranger = certs.make_leaf(certs.make_ca("Stranger Root"), "device-7")
    response = submit(signed_in, certificate=stranger.pem)
    outcome = response.context["outcome"]
    assert (outcome.allowed, outcome.reason) == (False, "chain_untrusted")
    html = response.content.decode()
    assert '<code class="chain-reason">chain_untrusted</code>' in html
    # The pasted leaf's facts are still shown, so the operator sees which CN it carried.
    assert "CN=device-7" in html


def test_an_expired_certificate_is_denied_and_its_expiry_shown(signed_in, policies, root_ca):
    start = certs.now() - dt.timedelta(days=30)
    leaf = certs.make_leaf(
        root_ca, "device-7", not_before=start, not_after=start + dt.timedelta(days=2)
    )
    response = submit(signed_in, certificate=leaf.pem)
    assert response.context["outcome"].reason == "cert_expired"
    assert "<strong>expired</strong>" in response.content.decode()


def test_a_wrong_common_name_is_denied_and_the_found_cn_shown(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-8")
    response = submit(signed_in, certificate=leaf.pem)
    assert response.context["outcome"].reason == "no_matching_policy"
    assert "CN is &#x27;device-8&#x27;, not &#x27;device-7&#x27;" in response.content.decode()


def test_the_chain_field_supplies_intermediates(signed_in, policies, root_ca, intermediate_ca):
    leaf = certs.make_leaf(intermediate_ca, "device-7")
    without = submit(signed_in, certificate=leaf.pem).context["outcome"]
    with_chain = submit(signed_in, certificate=leaf.pem, chain=intermediate_ca.pem)
    assert without.reason == "chain_untrusted"
    assert with_chain.context["outcome"].reason == "policy_allow"


def test_no_certificate_means_certificate_required(signed_in, policies):
    outcome = submit(signed_in).context["outcome"]
    assert (outcome.allowed, outcome.reason) == (False, "certificate_required")


def test_an_unenforced_hostname_says_so(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-7")
    response = submit(signed_in, hostname="api.example.com", certificate=leaf.pem)
    assert "Decision: <strong>not enforced</strong>" in response.content.decode()
    assert "denied (403)" not in response.content.decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "No PEM certificate found"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not valid PEM"),
        ("-----BEGIN CERTIFICATE-----\n" + "x" * 70000, "At most 64 KiB"),
    ],
)
def test_bad_pem_is_a_form_error_never_a_500(signed_in, policies, text, message):
    response = submit(signed_in, certificate=text)
    assert response.status_code == 200
    assert message in response.context["form"].errors["certificate"][0]
    assert "outcome" not in response.context


def test_bad_pem_in_the_chain_is_an_error_on_the_chain(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-7")
    response = submit(signed_in, certificate=leaf.pem, chain="garbage")
    assert "No PEM certificate found in the chain" in response.context["form"].errors["chain"][0]


def test_a_pasted_private_key_is_refused_and_not_echoed(signed_in, policies, root_ca):
    leaf = certs.make_leaf(root_ca, "device-7")
    response = submit(signed_in, certificate=leaf.pem + leaf.key_pem)
    html = response.content.decode()
    assert "private key was pasted and discarded" in html
    assert "PRIVATE KEY" not in html
    assert "outcome" not in response.context


PUTTY_KEY = "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAAsecretAAAA\n"


@pytest.mark.parametrize("kind", ["lowercase armour", "putty"])
@pytest.mark.parametrize("field", ["certificate", "chain"])
def test_a_private_key_in_any_spelling_is_refused_and_not_echoed(
    signed_in, policies, root_ca, kind, field
):
    leaf = certs.make_leaf(root_ca, "device-7")
    if kind == "putty":
        key = PUTTY_KEY
    else:
        key = leaf.key_pem.replace("PRIVATE KEY", "private key")
    secret_lines = [line for line in key.splitlines()[1:] if line and "-----" not in line]
    pasted = {"certificate": leaf.pem, "chain": ""}
    pasted[field] += key
    response = submit(signed_in, **pasted)
    html = response.content.decode()
    assert "private key was pasted and discarded" in html
    assert not [line for line in secret_lines if line in html]
    assert "outcome" not in response.context


def test_an_unknown_hostname_is_a_form_error(signed_in, policies):
    response = submit(signed_in, hostname="nope.example.com")
    assert "hostname" in response.context["form"].errors


def test_the_tester_shows_a_policy_saved_a_moment_ago(signed_in, bound, root_ca):
    leaf = certs.make_leaf(root_ca, "device-9")
    assert submit(signed_in, certificate=leaf.pem).context["outcome"].reason == "no_policy_for_path"
    add_policy(name="n", decision="bypass", rules=[("include", "common_name", "device-9")])
    assert submit(signed_in, certificate=leaf.pem).context["outcome"].reason == "bypass"


def test_a_leaf_with_an_unknown_key_type_is_denied_with_a_reason_never_a_500(
    signed_in, policies, root_ca
):
    pem = load_der_x509_certificate(certs.unknown_key_leaf(root_ca)).public_bytes(Encoding.PEM)
    response = submit(signed_in, certificate=pem.decode())
    assert response.status_code == 200
    assert response.context["chain"].reason == "cert_unsupported"
    assert response.context["outcome"].allowed is False


@pytest.mark.parametrize("text", ["-----BEGIN private key-----\nAAAA\n", PUTTY_KEY])
def test_the_tester_form_itself_refuses_any_private_key(text):
    # Second line of defence behind the view, with the same detector as the trust store.
    with pytest.raises(ValidationError, match="contains a private key"):
        parse_certificates(text, field="certificate")


def test_a_claim_line_that_is_not_name_value_is_a_form_error(signed_in, bound):
    response = submit(signed_in, email="ada@example.com", claims="groups")
    assert "must be claim=value" in response.content.decode()


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        (lambda leaf: certs.with_extension_twice(leaf, der.SUBJECT_ALT_NAME), "cert_malformed"),
        (certs.half_aki, "cert_malformed"),
    ],
    ids=["two SubjectAlternativeName extensions", "half an authority key identifier"],
)
def test_a_leaf_with_broken_extensions_is_denied_with_its_reason_never_a_500(
    signed_in, policies, root_ca, shape, reason
):
    leaf = shape(certs.make_leaf(root_ca, "device-7", san_dns=("device-7.example.com",)))
    response = submit(signed_in, certificate=leaf.pem)
    assert response.status_code == 200
    assert response.context["chain"].reason == reason
    assert response.context["outcome"].allowed is False


def test_a_leaf_with_a_weak_key_is_denied_as_weak_key_and_the_key_named(
    signed_in, policies, root_ca
):
    leaf = certs.make_leaf(root_ca, "device-7", key=certs.weak_key("P-192"))
    response = submit(signed_in, certificate=leaf.pem)
    assert response.status_code == 200
    chain = response.context["chain"]
    assert (chain.reason, "EC secp192r1 key" in chain.detail) == ("weak_key", True)
    assert response.context["outcome"].allowed is False
    html = response.content.decode()
    assert '<code class="chain-reason">weak_key</code>' in html


def test_the_tester_takes_who_signed_in_for_identity_rules(signed_in, bound, root_ca):
    add_policy(
        name="people",
        decision="allow",
        rules=[("include", "oidc_claim", "groups=admins"), ("require", "valid_certificate", "")],
    )
    device = certs.make_leaf(root_ca, "laptop").pem
    nobody = submit(signed_in, certificate=device)
    assert nobody.context["outcome"].reason == "identity_required"
    outsider = submit(signed_in, certificate=device, email="eve@example.com", claims="groups=x")
    assert outsider.context["outcome"].reason == "no_matching_policy"
    admin = submit(
        signed_in, certificate=device, email="ada@example.com", claims="groups=staff\ngroups=admins"
    )
    assert admin.context["outcome"].allowed
    assert "claim &#x27;groups&#x27; holds &#x27;admins&#x27;" in admin.content.decode()
