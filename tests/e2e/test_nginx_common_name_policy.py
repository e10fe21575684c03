"""A Common Name policy through nginx: device.localhost lets in only CN "device-7"."""

from __future__ import annotations

from tests.e2e.stack import DEVICE, Stack


def test_the_named_device_is_let_in(stack: Stack) -> None:
    response = stack.https(DEVICE, client="device-7")

    assert response.status == 200
    assert "CF_Authorization" in response.set_cookies()


def test_another_device_of_the_same_ca_is_kept_out(stack: Stack) -> None:
    assert stack.https(DEVICE, client="good").status == 403
