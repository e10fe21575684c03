"""Login methods: the identity providers people log in with (Settings → Login methods).

A :class:`LoginMethod` is OpenID Connect or a one-time PIN by email (Cloudflare's
``onetimepin``: accessctl mails the code itself and needs nothing more). One of type OpenID
Connect names an issuer (its discovery document at
``<issuer>/.well-known/openid-configuration``, unless explicit authorization, token and JWKS
URLs are given), a client id and secret, scopes, PKCE, and which claims carry the email and
the groups. The client secret is stored only encrypted (``apps.base.sealing``) and is never
shown back. :class:`ApplicationLoginMethod` rows say which methods an application offers;
an application with none offers every enabled method. :class:`PinChallenge` rows are the
codes mailed (only their HMAC kept), :class:`PinRequest` rows count the requests for them and
:class:`PinWrongCode` rows the wrong codes typed (``apps.identity.pins``), in the database so
that every node shares them.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from accessctl.core.people import split_claim
from apps.base import sealing
from apps.base.models import AuditedModel
from apps.policies.choices import DecisionChoices, RuleTypeChoices
from apps.policies.models import AccessPolicy, Application

_SECRET_PURPOSE = sealing.Purpose(
    salt=b"accessctl/identity/client-secret", info=b"AES-256-GCM key for login method secrets, v1"
)
# Bound to what it is, not to a field an operator may edit (the client id can change while
# the secret stays).
_SECRET_BINDING = "login-method-client-secret"  # noqa: S105 (a label, not a secret)
DEFAULT_SCOPES = "openid email profile"
_CLAIM_HELP = "letters, digits and _.:/- only"
# What an operator sets of an OpenID Connect method besides its name and enabled flag (the
# dashboard's form, the API's config), in the form's order; client_secret is write-only.
OIDC_FIELDS = (
    "issuer_url",
    "auth_url",
    "token_url",
    "certs_url",
    "client_id",
    "client_secret",
    "scopes",
    "pkce_enabled",
    "email_claim_name",
    "groups_claim_name",
)


SHOWN = 5  # applications a warning or the dashboard's banner names before it counts the rest


class LoginMethodType(models.TextChoices):
    """Kinds of login method (Cloudflare's ``type`` of an identity provider)."""

    OIDC = "oidc", "OpenID Connect"
    ONETIMEPIN = "onetimepin", "One-time PIN"


class LoginMethodQuerySet(models.QuerySet["LoginMethod"]):
    def enabled(self) -> LoginMethodQuerySet:
        return self.filter(enabled=True)

    def offered_by(self, application: Application) -> LoginMethodQuerySet:
        """The enabled methods ``application`` offers: the enabled ones among those it chose,
        else (it chose none) all of them. An application whose chosen methods are all
        disabled offers none (fail closed): disabling the one provider an application was
        restricted to must not open it to every other."""
        # Whether it chose is read from every method, not from this queryset: a queryset
        # already narrowed (to one type, say) must not mistake "none of these" for "no choice".
        chose = LoginMethod.objects.filter(offered_to__application=application).exists()
        enabled = self.enabled()
        return enabled.filter(offered_to__application=application) if chose else enabled


def applications_offering_nothing() -> models.QuerySet[Application]:
    """The applications people log in to (enabled, with an enabled Allow policy) whose login
    page offers no login method, by name: every method they chose is disabled, or they chose
    none and no method is enabled at all. Their login pages refuse everyone (``offered_by``
    fails closed); the dashboard's banner names them, and the command line and the API warn
    when a change leaves an application so."""
    logged_in_to = (
        Application.objects.enabled()
        .filter(
            policy_links__policy__enabled=True,
            policy_links__policy__decision=DecisionChoices.ALLOW,
        )
        .distinct()
        .order_by("name")
    )
    if not LoginMethod.objects.enabled().exists():
        return logged_in_to
    return logged_in_to.filter(login_methods__isnull=False).exclude(
        login_methods__login_method__enabled=True
    )


def no_login_method_warning(
    *, application: Application | None = None, method: LoginMethod | None = None
) -> str:
    """The warning to give when ``application``, or an application that chose ``method``,
    offers no login method (see :func:`applications_offering_nothing`); "" when none does."""
    found = applications_offering_nothing()
    if application is not None:
        found = found.filter(pk=application.pk)
    if method is not None:
        # Those that chose it, and (once no method is enabled) those that chose none.
        found = found.filter(Q(login_methods__login_method=method) | Q(login_methods__isnull=True))
    names = list(dict.fromkeys(found.values_list("name", flat=True)))
    if not names:
        return ""
    which = ", ".join(repr(name) for name in names[:SHOWN])
    if len(names) > SHOWN:
        which += f" and {len(names) - SHOWN} more"
    one = len(names) == 1
    page = "its login page offers" if one else "their login pages offer"
    return (
        f"The {'application' if one else 'applications'} {which} {'has' if one else 'have'} "
        f"no enabled login method: {page} none and refuse{'s' if one else ''} everyone. "
        f"Enable one of {'its' if one else 'their'} login methods, or choose others."
    )


class LoginMethod(AuditedModel):
    """An identity provider people log in with, and how accessctl talks to it."""

    name = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=16, choices=LoginMethodType, default=LoginMethodType.OIDC)
    enabled = models.BooleanField(default=True)
    issuer_url = models.URLField(
        "Issuer URL",
        max_length=500,
        blank=True,
        help_text="The provider's issuer, e.g. https://login.example.com/realms/staff. Its "
        "discovery document (/.well-known/openid-configuration) gives the other URLs unless "
        "they are set below; ID tokens must carry this iss.",
    )
    auth_url = models.URLField("Authorization URL", max_length=500, blank=True)
    token_url = models.URLField("Token URL", max_length=500, blank=True)
    certs_url = models.URLField(
        "JWKS URL", max_length=500, blank=True, help_text="The provider's signing keys."
    )
    client_id = models.CharField("Client ID", max_length=255, blank=True)
    encrypted_client_secret = models.BinaryField(editable=False, default=b"")
    scopes = models.CharField(
        max_length=255,
        default=DEFAULT_SCOPES,
        help_text="Space-separated; openid is always asked for.",
    )
    pkce_enabled = models.BooleanField(
        "PKCE (S256)", default=True, help_text="Send a code challenge (RFC 7636, S256)."
    )
    email_claim_name = models.CharField(
        "Email claim", max_length=64, default="email", help_text="The claim holding the email."
    )
    groups_claim_name = models.CharField(
        "Groups claim",
        max_length=64,
        default="groups",
        blank=True,
        help_text="The claim holding the person's groups (a list), for OIDC claim rules and "
        "get-identity. Empty: none.",
    )

    objects = LoginMethodQuerySet.as_manager()

    class Meta:
        verbose_name = "login method"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_one_time_pin(self) -> bool:
        return self.type == LoginMethodType.ONETIMEPIN

    def clean(self) -> None:
        """OpenID Connect needs an issuer and a client id; explicit URLs come as a set of
        three; claim names and scopes are checked. A one-time PIN needs none of them."""
        if self.is_one_time_pin:
            return
        errors: dict[str, str] = {}
        for field in ("issuer_url", "client_id"):
            if not getattr(self, field):
                errors[field] = "Required for OpenID Connect."
        explicit = [self.auth_url, self.token_url, self.certs_url]
        if any(explicit) and not all(explicit):
            message = "Give the authorization, token and JWKS URLs together, or none of them."
            for field, value in zip(("auth_url", "token_url", "certs_url"), explicit, strict=True):
                if not value:
                    errors[field] = message
        for field in ("email_claim_name", "groups_claim_name"):
            value = getattr(self, field)
            if value:
                try:
                    split_claim(f"{value}=x")
                except ValueError:
                    errors[field] = f"A claim name: {_CLAIM_HELP}."
        scopes = self.scopes.split()
        if any(not s.isprintable() or '"' in s for s in scopes):
            errors["scopes"] = "Scopes are space-separated words."
        if errors:
            raise ValidationError(errors)

    def scope_list(self) -> list[str]:
        """The scopes asked for, ``openid`` first and always."""
        return ["openid", *(s for s in self.scopes.split() if s != "openid")]

    def set_client_secret(self, secret: str) -> None:
        """Store ``secret`` encrypted (its own derived key; see ``apps.base.sealing``)."""
        self.encrypted_client_secret = sealing.seal(
            secret.encode(), purpose=_SECRET_PURPOSE, bound_to=_SECRET_BINDING
        )

    def client_secret(self) -> str:
        """The decrypted secret; raise :class:`apps.base.sealing.SealError` if it cannot be."""
        if not self.encrypted_client_secret:
            return ""
        return sealing.unseal(
            self.encrypted_client_secret, purpose=_SECRET_PURPOSE, bound_to=_SECRET_BINDING
        ).decode()

    @property
    def has_client_secret(self) -> bool:
        return bool(self.encrypted_client_secret)

    def metadata_url(self) -> str:
        return self.issuer_url.rstrip("/") + "/.well-known/openid-configuration"

    def uses(self) -> list[str]:
        """What would change if this method went: the applications that offer it (one
        offering it alone would offer every method instead) and the policies whose Login
        method rules, or OIDC claim rules scoped to it (``3|groups=admins``), name it, each as
        "application 'App'" or "policy 'Staff'"."""
        offering = Application.objects.filter(login_methods__login_method=self).order_by("name")
        naming = (
            AccessPolicy.objects.filter(
                Q(rules__type=RuleTypeChoices.LOGIN_METHOD, rules__value=str(self.pk))
                | Q(rules__type=RuleTypeChoices.OIDC_CLAIM, rules__value__startswith=f"{self.pk}|")
            )
            .distinct()
            .order_by("name")
        )
        return [f"application {a.name!r}" for a in offering] + [
            f"policy {p.name!r}" for p in naming
        ]


def validate_url(value: str) -> None:
    """An http(s) URL (the model fields' own rule, for the command line)."""
    URLValidator(schemes=["http", "https"])(value)


class ApplicationLoginMethod(models.Model):
    """A login method an application offers (none chosen: the application offers all)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="login_methods"
    )
    login_method = models.ForeignKey(
        LoginMethod, on_delete=models.CASCADE, related_name="offered_to"
    )

    class Meta:
        verbose_name = "login method offered"
        constraints = [
            models.UniqueConstraint(
                fields=["application", "login_method"], name="identity_offered_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} offers {self.login_method}"


class PinChallenge(models.Model):
    """A one-time PIN mailed to ``email``: only its HMAC is kept (``apps.identity.pins``),
    valid until ``expires_at``, dead after too many wrong attempts, used once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    login_method = models.ForeignKey(
        LoginMethod, on_delete=models.CASCADE, related_name="pin_challenges"
    )
    email = models.CharField(max_length=254)
    code_hmac = models.CharField("HMAC-SHA256 of the code", max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "one-time PIN"

    def __str__(self) -> str:
        return f"one-time PIN for {self.email}"


class PinRequest(models.Model):
    """One granted request for a one-time PIN, counted per address and per client (the
    address kept as an HMAC only)."""

    created_at = models.DateTimeField(db_index=True)
    address_hmac = models.CharField(max_length=64, db_index=True)
    client = models.CharField(max_length=64, db_index=True)

    class Meta:
        verbose_name = "one-time PIN request"

    def __str__(self) -> str:
        return f"PIN request from {self.client} at {self.created_at:%Y-%m-%d %H:%M}"


class PinWrongCode(models.Model):
    """One wrong code typed for a one-time PIN method, kept an hour: the method's budget of
    wrong codes (``apps.identity.pins.WRONG_CODES_PER_HOUR``) counts them on every node."""

    login_method = models.ForeignKey(
        LoginMethod, on_delete=models.CASCADE, related_name="pin_wrong_codes"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "one-time PIN wrong code"

    def __str__(self) -> str:
        return f"wrong code for {self.login_method} at {self.created_at:%Y-%m-%d %H:%M}"
