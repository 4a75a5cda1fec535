"""One finding per problem: the same rule repeated over one object is said once, listing where.

- A schema rule on several fields of one model (three `DateTime` fields without a time zone) is one finding on the
  first field, listing the others; when their fixes sit on consecutive lines the suggestion fixes them all.
- A migration rule repeated in one file (256 `CREATE INDEX` without CONCURRENTLY in a generated migration) is one
  finding on the first statement, listing the other lines; so is a rule repeated within one statement
  (`DROP COLUMN a, DROP COLUMN b`).

- A schema or migration finding repeated in the copy kept for another provider (umami's db/mysql and db/postgresql)
  is one finding, on the PostgreSQL copy.
- Index advice that one index serves is one finding: `@@index([a])` and `@@index([a, b])` on one model (equality
  columns in any order), or a foreign key without an index and an advised index that can start with its columns
  (`merge_index_advice`).

Other query findings are not grouped here: two calls are two problems (the query analyzer groups a missing index's
call sites itself). Pure: findings in, findings out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.findings import Finding, Suggestion

# Repeats of one migration rule in one file at or above this count are said once.
MIGRATION_GROUP_AT = 3
_FIELD_KEY = re.compile(r"^([A-Za-z_][\w]*)\.([A-Za-z_][\w]*)$")
# An index-level schema finding: `Model:<what>` (`AgentSkill:unique-repeats-pk`, `Link:@@index([slug])`).
_INDEX_KEY = re.compile(r"^([A-Za-z_][\w]*):")
_SHOWN = 12

LineText = Callable[[str, int], str | None]


def group(findings: list[Finding], line_text: LineText) -> list[Finding]:
    """The findings with repeats merged; `line_text(path, line)` reads head lines to join suggestions."""
    if any(f.rule == "query/missing-index" for f in findings):  # nothing to merge otherwise: no import
        from bot.checks.query.index_advisor import merge_index_advice

        findings = merge_index_advice(findings)
    singles: list[Finding] = []
    buckets: dict[tuple[str, ...], list[Finding]] = {}
    for f in findings:
        bucket = _bucket(f)
        if bucket is None:
            singles.append(f)
        else:
            buckets.setdefault(bucket, []).append(f)
    out = singles
    for bucket, members in buckets.items():
        members.sort(key=lambda f: (f.line, f.last_line))
        # One statement that does the same thing twice (`DROP COLUMN a, DROP COLUMN b`) is one problem too.
        one_statement = len({f.line for f in members}) == 1
        threshold = 2 if bucket[0] == "model" or one_statement else MIGRATION_GROUP_AT
        if len(members) < threshold:
            out.extend(members)
        else:
            out.append(_merge(bucket, members, line_text))
    return sorted(_one_per_provider_copy(out), key=Finding.sort_key)


# A migrations folder kept per provider: `db/mysql/migrations/04_team/…`, `prisma/postgres/migrations/2024…_x/…`.
_PROVIDER_SEGMENT = re.compile(r"(?:^|/)(?:postgres|postgresql|pg|mysql|mariadb|sqlite|sqlserver|mssql|cockroachdb)/",
                               re.IGNORECASE)
_MIGRATION_DIR = re.compile(r"/migrations?/(?:\d+_)?([^/]+)/([^/]+)$")


def _migration_copy_key(path: str) -> str | None:
    """The same migration in another provider's folder has the same key: the provider folder and the timestamp of
    the migration's directory left out (teable's PostgreSQL and SQLite copies were created a minute apart)."""
    if not _PROVIDER_SEGMENT.search(path):
        return None
    match = _MIGRATION_DIR.search(path)
    if match is None:
        return None
    folder = _PROVIDER_SEGMENT.sub("/{provider}/", "/" + path[:match.start()] + "/")
    return f"{folder}{match.group(1)}/{match.group(2)}"


def _one_per_provider_copy(findings: list[Finding]) -> list[Finding]:
    """A project that keeps one schema per provider (umami's db/mysql and db/postgresql, teable's PostgreSQL and SQLite
    schemas) gets each schema finding once, on the PostgreSQL copy when there is one, naming the other files; so does
    a migration kept once per provider under the same name."""
    by_object: dict[tuple[str, str, str, str, str], list[Finding]] = {}
    for f in findings:
        if f.suppressed_reason is not None or f.fingerprint or not f.key:
            continue
        if f.rule.startswith("prisma/"):
            by_object.setdefault((f.rule, f.key, "", f.side.value, str(f.preexisting)), []).append(f)
        elif f.rule.startswith("migration/") and (copy := _migration_copy_key(f.path)) is not None:
            by_object.setdefault((f.rule, f.key, copy, f.side.value, str(f.preexisting)), []).append(f)
    dropped: set[int] = set()
    replaced: dict[int, Finding] = {}
    for members in by_object.values():
        if len({f.path for f in members}) < 2:
            continue
        members.sort(key=lambda f: ("postgres" not in f.path.lower(), f.path, f.line))
        first, others = members[0], members[1:]
        where = ", ".join(f"{f.path}:{f.line}" for f in others[:_SHOWN])
        # The severity stays the PostgreSQL copy's: another provider's locks and types are not this review's risk.
        replaced[id(first)] = first.with_(
            message=f"{first.message}\n\nThe same applies to the other provider's copy: {where}.",
            extra={**first.extra, "copies": [{"path": f.path, "line": f.line} for f in others]})
        dropped.update(id(f) for f in others)
    return [replaced.get(id(f), f) for f in findings if id(f) not in dropped]


def _bucket(f: Finding) -> tuple[str, ...] | None:
    if f.suppressed_reason is not None or f.fingerprint:
        return None
    if f.rule.startswith("prisma/"):
        match = _FIELD_KEY.match(f.key) or _INDEX_KEY.match(f.key)
        if match is None:
            return None
        return ("model", f.rule, f.path, f.side.value, match.group(1), str(f.preexisting))
    if f.rule.startswith("migration/") and not f.caused_by_change:
        return ("file", f.rule, f.path, f.side.value, str(f.preexisting))
    return None


def _merge(bucket: tuple[str, ...], members: list[Finding], line_text: LineText) -> Finding:
    first = members[0]
    others = members[1:]
    severity = max((f.severity for f in members), key=lambda s: s.rank)
    if bucket[0] == "model":
        model = bucket[4]
        where = ", ".join(f"`{f.key}` (line {f.line})" for f in others[:_SHOWN])
        key = f"{model} (grouped)"
        what = "fields" if all(_FIELD_KEY.match(f.key) for f in members) else "places"
        lead = f"{len(members)} {what} of model `{model}`: `{first.key}` (line {first.line}) and {where}"
    elif all(f.line == first.line for f in others) and all(f.key for f in others):
        key = "(grouped)"
        lead = ", ".join(f"`{f.key}`" for f in others[:_SHOWN]) + " in the same statement"
    else:
        where = ", ".join(str(f.line) for f in others[:_SHOWN])
        key = "(grouped)"
        lead = f"{len(members)} statements of this migration: line {first.line} and lines {where}"
    more = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
    suggestion = _joined_suggestion(first.path, members, line_text)
    fixed = ""
    if first.suggestion is not None:
        fixed = (" The suggested change fixes all of them." if suggestion is not None and
                 suggestion.end_line >= members[-1].last_line else
                 f" The suggested change fixes line {first.line}; the others need the same edit.")
    message = f"{first.message}\n\nThe same applies to {lead}{more}.{fixed}"
    scope_lines = [n for f in members for n in (f.scope or (f.line, f.last_line))]
    return first.with_(
        severity=severity, message=message, key=key, suggestion=suggestion or first.suggestion,
        scope=(min(scope_lines), max(scope_lines)),
        extra={**first.extra, "grouped": [{"line": f.line, "end_line": f.last_line, "key": f.key} for f in members]},
        confidence=max((f.confidence for f in members if f.confidence is not None), default=first.confidence),
        title=first.title,
    )


def _joined_suggestion(path: str, members: list[Finding], line_text: LineText) -> Suggestion | None:
    """One suggestion over the block from the first to the last fixable line, when every member has a one-line
    suggestion and the lines between them are few (copied unchanged)."""
    fixes = {f.suggestion.line: f.suggestion.replacement for f in members
             if f.suggestion is not None and f.suggestion.line == f.suggestion.end_line}
    if len(fixes) != len(members) or len(fixes) < 2:
        return None
    first, last = min(fixes), max(fixes)
    if last - first > 20:
        return None
    lines: list[str] = []
    for number in range(first, last + 1):
        if number in fixes:
            lines.append(fixes[number])
            continue
        text = line_text(path, number)
        if text is None:
            return None
        lines.append(text)
    return Suggestion(line=first, end_line=last, replacement="\n".join(lines))
