"""The dashboard side of the guard against the one-click trap (``apps.policies.guard``).

A save or a delete on the Applications and Access policies pages that would leave a hostname
with a bound CA but no enabled policy is rolled back and answered with an intermediate page,
in the Django admin's style: what would be left unguarded, and a button that posts the same
form again with :data:`CONFIRM_FIELD` set. Nothing is written, logged or announced until the
operator confirms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accessctl.core.guarding import Coverage
from apps.policies.guard import UnguardedChange, check_still_guarded, coverage

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
    from django.forms import BaseFormSet, ModelForm

    _Base = ModelAdmin[Any]
else:
    _Base = object

CONFIRM_FIELD = "_confirm_unguarded"
CONFIRM_TEMPLATE = "admin/policies/confirm_unguarded.html"
# The coverage before a change form's writes, for save_related to compare with (one
# ModelAdmin serves every request, so it cannot hold per-request state itself).
_before: WeakKeyDictionary[HttpRequest, Coverage] = WeakKeyDictionary()


def unguarded_confirmed(request: HttpRequest) -> bool:
    """Whether the operator confirmed, on the intermediate page, leaving places unguarded."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "yes"


class GuardedChangesAdmin(_Base):
    """Mixed into a ModelAdmin whose saves and deletes can unguard a hostname.

    Its ``delete_model``/``delete_queryset`` pass ``allow_unguarded=unguarded_confirmed(request)``
    to the services; saves through the change form are checked as a whole (the form and every
    inline) at the end of ``save_related``.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        def view() -> HttpResponse:
            if request.method == "POST" and not unguarded_confirmed(request):
                _before[request] = coverage()
            return super(GuardedChangesAdmin, self).changeform_view(
                request, object_id, form_url, extra_context
            )

        return self._asking_first(request, view)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._asking_first(
            request,
            lambda: super(GuardedChangesAdmin, self).delete_view(request, object_id, extra_context),
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Actions (Delete selected) are not run in a transaction by Django: the deletion log
        # entries would outlive a refused deletion.
        return self._asking_first(
            request,
            lambda: super(GuardedChangesAdmin, self).changelist_view(request, extra_context),
        )

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm[Any],
        formsets: list[BaseFormSet[Any]],
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        before = _before.pop(request, None)
        if before is not None:
            check_still_guarded(before, allow_unguarded=False)

    def _asking_first(self, request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
        if request.method != "POST":
            return view()
        try:
            with transaction.atomic():
                return view()
        except UnguardedChange as refused:
            return self.confirm_unguarded(request, refused)
        finally:
            _before.pop(request, None)

    def confirm_unguarded(self, request: HttpRequest, refused: UnguardedChange) -> HttpResponse:
        """The intermediate page: what would pass unchecked, and the same POST to confirm."""
        resent = [
            (key, value)
            for key, values in request.POST.lists()
            if key not in ("csrfmiddlewaretoken", CONFIRM_FIELD)
            for value in values
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Leave these unguarded?",
            "places": refused.places,
            "resent": resent,
            "confirm_field": CONFIRM_FIELD,
        }
        return TemplateResponse(request, CONFIRM_TEMPLATE, context)
