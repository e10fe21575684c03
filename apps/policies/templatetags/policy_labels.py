"""Words for the policy tester: a decision's and a session duration's dashboard labels."""

from __future__ import annotations

from django import template

from apps.policies.choices import SESSION_SECONDS, DecisionChoices, SessionDuration

register = template.Library()

_DURATION_BY_SECONDS = {
    seconds: SessionDuration(key).label for key, seconds in SESSION_SECONDS.items()
}


@register.filter
def decision_label(value: str) -> str:
    """`non_identity` → "Non Identity (Service Auth)", as the policy form shows it."""
    return str(DecisionChoices(value).label) if value in DecisionChoices.values else value


@register.filter
def duration_label(seconds: int) -> str:
    """3600 → "1 hour"; a duration outside the dropdown (the app default) in seconds."""
    return str(_DURATION_BY_SECONDS.get(seconds, f"{seconds} seconds"))
