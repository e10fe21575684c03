"""gunicorn settings for accessctl (`gunicorn -c accessctl/gunicorn.conf.py`).

ACCESSCTL_BIND and ACCESSCTL_WORKERS set the address and the number of workers; any other
gunicorn option can be added with GUNICORN_CMD_ARGS.
"""

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
# gunicorn >= 25 opens a runtime control socket at one fixed path per user ($HOME/.gunicorn/
# gunicorn.ctl): a second instance (the demo, the end-to-end tests, another `make run`) would
# take it over and remove it on exit, and nothing here uses it. Older gunicorns ignore this.
control_socket_disable = True
# A forwarded certificate chain (ALB, Envoy's Chain, RFC 9440) can pass gunicorn's default
# 8190-byte header limit; accessctl's own limit is 16 KiB (accessctl.core.forwarded), refused
# with a reason code in the access log. Leave room above it so ours is the one that applies.
limit_request_field_size = 20480
