"""Requests for one-time PINs racing on several workers: no more codes pass the limit than
it allows. Each thread has its own database connection, as a gunicorn worker does.

These need a server database that several connections share: skipped (with the reason) when
the suite runs on in-memory SQLite; CI runs the suite again on PostgreSQL and Redis, where
they run.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from apps.identity import pins
from apps.identity.models import PinRequest
from apps.identity.pins import pin_request_allow
from tests.gateway.processes import server_database_reason

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)
RACERS = 16


@pytest.fixture(autouse=True)
def server_database():
    reason = server_database_reason()
    if reason:
        pytest.skip(reason)


def race(email: str, client: str) -> list[bool]:
    """RACERS requests at once, each on its own connection; their answers."""
    start = threading.Barrier(RACERS)
    answers: list[bool] = []

    def worker() -> None:
        try:
            start.wait()
            answers.append(pin_request_allow(email=email, client=client, now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == RACERS
    return answers


def test_codes_asked_at_once_for_one_address_never_pass_its_limit():
    for _ in range(3):
        PinRequest.objects.all().delete()
        granted = race("ada@example.com", "192.0.2.7").count(True)
        assert granted <= pins.PER_ADDRESS  # racing at the limit, all may be refused
        assert PinRequest.objects.count() == granted  # the refused left no row behind


def test_codes_asked_at_once_from_one_network_never_pass_its_limit():
    PinRequest.objects.bulk_create(
        PinRequest(created_at=NOW, address_hmac=f"{n:064x}", client="192.0.2.7")
        for n in range(pins.PER_CLIENT - 3)
    )
    answers = []
    for n in range(2):
        answers += race(f"p{n}@example.com", "192.0.2.7")  # 2 x RACERS
    assert answers.count(True) <= 3
    assert PinRequest.objects.count() <= pins.PER_CLIENT
