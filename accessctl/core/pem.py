"""Reading a PEM bundle that an operator pasted or uploaded.

``x509.load_pem_x509_certificates`` would do most of this, but it silently skips blocks it
does not know, private keys included, and its errors do not say which block is wrong. This
module reads the armour itself so that:

- a private key anywhere in the input is refused, and the error never repeats the key;
- every other non-certificate block (CSR, CRL, public key…) is refused rather than ignored,
  so an operator is never left believing something was stored that was not;
- each error names the block it is about ("certificate #2 …");
- explanatory text between blocks (``openssl x509 -text`` output) and CRLF line endings are
  accepted.

Limits are module constants, documented in docs/operator-guide.md (the trust store).
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509

MAX_BUNDLE_BYTES = 64 * 1024  # of UTF-8 text: far above any real chain, small enough to parse
MAX_CERTIFICATES = 20  # certificates in one bundle (a root and its intermediates)

_BEGIN = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----$")
_END = re.compile(r"^-----END ([A-Z0-9 ]+)-----$")
# Any armour that announces a private key, whatever the format: PKCS#8 ("PRIVATE KEY",
# "ENCRYPTED PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY"), DSA, OpenSSH,
# PGP ("PGP PRIVATE KEY BLOCK"). Case-insensitive and tolerant of spacing, because a sloppy
# paste must still be caught; an END line alone counts too (a paste that lost its BEGIN line
# still holds the key). PuTTY key files have no armour but a fixed first line.
_PRIVATE_KEY = re.compile(
    r"-{3,}\s*(?:BEGIN|END)[^\r\n]*PRIVATE\s+KEY|PuTTY-User-Key-File-", re.IGNORECASE
)
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]*$")
CERTIFICATE_LABEL = "CERTIFICATE"


class BundleError(ValueError):
    """The bundle is refused. The message is safe to show and to log: it never quotes input.

    ``code`` is a stable reason for tests, logs and the command line.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def contains_private_key(text: str) -> bool:
    """True when ``text`` holds anything that looks like private-key armour."""
    return _PRIVATE_KEY.search(text) is not None


def private_key_line(text: str) -> int | None:
    """The line (1-based; CRLF and CR count as one line break) of the first private-key
    armour in ``text``, or None. A line number finds the key in a long paste without
    quoting any of it."""
    found = _PRIVATE_KEY.search(text)
    if found is None:
        return None
    before = text[: found.start()].replace("\r\n", "\n").replace("\r", "\n")
    return before.count("\n") + 1


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file, or :class:`BundleError` if it is not PEM text.

    DER (binary) files are refused with a hint rather than guessed at.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise _too_large(len(data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleError(
            "not_pem",
            "the file is not PEM text (binary DER?); convert it with "
            "`openssl x509 -inform der -in FILE` and upload the PEM",
        ) from None


def parse_pem_bundle(text: str) -> list[x509.Certificate]:
    """Parse every ``CERTIFICATE`` block of ``text``, in order; refuse anything else.

    Raises :class:`BundleError` for: a private key anywhere (checked first, over the whole
    input, before anything else is read); input over :data:`MAX_BUNDLE_BYTES`; more than
    :data:`MAX_CERTIFICATES` certificates; no certificate at all; a block of another type; a
    block without its END line; damaged base64 or DER.
    """
    key_line = private_key_line(text)
    if key_line is not None:
        # Only the line number: it is enough to find the key, while its content must never
        # appear in a message, a log line or the database.
        raise BundleError(
            "private_key",
            f"the input contains a private key (line {key_line}); remove it and upload only "
            "the CA certificates (a private key must never leave the machine it was made on)",
        )
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BUNDLE_BYTES:
        raise _too_large(size)

    certificates: list[x509.Certificate] = []
    for block_number, (label, body) in enumerate(_blocks(text), start=1):
        if label != CERTIFICATE_LABEL:
            raise BundleError(
                "not_a_certificate",
                f"block #{block_number} is a {label!r} block; only CERTIFICATE blocks are accepted",
            )
        number = len(certificates) + 1
        if number > MAX_CERTIFICATES:
            raise BundleError(
                "too_many_certificates",
                f"the bundle holds more than {MAX_CERTIFICATES} certificates; "
                "upload a root and its intermediates only",
            )
        certificates.append(_load(number, body))
    if not certificates:
        raise BundleError(
            "no_certificate",
            "no certificate found: paste PEM blocks that start with -----BEGIN CERTIFICATE-----",
        )
    return certificates


def _too_large(size: int) -> BundleError:
    return BundleError(
        "too_large",
        f"the bundle is {size} bytes; the limit is {MAX_BUNDLE_BYTES} bytes "
        f"({MAX_BUNDLE_BYTES // 1024} KiB)",
    )


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(label, body lines) of each armoured block; text outside blocks is ignored."""
    blocks: list[tuple[str, list[str]]] = []
    label: str | None = None
    body: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        begin, end = _BEGIN.match(line), _END.match(line)
        if label is None:
            if begin:
                label, body = begin.group(1), []
            continue
        number = len(blocks) + 1
        if begin:
            raise BundleError(
                "unterminated_block",
                f"block #{number} ({label}) has no END line before the next BEGIN",
            )
        if end:
            if end.group(1) != label:
                raise BundleError(
                    "unterminated_block",
                    f"block #{number} begins as {label} but ends as {end.group(1)}",
                )
            blocks.append((label, body))
            label = None
        elif line:
            body.append(line)
    if label is not None:
        raise BundleError(
            "unterminated_block",
            f"block #{len(blocks) + 1} ({label}) has no END line; was the paste cut short?",
        )
    return blocks


def _load(number: int, body: list[str]) -> x509.Certificate:
    if any(not _BASE64_LINE.match(line) for line in body):
        # Also catches RFC 1421 headers ("Proc-Type: 4,ENCRYPTED"), which certificates never have.
        raise BundleError(
            "bad_encoding", f"certificate #{number}: its body is not base64 (damaged paste?)"
        )
    try:
        der = base64.b64decode("".join(body), validate=True)
    except binascii.Error:
        raise BundleError(
            "bad_encoding", f"certificate #{number}: its base64 body is damaged or truncated"
        ) from None
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise BundleError(
            "bad_certificate", f"certificate #{number} is not a valid X.509 certificate"
        ) from None
