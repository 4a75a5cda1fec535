"""The rule registry: every rule's id, default severity, surface and one-line summary.

A check module defines its rule once at import time:

    RULE = define("prisma/fk-missing-index", Severity.WARNING, Surface.SCHEMA,
                  "Relation scalar fields without an index that starts with them")

and builds findings with `RULE.finding(...)`, so the rule id and default severity live in one place.
Each rule has a page at `rules/<id>.md`; a test keeps pages and rules in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.findings import Finding, Severity, Side, Source, Suggestion, Surface


@dataclass(frozen=True)
class Rule:
    """A rule's id, default severity, surface, summary, options and other tools' names for it."""

    id: str
    severity: Severity
    surface: Surface
    summary: str
    # Off unless the repo config enables it (opt-in packs such as naming conventions).
    enabled_by_default: bool = True
    # An opt-in group the rule belongs to ("naming"); `enable: [naming]` in the config turns the group on.
    pack: str | None = None
    # Rule options and their defaults; the config may override them under `rules: {<id>: {<option>: …}}`.
    options: dict[str, Any] = field(default_factory=dict)
    # Other tools' names for this rule, so their ignore comments keep working: "squawk:ban-drop-column",
    # "prisma-lint:require-field-index".
    aliases: tuple[str, ...] = ()

    def finding(
        self,
        path: str,
        line: int,
        message: str,
        *,
        end_line: int | None = None,
        side: Side = Side.NEW,
        severity: Severity | None = None,
        suggestion: Suggestion | None = None,
        key: str = "",
        scope: tuple[int, int] | None = None,
        caused_by_change: bool = False,
        extra: dict[str, Any] | None = None,
        source: Source = Source.RULE,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            path=path,
            line=line,
            end_line=end_line,
            side=side,
            message=message,
            suggestion=suggestion,
            key=key,
            scope=scope,
            caused_by_change=caused_by_change,
            extra=extra or {},
            source=source,
        )


RULES: dict[str, Rule] = {}


def define(
    rule_id: str,
    severity: Severity,
    surface: Surface,
    summary: str,
    *,
    enabled_by_default: bool = True,
    pack: str | None = None,
    options: dict[str, Any] | None = None,
    aliases: tuple[str, ...] = (),
) -> Rule:
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id} is defined twice")
    rule = Rule(
        id=rule_id,
        severity=severity,
        surface=surface,
        summary=summary,
        enabled_by_default=enabled_by_default,
        pack=pack,
        options=dict(options or {}),
        aliases=aliases,
    )
    RULES[rule_id] = rule
    return rule


def all_rules() -> dict[str, Rule]:
    """Every rule, after importing every check module (imports register the rules).

    A review imports only the check families its change needs, so `RULES` alone holds the rules loaded so far;
    whatever needs every rule (config validation, listings) calls this."""
    import bot.suppress  # noqa: F401  (the suppression rules)
    from bot.checks import load_all

    load_all()

    return RULES


def rule_for_alias(alias: str) -> list[Rule]:
    return [r for r in all_rules().values() if alias in r.aliases]
