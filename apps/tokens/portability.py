"""The tokens' section of ``accessctl export``: the signing keys, private halves only in
their encrypted form (AES-GCM under ``ACCESSCTL_KEY_ENCRYPTION_SECRET``, as stored), or none
at all with ``--without-secrets``.

Restored as they were (generation, times, ciphertext), so that sessions and origins' cached
JWKS carry on. A key that signs now or later must decrypt with this server's secret, or the
import is refused: set the same ``ACCESSCTL_KEY_ENCRYPTION_SECRET`` as the exporting server,
or export ``--without-secrets`` (the server then makes a fresh key on first need).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import transaction
from django.utils import timezone

from accessctl.core import tokens
from apps.base.portability import ExportOptions, ImportContext, Reader, Section, timestamp
from apps.tokens.keys import SigningKeyUnavailable, forget_key_ring, unseal_private_key
from apps.tokens.models import SigningKey

VERSION = 1


def dump(options: ExportOptions) -> dict[str, Any]:
    """Every stored key, oldest first; none without secrets."""
    if not options.secrets:
        return {"signing_keys": [], "left_out": True}
    return {
        "signing_keys": [
            {
                "generation": key.generation,
                "kid": key.kid,
                "algorithm": key.algorithm,
                "public_key_pem": key.public_key_pem,
                "certificate_pem": key.certificate_pem,
                "encrypted_private_key": base64.b64encode(
                    bytes(key.encrypted_private_key)
                ).decode(),
                "created_at": timestamp(key.created_at),
                "signs_from": timestamp(key.signs_from),
                "retired_at": timestamp(key.retired_at),
            }
            for key in SigningKey.objects.order_by("generation")
        ]
    }


def _public_key(item: Reader) -> tokens.PublicKey:
    try:
        public = serialization.load_pem_public_key(item.text("public_key_pem").encode())
    except ValueError:
        raise item.refuse("not a PEM public key", "public_key_pem") from None
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise item.refuse("neither an RSA nor an EC key", "public_key_pem")
    return public


def load(reader: Reader, version: int, context: ImportContext) -> None:
    """Check each key (its kid, its algorithm, and that it decrypts when it still signs)."""
    now = timezone.now()
    generations: set[int] = set()
    for item in reader.items("signing_keys"):
        kid, generation = item.text("kid"), item.whole("generation")
        if generation < 1 or generation in generations:
            raise item.refuse("generations are 1, 2, 3…, each once", "generation")
        generations.add(generation)
        public = _public_key(item)
        if tokens.jwk_thumbprint(public) != kid:
            raise item.refuse("the kid is not the public key's thumbprint", "kid")
        algorithm = item.text("algorithm")
        if algorithm not in {a.value for a in tokens.Algorithm}:
            raise item.refuse(f"unknown algorithm {algorithm[:20]!r}", "algorithm")
        try:
            sealed = base64.b64decode(item.text("encrypted_private_key"), validate=True)
        except (binascii.Error, ValueError):
            raise item.refuse("not base64", "encrypted_private_key") from None
        created_at, signs_from = item.time("created_at"), item.time("signs_from")
        if created_at is None or signs_from is None:
            raise item.refuse("created_at and signs_from are required")
        retired_at = item.time("retired_at")
        if retired_at is None or retired_at > now:
            try:
                private = unseal_private_key(sealed, kid)
            except SigningKeyUnavailable:
                raise item.refuse(
                    f"signing key {kid} cannot be decrypted with this server's "
                    "ACCESSCTL_KEY_ENCRYPTION_SECRET: set the exporting server's, or export "
                    "--without-secrets"
                ) from None
            if tokens.jwk_thumbprint(private.public_key()) != kid:
                raise item.refuse("the private key is not the public key's pair")
        SigningKey.objects.create(
            generation=generation,
            kid=kid,
            algorithm=algorithm,
            public_key_pem=item.text("public_key_pem"),
            certificate_pem=item.text("certificate_pem"),
            encrypted_private_key=sealed,
            created_at=created_at,
            signs_from=signs_from,
            retired_at=retired_at,
        )
    transaction.on_commit(forget_key_ring)


def count() -> str:
    """``"2 signing keys"``, or empty."""
    held = SigningKey.objects.count()
    return f"{held} signing key{'s' if held != 1 else ''}" if held else ""


SECTION = Section(name="tokens", version=VERSION, dump=dump, load=load, count=count)
