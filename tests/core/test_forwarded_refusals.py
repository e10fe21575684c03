"""Malformed forwarded values are refused with a stable reason code."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import quote

import pytest
from cryptography import x509

from accessctl.core import forwarded as fwd
from accessctl.core.issuing import issue
from tests.factories import certs


@pytest.fixture(scope="module")
def pki():
    root = certs.make_ca("Refusal Root")
    inter = certs.make_ca("Refusal Devices", issuer=root)
    return root, inter, certs.make_leaf(inter, "device-1"), certs.make_leaf(inter, "device-2")


def reason(fmt: str, value: str, chain: str = "") -> str:
    with pytest.raises(fwd.ForwardedCertError) as caught:
        result = fwd.decode(fmt, value, chain)
        if result is not None:
            fwd.load_chain(result)
    return caught.value.reason


def test_garbage_is_refused_in_every_format():
    expected = {
        "nginx": "pem_malformed",
        "nginx-pem": "pem_malformed",
        "envoy": "xfcc_malformed",
        "traefik": "bad_base64",
        "der-base64": "bad_base64",
        "alb": "pem_malformed",
        "rfc9440": "bad_structured_field",
    }
    for fmt, code in expected.items():
        assert reason(fmt, "hello world") == code, fmt


def test_a_truncated_certificate_is_refused(pki):
    leaf = pki[2]
    body = base64.b64encode(leaf.der[:-40]).decode()
    assert reason("der-base64", body) == "cert_malformed"
    pem = leaf.pem.replace(leaf.pem.splitlines()[3] + "\n", "")  # a line cut out
    assert reason("nginx", quote(pem, safe="")) in {"bad_base64", "cert_malformed"}
    assert reason("nginx", quote(leaf.pem[: len(leaf.pem) // 2], safe="")) == "pem_malformed"


def test_a_nul_byte_is_refused(pki):
    leaf = pki[2]
    assert reason("nginx", quote(leaf.pem, safe="") + "\0") == "bad_characters"
    assert reason("nginx", quote(leaf.pem, safe="").replace("%0A", "%00", 1)) == "bad_characters"
    assert reason("der-base64", base64.b64encode(leaf.der).decode() + "\0") == "bad_base64"


def test_raw_cr_or_lf_is_refused_where_the_format_has_none(pki):
    leaf = pki[2]
    assert reason("nginx", quote(leaf.pem, safe="") + "\r\nX-Evil: 1") == "bad_characters"
    assert reason("alb", leaf.pem) == "bad_characters"
    # The tab-folded PEM allows LF only as a fold (followed by a tab or space).
    assert reason("nginx-pem", leaf.pem) == "bad_characters"


def test_a_double_encoded_value_is_refused(pki):
    leaf = pki[2]
    twice = quote(quote(leaf.pem, safe=""), safe="")
    assert reason("nginx", twice) == "double_encoded"
    assert reason("alb", twice) == "double_encoded"
    assert reason("traefik", quote(quote(base64.b64encode(leaf.der).decode(), safe=""))) == (
        "double_encoded"
    )


def test_a_64_kib_value_is_refused_before_any_parsing():
    huge = "A" * (64 * 1024)
    for fmt in fwd.FORMATS:
        assert reason(fmt, huge) == "header_too_large"
    assert reason("rfc9440", ":AAAA:", huge) == "header_too_large"


def test_a_private_key_block_is_refused_whatever_surrounds_it(pki):
    leaf = pki[2]
    assert reason("nginx", quote(leaf.key_pem, safe="")) == "private_key"
    assert reason("nginx", quote(leaf.pem + leaf.key_pem, safe="")) == "private_key"
    assert reason("alb", quote(leaf.pem + leaf.key_pem, safe="+=/")) == "private_key"
    xfcc = f"Cert={quote(leaf.pem, safe='')};Chain={quote(leaf.pem + leaf.key_pem, safe='')}"
    assert reason("envoy", xfcc) == "private_key"


def test_another_pem_block_or_text_between_blocks_is_refused(pki):
    leaf, inter = pki[2], pki[1]
    csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
    assert reason("nginx", quote(csr, safe="")) == "pem_unexpected_block"
    assert reason("alb", quote(leaf.pem + "hello\n" + inter.pem, safe="")) == "pem_malformed"


def test_two_leaves_where_one_is_expected_are_refused(pki):
    _, _, one, two = pki
    assert reason("nginx", quote(one.pem + two.pem, safe="")) == "multiple_leaves"
    assert reason("alb", quote(one.pem + two.pem, safe="")) == "multiple_leaves"
    traefik = ",".join(base64.b64encode(c.der).decode() for c in (one, two))
    assert reason("traefik", traefik) == "multiple_leaves"
    rfc = f":{base64.b64encode(two.der).decode()}:"
    assert reason("rfc9440", f":{base64.b64encode(one.der).decode()}:", rfc) == "multiple_leaves"


def test_a_comma_in_a_single_valued_header_is_a_repeated_header(pki):
    leaf = pki[2]
    b64 = base64.b64encode(leaf.der).decode()
    assert reason("der-base64", f"{b64}, {b64}") == "repeated_header"
    assert reason("nginx", f"{quote(leaf.pem, safe='')},{quote(leaf.pem, safe='')}") == (
        "repeated_header"
    )
    assert reason("rfc9440", f":{b64}:, :{b64}:") == "repeated_header"


def test_a_chain_longer_than_the_limit_is_refused(pki):
    root, inter, leaf, _ = pki
    value = quote(leaf.pem + inter.pem * 3, safe="")
    with pytest.raises(fwd.ForwardedCertError) as caught:
        fwd.decode("alb", value, max_intermediates=2)
    assert caught.value.reason == "chain_too_long"
    assert fwd.decode("alb", value, max_intermediates=3) is not None


def test_xfcc_with_several_elements_is_refused(pki):
    leaf = pki[2]
    one = f"Hash=aa;Cert={quote(leaf.pem, safe='')}"
    assert reason("envoy", f"{one},{one}") == "xfcc_multiple_elements"
    assert reason("envoy", f"By=spiffe://a;Hash=bb,{one}") == "xfcc_multiple_elements"


def test_xfcc_escaped_quotes_in_subject_cannot_smuggle_a_cert_key(pki):
    leaf, other = pki[2], pki[3]
    smuggled = quote(other.pem, safe="")
    value = f'Subject="CN=x\\";Cert={smuggled};y=\\"z";Cert={quote(leaf.pem, safe="")}'
    assert fwd.decode("envoy", value).leaf == leaf.der


def test_xfcc_quoting_errors_are_refused(pki):
    leaf = pki[2]
    assert reason("envoy", 'Subject="CN=x;Cert=abc') == "xfcc_malformed"
    assert reason("envoy", 'Subject="CN=x"junk;Hash=a') == "xfcc_malformed"
    cert = quote(leaf.pem, safe="")
    assert reason("envoy", f"Cert={cert};cert={cert}") == "xfcc_malformed"


def test_xfcc_chain_must_start_with_the_cert(pki):
    _, inter, one, two = pki
    value = f"Cert={quote(one.pem, safe='')};Chain={quote(two.pem + inter.pem, safe='')}"
    assert reason("envoy", value) == "xfcc_chain_mismatch"


def test_an_rfc9440_chain_without_a_leaf_is_refused(pki):
    inter = pki[1]
    assert reason("rfc9440", "", f":{base64.b64encode(inter.der).decode()}:") == (
        "chain_without_leaf"
    )


def test_an_unknown_format_is_refused():
    assert reason("apache", "x") == "unknown_format"


def test_a_forwarded_intermediate_with_duplicate_extensions_is_malformed(pki):
    root, _, leaf, _ = pki
    placeholder = x509.ObjectIdentifier("2.5.29.99")
    extension = x509.UnrecognizedExtension(placeholder, b"\x30\x03\x01\x01\xff")
    built = issue(
        certs.subject_name("Dup"),
        issuer=root,
        key=root.key,
        not_before=certs.now(),
        not_after=certs.now() + dt.timedelta(days=1),
        ca=True,
        extensions=[(extension, False)],
    ).der
    placeholder_der, basic_constraints_der = (
        bytes.fromhex("0603551d63"),
        bytes.fromhex("0603551d13"),
    )
    assert built.count(placeholder_der) == 1
    duplicated = built.replace(placeholder_der, basic_constraints_der)  # a second BasicConstraints
    value = quote(leaf.pem + x509_pem(duplicated), safe="")
    assert reason("alb", value) == "cert_malformed"


def x509_pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
