"""What the dashboard must offer, written out by hand (never read back from the choices)."""

SESSION_DURATION_LABELS = [
    "Same as application session timeout",
    "No duration, expires immediately",
    "15 minutes",
    "30 minutes",
    "1 hour",
    "6 hours",
    "12 hours",
    "24 hours",
    "1 week",
    "1 month",
]
