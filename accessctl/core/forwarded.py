"""Decoding the client certificate a TLS terminator forwards in a request header.

Every terminator has its own spelling (see :data:`FORMATS`); all of them decode here to the
DER of the leaf and of any intermediates forwarded with it. Decoding is strict and cheap:

- the raw value is size-checked (:data:`MAX_HEADER_BYTES`) before anything else is done;
- characters outside the format's alphabet (NUL, CR/LF where the format has none, non-ASCII)
  are refused, as is a value that is still percent-encoded after one round of decoding
  (double encoding: no certificate encoding ever contains ``%``);
- a comma where the format has none means the header arrived twice and WSGI joined the copies:
  refused, never "first wins";
- any PEM block other than CERTIFICATE (above all a PRIVATE KEY) is refused, and so is text
  between PEM blocks;
- each DER must be exactly one well-formed ASN.1 SEQUENCE (a truncated body is caught here,
  without parsing the certificate).

Every failure raises :class:`ForwardedCertError` with a stable ``reason`` code; nothing else
escapes. An empty value means "no certificate presented" and decodes to ``None``.

Parsing the DER into certificates (:func:`load_chain`) is a separate step so that the request
path can look its verification result up by the bytes first and parse only on a cache miss.

Envoy's ``X-Forwarded-Client-Cert`` rule: exactly one element is accepted. Several elements
mean the header was appended to by more than one hop (``forward_client_cert_details:
APPEND_FORWARD``) or by the client; which element speaks for the connection cannot be told
safely, so the request is refused (``xfcc_multiple_elements``). Configure the edge Envoy with
``SANITIZE_SET``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography import x509

from accessctl.core.identity import UNREADABLE, unreadable_detail
from accessctl.core.reasons import Reason

# Far above a real chain (a 4-certificate RSA-4096 chain URL-encoded is about 12 KiB) and far
# below anything that costs time to refuse. Checked on the raw value, before any decoding.
MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_INTERMEDIATES = 4

# Header names per format (the operator can override the leaf header). RFC 9440 also reads
# its chain from a second header, Client-Cert-Chain.
FORMATS: dict[str, str] = {
    "nginx": "X-SSL-Client-Cert",
    "nginx-pem": "X-SSL-Client-Cert",
    "envoy": "X-Forwarded-Client-Cert",
    "traefik": "X-Forwarded-Tls-Client-Cert",
    "der-base64": "X-SSL-Client-Cert-Der",
    "alb": "X-Amzn-Mtls-Clientcert",
    "rfc9440": "Client-Cert",
}
RFC9440_CHAIN_HEADER = "Client-Cert-Chain"


class ForwardedCertError(ValueError):
    """The forwarded value cannot be used. ``reason`` is a stable code for the log."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ForwardedCertificate:
    """The DER of the presented leaf and of the intermediates forwarded with it (untrusted)."""

    leaf: bytes
    chain: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadedChain:
    """A :class:`ForwardedCertificate` parsed into certificates."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]


def header_for(fmt: str, override: str = "") -> str:
    """The header a format is read from: the operator's override, else the format's default."""
    if fmt not in FORMATS:
        raise ForwardedCertError(Reason.UNKNOWN_FORMAT, f"{fmt!r} is not one of {sorted(FORMATS)}")
    return override or FORMATS[fmt]


def decode(
    fmt: str,
    value: str,
    chain_value: str = "",
    *,
    max_intermediates: int = DEFAULT_MAX_INTERMEDIATES,
) -> ForwardedCertificate | None:
    """Decode a forwarded header value in format ``fmt``; None when no certificate was sent.

    ``chain_value`` is the second header of formats that have one (RFC 9440
    ``Client-Cert-Chain``). Raises :class:`ForwardedCertError`; never anything else.
    """
    decoder = _DECODERS.get(fmt)
    if decoder is None:
        raise ForwardedCertError(Reason.UNKNOWN_FORMAT, f"{fmt!r} is not one of {sorted(FORMATS)}")
    for part in (value, chain_value):
        if len(part) > MAX_HEADER_BYTES:
            raise ForwardedCertError(Reason.HEADER_TOO_LARGE, f"{len(part)} > {MAX_HEADER_BYTES}")
    if not value.strip(" \t") and not chain_value.strip(" \t"):
        return None
    try:
        ders = decoder(value, chain_value)
    except ForwardedCertError:
        raise
    except (ValueError, UnicodeError) as exc:  # belt and braces: decoders raise our error
        raise ForwardedCertError(Reason.MALFORMED, type(exc).__name__) from None
    return _forwarded(ders, max_intermediates)


def decode_pem(
    text: str, *, max_intermediates: int = DEFAULT_MAX_INTERMEDIATES
) -> ForwardedCertificate | None:
    """A pasted PEM chain (leaf first), read exactly as a forwarded PEM chain is read.

    The policy tester's way in: the same refusals as the request path (a private key, any
    other block, text between blocks, a truncated body, too many intermediates), with the
    same reason codes, so the tester can never accept what enforcement would refuse.
    None when the text is empty.
    """
    if not text.strip():
        return None
    return _forwarded(_pem_certificates(text.replace("\r\n", "\n")), max_intermediates)


def _forwarded(ders: list[bytes], max_intermediates: int) -> ForwardedCertificate | None:
    """The decoded DER as a :class:`ForwardedCertificate`, after the checks every format
    shares: the number of intermediates, and each DER's envelope."""
    if not ders:
        return None
    if len(ders) - 1 > max_intermediates:
        raise ForwardedCertError(
            Reason.CHAIN_TOO_LONG, f"{len(ders) - 1} intermediates > {max_intermediates}"
        )
    for der in ders:
        _check_der_envelope(der)
    return ForwardedCertificate(leaf=ders[0], chain=tuple(ders[1:]))


def load_chain(forwarded: ForwardedCertificate) -> LoadedChain:
    """Parse the DER into certificates; raise :class:`ForwardedCertError` if one is not.

    A forwarded intermediate that is not a CA (no basicConstraints CA:TRUE) is a second leaf
    where one was expected: refused rather than silently ignored. A certificate whose
    extensions cannot be read (malformed, or one of them twice) is refused here, before
    verification, as ``cert_malformed``: nothing later has to expect it.
    """
    try:
        leaf = x509.load_der_x509_certificate(forwarded.leaf)
        intermediates = tuple(x509.load_der_x509_certificate(d) for d in forwarded.chain)
    except ValueError as exc:
        raise ForwardedCertError(Reason.CERT_MALFORMED, str(exc)[:200]) from None
    try:
        leaf.extensions  # noqa: B018 -- parsed once here (cryptography keeps the result)
    except UNREADABLE as exc:
        raise ForwardedCertError(Reason.CERT_MALFORMED, unreadable_detail(exc)) from None
    for cert in intermediates:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        except UNREADABLE as exc:
            raise ForwardedCertError(Reason.CERT_MALFORMED, unreadable_detail(exc)) from None
        if not is_ca:
            raise ForwardedCertError(Reason.MULTIPLE_LEAVES, "a forwarded intermediate is not a CA")
    return LoadedChain(leaf=leaf, intermediates=intermediates)


# --- building blocks --------------------------------------------------------------------------

_PEM_VALUE = re.compile(r"^[A-Za-z0-9+/=%\-\s]*$")  # URL-encoded PEM, after a size check
_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----([^-]*)-----END ([A-Z0-9 ]{1,40})-----")


def _b64(text: str, what: str) -> bytes:
    if not _B64.match(text) or len(text) % 4:
        raise ForwardedCertError(Reason.BAD_BASE64, what)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ForwardedCertError(Reason.BAD_BASE64, what) from None


def _no_comma(value: str) -> None:
    if "," in value:
        raise ForwardedCertError(
            Reason.REPEATED_HEADER, "a comma: the header was sent more than once"
        )


def _url_decode(value: str) -> str:
    """One round of percent-decoding (never ``+`` → space); a ``%`` left over is double encoding."""
    if not value.isascii() or not _PEM_VALUE.match(value):
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "outside the URL-encoded PEM alphabet")
    if any(c in value for c in "\r\n\0"):
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "raw CR, LF or NUL")
    try:
        text = unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "percent-encoded non-UTF-8") from None
    if "%" in text:
        raise ForwardedCertError(Reason.DOUBLE_ENCODED, "still percent-encoded after decoding")
    return text


def _pem_certificates(text: str) -> list[bytes]:
    """DER of every CERTIFICATE block; refuse keys, other blocks and text between blocks."""
    if "\0" in text:
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "NUL")
    if "PRIVATE KEY" in text:
        raise ForwardedCertError(Reason.PRIVATE_KEY, "a PRIVATE KEY block was forwarded")
    ders: list[bytes] = []
    position = 0
    for match in _PEM_BLOCK.finditer(text):
        if text[position : match.start()].strip():
            raise ForwardedCertError(Reason.PEM_MALFORMED, "text outside PEM blocks")
        label, body, end_label = match.groups()
        if label != "CERTIFICATE" or end_label != label:
            raise ForwardedCertError(Reason.PEM_UNEXPECTED_BLOCK, label[:40])
        ders.append(_b64("".join(body.split()), "PEM body"))
        position = match.end()
    if text[position:].strip() or not ders:
        raise ForwardedCertError(Reason.PEM_MALFORMED, "not a complete PEM certificate")
    return ders


def _check_der_envelope(der: bytes) -> None:
    """One DER SEQUENCE whose length covers the bytes exactly: catches truncation cheaply."""
    if len(der) < 4 or der[0] != 0x30:
        raise ForwardedCertError(Reason.CERT_MALFORMED, "not a DER SEQUENCE")
    first = der[1]
    if first < 0x80:
        length, offset = first, 2
    else:
        count = first & 0x7F
        if not 1 <= count <= 3 or len(der) < 2 + count:
            raise ForwardedCertError(Reason.CERT_MALFORMED, "bad DER length")
        length, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if offset + length != len(der):
        raise ForwardedCertError(Reason.CERT_MALFORMED, "DER length does not match (truncated?)")


# --- one decoder per format -------------------------------------------------------------------


def _nginx(value: str, _chain: str) -> list[bytes]:
    """``$ssl_client_escaped_cert``: the URL-encoded PEM of the leaf only."""
    _no_comma(value)
    ders = _pem_certificates(_url_decode(value.strip(" \t")))
    if len(ders) > 1:
        raise ForwardedCertError(Reason.MULTIPLE_LEAVES, "nginx forwards the leaf only")
    return ders


_FOLDED = re.compile(r"^[A-Za-z0-9+/=\- \t]*$")


def _nginx_pem(value: str, _chain: str) -> list[bytes]:
    """Old ``$ssl_client_cert``: PEM whose continuation lines start with a tab (obs-fold).

    Servers either keep the fold (LF + tab) or unfold it to spaces; both are accepted. A LF
    not followed by a tab or space, or a CR not followed by LF, would end the header: refused.
    """
    _no_comma(value)
    if re.search(r"\r(?!\n)|\n(?![\t ])", value):
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "CR/LF that is not a header fold")
    unfolded = value.replace("\r\n", "\n").replace("\n", " ")
    if "%" in unfolded:
        raise ForwardedCertError(Reason.DOUBLE_ENCODED, "percent-encoding in a raw PEM header")
    if not unfolded.isascii() or not _FOLDED.match(unfolded):
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "outside the PEM alphabet")
    # Restore the line breaks PEM needs around the armour; the body's whitespace is dropped.
    text = re.sub(r"(-----(?:BEGIN|END) [A-Z0-9 ]+-----)", r"\n\1\n", unfolded)
    ders = _pem_certificates(text)
    if len(ders) > 1:
        raise ForwardedCertError(Reason.MULTIPLE_LEAVES, "nginx forwards the leaf only")
    return ders


def _xfcc_elements(value: str) -> list[dict[str, str]]:
    """Split an XFCC value into elements of key/value pairs, honouring quotes and ``\\"``."""
    elements: list[dict[str, str]] = [{}]
    key: str | None = None
    buf: list[str] = []
    i, n = 0, len(value)

    def finish_pair() -> None:
        nonlocal key
        if key is None:
            if "".join(buf).strip():
                raise ForwardedCertError(Reason.XFCC_MALFORMED, "a pair without '='")
            return
        name = key.strip().lower()
        if not name or name in elements[-1]:
            raise ForwardedCertError(Reason.XFCC_MALFORMED, f"empty or repeated key {name!r}")
        elements[-1][name] = "".join(buf)
        key = None

    while i < n:
        ch = value[i]
        if ch == '"' and key is not None and not "".join(buf).strip():
            buf.clear()
            i += 1
            while True:
                if i >= n:
                    raise ForwardedCertError(Reason.XFCC_MALFORMED, "unterminated quoted value")
                ch = value[i]
                if ch == "\\" and i + 1 < n:
                    buf.append(value[i + 1])
                    i += 2
                    continue
                if ch == '"':
                    i += 1
                    break
                buf.append(ch)
                i += 1
            if i < n and value[i] not in ";,":
                raise ForwardedCertError(Reason.XFCC_MALFORMED, "text after a quoted value")
            continue
        if ch == "=" and key is None:
            key = "".join(buf)
            buf.clear()
        elif ch == ";":
            finish_pair()
            buf.clear()
        elif ch == ",":
            finish_pair()
            buf.clear()
            elements.append({})
        else:
            buf.append(ch)
        i += 1
    finish_pair()
    return elements


def _envoy(value: str, _chain: str) -> list[bytes]:
    """``X-Forwarded-Client-Cert`` with exactly one element; ``Cert`` and/or ``Chain``."""
    if any(c in value for c in "\r\n\0") or not value.isascii():
        raise ForwardedCertError(Reason.BAD_CHARACTERS, "control or non-ASCII characters")
    elements = _xfcc_elements(value)
    if len(elements) != 1:
        raise ForwardedCertError(Reason.XFCC_MULTIPLE_ELEMENTS, f"{len(elements)} elements")
    element = elements[0]
    cert = _pem_certificates(_url_decode(element["cert"])) if element.get("cert") else []
    chain = _pem_certificates(_url_decode(element["chain"])) if element.get("chain") else []
    if len(cert) > 1:
        raise ForwardedCertError(Reason.MULTIPLE_LEAVES, "Cert holds more than one certificate")
    if cert and chain and chain[0] != cert[0]:
        raise ForwardedCertError(Reason.XFCC_CHAIN_MISMATCH, "Chain does not start with Cert")
    return chain or cert


def _traefik(value: str, _chain: str) -> list[bytes]:
    """``X-Forwarded-Tls-Client-Cert``: URL-escaped base64 DER bodies joined by ``,``.

    The comma is Traefik's own separator, so a repeated header cannot be told from a chain
    here; Traefik overwrites the header it sets, and any extra element is only ever an
    untrusted intermediate (a non-CA one is refused as a second leaf by :func:`load_chain`).
    """
    return [_b64(_url_decode(part.strip(" \t")), "Traefik element") for part in value.split(",")]


def _der_base64(value: str, _chain: str) -> list[bytes]:
    """HAProxy ``ssl_c_der,base64``, Caddy ``certificate_der_base64``, Cloudflare header."""
    _no_comma(value)
    return [_b64(value.strip(" \t"), "base64 DER")]


def _alb(value: str, _chain: str) -> list[bytes]:
    """``X-Amzn-Mtls-Clientcert``: URL-encoded PEM chain, leaf first, ``+=/`` left raw."""
    _no_comma(value)
    return _pem_certificates(_url_decode(value.strip(" \t")))


def _sf_binary(item: str) -> bytes:
    item = item.strip(" \t")
    if len(item) < 3 or item[0] != ":" or item[-1] != ":":
        raise ForwardedCertError(Reason.BAD_STRUCTURED_FIELD, "not a :base64: byte sequence")
    return _b64(item[1:-1], "RFC 9440 byte sequence")


def _rfc9440(value: str, chain_value: str) -> list[bytes]:
    """``Client-Cert: :b64:`` (one item) and ``Client-Cert-Chain`` (a list, may be repeated)."""
    if not value.strip(" \t"):
        raise ForwardedCertError(Reason.CHAIN_WITHOUT_LEAF, "Client-Cert-Chain without Client-Cert")
    _no_comma(value)
    chain = [_sf_binary(item) for item in chain_value.split(",")] if chain_value.strip() else []
    return [_sf_binary(value), *chain]


_DECODERS: dict[str, Callable[[str, str], list[bytes]]] = {
    "nginx": _nginx,
    "nginx-pem": _nginx_pem,
    "envoy": _envoy,
    "traefik": _traefik,
    "der-base64": _der_base64,
    "alb": _alb,
    "rfc9440": _rfc9440,
}
