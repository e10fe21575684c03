"""Property tests: a structurally broken CA (tests/factories/broken.py) given to the upload
service or the Add mTLS Certificate form is stored whole or refused with a message next to the
field, never an exception, and a refusal writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given

from apps.trust.forms import MtlsCertificateAddForm
from apps.trust.services import certificate_check
from tests.factories import broken, certs
from tests.factories.hosts import HOST
from tests.trust.cases import counts

pytestmark = pytest.mark.django_db

ROOT = certs.make_ca("Upload Broken Root")
INTER = certs.make_ca("Upload Broken Devices", issuer=ROOT)
PROPERTY = broken.examples(60)


@PROPERTY
@given(root=broken.broken_der(ROOT), inter=broken.broken_der(INTER, signer=ROOT))
def test_the_upload_service_refuses_a_broken_bundle_with_a_field_error(root, inter):
    pem = certs.pem_of(root) + certs.pem_of(inter)
    try:
        checked = certificate_check(name="Broken", pem=pem, hostnames=[HOST])
    except ValidationError as exc:
        (error,) = exc.error_dict["pem"]
        assert error.code and error.message
    else:
        assert len(checked.certificates) == 2
    assert counts() == (0, 0, 0)


@PROPERTY
@given(root=broken.broken_der(ROOT))
def test_the_add_form_shows_a_broken_ca_next_to_certificate_content(root):
    form = MtlsCertificateAddForm(
        data={"name": "Broken", "pem": certs.pem_of(root), "hostnames": HOST}
    )
    if not form.is_valid():
        assert set(form.errors) == {"pem"}
        assert all(message for message in form.errors["pem"])
