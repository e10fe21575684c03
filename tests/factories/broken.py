"""Hypothesis strategies for structurally broken certificates, built over the DER of their
extensions and names rather than as random bytes.

Random bytes are refused by the first length check; the inputs that once crashed accessctl
(two SubjectAlternativeName extensions, a name constraint cryptography refuses to load, half
an authority key identifier) are well-formed certificates, properly signed, with one wrong
part inside. So these strategies start from a real certificate and draw its extensions from:

- its own extensions, any of them any number of times (duplicates);
- an own extension with its value truncated, re-tagged or given a wrong inner length;
- a known extension OID (SAN, name constraints, AKI, basic constraints, key usage, EKU,
  policies, AIA…) with a value made of general names of every kind and odd content (``*``,
  non-ASCII, IP addresses of every length, directory names, otherName, registeredID…) or
  random bytes;
- an unknown OID, critical or not;
- an Extension TLV that is itself broken (so the certificate may not even load);

and sometimes replace the subject with an odd Name (empty RDNs, multi-valued RDNs, string
types with bytes they cannot hold). The result is re-signed by the issuer given, so that a
chain check does not stop at the signature: every later step sees the broken part.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.factories import certs, der


def examples(count: int) -> settings:
    """Settings for a property test over these strategies: ``count`` examples, no deadline
    (CI shares 2 cores), Django's function-scoped fixtures allowed (the examples only read
    them, or write nothing). Under CI=true the "ci" profile of tests/conftest.py makes the
    examples the same on every run."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Extension OIDs a certificate may carry, whose values cryptography parses.
KNOWN_EXTENSIONS = (
    der.SUBJECT_KEY_IDENTIFIER,
    der.KEY_USAGE,
    der.SUBJECT_ALT_NAME,
    "2.5.29.18",  # issuerAltName
    der.BASIC_CONSTRAINTS,
    der.NAME_CONSTRAINTS,
    "2.5.29.31",  # cRLDistributionPoints
    "2.5.29.32",  # certificatePolicies
    "2.5.29.36",  # policyConstraints
    der.AUTHORITY_KEY_IDENTIFIER,
    der.EXTENDED_KEY_USAGE,
    "2.5.29.54",  # inhibitAnyPolicy
    "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
    "1.3.6.1.5.5.7.1.24",  # TLS feature
)
_TAGS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x16, 0x30, 0x31, 0x80, 0xA0, 0xA3)
_STRING_TAGS = (0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E, 0x04, 0x05, 0x02)
_NAME_ATTRIBUTES = ("2.5.4.3", "2.5.4.10", "2.5.4.11", "2.5.4.6", "1.2.840.113549.1.9.1")

_small_bytes = st.binary(max_size=24)
_text = st.sampled_from(
    ["*", "*.example.com", "example.com", ".example.com", "a..b", "-x-", "", "bücher", "a\0b"]
) | st.text(max_size=12)


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@st.composite
def general_name(draw: st.DrawFn) -> bytes:
    """One GeneralName of any of the nine kinds, with plausible or odd content."""
    kind = draw(st.integers(0, 8))
    if kind in (1, 2, 6):  # rfc822Name, dNSName, URI: IA5 text, possibly not ASCII
        return der.context(kind, _encoded(draw(_text)))
    if kind == 7:  # iPAddress: 4/16 for a SAN, 8/32 for a constraint, or anything
        size = draw(st.sampled_from([0, 3, 4, 5, 8, 16, 32, 33]))
        return der.context(7, draw(st.binary(min_size=size, max_size=size)))
    if kind == 4:  # directoryName
        return der.directory_name(draw(name()))
    if kind == 8:  # registeredID: an OID's body, or junk
        return der.context(8, draw(_small_bytes))
    # otherName [0], x400Address [3], ediPartyName [5]: constructed, any content
    return der.context(kind, draw(_small_bytes), constructed=True)


@st.composite
def name(draw: st.DrawFn) -> bytes:
    """A Name: RDNs of attributes with any string type, some empty or multi-valued."""
    rdns = []
    for _ in range(draw(st.integers(0, 4))):
        attributes = [
            der.seq(
                der.oid(draw(st.sampled_from(_NAME_ATTRIBUTES))),
                der.tlv(draw(st.sampled_from(_STRING_TAGS)), draw(st.binary(max_size=16))),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        rdns.append(der.tlv(0x31, b"".join(attributes)))
    return der.seq(*rdns)


@st.composite
def extension_value(draw: st.DrawFn, extn_id: str) -> bytes:
    """A value for ``extn_id``: general names in the shapes the extension holds, or junk."""
    names = st.lists(general_name(), max_size=4)
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return draw(st.binary(max_size=40))
    if extn_id in (der.SUBJECT_ALT_NAME, "2.5.29.18"):
        return der.seq(*draw(names))
    if extn_id == der.NAME_CONSTRAINTS:
        return der.name_constraints(draw(names), draw(names))
    if extn_id == der.AUTHORITY_KEY_IDENTIFIER:
        parts = []
        if draw(st.booleans()):
            parts.append(der.context(0, draw(_small_bytes)))
        if draw(st.booleans()):
            parts.append(der.context(1, b"".join(draw(names)), constructed=True))
        if draw(st.booleans()):
            parts.append(der.context(2, draw(_small_bytes)))
        return der.seq(*parts)
    if extn_id == der.BASIC_CONSTRAINTS:
        parts = [der.boolean(draw(st.booleans()))] if draw(st.booleans()) else []
        if draw(st.booleans()):
            parts.append(der.integer(draw(st.integers(-2, 300))))
        return der.seq(*parts)
    if extn_id == der.EXTENDED_KEY_USAGE:
        oids = st.sampled_from(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1", "2.5.29.37.0", "1.2.3"])
        return der.seq(*(der.oid(o) for o in draw(st.lists(oids, max_size=3))))
    if extn_id == der.KEY_USAGE:
        return der.tlv(der.BIT_STRING, draw(st.binary(max_size=3)))
    return der.seq(*draw(names))


def _parts(extension: bytes) -> tuple[bytes, bool, bytes]:
    """(OID TLV, critical, value bytes) of an Extension's DER."""
    items = der.children(extension)
    value_tlv = items[-1]
    _, start, end = der.read(value_tlv)
    return items[0], len(items) == 3, value_tlv[start:end]


@st.composite
def mutated(draw: st.DrawFn, own: list[bytes]) -> bytes:
    """One own extension with its value truncated, re-tagged or mis-sized."""
    oid_tlv, critical, value = _parts(draw(st.sampled_from(own)))
    how = draw(st.sampled_from(["truncate", "retag", "relength", "extend"]))
    if how == "truncate" and value:
        value = value[: draw(st.integers(0, len(value) - 1))]
    elif how == "retag" and value:
        value = bytes([draw(st.sampled_from(_TAGS))]) + value[1:]
    elif how == "relength" and len(value) > 1:
        value = value[:1] + bytes([draw(st.integers(0, 255))]) + value[2:]
    else:
        value += draw(st.binary(min_size=1, max_size=4))
    critical = draw(st.booleans()) if draw(st.booleans()) else critical
    return der.seq(oid_tlv, *([der.boolean(True)] if critical else []), der.octet_string(value))


@st.composite
def extension(draw: st.DrawFn, own: list[bytes]) -> bytes:
    """One extra extension for a certificate whose real extensions are ``own``."""
    kind = draw(st.sampled_from(["own", "known", "known", "known", "unknown", "broken"]))
    if kind == "own":  # a duplicate
        return draw(st.sampled_from(own))
    if kind == "known":
        extn_id = draw(st.sampled_from(KNOWN_EXTENSIONS))
        value = draw(extension_value(extn_id))
        return der.extension(extn_id, value, critical=draw(st.booleans()))
    if kind == "unknown":
        extn_id = f"1.3.6.1.4.1.{draw(st.integers(1, 99999))}.{draw(st.integers(0, 9))}"
        return der.extension(extn_id, draw(st.binary(max_size=16)), critical=draw(st.booleans()))
    # An Extension that is itself not well-formed: a bad length, a missing value, junk.
    whole = draw(st.sampled_from(own))
    cut = draw(st.integers(1, len(whole) - 1))
    return draw(
        st.sampled_from(
            [whole[:cut], der.seq(der.children(whole)[0]), whole[:1] + b"\x7f" + whole[2:]]
        )
    )


@st.composite
def extensions(draw: st.DrawFn, own: list[bytes]) -> list[bytes]:
    """``own``, each kept (mostly), dropped or mutated, then up to three extra ones, in a
    drawn order: one or two wrong parts in an otherwise real certificate."""
    kept = []
    for item in own:
        fate = draw(st.sampled_from(["keep"] * 6 + ["drop", "mutate", "mutate"]))
        if fate == "keep":
            kept.append(item)
        elif fate == "mutate":
            kept.append(draw(mutated([item])))
    extra = draw(st.lists(extension(own), max_size=3))
    return draw(st.permutations(kept + extra)) if draw(st.booleans()) else kept + extra


@st.composite
def broken_der(draw: st.DrawFn, base: certs.Issued, signer: certs.Issued | None = None) -> bytes:
    """The DER of ``base`` with drawn extensions (and sometimes an odd subject), signed by
    ``signer`` (default: ``base``'s issuer, or itself)."""
    drawn = draw(extensions(certs.raw_extensions(base)))
    subject = draw(name()) if draw(st.integers(0, 5)) == 0 else None
    return certs.raw_der(base, drawn, signer=signer, subject=subject)
