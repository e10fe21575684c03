"""Settings for accessctl, read from the environment.

Two modes, chosen by ACCESSCTL_ENV:

- ``development`` (default): embedded SQLite and local-memory cache, a secret key generated
  once into the data directory, cookies allowed over plain HTTP on loopback.
- ``production``: SECRET_KEY must be set, cookies are Secure, HSTS and the HTTPS redirect are
  on; ``manage.py check --deploy`` is clean.

Every value can be set in the environment (or an ``.env`` file next to manage.py).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from accessctl.core.forwarded import DEFAULT_MAX_INTERMEDIATES

BASE_DIR = Path(__file__).resolve().parent.parent
# When installed as a wheel, templates/ and static/ live under <prefix>/share/accessctl. A source
# checkout is recognised by manage.py: git keeps no empty directory, so templates/ may be absent.
SHARE_DIR = BASE_DIR if (BASE_DIR / "manage.py").is_file() else Path(sys.prefix) / "share/accessctl"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

ACCESSCTL_ENV = env.str("ACCESSCTL_ENV", default="development")
if ACCESSCTL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"ACCESSCTL_ENV must be 'development' or 'production', not {ACCESSCTL_ENV!r}"
    )
PRODUCTION = ACCESSCTL_ENV == "production"

DATA_DIR = Path(env.str("ACCESSCTL_DATA_DIR", default=str(BASE_DIR / "var")))


def _development_secret_key() -> str:
    """A key generated once per data directory, so sessions survive restarts of `make run`."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random string of at least 50 characters in production"
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[] if PRODUCTION else ["localhost", ".localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The login pages' forms (the one-time PIN) answer a missing token with a page of the product.
CSRF_FAILURE_VIEW = "apps.identity.views.csrf_failure"

INSTALLED_APPS = [
    "apps.console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Operators' second factor: authenticator apps (TOTP) and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Failed sign-ins are counted per username; too many lock the account for a while.
    "axes",
    "apps.base",
    "apps.console",
    "apps.trust",
    "apps.revocation",
    "apps.policies",
    "apps.gateway",
    "apps.tokens",
    "apps.identity",
    "apps.traffic",
    "apps.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Enforcement: after the HTTPS redirect and the public static files, before sessions and
    # CSRF, so a refused request never reaches them or any view (checks accessctl.E001/E005).
    "apps.gateway.middleware.AccessMiddleware",
    # /client/v4: Cloudflare's error envelope for whatever Django answers there (405, 404…).
    "apps.api.middleware.ApiEnvelopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Console sessions: the idle timeout (after messages: it leaves one) and the security
    # headers of the dashboard's pages.
    "apps.console.middleware.ConsoleSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "accessctl.urls"
WSGI_APPLICATION = "accessctl.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SHARE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{(DATA_DIR / 'accessctl.sqlite3').as_posix()}"
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Concurrent gunicorn workers: wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    # A transaction takes the write lock when it begins. A deferred one (SQLite's default)
    # that reads and then writes while another process commits fails at once with "database
    # is locked", busy timeout or not. The project's atomic blocks write (Django's admin also
    # holds one while it renders a change or delete page: milliseconds); reads on the request
    # path run outside any transaction, so they never wait for this lock.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://accessctl")}
# A backend that stops answering without refusing (a dropped network, not a stopped server)
# must not hold a worker's configuration check for long: it then falls back to the other one.
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", 1)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
# The API's rate limits (apps/api/throttling.py) count in a cache every worker and every
# node sees: the shared cache when CACHE_URL names one (Redis), else a table of the database
# (Django's database cache; a local-memory cache is per process and would multiply the limits
# by the number of workers).
CACHES["api-throttle"] = (
    dict(CACHES["default"])
    if not CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache"))
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "accessctl_api_throttle",
    }
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
STATICFILES_DIRS = [SHARE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (tests, a quick start) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "admin:login"

# --- The operators' console -----------------------------------------------------------------
# A second factor (an authenticator app, or a recovery code) at every sign-in. On by default
# except with DEBUG; an operator without one sets it up right after the first password login.
ACCESSCTL_REQUIRE_2FA = env.bool("ACCESSCTL_REQUIRE_2FA", default=not DEBUG)
# A console session unused for longer than this is signed out.
ACCESSCTL_CONSOLE_IDLE_MINUTES = env.int("ACCESSCTL_CONSOLE_IDLE_MINUTES", default=30)
# Failed sign-ins (a wrong password or code) of one username before it is locked out, and
# for how long; `accessctl axes_reset_username NAME` lifts a lockout at once.
ACCESSCTL_LOGIN_FAILURE_LIMIT = env.int("ACCESSCTL_LOGIN_FAILURE_LIMIT", default=5)
ACCESSCTL_LOGIN_LOCKOUT_MINUTES = env.int("ACCESSCTL_LOGIN_LOCKOUT_MINUTES", default=15)
OTP_TOTP_ISSUER = "accessctl"
AXES_FAILURE_LIMIT = ACCESSCTL_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = ACCESSCTL_LOGIN_LOCKOUT_MINUTES / 60  # hours
# Per username: behind the TLS terminator every operator may share one address, and a
# username's lockout cannot be dodged by changing address (axes.W006 is silenced for this).
AXES_LOCKOUT_PARAMETERS = ["username"]
# The peer's address as logged, never a client's X-Forwarded-For (which anyone can write).
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_RESET_ON_SUCCESS = True
# Its "Access attempts" pages would read as part of the access product; the commands
# (axes_list_attempts, axes_reset_username) serve operators instead.
AXES_ENABLE_ADMIN = False
# No start-up banner on every command's standard error (failures and lockouts are still
# logged, on the "axes" logger).
AXES_VERBOSE = False

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Submitting a domain to the browsers' HSTS preload list binds every subdomain for months: an
# operator's decision (SECURE_HSTS_PRELOAD=true), not a default, so its reminder is silenced.
SILENCED_SYSTEM_CHECKS = [
    "security.W021",
    # The console's login form asks django-axes itself, with the request
    # (apps/console/login.py), instead of through its authentication backend and middleware:
    # so authenticate() without a request (scripts, the test client) keeps working.
    "axes.W002",
    "axes.W003",
    "axes.W006",
]
# The TLS terminator tells us the original scheme; the shipped proxy configurations overwrite
# any copy a client sends.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health endpoints over plain HTTP too (apps/gateway/health.py).
SECURE_REDIRECT_EXEMPT = [r"^_accessctl/(healthz|readyz)$"]

# --- accessctl ------------------------------------------------------------------------------
# Who may set the client-certificate header: the terminator's address(es), as CIDRs.
ACCESSCTL_TRUSTED_PROXIES = env.list(
    "ACCESSCTL_TRUSTED_PROXIES", default=["127.0.0.1/32", "::1/128"]
)
# How the terminator forwards the certificate: nginx, nginx-pem, envoy, traefik, der-base64,
# alb, rfc9440. The header name defaults per format (see accessctl/core/forwarded.py).
ACCESSCTL_CLIENT_CERT_FORMAT = env.str("ACCESSCTL_CLIENT_CERT_FORMAT", default="nginx")
ACCESSCTL_CLIENT_CERT_HEADER = env.str("ACCESSCTL_CLIENT_CERT_HEADER", default="")
# Optional header carrying the TLS SNI (nginx $ssl_server_name); a mismatch with Host is a 421.
ACCESSCTL_SNI_HEADER = env.str("ACCESSCTL_SNI_HEADER", default="")
# Hostnames that serve the dashboard: never enforced, so a policy mistake cannot lock you out.
ACCESSCTL_DASHBOARD_HOSTS = env.list(
    "ACCESSCTL_DASHBOARD_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "::1"]
)
# How often (seconds) a worker checks whether the configuration changed.
ACCESSCTL_CONFIG_CHECK_INTERVAL = env.float("ACCESSCTL_CONFIG_CHECK_INTERVAL", default=0.5)
# Longest time a worker may go without confirming its configuration before failing closed.
ACCESSCTL_CONFIG_MAX_STALENESS = env.float("ACCESSCTL_CONFIG_MAX_STALENESS", default=1.0)
# Most intermediates accepted between a client certificate and its root.
ACCESSCTL_MAX_CHAIN_DEPTH = env.int("ACCESSCTL_MAX_CHAIN_DEPTH", default=DEFAULT_MAX_INTERMEDIATES)
# Tokens (CF_Authorization): issuer, key rotation and overlap.
ACCESSCTL_TOKEN_ISSUER = env.str("ACCESSCTL_TOKEN_ISSUER", default="")
# Where people log in (Cloudflare's team domain): the login pages and the identity provider's
# callback. Default: the first dashboard hostname.
ACCESSCTL_AUTH_HOSTNAME = env.str("ACCESSCTL_AUTH_HOSTNAME", default="")
# RS256 (Cloudflare's, which origins written for Cloudflare accept) or ES256. A change is a
# key rotation: the new key is published first, the old one verifies through the overlap.
ACCESSCTL_TOKEN_ALGORITHM = env.str("ACCESSCTL_TOKEN_ALGORITHM", default="RS256")
ACCESSCTL_KEY_ROTATION_DAYS = env.int("ACCESSCTL_KEY_ROTATION_DAYS", default=42)
ACCESSCTL_KEY_OVERLAP_DAYS = env.int("ACCESSCTL_KEY_OVERLAP_DAYS", default=7)
# Secret from which the key-encryption key for stored signing keys is derived (HKDF).
ACCESSCTL_KEY_ENCRYPTION_SECRET = (
    env.str("ACCESSCTL_KEY_ENCRYPTION_SECRET", default="") or SECRET_KEY
)
# --- Traffic: the access log in the dashboard, the certificate inventory, metrics ------------
# Days the dashboard's access log keeps decisions (`accessctl accesslog prune` removes older).
ACCESSCTL_ACCESS_LOG_RETENTION_DAYS = env.int("ACCESSCTL_ACCESS_LOG_RETENTION_DAYS", default=30)
# How often (seconds) each worker writes what it recorded; 0: only when asked (tests).
ACCESSCTL_TRAFFIC_FLUSH_SECONDS = env.float("ACCESSCTL_TRAFFIC_FLUSH_SECONDS", default=1.0)
# Who may read /_accessctl/metrics: client addresses (CIDRs), or a bearer token.
ACCESSCTL_METRICS_ADDRESSES = env.list(
    "ACCESSCTL_METRICS_ADDRESSES", default=["127.0.0.1/32", "::1/128"]
)
ACCESSCTL_METRICS_TOKEN = env.str("ACCESSCTL_METRICS_TOKEN", default="")

# --- The API (/client/v4) -------------------------------------------------------------------
# Requests per API token, "COUNT/PERIOD" (PERIOD: s, m, h, d, with an optional number: 5m):
# Cloudflare's global limit, 1,200 requests per five minutes. Beyond it: 429 with Retry-After.
ACCESSCTL_API_RATE_LIMIT = env.str("ACCESSCTL_API_RATE_LIMIT", default="1200/5m")
# Failed authentications (no token, an unknown, revoked or expired one) per client address;
# beyond it every request of that address is a 429 until the oldest failure is old enough.
ACCESSCTL_API_AUTH_FAILURE_LIMIT = env.str("ACCESSCTL_API_AUTH_FAILURE_LIMIT", default="60/5m")

# --- Email (expiry alerts: `accessctl notify`) ----------------------------------------------
# smtp://user:password@host:587 (smtp+tls://, smtp+ssl://), or consolemail:// to print them.
vars().update(
    env.email_url("EMAIL_URL", default="smtp://localhost:25" if PRODUCTION else "consolemail://")
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="accessctl@localhost")
# Seconds to wait for the mail server: a one-time PIN is mailed while its page waits.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)

# Seconds a log line may wait in memory before it is written to stderr (with the lines logged
# meanwhile); 0 writes every line at once. Lines are always written at a clean exit.
LOG_FLUSH_SECONDS = env.float("ACCESSCTL_LOG_FLUSH_SECONDS", default=0.2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # The access log's lines are JSON already, with their own "time": nothing around them.
        "json_lines": {"format": "%(message)s"},
    },
    # Both write to stderr through one buffer, flushed every ACCESSCTL_LOG_FLUSH_SECONDS (and
    # at once for an error, and at exit): no write and flush per request, lines in order.
    "handlers": {
        "console": {
            "()": "apps.base.log_handlers.BufferedStreamHandler",
            "flush_interval": LOG_FLUSH_SECONDS,
            "formatter": "plain",
        },
        "access": {
            "()": "apps.base.log_handlers.BufferedStreamHandler",
            "flush_interval": LOG_FLUSH_SECONDS,
            "formatter": "json_lines",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # One JSON line per access decision (apps/gateway/logging.py).
        "accessctl.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # Django logs every 4xx as a warning line of its own; each refusal is already the
        # access log's JSON line (with its reason), and a flood of refusals must not pay for
        # a second one. 5xx are still logged, with their traceback.
        "django.request": {"level": "ERROR"},
    },
}
