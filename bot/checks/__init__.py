"""The check packages, one per surface: change, migration, query, schema.

Nothing is imported here: a review imports only the families its change needs (bot.pipeline.analyzers), since
importing a rule module costs its dataclasses, regexes and parsers at start-up. `load_all()` imports every module
that defines a rule, for whatever needs the complete registry (config validation, `dbreview rules`, SARIF, docs).
"""

from __future__ import annotations


def load_all() -> None:
    """Import every check module (their imports register their rules), the measured rules included."""
    from bot.checks import change, migration, query, schema  # noqa: F401
    from bot.checks.query import dropped_columns, file_checks  # noqa: F401  (dropped_columns loads lazily in reviews)
    from bot.plans import rules as _plan_rules  # noqa: F401  (measured rules: query/measured-*)
    from bot.trace import rules as _measured_rules  # noqa: F401  (measured rules: migration/measured-*)

    file_checks()
