"""accessctl's settings, with the benchmark's URLconf (its URLs and /bench/ok)."""

from accessctl.settings import *  # noqa: F403

ROOT_URLCONF = "_site.urls"
