"""Forwarded certificate headers through the middleware: every format is accepted from the
proxy, and every malformed value is a 403 with a logged reason, never a 500."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessctl.core import forwarded as fwd
from accessctl.core.request import meta_key
from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def values(fmt: str, pki) -> dict[str, str]:
    """META entries a terminator of format ``fmt`` sends for the leaf and its intermediate."""
    leaf, inter = pki.leaf, pki.inter
    header = meta_key(fwd.FORMATS[fmt])
    if fmt == "nginx":
        return {header: escaped(leaf)}
    if fmt == "nginx-pem":
        return {header: leaf.pem.rstrip("\n").replace("\n", "\n\t")}
    if fmt == "envoy":
        chain = quote(leaf.pem + inter.pem, safe="")
        return {header: f'Hash=ab;Cert="{escaped(leaf)}";Chain="{chain}";Subject="CN=device-1"'}
    if fmt == "traefik":
        return {header: ",".join(quote(b64(c.der), safe="") for c in (leaf, inter))}
    if fmt == "der-base64":
        return {header: b64(leaf.der)}
    if fmt == "alb":
        return {header: quote(leaf.pem + inter.pem, safe="+=/")}
    if fmt == "rfc9440":
        return {header: f":{b64(leaf.der)}:", "HTTP_CLIENT_CERT_CHAIN": f":{b64(inter.der)}:"}
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", sorted(fwd.FORMATS))
def test_every_format_is_accepted_from_the_proxy(client, guarded, pki, settings, fmt):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = fmt
    response = fetch(client, accept="application/json", **values(fmt, pki))
    assert response.status_code == 200, fmt
    assert response.json()["identity"]["fingerprint_sha256"] == pki.leaf.fingerprint


def test_the_header_name_can_be_overridden(client, guarded, pki, settings):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "der-base64"
    settings.ACCESSCTL_CLIENT_CERT_HEADER = "Cf-Client-Cert-Der-Base64"
    leaf = b64(pki.leaf.der)
    assert fetch(client, HTTP_CF_CLIENT_CERT_DER_BASE64=leaf).status_code == 200
    # The format's default header is no longer read.
    assert fetch(client, HTTP_X_SSL_CLIENT_CERT_DER=leaf).status_code == 403


def _truncated(pki) -> str:
    pem = pki.leaf.pem
    return quote(pem[:200] + pem[-26:], safe="")  # armour intact, body cut short


# (the forwarded value, made from the test PKI; the reasons it may be refused with)
MALFORMED = [
    pytest.param(lambda pki: "garbage!", {"bad_characters"}, id="characters outside the encoding"),
    pytest.param(
        lambda pki: "-----BEGIN%20CERTIFICATE-----%0AMIIB",
        {"pem_malformed"},
        id="a PEM block without its end",
    ),
    pytest.param(lambda pki: "%00", {"bad_characters"}, id="a NUL byte"),
    pytest.param(lambda pki: "%250A", {"double_encoded"}, id="a double-encoded value"),
    pytest.param(lambda pki: "A" * 64 * 1024, {"header_too_large"}, id="64 KiB"),
    pytest.param(_truncated, {"bad_base64", "cert_malformed"}, id="a truncated certificate"),
    pytest.param(
        lambda pki: escaped(pki.leaf) + "\r\nX-Injected: 1",
        {"bad_characters"},
        id="a CRLF and an injected header after the certificate",
    ),
]


@pytest.mark.parametrize(("value", "reasons"), MALFORMED)
def test_a_malformed_value_is_a_403_with_a_logged_reason(
    client, guarded, pki, access_log, value, reasons
):
    response = fetch(client, cert=value(pki))
    assert response.status_code == 403
    assert access_log.last["decision"] == "deny"
    assert access_log.last["reason"] in reasons


def test_a_private_key_block_is_a_403_and_never_logged(client, guarded, pki, access_log):
    value = quote(pki.leaf.pem + pki.leaf.key_pem, safe="")
    assert fetch(client, cert=value).status_code == 403
    assert access_log.last["reason"] == "private_key"
    key_body = pki.leaf.key_pem.splitlines()[1]
    assert key_body not in str(access_log.records)
    assert "BEGIN PRIVATE KEY" not in str(access_log.records)


def test_two_leaves_in_one_header_are_a_403(client, guarded, pki, access_log, settings):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "alb"
    from tests.factories import certs

    second = certs.make_leaf(pki.inter, "device-2")
    value = quote(pki.leaf.pem + second.pem, safe="+=/")
    assert fetch(client, HTTP_X_AMZN_MTLS_CLIENTCERT=value).status_code == 403
    assert access_log.last["reason"] == "multiple_leaves"


def test_xfcc_with_several_elements_is_a_403(client, guarded, pki, access_log, settings):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "envoy"
    one = f"Hash=ab;Cert={escaped(pki.leaf)}"
    assert fetch(client, HTTP_X_FORWARDED_CLIENT_CERT=f"{one},{one}").status_code == 403
    assert access_log.last["reason"] == "xfcc_multiple_elements"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fmt=st.sampled_from(sorted(fwd.FORMATS)), raw=st.binary(max_size=2000))
def test_random_bytes_in_any_format_are_never_a_500(client, guarded, settings, fmt, raw):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = fmt
    header = meta_key(fwd.FORMATS[fmt])
    response = fetch(client, **{header: raw.decode("latin-1")})
    assert response.status_code == 403


def test_xfcc_escaped_quotes_in_subject_follow_envoys_grammar(
    client, guarded, pki, settings, access_log
):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "envoy"
    from tests.factories import certs

    # A Subject whose quoted value holds `\"`, `;`, `,` and a would-be Cert key: one element,
    # and the Cert that counts is the real key's.
    decoy = escaped(certs.make_leaf(certs.make_ca("Decoy CA"), "decoy"))
    subject = f'"CN=x\\",O=\\"Acme, Inc\\";Cert={decoy}"'
    value = f"Hash=ab;Subject={subject};Cert={escaped(pki.leaf)}"
    response = fetch(client, HTTP_X_FORWARDED_CLIENT_CERT=value)
    assert response.status_code == 200
    assert access_log.last["cert_common_name"] == "device-1"


def test_gunicorn_lets_an_oversize_certificate_header_through_to_our_own_refusal():
    # gunicorn's default limit (8190 bytes) would answer a long forwarded chain with its own
    # 400 and no reason code; ours (MAX_HEADER_BYTES, a 403 with a logged reason) must apply.
    import runpy
    from pathlib import Path

    conf = runpy.run_path(str(Path(__file__).parents[2] / "accessctl/gunicorn.conf.py"))
    longest_header_line = len("X-Amzn-Mtls-Clientcert: ") + fwd.MAX_HEADER_BYTES + 1
    assert conf["limit_request_field_size"] >= longest_header_line
