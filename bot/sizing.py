"""Size-aware severity without measurements: findings on tables that are small by their nature become advice.

dbreview-stats.json (bot.trace.stats) says how big each table is in production; most teams never write one. Then
the schema is the evidence: a lock on `ApiKey`, a scan of `Invitation`, or an unindexed foreign key on
`ProviderSetting` costs milliseconds, and a warning on it is noise the author learns to ignore. Those findings go
down to info (the summary lists them) with the reason in the message. The guess never raises a severity, never
touches a table dbreview-stats.json measured, and never a rule whose severity the repo config sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.findings import Finding, Severity

if TYPE_CHECKING:
    from bot.config import Config
    from bot.prisma.model import Model, Schema
    from bot.trace.stats import Stats

# Rules whose cost is a scan or a lock of one table, beyond the lock/rewrite claims bot.trace.stats already knows.
_TABLE_COST_RULES = frozenset({
    "query/missing-index", "query/unindexed-text-search", "prisma/fk-missing-index", "migration/fk-without-index",
    "migration/long-held-lock",
})


def _models_of(finding: Finding, schema: Schema) -> list[Model]:
    from bot.trace.stats import table_names

    index = finding.extra.get("index")
    if isinstance(index, dict) and isinstance(index.get("model"), str):
        model = schema.model(index["model"])
        return [model] if model is not None else []
    if finding.rule.startswith(("prisma/", "query/")):
        name = finding.extra.get("model")
        model = schema.model(name) if isinstance(name, str) else None
        return [model] if model is not None else []
    out: list[Model] = []
    for name in table_names(finding):
        model = schema.model_by_table(name.rsplit(".", 1)[-1].strip('"'))
        if model is not None and model not in out:
            out.append(model)
    return out


def guess_severity(findings: list[Finding], schema: Schema | None, stats: Stats | None,
                   config: Config | None = None) -> list[Finding]:
    """Warnings and errors about the cost of one table go down to info when that table is small by its nature."""
    from bot.prisma.volume import small_by_nature
    from bot.trace.stats import work_of

    if schema is None:
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        if (f.severity is Severity.INFO or "table_rows" in f.extra
                or (f.rule not in _TABLE_COST_RULES and work_of(f) is None)
                or (config is not None and config.has_severity_override(f.rule))):
            out.append(f)
            continue
        models = _models_of(f, schema)
        if not models or (stats is not None and any(stats.lookup(m.db_name or m.name) for m in models)):
            out.append(f)
            continue
        reasons = [small_by_nature(m, schema.models) for m in models]
        if not all(reasons):
            out.append(f)
            continue
        why = reasons[0] if len(reasons) == 1 else "; ".join(r for r in reasons if r)
        out.append(f.with_(
            severity=Severity.INFO,
            message=(f"{f.message} Size guess: {why}, so this costs milliseconds there (advice, not a warning). "
                     "If the table is large, run `dbreview stats` to record its size and this is graded by it."),
            extra={**f.extra, "size_guess": "small", "size_guess_was": f.severity.value}))
    return out
