"""Reading pasted PEM: what is accepted, what is refused, and that keys are never echoed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from accessctl.core.pem import (
    MAX_BUNDLE_BYTES,
    MAX_CERTIFICATES,
    BundleError,
    decode_upload,
    parse_pem_bundle,
    private_key_line,
)
from tests.factories import certs as f


@pytest.fixture(scope="module")
def chain():
    root = f.make_ca("PEM Root")
    return root, f.make_ca("PEM Devices", issuer=root)


def _fingerprints(certs):
    return [c.fingerprint(hashes.SHA256()).hex() for c in certs]


def test_a_plain_bundle_parses_in_order(chain):
    root, inter = chain
    parsed = parse_pem_bundle(f.pem_bundle(inter, root))
    assert _fingerprints(parsed) == [inter.fingerprint, root.fingerprint]


def test_crlf_line_endings_and_explanatory_text_between_blocks_are_accepted(chain):
    root, inter = chain
    text = (
        "Subject: CN=PEM Devices\nIssuer: CN=PEM Root\n"
        + inter.pem
        + "\n# the root, from `openssl x509 -text`:\nCertificate:\n    Data: ...\n\n"
        + root.pem
        + "trailing words"
    ).replace("\n", "\r\n")
    assert _fingerprints(parse_pem_bundle(text)) == [inter.fingerprint, root.fingerprint]


def test_indented_blocks_are_accepted(chain):
    root, _ = chain
    text = "\n".join("    " + line for line in root.pem.splitlines())
    assert _fingerprints(parse_pem_bundle(text)) == [root.fingerprint]


def _pkcs8(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _private_keys():
    rsa_key = f.new_key("rsa")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "pkcs8": _pkcs8(ec_key),
        "rsa-pkcs1": rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
        "ec-sec1": ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
        "encrypted-pkcs8": ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ).decode(),
        "openssh": ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode(),
        "lowercase-armour": _pkcs8(ec_key).replace("PRIVATE KEY", "private key"),
        "pgp": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBGS0\n-----END PGP PRIVATE KEY "
        "BLOCK-----\n",
        "putty": "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n",
        "end-line-only": "\n".join(_pkcs8(ec_key).splitlines()[1:]),
    }


PRIVATE_KEYS = _private_keys()


def _key_body(key_pem: str) -> list[str]:
    """The secret lines of a key (not the armour), which must never appear anywhere."""
    return [line for line in key_pem.splitlines() if line and "-----" not in line]


@pytest.mark.parametrize("kind", sorted(PRIVATE_KEYS))
@pytest.mark.parametrize("where", ["alone", "before", "between", "after"])
def test_a_private_key_anywhere_is_refused_without_echoing_it(chain, kind, where):
    root, inter = chain
    key = PRIVATE_KEYS[kind]
    text = {
        "alone": key,
        "before": key + root.pem,
        "between": inter.pem + key + root.pem,
        "after": inter.pem + root.pem + key,
    }[where]
    with pytest.raises(BundleError) as info:
        parse_pem_bundle(text)
    assert info.value.code == "private_key"
    assert "private key" in str(info.value)
    for line in _key_body(key):
        assert line not in str(info.value)


def test_a_private_key_is_refused_even_when_the_bundle_is_too_large(chain):
    root, _ = chain
    text = root.pem * (MAX_BUNDLE_BYTES // len(root.pem) + 1) + PRIVATE_KEYS["pkcs8"]
    with pytest.raises(BundleError) as info:
        parse_pem_bundle(text)
    assert info.value.code == "private_key"


def test_a_bundle_over_the_size_limit_is_refused(chain):
    root, _ = chain
    text = root.pem + "x" * MAX_BUNDLE_BYTES
    with pytest.raises(BundleError, match=f"limit is {MAX_BUNDLE_BYTES} bytes") as info:
        parse_pem_bundle(text)
    assert info.value.code == "too_large"


def test_more_certificates_than_the_limit_are_refused(chain):
    root, _ = chain
    with pytest.raises(BundleError, match=f"more than {MAX_CERTIFICATES}") as info:
        parse_pem_bundle(root.pem * (MAX_CERTIFICATES + 1))
    assert info.value.code == "too_many_certificates"


def test_exactly_the_certificate_limit_is_accepted(chain):
    root, _ = chain
    assert len(parse_pem_bundle(root.pem * MAX_CERTIFICATES)) == MAX_CERTIFICATES


@pytest.mark.parametrize("text", ["", "hello", "MIIB" * 20, "-----BEGIN CERTIFICATE-----"])
def test_input_without_a_certificate_is_refused(text):
    with pytest.raises(BundleError) as info:
        parse_pem_bundle(text)
    assert info.value.code in {"no_certificate", "unterminated_block"}


@pytest.mark.parametrize(
    "label", ["CERTIFICATE REQUEST", "X509 CRL", "PUBLIC KEY", "TRUSTED CERTIFICATE"]
)
def test_other_block_types_are_refused_not_skipped(chain, label):
    root, _ = chain
    other = f"-----BEGIN {label}-----\nMIIB\n-----END {label}-----\n"
    with pytest.raises(BundleError, match=f"block #2 is a '{label}' block") as info:
        parse_pem_bundle(root.pem + other)
    assert info.value.code == "not_a_certificate"


def test_a_truncated_paste_names_the_block(chain):
    root, inter = chain
    cut = root.pem[: len(root.pem) // 2]
    with pytest.raises(BundleError, match="block #2 .* no END line") as info:
        parse_pem_bundle(inter.pem + cut)
    assert info.value.code == "unterminated_block"


def test_a_missing_end_line_before_the_next_block_is_refused(chain):
    root, inter = chain
    broken = inter.pem.replace("-----END CERTIFICATE-----\n", "")
    with pytest.raises(BundleError, match="block #1 .* no END line before the next BEGIN"):
        parse_pem_bundle(broken + root.pem)


def test_mismatched_armour_is_refused(chain):
    root, _ = chain
    with pytest.raises(BundleError, match="ends as X509 CRL"):
        parse_pem_bundle(root.pem.replace("END CERTIFICATE", "END X509 CRL"))


def test_damaged_base64_names_the_certificate(chain):
    root, inter = chain
    lines = root.pem.splitlines()
    lines[2] = lines[2][:10] + "!!" + lines[2][12:]
    with pytest.raises(BundleError, match="certificate #2: its body is not base64") as info:
        parse_pem_bundle(inter.pem + "\n".join(lines))
    assert info.value.code == "bad_encoding"


def test_base64_with_bad_padding_is_refused(chain):
    root, _ = chain
    lines = root.pem.splitlines()
    lines[1] = lines[1][:-1]  # one character short: the padding no longer adds up
    with pytest.raises(BundleError, match="certificate #1: its base64 body is damaged"):
        parse_pem_bundle("\n".join(lines))


def test_valid_base64_that_is_not_a_certificate_is_refused(chain):
    root, _ = chain
    text = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n"
    with pytest.raises(BundleError, match="certificate #2 is not a valid X.509") as info:
        parse_pem_bundle(root.pem + text)
    assert info.value.code == "bad_certificate"


def test_a_key_smuggled_inside_certificate_armour_is_refused_without_echo():
    key = ec.generate_private_key(ec.SECP256R1())
    body = _key_body(_pkcs8(key))
    text = "-----BEGIN CERTIFICATE-----\n" + "\n".join(body) + "\n-----END CERTIFICATE-----\n"
    with pytest.raises(BundleError) as info:
        parse_pem_bundle(text)
    assert info.value.code == "bad_certificate"
    assert all(line not in str(info.value) for line in body)


def test_an_uploaded_file_is_decoded_as_text(chain):
    root, _ = chain
    assert decode_upload(b"\xef\xbb\xbf" + root.pem.encode()) == root.pem


def test_an_uploaded_der_file_is_refused_with_a_hint(chain):
    root, _ = chain
    with pytest.raises(BundleError, match="openssl x509 -inform der") as info:
        decode_upload(root.der)
    assert info.value.code == "not_pem"


def test_an_oversized_upload_is_refused_before_decoding():
    with pytest.raises(BundleError) as info:
        decode_upload(b"\xff" * (MAX_BUNDLE_BYTES + 1))
    assert info.value.code == "too_large"


@settings(max_examples=300)
@given(
    st.text(alphabet=st.sampled_from(list("-BEGINCERTIFCAT ENDPRVKY\r\n=+/abcMII0")), max_size=400)
)
def test_arbitrary_text_only_ever_raises_bundle_error(text):
    try:
        parsed = parse_pem_bundle(text)
    except BundleError as exc:
        assert exc.code and str(exc)
    else:
        assert parsed


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_private_key_is_located_by_its_line_number(chain, newline):
    root, inter = chain
    text = "Acme chain\n" + inter.pem + "the key:\n" + PRIVATE_KEYS["pkcs8"] + root.pem
    line = len((text[: text.index("-----BEGIN PRIVATE KEY")]).splitlines()) + 1
    with pytest.raises(BundleError) as info:
        parse_pem_bundle(text.replace("\n", newline))
    assert f"the input contains a private key (line {line});" in str(info.value)
    assert line > 3  # the key follows a text line and a whole certificate


def test_a_key_armour_on_the_first_line_is_line_1():
    assert private_key_line(PRIVATE_KEYS["rsa-pkcs1"]) == 1
    assert private_key_line("-----BEGIN CERTIFICATE-----\n") is None
