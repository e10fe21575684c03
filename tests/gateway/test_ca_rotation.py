"""CA rotation: two CAs on one hostname during a rotation are both accepted, and removing the
old one refuses its clients on the next request while the new ones never fail."""

from __future__ import annotations

import pytest

from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def test_both_cas_are_accepted_and_removing_the_old_one_refuses_only_its_clients(
    client, django_capture_on_commit_callbacks
):
    old_ca, new_ca = certs.make_ca("Devices 2025"), certs.make_ca("Devices 2026")
    old_client = escaped(certs.make_leaf(old_ca, "device-1"))
    new_client = escaped(certs.make_leaf(new_ca, "device-1"))
    with django_capture_on_commit_callbacks(execute=True):
        old_bundle = upload_ca("Old", [HOST], old_ca)
        add_policy()
    assert fetch(client, cert=old_client).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        upload_ca("New", [HOST], new_ca)
    assert fetch(client, cert=old_client).status_code == 200
    assert fetch(client, cert=new_client).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        old_bundle.delete()
    assert fetch(client, cert=new_client).status_code == 200
    assert fetch(client, cert=old_client).status_code == 403  # the cached result is not reused
