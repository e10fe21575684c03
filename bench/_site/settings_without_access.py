"""The benchmark's settings without the access middleware: accessctl not installed."""

from _site.settings import *  # noqa: F403
from _site.settings import MIDDLEWARE

MIDDLEWARE = [m for m in MIDDLEWARE if m != "apps.gateway.middleware.AccessMiddleware"]
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "accessctl.E001"]  # noqa: F405
