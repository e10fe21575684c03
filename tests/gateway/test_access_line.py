"""The access log's line is built from remembered parts, and says exactly what the record
says: every field, in the documented order, for every kind of decision, request after
request."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from apps.gateway import config
from apps.gateway.decision import decide, incoming
from apps.gateway.logging import access_line, ruling_record
from tests.factories import certs
from tests.factories.forwarded import escaped
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db


def ruled(path: str = "/", request_id: str = "", cert: str | None = None, peer="127.0.0.1"):
    meta = {"HTTP_HOST": HOST, "REMOTE_ADDR": peer}
    if cert is not None:
        meta["HTTP_X_SSL_CLIENT_CERT"] = cert
    if request_id:
        meta["HTTP_X_REQUEST_ID"] = request_id
    request = RequestFactory().get(path, **meta)
    req = incoming(request, host=HOST, path=path)
    return req, decide(req)


def same_as_record(req, ruling) -> None:
    line = access_line(req, ruling)
    assert "\n" not in line
    fields = json.loads(line)
    record = ruling_record(req, ruling)
    assert list(fields) == list(record), "the documented order"
    fields.pop("time"), record.pop("time")
    assert fields == record


def test_every_kind_of_decision_reads_as_its_record(guarded, pki):
    config.bump_version()
    stranger = certs.make_leaf(certs.make_ca("Stranger CA"), "device-1")
    for cert in (escaped(pki.leaf), None, escaped(stranger), "garbage"):
        for _ in range(2):  # the second line is made from the remembered part
            same_as_record(*ruled(cert=cert))


def test_the_per_request_fields_are_never_remembered(guarded, pki):
    config.bump_version()
    first = json.loads(access_line(*ruled("/a", "proxy-id-1", escaped(pki.leaf))))
    second = json.loads(access_line(*ruled('/b/ü"x', "proxy-id-2", escaped(pki.leaf))))
    assert (first["path"], first["request_id"]) == ("/a", "proxy-id-1")
    assert (second["path"], second["request_id"]) == ('/b/ü"x', "proxy-id-2")
    assert first["cert_common_name"] == second["cert_common_name"] == "device-1"


def test_a_line_is_ascii_whatever_the_path(guarded, pki):
    config.bump_version()
    line = access_line(*ruled("/ü/\u2028/\x01", cert=escaped(pki.leaf)))
    assert line.isascii()
    assert json.loads(line)["path"] == "/ü/\u2028/\x01"
