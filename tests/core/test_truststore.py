"""validate_ca_bundle: every refusal names the certificate, and nothing is half-accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from accessctl.core.issuing import issue
from accessctl.core.pem import MAX_CERTIFICATES, BundleError
from accessctl.core.truststore import validate_ca_bundle
from accessctl.core.verify import TrustAnchors, verify_client_chain
from tests.factories import certs as f
from tests.factories import der

NOW = f.now()
KEY_USAGE_CA = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
BC_CA = x509.BasicConstraints(ca=True, path_length=None)


def custom_ca(
    common_name: str,
    *,
    key=None,
    issuer: f.Issued | None = None,
    extensions=None,
    algorithm=None,
    rsa_padding=None,
) -> f.Issued:
    """A CA with exactly the given extensions (by default a critical CA:TRUE and keyUsage), for
    shapes the shared factory cannot make: issue() adds no basicConstraints or keyUsage of its
    own."""
    return issue(
        f.subject_name(common_name),
        issuer=issuer,
        key=key,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=365),
        basic_constraints=False,
        extensions=[(BC_CA, True), (KEY_USAGE_CA, True)] if extensions is None else extensions,
        signature_hash=algorithm,
        rsa_padding=rsa_padding,
    )


def refusal(text: str, *, known=()) -> BundleError:
    with pytest.raises(BundleError) as info:
        validate_ca_bundle(text, now=NOW, known_fingerprints=known)
    return info.value


@pytest.fixture(scope="module")
def root():
    return f.make_ca("Acme Root")


@pytest.fixture(scope="module")
def rsa_root():
    return f.make_ca("Acme RSA Root", key_type="rsa")


# --- private keys and size: the parser's refusals reach the caller unchanged ----------------


def test_a_private_key_next_to_the_ca_is_refused_and_not_echoed(root):
    error = refusal(root.pem + root.key_pem)
    assert error.code == "private_key"
    body = [line for line in root.key_pem.splitlines() if "-----" not in line]
    assert all(line not in str(error) for line in body)


def test_a_bundle_over_the_certificate_limit_is_refused(root):
    assert refusal(root.pem * (MAX_CERTIFICATES + 1)).code == "too_many_certificates"


# --- not a CA -------------------------------------------------------------------------------


def test_a_certificate_with_ca_false_is_refused_as_a_leaf(root):
    leaf = f.make_leaf(root, "device-1", eku=None)
    error = refusal(root.pem + leaf.pem)
    assert error.code == "leaf_certificate"
    assert str(error).startswith("certificate #2 (CN=device-1)")


def test_a_client_certificate_is_refused_as_a_leaf(root):
    error = refusal(f.make_leaf(root, "device-2").pem + root.pem)
    assert error.code == "leaf_certificate"
    assert "certificate #1 (CN=device-2)" in str(error)


def test_a_server_certificate_with_server_auth_gets_its_own_message(root):
    server = f.make_leaf(root, "www.example.com", eku=(f.SERVER_AUTH,))
    error = refusal(root.pem + server.pem)
    assert error.code == "server_certificate"
    assert "certificate #2 (CN=www.example.com) is a server certificate" in str(error)


def test_a_certificate_with_a_dns_name_and_no_basic_constraints_is_a_server_certificate(root):
    server = f.make_leaf(
        root, "www.example.com", eku=None, san_dns=("www.example.com",), basic_constraints=False
    )
    assert refusal(root.pem + server.pem).code == "server_certificate"


def test_a_certificate_without_basic_constraints_is_not_a_ca():
    no_bc = f.make_ca("No BC", basic_constraints=False)
    error = refusal(no_bc.pem)
    assert error.code == "not_ca"
    assert "certificate #1 (CN=No BC) is not a CA" in str(error)
    assert "CA:TRUE is required" in str(error)


def test_a_self_signed_ca_false_certificate_is_not_a_ca():
    assert refusal(f.make_ca("Not A CA", ca=False).pem).code == "leaf_certificate"


SERVER_AUTH_ONLY = x509.ExtendedKeyUsage([f.SERVER_AUTH])


@pytest.mark.parametrize(
    ("extensions", "code", "message"),
    [
        pytest.param(
            [(BC_CA, False), (KEY_USAGE_CA, True)],
            "not_ca",
            "not marked critical",
            id="basicConstraints that are not critical",
        ),
        pytest.param(
            [(BC_CA, True)],
            "key_usage",
            "no keyUsage",
            id="no keyUsage, which the verifier requires",
        ),
        pytest.param(
            [(BC_CA, True), (KEY_USAGE_CA, True), (SERVER_AUTH_ONLY, False)],
            "eku_not_client_auth",
            "does not allow client authentication",
            id="an extendedKeyUsage limited to server auth",
        ),
    ],
)
def test_a_ca_whose_extensions_the_verifier_would_refuse_is_refused(extensions, code, message):
    error = refusal(custom_ca("Odd CA", extensions=extensions).pem)
    assert error.code == code
    assert message in str(error)


def test_a_ca_whose_key_usage_lacks_key_cert_sign_is_refused():
    error = refusal(f.make_ca("No Cert Sign", key_cert_sign=False).pem)
    assert error.code == "key_usage"
    assert "certificate #1 (CN=No Cert Sign)" in str(error)
    assert "keyCertSign" in str(error)


@pytest.mark.parametrize("usage", [f.CLIENT_AUTH, x509.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])
def test_a_ca_limited_to_client_auth_or_any_usage_is_accepted(usage):
    eku = x509.ExtendedKeyUsage([usage])
    ca = custom_ca("Client CA", extensions=[(BC_CA, True), (KEY_USAGE_CA, True), (eku, False)])
    assert validate_ca_bundle(ca.pem, now=NOW)[0].is_root


# --- time -----------------------------------------------------------------------------------


def test_an_expired_ca_is_refused():
    old = f.make_ca(
        "Old Root",
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW - dt.timedelta(days=1),
    )
    error = refusal(old.pem)
    assert error.code == "expired"
    assert "certificate #1 (CN=Old Root) expired on" in str(error)


def test_an_expired_intermediate_is_refused_even_when_the_root_is_valid(root):
    inter = f.make_ca(
        "Old Devices",
        issuer=root,
        not_before=NOW - dt.timedelta(days=30),
        not_after=NOW - dt.timedelta(seconds=1),
    )
    error = refusal(inter.pem + root.pem)
    assert error.code == "expired"
    assert "certificate #1 (CN=Old Devices)" in str(error)


def test_a_ca_that_is_not_yet_valid_is_refused():
    future = f.make_ca("Future Root", not_before=NOW + dt.timedelta(days=2))
    error = refusal(future.pem)
    assert error.code == "not_yet_valid"


def test_validity_is_judged_at_the_given_now_not_the_clock(root):
    later = root.cert.not_valid_after_utc + dt.timedelta(seconds=1)
    with pytest.raises(BundleError, match="expired"):
        validate_ca_bundle(root.pem, now=later)


# --- algorithms and keys --------------------------------------------------------------------


@pytest.mark.parametrize(("algorithm", "shown"), [("sha1", "SHA-1"), ("md5", "MD5")])
def test_a_root_signed_with_a_broken_hash_is_refused(algorithm, shown):
    weak = f.make_ca("Weak Root", key_type="rsa", signature_hash=algorithm)
    error = refusal(weak.pem)
    assert error.code == "weak_signature"
    assert f"certificate #1 (CN=Weak Root) is signed with {shown}" in str(error)


def test_an_intermediate_signed_with_sha1_is_refused(rsa_root):
    weak = f.make_ca("Weak Devices", issuer=rsa_root, signature_hash="sha1")
    error = refusal(rsa_root.pem + weak.pem)
    assert error.code == "weak_signature"
    assert "certificate #2 (CN=Weak Devices)" in str(error)


def test_an_rsa_1024_ca_is_refused():
    small = f.make_ca("Small Root", key_type="rsa", rsa_bits=1024)
    error = refusal(small.pem)
    assert error.code == "weak_key"
    assert "1024-bit RSA key; at least 2048 bits" in str(error)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (ec.generate_private_key(ec.SECP256K1()), "EC secp256k1"),
        (ed25519.Ed25519PrivateKey.generate(), "Ed25519"),
    ],
)
def test_a_ca_with_a_key_the_verifier_cannot_use_is_refused(key, shown):
    error = refusal(custom_ca("Odd Key", key=key).pem)
    assert error.code in {"unsupported_key", "unsupported_signature"}
    assert "certificate #1 (CN=Odd Key)" in str(error)


def test_an_rsa_pss_signature_is_refused_with_a_clear_message(rsa_root):
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    inter = custom_ca("PSS Devices", issuer=rsa_root, rsa_padding=pss)
    error = refusal(rsa_root.pem + inter.pem)
    assert error.code == "unsupported_signature"
    assert "certificate #2 (CN=PSS Devices)" in str(error)


@pytest.mark.parametrize(
    ("key", "algorithm", "key_type", "key_size", "signature"),
    [
        (f.new_key("rsa"), hashes.SHA256(), "RSA", 2048, "sha256WithRSAEncryption"),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=3072),
            hashes.SHA384(),
            "RSA",
            3072,
            "sha384WithRSAEncryption",
        ),
        (ec.generate_private_key(ec.SECP256R1()), hashes.SHA256(), "ECDSA P-256", 256, None),
        (ec.generate_private_key(ec.SECP384R1()), hashes.SHA384(), "ECDSA P-384", 384, None),
        (
            ec.generate_private_key(ec.SECP521R1()),
            hashes.SHA512(),
            "ECDSA P-521",
            521,
            "ecdsa-with-SHA512",
        ),
    ],
)
def test_every_key_the_verifier_accepts_is_accepted(key, algorithm, key_type, key_size, signature):
    ca = custom_ca("Good Key", key=key, algorithm=algorithm)
    (facts,) = validate_ca_bundle(ca.pem, now=NOW)
    assert (facts.key_type, facts.key_size) == (key_type, key_size)
    if signature:
        assert facts.signature_algorithm == signature
    # And the request-path verifier really accepts a client under it.
    leaf = f.make_leaf(ca)
    verify_client_chain(leaf.cert, [], TrustAnchors.build([ca.cert], []), now=NOW)


# --- chains ---------------------------------------------------------------------------------


def test_an_intermediate_without_its_root_is_refused(root):
    inter = f.make_ca("Lonely Devices", issuer=root)
    error = refusal(inter.pem)
    assert error.code == "issuer_missing"
    assert "certificate #1 (CN=Lonely Devices) is an intermediate" in str(error)
    assert "CN=Acme Root" in str(error)


def test_an_intermediate_whose_named_issuer_did_not_sign_it_is_refused(root):
    inter = f.make_ca("Devices", issuer=root)
    impostor = f.make_ca("Acme Root")  # same subject, different key
    error = refusal(impostor.pem + inter.pem)
    assert error.code == "issuer_missing"
    assert "certificate #2 (CN=Devices)" in str(error)


def test_a_self_issued_certificate_with_a_bad_signature_is_refused():
    other = custom_ca("Twin")
    # issuer == subject, so it claims to be self-signed, but another key signed it.
    forged = custom_ca("Twin", issuer=other)
    error = refusal(forged.pem)
    assert error.code == "bad_signature"


def test_intermediates_that_sign_each_other_without_a_root_are_refused():
    key_a, key_b = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    stub_a = f.Issued(custom_ca("Loop A", key=key_a).cert, key_a)
    stub_b = f.Issued(custom_ca("Loop B", key=key_b).cert, key_b)
    a_by_b = custom_ca("Loop A", key=key_a, issuer=stub_b)
    b_by_a = custom_ca("Loop B", key=key_b, issuer=stub_a)
    error = refusal(a_by_b.pem + b_by_a.pem)
    assert error.code == "issuer_missing"
    assert "loop" in str(error)


def test_a_root_and_a_two_level_chain_in_any_order_are_accepted(root):
    devices = f.make_ca("Devices", issuer=root)
    fleet = f.make_ca("Fleet", issuer=devices)
    facts = validate_ca_bundle(fleet.pem + root.pem + devices.pem, now=NOW)
    assert [c.is_root for c in facts] == [False, True, False]
    assert [c.position for c in facts] == [1, 2, 3]


def test_two_roots_in_one_bundle_are_accepted():
    facts = validate_ca_bundle(f.make_ca("Root A").pem + f.make_ca("Root B").pem, now=NOW)
    assert [c.is_root for c in facts] == [True, True]


def test_an_intermediate_below_a_path_length_zero_root_is_refused():
    strict = f.make_ca("Strict Root", path_length=0)
    inter = f.make_ca("Devices", issuer=strict)
    error = refusal(strict.pem + inter.pem)
    assert error.code == "path_length"
    assert "certificate #2 (CN=Devices) is below certificate #1 (CN=Strict Root)" in str(error)


def test_two_intermediates_below_a_path_length_one_root_are_refused():
    top = f.make_ca("Root", path_length=1)
    middle = f.make_ca("Middle", issuer=top)
    bottom = f.make_ca("Bottom", issuer=middle)
    assert validate_ca_bundle(top.pem + middle.pem, now=NOW)
    assert refusal(top.pem + middle.pem + bottom.pem).code == "path_length"


# --- duplicates -----------------------------------------------------------------------------


def test_the_same_certificate_twice_in_a_bundle_is_refused(root):
    error = refusal(root.pem + root.pem)
    assert error.code == "duplicate_in_bundle"
    assert "certificate #2 (CN=Acme Root) is the same as certificate #1" in str(error)


def test_a_certificate_already_uploaded_is_refused(root):
    error = refusal(root.pem, known={root.fingerprint})
    assert error.code == "already_uploaded"
    assert "certificate #1 (CN=Acme Root) is already uploaded" in str(error)


def test_the_duplicate_error_names_the_upload_that_holds_it(root):
    error = refusal(root.pem, known={root.fingerprint: "Production CA"})
    assert "already uploaded in 'Production CA'" in str(error)


# --- all or nothing and labels --------------------------------------------------------------


def test_one_bad_certificate_refuses_the_whole_bundle_naming_it(root):
    good = f.make_ca("Good Devices", issuer=root)
    bad = f.make_leaf(root, "oops")
    error = refusal(root.pem + good.pem + bad.pem)
    assert str(error).startswith("certificate #3 (CN=oops)")


def test_a_subject_without_cn_is_labelled_by_its_full_name():
    ca = f.make_ca(subject=f.subject_name(None, O="No CN Org"), basic_constraints=False)
    assert str(refusal(ca.pem)).startswith("certificate #1 (O=No CN Org)")


def test_control_characters_in_a_name_do_not_reach_the_message():
    ca = f.make_ca(subject=f.subject_name("evil\nname\x00"), basic_constraints=False)
    assert "certificate #1 (CN=evil?name?)" in str(refusal(ca.pem))


# --- extensions: unreadable, unsupported, or refused by the verifier for every client -------


def _own(ca: f.Issued, extn_id: str) -> bytes:
    (found,) = [e for e in f.raw_extensions(ca) if der.children(e)[0] == der.oid(extn_id)]
    return found


def _critical(extension: bytes) -> bytes:
    extn_id, *_, value = der.children(extension)
    return der.seq(extn_id, der.boolean(True), value)


def test_an_intermediate_with_a_critical_authority_key_identifier_never_verifies(root):
    inter = f.make_ca("Critical AKI Devices", issuer=root)
    aki = _own(inter, der.AUTHORITY_KEY_IDENTIFIER)
    odd = f.with_raw_extensions(
        inter, [_critical(e) if e == aki else e for e in f.raw_extensions(inter)]
    )
    error = refusal(root.pem + odd.pem)
    assert error.code == "never_verifies"
    assert "certificate #2 (CN=Critical AKI Devices)" in error.message
    assert "2.5.29.35" in error.message


def test_an_authority_key_identifier_without_a_key_identifier_never_verifies(root):
    inter = f.make_ca("Serial AKI Devices", issuer=root)
    issuer = der.directory_name(der.rdn_name(("2.5.4.3", "Acme Root")))
    aki = der.seq(der.context(1, issuer, constructed=True), der.context(2, b"\x05"))
    kept = [e for e in f.raw_extensions(inter) if e != _own(inter, der.AUTHORITY_KEY_IDENTIFIER)]
    odd = f.with_raw_extensions(inter, [*kept, der.extension(der.AUTHORITY_KEY_IDENTIFIER, aki)])
    error = refusal(root.pem + odd.pem)
    assert error.code == "never_verifies"
    assert "must contain keyIdentifier" in error.message


def test_a_broken_root_is_named_rather_than_the_intermediates_below_it():
    eku = der.extension(
        der.EXTENDED_KEY_USAGE, der.seq(der.oid("1.3.6.1.5.5.7.3.2")), critical=True
    )
    bad_root = f.with_extra_extensions(f.make_ca("Critical EKU Root"), eku)
    inter = f.make_ca("Fine Devices", issuer=bad_root)
    error = refusal(inter.pem + bad_root.pem)
    assert error.code == "never_verifies"
    assert "certificate #2 (CN=Critical EKU Root)" in error.message


@pytest.mark.parametrize(
    ("general_name", "kind"),
    [
        (der.context(6, b"example.com"), "uniformResourceIdentifier"),
        (der.directory_name(der.rdn_name(("2.5.4.10", "Acme"))), "directoryName"),
    ],
)
@pytest.mark.parametrize("critical", [True, False])
def test_name_constraints_of_a_kind_the_verifier_cannot_match_are_refused(
    general_name, kind, critical
):
    ca = f.name_constrained_ca("Constrained Root", general_name, critical=critical)
    error = refusal(ca.pem)
    assert (error.code, kind in error.message) == ("unsupported_name_constraint", True)


def test_name_constraints_the_verifier_supports_are_accepted():
    ca = f.name_constrained_ca(
        "Constrained Root",
        der.dns_name("example.com"),
        der.ip_constraint(bytes([10, 0, 0, 0, 255, 0, 0, 0])),
        der.context(1, b"example.com"),  # rfc822Name
    )
    (facts,) = validate_ca_bundle(ca.pem, now=NOW)
    leaf = f.make_leaf(ca, "device-1", san_dns=("a.example.com",))
    anchors = TrustAnchors.build([ca.cert], [])
    assert verify_client_chain(leaf.cert, [], anchors, now=NOW).identity.common_name == "device-1"
    assert facts.is_root


def test_a_ca_whose_extensions_cannot_be_read_does_not_echo_them():
    ca = f.name_constrained_ca("Sneaky\x07Root", der.dns_name("*"))
    error = refusal(ca.pem)
    assert error.code == "bad_extension"
    assert "\x07" not in error.message


def test_the_upload_check_leaves_the_bundle_as_uploaded(root):
    # The verifier's check works on copies: the facts are those of the certificates sent.
    inter = f.make_ca("Acme Devices", issuer=root)
    facts = validate_ca_bundle(root.pem + inter.pem, now=NOW)
    assert [x.der for x in facts] == [root.der, inter.der]
