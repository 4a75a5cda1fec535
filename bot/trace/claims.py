"""What a static migration rule claims that a trace can check: a rewrite, a write-blocking lock, a deploy failure.

Kept apart from bot.trace.reconcile (which needs the trace runner and psycopg) so the size-aware severity of a
review without a trace reads the claims without loading that stack.
"""

from __future__ import annotations

import re

from bot.trace.rules import ACCESS_EXCLUSIVE, FAILURE, REWRITE, WRITE_LOCK

# Claims by rule id. Explicit ids first (the migration analyzer's rules), then patterns for the rest.
REWRITE_RULES = {"migration/add-column-rewrite", "migration/column-type-change"}
LOCK_RULES = {
    "migration/index-not-concurrent", "migration/drop-index-not-concurrent", "migration/constraint-not-valid",
    "migration/set-not-null", "migration/unique-without-index",
}
FAILURE_RULES = {"migration/add-required-column"}
# Claims a trace cannot settle: seeded data has no duplicates, and the transaction rules depend on the Prisma version.
UNCHECKABLE_RULES = {"migration/unique-on-existing-data", "migration/concurrently-in-transaction",
                     "migration/validate-same-transaction"}
_REWRITE_PATTERN = re.compile(r"rewrite|volatile-default|column-type|type-change|serial|identity|generated")
_LOCK_PATTERN = re.compile(r"not-concurrent|nonconcurrent|not-valid|set-not-null|access-exclusive|strong-lock|"
                           r"without-index|using-index|reindex|lock-held")
_FAILURE_PATTERN = re.compile(r"required-column|not-null-without-default|enum-value-used|enum-add-value")

_MEASURED_IDS = {ACCESS_EXCLUSIVE.id, WRITE_LOCK.id, REWRITE.id, FAILURE.id}


def claim_of(rule_id: str) -> str | None:
    """What a static rule asserts that a trace can check: "rewrite", "lock", "failure", or None."""
    if rule_id in REWRITE_RULES:
        return "rewrite"
    if rule_id in LOCK_RULES:
        return "lock"
    if rule_id in FAILURE_RULES:
        return "failure"
    if not rule_id.startswith("migration/") or rule_id in _MEASURED_IDS or rule_id in UNCHECKABLE_RULES:
        return None
    name = rule_id.removeprefix("migration/")
    if _FAILURE_PATTERN.search(name):
        return "failure"
    if _REWRITE_PATTERN.search(name):
        return "rewrite"
    if _LOCK_PATTERN.search(name):
        return "lock"
    return None
