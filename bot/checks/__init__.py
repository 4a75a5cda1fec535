"""Every check module, imported so that their rules register. One sub-package per surface."""

from bot.checks import change, migration, query, schema  # noqa: F401
from bot.plans import rules as _plan_rules  # noqa: F401  (measured rules: query/measured-*)
from bot.trace import rules as _measured_rules  # noqa: F401  (measured rules: migration/measured-*)
