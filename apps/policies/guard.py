"""The guard against the one-click trap: a write that would leave a hostname with a bound CA
but no enabled policy (so its requests pass unchecked) is refused unless its caller says, in
so many words, that this is meant.

Every service that can do it (``policy_delete``, ``policy_set_enabled``, ``application_update``,
``application_set_policies``, ``application_delete``, ``application_create``) takes a
keyword-only ``allow_unguarded=False`` and raises :class:`UnguardedChange` (a
``ValidationError``, nothing written) when the change would; the dashboard asks on a
confirmation page, the command line wants ``--yes``, the API a flag in the request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import transaction

from accessctl.core.guarding import Coverage, newly_unguarded
from apps.policies.hostnames import bound_hostnames
from apps.policies.models import Application, ApplicationDomain

UNGUARDED_CODE = "unguarded"
YES_HELP = "make the change even if it leaves a hostname with a bound CA but no enabled policy"


class UnguardedChange(ValidationError):
    """A change refused because it leaves ``places`` (``host`` or ``host/path``) with a bound
    CA but no enabled policy; pass ``allow_unguarded=True`` to make it anyway."""

    def __init__(self, places: Sequence[str]) -> None:
        self.places = tuple(places)
        super().__init__(
            {
                "__all__": [
                    ValidationError(unguarded_message(self.places), code=UNGUARDED_CODE),
                ]
            }
        )


def unguarded_message(places: Sequence[str]) -> str:
    """What the refusal says, wherever it is shown."""
    listed = ", ".join(places)
    return (
        f"This change leaves {listed} with a bound CA but no enabled policy: requests there "
        "would pass through unchecked. Confirm to make it anyway."
    )


def unguarded_refusal(refused: UnguardedChange) -> str:
    """The command line's one line for a refused change."""
    return (
        f"this leaves {', '.join(refused.places)} with a bound CA but no enabled policy "
        "(requests there would pass unchecked); add --yes to do it anyway"
    )


def coverage() -> Coverage:
    """Each hostname's domains of enabled applications, with whether the application has an
    enabled policy (two queries)."""
    guarded = set(
        Application.objects.filter(enabled=True, policy_links__policy__enabled=True).values_list(
            "pk", flat=True
        )
    )
    routes: dict[str, dict[str, bool]] = {}
    for hostname, path, application in ApplicationDomain.objects.filter(
        application__enabled=True
    ).values_list("hostname", "path_prefix", "application_id"):
        routes.setdefault(hostname, {})[path or "/"] = application in guarded
    return routes


def check_still_guarded(before: Coverage, *, allow_unguarded: bool) -> None:
    """Raise :class:`UnguardedChange` if the database, as it is now, guards less than
    ``before`` did on a hostname with a bound CA (unless ``allow_unguarded``)."""
    if allow_unguarded:
        return
    lost = newly_unguarded(before, coverage(), bound_hostnames())
    if lost:
        raise UnguardedChange(lost)


@contextmanager
def keeping_hostnames_guarded(*, allow_unguarded: bool) -> Iterator[None]:
    """Run the block in a transaction that is rolled back, with :class:`UnguardedChange`, if
    it leaves a guarded place of a bound hostname unguarded (unless ``allow_unguarded``)."""
    with transaction.atomic():
        before = {} if allow_unguarded else coverage()
        yield
        check_still_guarded(before, allow_unguarded=allow_unguarded)
