"""Client-certificate forwarding (Cloudflare's ``client_certificate_forwarding``): the origin
of a hostname with the setting on receives the verified client certificate as
``Cf-Client-Cert-Der-Base64`` (the leaf's DER, base64) and ``Cf-Client-Cert-Sha256`` (its
SHA-256, hex). A client's own copy of either header is always removed, setting or not.

The setting is part of the snapshot (``HostConfig.forward_client_certificate``). The DER is
read from the forwarded header once per distinct certificate and remembered (bounded), so a
warm request costs a dictionary lookup.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from accessctl.core.forwarded import ForwardedCertError, decode
from accessctl.core.memo import ExpiringLru
from accessctl.core.request import Ruling, meta_key
from apps.base.conf import access_settings

DER_HEADER = "Cf-Client-Cert-Der-Base64"
SHA256_HEADER = "Cf-Client-Cert-Sha256"
CLIENT_COPIES = (meta_key(DER_HEADER), meta_key(SHA256_HEADER))
REMEMBERED = 4096
# fingerprint → base64 DER of verified leaves, until the leaf expires.
encoded_leaves: ExpiringLru[str, str] = ExpiringLru(REMEMBERED)


def strip_client_copies(request: HttpRequest) -> None:
    """Remove the headers a client sent under these names (they are never believed)."""
    for key in CLIENT_COPIES:
        request.META.pop(key, None)


def _encoded_leaf(request: HttpRequest, ruling: Ruling, now: dt.datetime) -> str | None:
    identity = ruling.access.identity if ruling.access is not None else None
    if identity is None:
        return None
    found = encoded_leaves.get(identity.fingerprint_sha256, now)
    if found is not None:
        return found
    conf = access_settings()
    value = str(request.META.get(conf.client_cert_meta, ""))
    try:
        forwarded = decode(
            conf.client_cert_format, value, "", max_intermediates=conf.max_chain_depth
        )
    except ForwardedCertError:
        return None
    if forwarded is None:
        return None
    der = forwarded.leaf
    if hashlib.sha256(der).hexdigest() != identity.fingerprint_sha256:
        return None  # not the certificate the ruling verified: forward nothing
    encoded = base64.b64encode(der).decode("ascii")
    encoded_leaves.put(identity.fingerprint_sha256, encoded, identity.not_after)
    return encoded


def forwarded_certificate(request: HttpRequest, ruling: Ruling) -> tuple[str, str] | None:
    """The two header values for an allowed request whose hostname forwards the certificate,
    else None."""
    host_config = ruling.host_config
    if host_config is None or not host_config.forward_client_certificate:
        return None
    identity = ruling.access.identity if ruling.access is not None else None
    encoded = _encoded_leaf(request, ruling, timezone.now())
    if identity is None or encoded is None:
        return None
    return encoded, identity.fingerprint_sha256


def pass_to_origin(request: HttpRequest, ruling: Ruling) -> None:
    """Before the view: never the client's copies; the verified certificate when forwarded."""
    strip_client_copies(request)
    values = forwarded_certificate(request, ruling)
    if values is not None:
        request.META[CLIENT_COPIES[0]], request.META[CLIENT_COPIES[1]] = values


def add_to_forward_auth(response: HttpResponseBase, request: HttpRequest, ruling: Ruling) -> None:
    """Forward-auth: the headers for the proxy to pass upstream (deploy/nginx/forward-auth.conf)."""
    values = forwarded_certificate(request, ruling)
    if values is not None:
        response[DER_HEADER], response[SHA256_HEADER] = values
