"""`accessctl api-tokens`: see :mod:`apps.api.management.commands._tokens_cli`."""

from apps.api.management.commands._tokens_cli import Command

__all__ = ["Command"]
