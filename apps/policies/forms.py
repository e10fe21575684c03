"""Dashboard forms: the policy page (the seed's flow: a hostname, or a reusable policy), its rule
formset, and the application page with its domains and its ordered policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError

from accessctl.core.hostnames import hostname_label
from apps.policies.choices import (
    SessionDuration,
    duration_label,
    session_key_of,
    session_seconds_of,
)
from apps.policies.hostnames import associated_hostnames
from apps.policies.models import (
    AccessPolicy,
    Application,
    ApplicationDomain,
    ApplicationPolicy,
    PolicyRule,
    validate_rule_groups,
    validate_rule_types,
)
from apps.policies.services import check_links, check_place, check_seed_hostname

if TYPE_CHECKING:
    # django-stubs makes these generic; Django's own classes cannot be subscripted at run time.
    _AccessPolicyForm = forms.ModelForm[AccessPolicy]
    _ApplicationForm = forms.ModelForm[Application]
    _RuleFormSet = forms.BaseInlineFormSet[PolicyRule, AccessPolicy, forms.ModelForm[PolicyRule]]
    _DomainFormSet = forms.BaseInlineFormSet[
        ApplicationDomain, Application, forms.ModelForm[ApplicationDomain]
    ]
    _LinkFormSet = forms.BaseInlineFormSet[
        ApplicationPolicy, Application, forms.ModelForm[ApplicationPolicy]
    ]
else:
    _AccessPolicyForm = _ApplicationForm = forms.ModelForm
    _RuleFormSet = _DomainFormSet = _LinkFormSet = forms.BaseInlineFormSet

NO_HOSTNAME_HELP = "No hostname yet: upload a certificate under Mutual TLS and associate one."
HOSTNAME_HELP = (
    "A hostname associated with an uploaded certificate (Mutual TLS). The policy goes into "
    "the application for that hostname, which is made (named after it) if there is none."
)
ORDER_HELP = (
    "Its precedence in the application: lower numbers are evaluated first (Bypass and Non "
    "Identity policies before Allow and Block). Empty: after the application's last policy."
)
_ODD = "="  # a duration outside the dropdown (set through the API) is offered as "=<seconds>"


def _hostname_select() -> forms.Select:
    """Associated hostnames as a dropdown, internationalised ones with their Unicode form."""
    names = associated_hostnames()
    return forms.Select(choices=[("", "---------"), *((h, hostname_label(h)) for h in names)])


class SessionDurationField(forms.ChoiceField):
    """The session-duration dropdown; its value is seconds (None: same as the application).

    A duration no entry stands for (set through the API, e.g. 45 minutes) is offered as it is,
    so that saving the page keeps it.
    """

    def __init__(self, *, application_entry: bool = True, **kwargs: Any) -> None:
        choices = [
            (key, label)
            for key, label in SessionDuration.choices
            if application_entry or key != SessionDuration.APP
        ]
        super().__init__(choices=choices, **kwargs)

    def offer(self, seconds: int | None) -> str:
        """The choice for ``seconds``, added to the list when the dropdown has none."""
        key = session_key_of(seconds)
        if key is None and seconds is not None:
            key = f"{_ODD}{seconds}"
            self.choices = [*SessionDuration.choices, (key, duration_label(seconds))]
        return key or SessionDuration.HOURS_24.value

    def clean(self, value: Any) -> int | None:
        key = super().clean(value)
        if key.startswith(_ODD):
            return int(key[len(_ODD) :])
        return session_seconds_of(key)

    def valid_value(self, value: Any) -> bool:
        return (
            str(value).startswith(_ODD) and str(value)[1:].isdigit() or super().valid_value(value)
        )


def _duration_field(form: forms.BaseForm) -> SessionDurationField:
    field = form.fields["session_duration"]
    if not isinstance(field, SessionDurationField):  # pragma: no cover - declared below
        raise TypeError("session_duration is a SessionDurationField")
    return field


class AccessPolicyForm(_AccessPolicyForm):
    """The policy page, as the seed's flow uses it.

    Adding: pick a hostname bound to a certificate (the policy goes into the application for
    that hostname) or tick *Reusable* (the policy is attached to applications on their own
    pages). Editing: the places it has are shown, and *Order* moves it within its application.
    """

    # A text field shown as a dropdown: whatever is posted is normalized and checked by the
    # service's rules, so an unbound hostname gets "associate … first", not "invalid choice".
    hostname = forms.CharField(required=False, max_length=300, help_text=HOSTNAME_HELP)
    reusable = forms.BooleanField(
        required=False,
        label="Reusable",
        help_text="Instead of a hostname: define the policy once and attach it to several "
        "applications on their pages. Attached to none, it enforces nothing.",
    )
    order = forms.IntegerField(required=False, min_value=1, help_text=ORDER_HELP)
    session_duration = SessionDurationField(
        label="Session duration",
        help_text="How long a client stays signed in after it was let through. "
        '"No duration" asks for the certificate on every request.',
    )

    class Meta:
        model = AccessPolicy
        fields = ["name", "path_prefix", "decision", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.initial.setdefault(
            "session_duration",
            _duration_field(self).offer(instance.session_seconds if instance.pk else 24 * 3600),
        )
        if instance.pk is None:
            widget = _hostname_select()
            self.fields["hostname"].widget = widget
            if len(widget.choices) == 1:
                self.fields["hostname"].help_text = NO_HOSTNAME_HELP
            return
        # An existing policy keeps its place: no hostname to pick, no switching to reusable.
        del self.fields["hostname"], self.fields["reusable"]
        link = instance.links.select_related("application").first()
        if instance.reusable or link is None:
            del self.fields["order"]
        else:
            self.initial.setdefault("order", link.precedence)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        instance = self.instance
        instance.session_seconds = cleaned.get("session_duration")
        name = cleaned.get("name") or ""
        application: Application | None = None
        if instance.pk is None:
            if cleaned.get("reusable"):
                if cleaned.get("hostname"):
                    self.add_error("hostname", "A reusable policy has no hostname.")
                elif AccessPolicy.objects.filter(reusable=True, name=name).exists():
                    self.add_error("name", f"A reusable policy named {name!r} already exists.")
                return cleaned
            if not cleaned.get("hostname"):
                self.add_error("hostname", "Pick a hostname, or tick Reusable.")
                return cleaned
            try:
                cleaned["hostname"] = check_seed_hostname(cleaned["hostname"])
            except ValidationError as exc:
                self.add_error("hostname", exc)
                return cleaned
            domain = ApplicationDomain.objects.filter(
                hostname=cleaned["hostname"], path_prefix="/"
            ).first()
            application = domain.application if domain is not None else None
            places = check_place(
                application=application, name=name, precedence=cleaned.get("order")
            )
        else:
            places = [
                problem
                for link in instance.links.select_related("application")
                for problem in check_place(
                    application=link.application,
                    name=name,
                    precedence=cleaned.get("order") if not instance.reusable else None,
                    policy=instance,
                )
            ]
        for field, message in places:
            self.add_error("order" if field == "precedence" else field, message)
        return cleaned


class RuleFormSet(_RuleFormSet):
    """Rules of one policy: at least one Include rule among the rows that are kept."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # field errors are shown next to their fields first
        kept = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        validate_rule_groups(g for g in (row.get("group") for row in kept) if g)
        validate_rule_types(self.instance.decision, (row.get("type") or "" for row in kept))


class ApplicationForm(_ApplicationForm):
    """The application page: its name, session duration and enabled flag (the AUD tag is
    shown, never edited)."""

    session_duration = SessionDurationField(
        application_entry=False,
        label="Session duration",
        help_text="How long a session lasts for policies set to “Same as application session "
        "timeout” (24 hours unless told otherwise).",
    )

    class Meta:
        model = Application
        fields = ["name", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault(
            "session_duration", _duration_field(self).offer(self.instance.session_seconds)
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        seconds = cleaned.get("session_duration")
        if seconds is not None:
            self.instance.session_seconds = seconds
        return cleaned


class DomainFormSet(_DomainFormSet):
    """An application's domains: at least one. Each row is checked by the model (hostname
    normalized, no dashboard hostname) and the formset (each hostname and path once)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(f.cleaned_data and not f.cleaned_data.get("DELETE") for f in self.forms):
            raise ValidationError("An application needs at least one domain.")


class PolicyLinkFormSet(_LinkFormSet):
    """An application's policies and their precedences: each precedence and policy once, and
    only reusable policies (or the application's own) attached."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        try:
            check_links(self.instance, self.kept_links())
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def kept_links(self) -> list[tuple[AccessPolicy, int]]:
        """The (policy, precedence) rows the operator kept, for the service to save at once."""
        return [
            (form.cleaned_data["policy"], form.cleaned_data["precedence"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("policy")
        ]
