"""What every app's dashboard pages share (no model of its own is registered here)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect


class RaceAsMessage:
    """Mixed into a ModelAdmin whose services check again at write time: a service that refuses
    then (a concurrent change got there between the form's check and the write; the
    transaction rolled back) is an error message on the same page, never a 500."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(request.get_full_path())
