"""Access Policies in the dashboard: the Applications pages and the Access policies pages."""

from apps.policies.admin.applications import ApplicationAdmin
from apps.policies.admin.policies import AccessPolicyAdmin

__all__ = ["AccessPolicyAdmin", "ApplicationAdmin"]
