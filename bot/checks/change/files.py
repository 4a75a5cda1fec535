"""Database files the review could not read, could not analyse, or ran out of time on: each is a finding.

A review that passes a file it never looked at as clean is worse than no review. So a schema or migration that is
binary, a line that is not UTF-8, a file over the size limit and an analyzer stopped by the review's time limit are
reported to the author (`--fail-on warning` fails on them), not only noted.

The pipeline calls `check(ctx, unfinished)` after every analyzer has run (or been stopped).
"""

from __future__ import annotations

from bot.change import ChangedFile, invalid_utf8_lines
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Surface
from bot.registry import define

UNREADABLE = define(
    "change/unreadable-file", Severity.WARNING, Surface.CHANGE,
    "A schema, migration or query file that is binary or not valid UTF-8, so it could not be (fully) reviewed",
)
NOT_ANALYSED = define(
    "change/file-not-analysed", Severity.WARNING, Surface.CHANGE,
    "A database file the review did not analyse (over the size limit, or nested too deeply to parse)",
)
PARTIAL = define(
    "change/partial-review", Severity.WARNING, Surface.CHANGE,
    "The review hit its time limit: the analyzers that did not finish are named, their findings are missing",
)

_WHAT_READS = {
    "schema": "Prisma's CLI cannot read it either (`prisma validate` and `prisma generate` fail)",
    "migration": ("PostgreSQL rejects such bytes in SQL text (`invalid byte sequence for encoding \"UTF8\"`), so "
                  "`prisma migrate deploy` fails on this file"),
    "query": "editors and the TypeScript compiler may read it differently from what the author sees",
}


def check(ctx: ReviewContext, unfinished: list[str] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for changed in ctx.surfaces.unreadable:
        findings.append(_binary(changed, _kind_of(ctx, changed)))
    for kind, files in (("schema", ctx.surfaces.schema), ("migration", ctx.surfaces.migrations),
                        ("query", ctx.surfaces.query)):
        for changed in files:
            finding = _invalid_utf8(ctx, changed, kind)
            if finding is not None:
                findings.append(finding)
    for path, reason in sorted(ctx.unanalysed.items()):
        findings.append(NOT_ANALYSED.finding(
            path, 1,
            f"`{path}` was not analysed: {reason}. None of its lines were checked, so this review does not vouch "
            "for it. Keep generated data out of migrations and source files, or raise the limit in `.dbreview.yml` "
            "(`limits:`) if this file really must be reviewed.",
            key=f"not-analysed {path}", caused_by_change=True))
    if unfinished:
        findings.append(_partial(ctx, unfinished))
    return findings


def _kind_of(ctx: ReviewContext, changed: ChangedFile) -> str:
    return "schema" if changed.path.endswith(".prisma") else "migration"


def _binary(changed: ChangedFile, kind: str) -> Finding:
    return UNREADABLE.finding(
        changed.path, 1,
        f"`{changed.path}` holds NUL bytes, so git and dbreview treat it as binary and nothing in it was reviewed; "
        f"{_WHAT_READS[kind]}. Save it as plain UTF-8 text (an editor or a tool wrote it as UTF-16 or appended "
        "binary data).",
        key=f"binary {changed.path}", caused_by_change=True)


def _invalid_utf8(ctx: ReviewContext, changed: ChangedFile, kind: str) -> Finding | None:
    if changed.head_path is None:
        return None
    data = ctx.change.head.read_bytes(changed.head_path)
    if not data:
        return None
    bad = invalid_utf8_lines(data)
    if not bad:
        return None
    from bot.change import FileStatus

    new = bad if changed.status is FileStatus.ADDED else [n for n in bad if n in changed.added_lines]
    if not new:
        ctx.note(f"{changed.path}: line {bad[0]} is not UTF-8 (not changed here); it was read with the bad bytes "
                 "replaced")
        return None
    others = f" (and {len(new) - 1} more: {', '.join(str(n) for n in new[1:6])}{', …' if len(new) > 6 else ''})" \
        if len(new) > 1 else ""
    severity = Severity.INFO if kind == "query" else None
    return UNREADABLE.finding(
        changed.path, new[0],
        f"Line {new[0]}{others} of `{changed.path}` is not valid UTF-8 (saved as Latin-1 or Windows-1252?): "
        f"dbreview read it with the bad bytes replaced and checked the rest; {_WHAT_READS[kind]}. Re-save the "
        "file as UTF-8.",
        severity=severity, key=f"invalid-utf8 {changed.path}", caused_by_change=True)


def _partial(ctx: ReviewContext, unfinished: list[str]) -> Finding:
    files = [*ctx.surfaces.migrations, *ctx.surfaces.schema, *ctx.surfaces.query, *ctx.surfaces.unreadable]
    path = files[0].path if files else ""
    names = ", ".join(f"the {name} analyzer" for name in unfinished)
    seconds = ctx.config.limits.review_seconds
    return PARTIAL.finding(
        path, 1,
        f"This review is partial: {names} did not finish within the review's time limit ({seconds:g} s, "
        "`limits.review_seconds`), so its findings on this change are missing. Split the change, or raise the "
        "limit; if a normal-sized change hits it, please report it: dbreview should take well under a second.",
        key="partial-review", caused_by_change=True)
