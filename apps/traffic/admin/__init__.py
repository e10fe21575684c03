"""Traffic: the dashboard pages of what the guard did (access log, client certificates, alert
preferences)."""

from apps.traffic.admin import accesslog, alerts, inventory  # noqa: F401 (registers them)
