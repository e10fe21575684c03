"""Through nginx over real TLS: a leaf on its intermediate's CRL, a leaf under an intermediate
on the root's CRL, and a leaf revoked by fingerprint are refused (403), as is the session
cookie issued to it before; a sibling that is not revoked goes on. Configured through the
real `accessctl certificates crl add` and `revoke`, on a bundle of its own bound to
valid.localhost beside CA A (two CAs on a hostname, as during rotation), removed afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.stack import VALID, CertFiles, Stack
from tests.factories import certs as certfactory
from tests.gateway.processes import every_node_has_it

BUNDLE = "e2e Revocation"


def until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds (the workers pick up the change)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def revocable(stack: Stack) -> Iterator[dict[str, certfactory.Issued]]:
    root = certfactory.make_ca("e2e Revocation Root")
    first = certfactory.make_ca("e2e Revocation Devices", issuer=root)
    second = certfactory.make_ca("e2e Revocation Contractors", issuer=root)
    pki = {
        "root": root,
        "first": first,
        "second": second,
        "rev-crl": certfactory.make_leaf(first, "on-the-crl"),
        "rev-kept": certfactory.make_leaf(first, "kept"),
        "rev-laptop": certfactory.make_leaf(first, "laptop"),
        "rev-contractor": certfactory.make_leaf(second, "contractor"),
    }
    for name in ("rev-crl", "rev-kept", "rev-laptop", "rev-contractor"):
        stack.clients[name] = CertFiles(pki[name], *pki[name].write(stack.root, name))
    bundle = stack.root / "revocation-bundle.pem"
    bundle.write_text(certfactory.pem_bundle(root, first, second))
    stack.accessctl("certificates", "add", "--name", BUNDLE, "--hostname", VALID, str(bundle))
    yield pki
    stack.accessctl("certificates", "remove", BUNDLE)
    stack.accessctl("certificates", "unrevoke", "--fingerprint", pki["rev-laptop"].fingerprint)


def status(stack: Stack, client: str) -> int:
    return stack.https(VALID, client=client).status


def test_revoked_leaves_and_a_revoked_intermediate_are_refused_through_nginx(
    stack: Stack, revocable: dict[str, certfactory.Issued]
) -> None:
    for client in ("rev-crl", "rev-kept", "rev-contractor"):
        assert until(lambda client=client: status(stack, client) == 200), stack.logs()
    leaf_crl = stack.root / "first.crl"
    leaf_crl.write_bytes(certfactory.make_crl(revocable["first"], (revocable["rev-crl"],)).der)
    root_crl = stack.root / "root.crl"
    root_crl.write_bytes(certfactory.make_crl(revocable["root"], (revocable["second"],)).pem)
    stack.accessctl("certificates", "crl", "add", BUNDLE, str(leaf_crl))
    stack.accessctl("certificates", "crl", "add", BUNDLE, str(root_crl))

    assert until(lambda: status(stack, "rev-crl") == 403), stack.logs()
    assert until(lambda: status(stack, "rev-contractor") == 403), stack.logs()
    assert status(stack, "rev-kept") == 200
    assert status(stack, "good") == 200  # CA A's clients on the same hostname


def test_a_leaf_revoked_by_fingerprint_and_its_session_are_refused_through_nginx(
    stack: Stack, revocable: dict[str, certfactory.Issued]
) -> None:
    assert until(lambda: status(stack, "rev-laptop") == 200), stack.logs()
    token = stack.https(VALID, client="rev-laptop").cookie_value("CF_Authorization")
    assert token
    assert stack.https(VALID, cookie=token).status == 200

    stack.accessctl(
        "certificates", "revoke", "--fingerprint", revocable["rev-laptop"].fingerprint,
        "--reason", "lost laptop",
    )  # fmt: skip

    # Within a second on every node, whichever worker answers.
    every_node_has_it()
    assert stack.https(VALID, cookie=token).status == 403, stack.logs()
    assert status(stack, "rev-laptop") == 403
