"""prisma/cascade-into-critical: deleting a parent row silently deletes financial or audit records.

`onDelete: Cascade` from a user or account into orders, payments, invoices, ledger entries or audit logs turns one
`prisma.user.delete()` (a GDPR request, an admin cleanup, a test script run against the wrong database) into the loss
of records the business must keep. Implicit many-to-many join tables cascade too.
"""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput, field_finding, words
from bot.findings import Finding, Severity, Surface
from bot.registry import define

RULE = define(
    "prisma/cascade-into-critical",
    Severity.WARNING,
    Surface.SCHEMA,
    "onDelete: Cascade into a financial or audit table",
    options={
        "critical_words": ["order", "orders", "payment", "payments", "invoice", "invoices", "transaction",
                           "transactions", "ledger", "payout", "payouts", "refund", "refunds", "charge", "charges",
                           "receipt", "receipts", "billing", "audit", "audits", "journal", "settlement", "dispute",
                           "chargeback", "tax", "purchase", "purchases"],
    },
)


def check(inp: SchemaInput) -> list[Finding]:
    critical = set(inp.options(RULE).get("critical_words") or [])
    findings: list[Finding] = []
    for rel in inp.schema.relations:
        if rel.implicit_many_to_many or rel.effective_on_delete != "Cascade" or rel.model.ignored:
            continue
        child_words = set(words(rel.model.name)) | set(words(rel.model.db_name))
        if not child_words & critical:
            continue
        parent_words = set(words(rel.target.name)) | set(words(rel.target.db_name))
        if parent_words & critical:
            continue  # order → order line items: the lines are part of the record being deleted
        f = rel.field
        findings.append(field_finding(
            RULE, f,
            f"`{rel.key}` has `onDelete: Cascade`: deleting a {rel.target.name} also deletes its {rel.model.name} "
            f"rows, which look like financial or audit records you must keep. Use `onDelete: Restrict` (deleting the "
            f"{rel.target.name} then fails until its {rel.model.name} rows are dealt with) or `SetNull` with an "
            f"optional `{', '.join(rel.fields)}`, and soft-delete or anonymise the {rel.target.name} instead.",
            line=f.attr_line("relation")))
    return findings
