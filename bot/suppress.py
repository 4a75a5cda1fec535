"""Inline suppressions in SQL, Prisma and TypeScript, plus the ones squawk and prisma-lint users already have.

    -- dbreview-ignore migration/ban-drop-column: column emptied and unused since v4.2
    // dbreview-ignore query/n-plus-one: at most 3 tenants per request
    -- dbreview-ignore-file migration/require-lock-timeout: run by our migration job, which sets it
    -- squawk-ignore ban-drop-column             (squawk's syntax: next statement, no reason)
    /// prisma-lint-ignore-model require-field-index

A directive on its own line covers the next code line (and the statement, model or function starting there); a
trailing directive covers its own line. Our own directives need a reason, which is echoed in the output. A
directive of ours that suppresses nothing is reported, so stale ignores do not pile up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.change import Change, split_lines
from bot.config import Config
from bot.findings import Finding, Severity, Side, Surface
from bot.registry import Rule, all_rules, define
from bot.surfaces import Surfaces

UNUSED = define(
    "change/unused-suppression",
    Severity.INFO,
    Surface.CHANGE,
    "A dbreview-ignore comment that no longer suppresses any finding",
)
INVALID = define(
    "change/invalid-suppression",
    Severity.WARNING,
    Surface.CHANGE,
    "A dbreview-ignore comment without a reason, or naming a rule that does not exist",
)

_OURS = re.compile(
    r"(?:--|//+|/\*+|\{/\*+|#)\s*dbreview-ignore(?P<file>-file)?\b(?P<body>.*?)\s*(?:\*+/\}?)?\s*$"
)
_SQUAWK = re.compile(r"--\s*squawk-ignore(?P<file>-file)?\b(?P<body>.*)$")
_PRISMA_LINT = re.compile(r"///\s*prisma-lint-ignore-(?P<kind>model|field|enum)\b(?P<body>.*)$")
_COMMENT_ONLY = re.compile(r"^\s*(--|//|/\*|\*|\{/\*|#)")


@dataclass
class Directive:
    """An inline suppression comment and what it covers."""

    path: str
    line: int  # where the comment is
    target: int  # the code line it covers; 0 for the whole file
    rules: set[str]  # our rule ids; empty with `any_rule` means every rule
    reason: str
    tool: str  # "dbreview", "squawk" or "prisma-lint"
    any_rule: bool = False
    used: bool = False
    problems: list[str] = field(default_factory=list)

    def covers(self, finding: Finding) -> bool:
        if finding.path != self.path or finding.side is not Side.NEW:
            return False
        if not (self.any_rule or finding.rule in self.rules):
            return False
        if self.target == 0:
            return True
        if finding.line <= self.target <= finding.last_line:
            return True
        return finding.scope is not None and finding.scope[0] == self.target


def _split_rules(text: str) -> list[str]:
    return [tok for tok in re.split(r"[\s,]+", text.strip()) if tok]


def _resolve(name: str, rules: dict[str, Rule], tool: str) -> set[str]:
    if tool != "dbreview":
        return {r.id for r in rules.values() if f"{tool}:{name}" in r.aliases}
    if name in rules:
        return {name}
    short = [rid for rid in rules if rid.split("/", 1)[-1] == name]
    return set(short) if len(short) == 1 else set()


def parse_directives(path: str, text: str) -> list[Directive]:
    # Names resolve against every rule; the complete registry is loaded only for a line that is a directive ("ignore"
    # is common in code: `@ts-ignore`), since a review imports only the rule families its change needs.
    rules: dict[str, Rule] = {}

    def every_rule() -> dict[str, Rule]:
        if not rules:
            rules.update(all_rules())
        return rules

    lines = split_lines(text)
    directives: list[Directive] = []
    for index, raw in enumerate(lines):
        if "ignore" not in raw:
            continue
        number = index + 1
        comment_only = bool(_COMMENT_ONLY.match(raw))
        target = _next_code_line(lines, index) if comment_only else number
        if match := _OURS.search(raw):
            body = match.group("body").strip()
            names, _, reason = body.partition(":")
            directive = Directive(path, number, 0 if match.group("file") else target, set(), reason.strip(),
                                  "dbreview")
            for name in _split_rules(names):
                resolved = _resolve(name, every_rule(), "dbreview")
                if not resolved:
                    directive.problems.append(f"unknown rule {name!r}")
                directive.rules |= resolved
            if not _split_rules(names):
                directive.problems.append("no rule named (write `dbreview-ignore <rule-id>: <reason>`)")
            if not directive.reason:
                directive.problems.append("no reason given (write `dbreview-ignore <rule-id>: <why it is safe>`)")
            directives.append(directive)
        elif match := _SQUAWK.search(raw):
            names = _split_rules(match.group("body"))
            directive = Directive(path, number, 0 if match.group("file") else target, set(), "squawk-ignore",
                                  "squawk", any_rule=not names)
            for name in names:
                directive.rules |= _resolve(name, every_rule(), "squawk")
            directives.append(directive)
        elif match := _PRISMA_LINT.search(raw):
            names = _split_rules(match.group("body"))
            if match.group("kind") == "enum":
                names = names[:1]  # `prisma-lint-ignore-enum <rule> <Value1,Value2>`
            if match.group("kind") in ("model", "enum"):
                # prisma-lint documents the comment inside the block; above the block works too.
                target = _enclosing_block(lines, index) or target
            directive = Directive(path, number, target, set(), "prisma-lint-ignore", "prisma-lint",
                                  any_rule=not names)
            for name in names:
                directive.rules |= _resolve(name, every_rule(), "prisma-lint")
            directives.append(directive)
    return directives


_BLOCK_HEADER = re.compile(r"^\s*(model|view|type|enum)\s+\w+\s*\{")


def _enclosing_block(lines: list[str], index: int) -> int | None:
    """The line of the `model X {` header whose block contains line `index` (0-based), if any."""
    for j in range(index - 1, -1, -1):
        if _BLOCK_HEADER.match(lines[j]):
            return j + 1
        if lines[j].strip().startswith("}"):
            return None
    return None


def _next_code_line(lines: list[str], index: int) -> int:
    for j in range(index + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and not _COMMENT_ONLY.match(lines[j]):
            return j + 1
    return index + 1


def apply_suppressions(
    findings: list[Finding], change: Change, surfaces: Surfaces, config: Config | None = None
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """Split findings into (kept, suppressed) and report our own directives that are broken or unused."""
    paths = {f.path for f in findings} | {
        f.path for f in (*surfaces.schema, *surfaces.migrations, *surfaces.query) if f.head_path
    }
    directives: dict[str, list[Directive]] = {}
    for path in sorted(paths):
        text = change.head_text(path)
        if text and "ignore" in text:
            directives[path] = parse_directives(path, text)

    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        directive = next(
            (d for d in directives.get(finding.path, ()) if not d.problems and d.covers(finding)), None
        )
        if directive is None:
            kept.append(finding)
            continue
        directive.used = True
        suppressed.append(finding.with_(suppressed_reason=f"{directive.reason} ({directive.tool}, line "
                                                          f"{directive.line})"))

    # Our own directives name rules: the complete registry, loaded only when there is one.
    rules = all_rules() if any(d.tool == "dbreview" for ds in directives.values() for d in ds) else {}
    reports: list[Finding] = []
    for path_directives in directives.values():
        for d in path_directives:
            if d.tool != "dbreview":
                continue
            if d.problems:
                reports.append(INVALID.finding(
                    d.path, d.line, f"This suppression is ignored: {'; '.join(d.problems)}.",
                    key=f"invalid-suppression:{' '.join(sorted(d.rules))}"))
            elif not d.used and all(config is None or config.is_enabled(rules[r]) for r in d.rules):
                names = ", ".join(sorted(d.rules))
                reports.append(UNUSED.finding(
                    d.path, d.line,
                    f"`dbreview-ignore {names}` suppresses nothing here any more: remove the comment.",
                    key=f"unused-suppression:{names}"))
    return kept, suppressed, reports
