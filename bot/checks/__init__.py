"""Every check module, imported so that their rules register. One sub-package per surface."""

from bot.checks import migration, query, schema  # noqa: F401
