"""A small DER encoder and reader, for certificates cryptography's builder refuses to make.

The builder checks what it writes: it will not add an extension twice, nor encode a name
constraint that is not a network, nor an authority key identifier with only one of issuer and
serial. The certificates the hardening tests need are exactly those, so their extensions are
written here as bytes and put into a real certificate by
:func:`tests.factories.certs.with_raw_extensions`, which signs the result properly.

Only what those tests use: tag-length-value, SEQUENCE, OID, BOOLEAN, INTEGER, OCTET STRING,
IA5String, context tags, and a reader of one level of TLVs.
"""

from __future__ import annotations

from collections.abc import Iterable

SEQUENCE = 0x30
BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
IA5_STRING = 0x16
EXTENSIONS_TAG = 0xA3  # [3] EXPLICIT, in TBSCertificate

# Extension OIDs (RFC 5280 4.2.1).
SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
KEY_USAGE = "2.5.29.15"
SUBJECT_ALT_NAME = "2.5.29.17"
BASIC_CONSTRAINTS = "2.5.29.19"
NAME_CONSTRAINTS = "2.5.29.30"
AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
EXTENDED_KEY_USAGE = "2.5.29.37"


def length(n: int) -> bytes:
    """A DER length: short form below 128, else the long form with as few bytes as needed."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def seq(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return tlv(INTEGER, body)


def octet_string(content: bytes) -> bytes:
    return tlv(OCTET_STRING, content)


def ia5(text: str) -> bytes:
    return tlv(IA5_STRING, text.encode("ascii"))


def context(number: int, content: bytes, *, constructed: bool = False) -> bytes:
    """``[number]`` IMPLICIT (primitive) or constructed/EXPLICIT."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def extension(extn_id: str, value: bytes, *, critical: bool = False) -> bytes:
    """An ``Extension`` SEQUENCE: the OID, the critical flag when true, the value's DER."""
    return seq(oid(extn_id), *([boolean(True)] if critical else []), octet_string(value))


# --- General names and the extension values made of them -----------------------------------


def dns_name(name: str) -> bytes:
    return context(2, name.encode("ascii"))


def ip_constraint(address_and_mask: bytes) -> bytes:
    """An iPAddress general name holding raw bytes (8 for IPv4 address + mask)."""
    return context(7, address_and_mask)


def directory_name(name_der: bytes) -> bytes:
    """A directoryName (``[4]`` EXPLICIT Name)."""
    return context(4, name_der, constructed=True)


def rdn_name(*pairs: tuple[str, str]) -> bytes:
    """A Name of one-attribute RDNs, UTF8String values: ``rdn_name(("2.5.4.10", "Acme"))``."""
    rdns = [tlv(0x31, seq(oid(attr), tlv(UTF8_STRING, value.encode()))) for attr, value in pairs]
    return seq(*rdns)


def name_constraints(permitted: Iterable[bytes] = (), excluded: Iterable[bytes] = ()) -> bytes:
    """A NameConstraints value from general names (each becomes a GeneralSubtree)."""
    parts = []
    permitted, excluded = list(permitted), list(excluded)
    if permitted:
        parts.append(context(0, b"".join(seq(name) for name in permitted), constructed=True))
    if excluded:
        parts.append(context(1, b"".join(seq(name) for name in excluded), constructed=True))
    return seq(*parts)


def subject_alt_name(*names: bytes) -> bytes:
    return seq(*names)


# --- Reading ---------------------------------------------------------------------------------


def read(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(tag, start of content, end) of the TLV at ``offset``; ValueError when it overruns."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        size, start = first, offset + 2
    else:
        count = first & 0x7F
        size = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
        start = offset + 2 + count
    if start + size > len(data):
        raise ValueError("DER element overruns its container")
    return tag, start, start + size


def children(data: bytes) -> list[bytes]:
    """The whole TLVs inside the constructed TLV ``data`` (one level down)."""
    _, start, end = read(data)
    items, offset = [], start
    while offset < end:
        _, _, item_end = read(data, offset)
        items.append(data[offset:item_end])
        offset = item_end
    return items
