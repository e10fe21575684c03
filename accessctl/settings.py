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

INSTALLED_APPS = [
    "apps.console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "apps.console",
    "apps.trust",
    "apps.policies",
    "apps.gateway",
    "apps.tokens",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Enforcement: after the HTTPS redirect and the public static files, before sessions and
    # CSRF, so a refused request never reaches them or any view (checks accessctl.E001/E005).
    "apps.gateway.middleware.AccessMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://accessctl")}

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

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
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
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# The TLS terminator tells us the original scheme; the shipped proxy configurations overwrite
# any copy a client sends.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

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
ACCESSCTL_MAX_CHAIN_DEPTH = env.int("ACCESSCTL_MAX_CHAIN_DEPTH", default=4)
# Seconds a session lasts for policies set to "Same as application session timeout".
ACCESSCTL_APP_SESSION_DURATION = env.int("ACCESSCTL_APP_SESSION_DURATION", default=86400)
# Tokens (CF_Authorization): issuer, key rotation and overlap.
ACCESSCTL_TOKEN_ISSUER = env.str("ACCESSCTL_TOKEN_ISSUER", default="")
ACCESSCTL_KEY_ROTATION_DAYS = env.int("ACCESSCTL_KEY_ROTATION_DAYS", default=42)
ACCESSCTL_KEY_OVERLAP_DAYS = env.int("ACCESSCTL_KEY_OVERLAP_DAYS", default=7)
# Secret from which the key-encryption key for stored signing keys is derived (HKDF).
ACCESSCTL_KEY_ENCRYPTION_SECRET = (
    env.str("ACCESSCTL_KEY_ENCRYPTION_SECRET", default="") or SECRET_KEY
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # One JSON line per access decision (apps/gateway/logging.py).
        "accessctl.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
