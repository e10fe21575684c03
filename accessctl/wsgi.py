"""WSGI entry point for gunicorn: `gunicorn -c accessctl/gunicorn.conf.py accessctl.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessctl.settings")

application = get_wsgi_application()
