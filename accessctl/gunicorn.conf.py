"""gunicorn settings; each can be overridden with the usual GUNICORN_* style env below."""

import multiprocessing
import os

bind = os.environ.get("ACCESSCTL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ACCESSCTL_WORKERS", str(min(4, multiprocessing.cpu_count() * 2))))
wsgi_app = "accessctl.wsgi:application"
accesslog = "-"
errorlog = "-"
# The terminator in front (nginx, HAProxy, ...) is the only expected peer; its address is what
# ACCESSCTL_TRUSTED_PROXIES must list. gunicorn itself never trusts forwarded headers.
forwarded_allow_ips = ""
# Header names with underscores are dropped (gunicorn >= 22 default): X_SSL_Client_Cert can
# never stand in for X-SSL-Client-Cert.
header_map = "drop"
