"""Every forwarded-certificate format decodes to the same DER, and nothing but
ForwardedCertError ever comes out of the decoder (property tests)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessctl.core import forwarded as fwd
from tests.factories import certs


@pytest.fixture(scope="module")
def chain():
    root = certs.make_ca("Fmt Root")
    inter = certs.make_ca("Fmt Devices", issuer=root)
    leaf = certs.make_leaf(inter, "device-7", key_type="rsa")  # RSA: '+' and '/' in base64
    return leaf, inter


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def encode(fmt: str, leaf, inter=None) -> tuple[str, str]:
    """(header value, chain header value) as each terminator would send them."""
    chain = [inter] if inter else []
    if fmt == "nginx":
        return quote(leaf.pem, safe=""), ""
    if fmt == "nginx-pem":
        return leaf.pem.rstrip("\n").replace("\n", "\n\t"), ""
    if fmt == "envoy":
        value = f'By=spiffe://edge;Hash=abc;Cert="{quote(leaf.pem, safe="")}"'
        if chain:
            value += ";Chain=" + quote(leaf.pem + inter.pem, safe="")
        return value + ';Subject="CN=device-7,O=\\"Acme, Inc\\""', ""
    if fmt == "traefik":
        return ",".join(quote(b64(c.der), safe="") for c in [leaf, *chain]), ""
    if fmt == "der-base64":
        return b64(leaf.der), ""
    if fmt == "alb":
        return quote("".join(c.pem for c in [leaf, *chain]), safe="+=/"), ""
    if fmt == "rfc9440":
        return f":{b64(leaf.der)}:", ", ".join(f":{b64(c.der)}:" for c in chain)
    raise AssertionError(fmt)


CHAIN_FORMATS = ["envoy", "traefik", "alb", "rfc9440"]


@pytest.mark.parametrize("fmt", sorted(fwd.FORMATS))
def test_every_format_decodes_the_leaf_to_its_der(fmt, chain):
    leaf, _ = chain
    decoded = fwd.decode(fmt, *encode(fmt, leaf))
    assert decoded == fwd.ForwardedCertificate(leaf.der, ())


@pytest.mark.parametrize("fmt", CHAIN_FORMATS)
def test_chain_formats_decode_the_intermediates_in_order(fmt, chain):
    leaf, inter = chain
    decoded = fwd.decode(fmt, *encode(fmt, leaf, inter))
    assert decoded == fwd.ForwardedCertificate(leaf.der, (inter.der,))
    loaded = fwd.load_chain(decoded)
    assert loaded.leaf == leaf.cert and loaded.intermediates == (inter.cert,)


def test_nginx_pem_is_accepted_whether_the_server_kept_or_unfolded_the_tabs(chain):
    leaf, _ = chain
    folded = leaf.pem.rstrip("\n").replace("\n", "\n\t")
    for value in (folded, folded.replace("\n\t", " "), folded.replace("\n", "\r\n")):
        assert fwd.decode("nginx-pem", value).leaf == leaf.der


def test_alb_keeps_a_raw_plus_as_a_plus(chain):
    leaf, _ = chain
    value = quote(leaf.pem, safe="+=/")
    assert "+" in value or "/" in value
    assert fwd.decode("alb", value).leaf == leaf.der


def test_an_empty_value_means_no_certificate():
    for fmt in fwd.FORMATS:
        assert fwd.decode(fmt, "") is None
        assert fwd.decode(fmt, "  ") is None


def test_xfcc_without_a_cert_key_means_no_certificate():
    assert fwd.decode("envoy", "By=spiffe://edge;Hash=abcd") is None


def test_the_default_header_of_each_format_can_be_overridden():
    assert fwd.header_for("nginx") == "X-SSL-Client-Cert"
    assert fwd.header_for("alb") == "X-Amzn-Mtls-Clientcert"
    assert fwd.header_for("der-base64", "Cf-Client-Cert-Der-Base64") == "Cf-Client-Cert-Der-Base64"
    with pytest.raises(fwd.ForwardedCertError) as caught:
        fwd.header_for("apache")
    assert caught.value.reason == "unknown_format"


@st.composite
def der_chains(draw):
    """Random DER-shaped byte strings (a SEQUENCE of random content), leaf plus 0-3 more."""

    def der() -> bytes:
        body = draw(st.binary(min_size=2, max_size=600))
        n = len(body)
        length = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
        return b"\x30" + length + body

    return der(), tuple(der() for _ in range(draw(st.integers(0, 3))))


class _Fake:
    def __init__(self, der: bytes) -> None:
        self.der = der
        body = base64.encodebytes(der).decode()
        self.pem = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(der_chains(), st.sampled_from(sorted(fwd.FORMATS)))
def test_property_every_format_round_trips_a_der_and_its_chain(ders, fmt):
    leaf_der, chain_ders = ders
    if fmt in {"nginx", "nginx-pem", "der-base64"}:
        chain_ders = ()  # leaf-only formats
    leaf = _Fake(leaf_der)
    inters = [_Fake(d) for d in chain_ders]
    if fmt == "envoy":
        value = "Chain=" + quote("".join(c.pem for c in [leaf, *inters]), safe="")
        decoded = fwd.decode(fmt, value)
    elif fmt in CHAIN_FORMATS:
        value, chain_value = encode(fmt, leaf)
        if fmt == "rfc9440":
            chain_value = ",".join(f":{b64(c.der)}:" for c in inters)
        elif fmt == "traefik":
            value = ",".join(quote(b64(c.der), safe="") for c in [leaf, *inters])
        else:
            value = quote("".join(c.pem for c in [leaf, *inters]), safe="+=/")
        decoded = fwd.decode(fmt, value, chain_value)
    else:
        decoded = fwd.decode(fmt, *encode(fmt, leaf))
    assert decoded == fwd.ForwardedCertificate(leaf_der, tuple(chain_ders))


@settings(max_examples=400)
@given(st.sampled_from(sorted(fwd.FORMATS)), st.text(max_size=3000), st.text(max_size=200))
def test_property_random_text_yields_a_result_or_a_format_error_only(fmt, value, chain_value):
    try:
        result = fwd.decode(fmt, value, chain_value)
    except fwd.ForwardedCertError as exc:
        assert exc.reason
        return
    if result is not None:
        try:
            fwd.load_chain(result)
        except fwd.ForwardedCertError as exc:
            assert exc.reason


@settings(max_examples=300)
@given(st.sampled_from(sorted(fwd.FORMATS)), st.binary(max_size=3000))
def test_property_random_bytes_yield_a_format_error_only(fmt, raw):
    value = raw.decode("latin-1")  # how WSGI hands header bytes to Django
    try:
        result = fwd.decode(fmt, value)
    except fwd.ForwardedCertError:
        return
    assert result is None or isinstance(result, fwd.ForwardedCertificate)
