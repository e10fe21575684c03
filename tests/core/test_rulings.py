"""A ruling handed out again for another request keeps everything but its request id."""

from __future__ import annotations

import dataclasses

from accessctl.core.request import Access, Ruling


def _with_every_field_set(cls: type) -> object:
    # A distinct object per field: a field the copy forgot (one added later, say) would come
    # back as its default, not as the object it was given.
    return cls(**{field.name: object() for field in dataclasses.fields(cls)})


def test_a_ruling_for_another_request_keeps_every_field_but_the_request_id():
    ruling = _with_every_field_set(Ruling)
    access = _with_every_field_set(Access)
    ruling = dataclasses.replace(ruling, access=access)
    again = ruling.with_request_id("req-2")
    assert again == dataclasses.replace(
        ruling, request_id="req-2", access=dataclasses.replace(access, request_id="req-2")
    )
    for field in dataclasses.fields(Ruling):
        if field.name not in {"request_id", "access"}:
            assert getattr(again, field.name) is getattr(ruling, field.name), field.name
    for field in dataclasses.fields(Access):
        if field.name != "request_id":
            assert getattr(again.access, field.name) is getattr(access, field.name), field.name


def test_a_ruling_without_access_is_handed_out_without_one():
    ruling = dataclasses.replace(_with_every_field_set(Ruling), access=None)
    assert ruling.with_request_id("req-3").access is None
    assert ruling.with_request_id("req-3").request_id == "req-3"
