"""Time columns: `DateTime` without a time zone, and entity models without createdAt/updatedAt.

Prisma maps `DateTime` to `timestamp(3)` on PostgreSQL: a wall-clock time with no zone. Prisma Client writes UTC,
but every other writer (psql, a migration backfill, `now()` in a session with another TimeZone, a BI tool) silently
writes local time, and `AT TIME ZONE` arithmetic goes the wrong way. `timestamptz` stores an instant.
"""

from __future__ import annotations

from bot.checks.schema import _suggest
from bot.checks.schema._common import (
    SchemaInput,
    authjs_adapter_model,
    entity_models,
    field_finding,
    is_join_table,
    model_finding,
    words,
)
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Field, Model
from bot.prisma.parser import FuncCall
from bot.registry import define

NO_TZ = define(
    "prisma/timestamp-without-timezone",
    Severity.INFO,
    Surface.SCHEMA,
    "DateTime stored as timestamp without time zone on PostgreSQL",
)
MISSING = define(
    "prisma/missing-timestamps",
    Severity.INFO,
    Surface.SCHEMA,
    "New model without createdAt/updatedAt audit columns",
    options={
        "require_created_at": True,
        "require_updated_at": True,
        "created_names": ["createdAt", "created_at", "createdOn", "created_on", "insertedAt", "inserted_at",
                          "created", "createTime", "creationDate", "timestamp"],
        "updated_names": ["updatedAt", "updated_at", "updatedOn", "updated_on", "modifiedAt", "modified_at",
                          "lastModified", "updated", "updateTime"],
        "exempt_models": [],
        # Append-only tables (logs, events, history) are never updated: createdAt is enough.
        "append_only_words": ["log", "logs", "event", "events", "history", "audit", "entry", "entries", "snapshot",
                              "snapshots", "version", "versions", "backup", "backups", "execution", "executions",
                              "outbox", "archive"],
    },
)


def _no_tz_finding(inp: SchemaInput, f: Field) -> Finding:
    native = f.native
    assert native is not None
    precision = native.args[0] if native.args else "3"
    opt = "?" if f.optional else ""
    if native.explicit:
        what = f"`{f.key}` is `{native.prisma}` (`{native.sql}`, no time zone)"
        line = f.attr_line(f"db.{native.name}")
    else:
        what = f"`{f.key}` is a `DateTime` without a native type, which Prisma creates as `timestamp(3)` (no time zone)"
        line = f.line
    return field_finding(
        NO_TZ, f,
        f"{what}. Prisma Client writes UTC, but any other writer (SQL console, backfill, `now()` under another "
        f"session TimeZone) stores local wall-clock time and the instant is lost. Declare "
        f"`{f.name} DateTime{opt} @db.Timestamptz({precision})`; the migration "
        f"`ALTER COLUMN ... TYPE timestamptz USING {f.db_name} AT TIME ZONE 'UTC'` keeps existing values.",
        line=line,
    ).with_(suggestion=_suggest.timestamptz(inp, f, precision) if line == f.line else None)


# A DateTime column whose name has one of these words plays the role whatever the word order: `date_created`,
# `dateModified`, `creationDate`, `lastModifiedAt`.
_CREATED_WORDS = frozenset({"created", "creation", "inserted"})
_UPDATED_WORDS = frozenset({"updated", "modified"})


def _has(m: Model, names: list[str], role_words: frozenset[str]) -> bool:
    wanted = {n.lower() for n in names}
    return any(f.name.lower() in wanted or f.db_name.lower() in wanted
               or (f.type == "DateTime" and not set(words(f.name)).isdisjoint(role_words))
               for f in m.scalar_fields)


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    findings: list[Finding] = []
    if schema.is_postgres:
        for m in entity_models(schema):
            for f in m.fields:
                if f.type != "DateTime" or f.kind != "scalar" or f.native is None:
                    continue
                if f.native.name == "Timestamp":
                    findings.append(_no_tz_finding(inp, f))
    opts = inp.options(MISSING)
    exempt = set(opts.get("exempt_models") or [])
    for m in inp.new_models():
        # Auth.js adapter models have the columns the library prescribes; the author did not design them.
        if m.ignored or m.name in exempt or is_join_table(m) or authjs_adapter_model(m) is not None:
            continue
        missing: list[str] = []
        # Any `DateTime @default(now())` that is not @updatedAt records when the row appeared, whatever its name
        # (`time`, `viewedAt`, `receivedAt` on an event table).
        has_created = _has(m, opts.get("created_names") or [], _CREATED_WORDS) or any(
            f.type == "DateTime" and not f.is_updated_at and isinstance(f.default, FuncCall) and f.default.name == "now"
            for f in m.scalar_fields)
        has_updated = _has(m, opts.get("updated_names") or [], _UPDATED_WORDS)
        if opts.get("require_created_at", True) and not has_created:
            missing.append("`createdAt DateTime @default(now())" + (" @db.Timestamptz(3)`" if schema.is_postgres
                                                                     else "`"))
        append_only = bool(set(words(m.name)) & set(opts.get("append_only_words") or []))
        if opts.get("require_updated_at", True) and not append_only and not has_updated:
            missing.append("`updatedAt DateTime @updatedAt" + (" @db.Timestamptz(3)`" if schema.is_postgres
                                                                else "`"))
        if missing:
            absent = " or ".join("createdAt" if "created" in x else "updatedAt" for x in missing)
            pronoun = "them" if len(missing) > 1 else "it"
            findings.append(model_finding(
                MISSING, m,
                f"New model {m.name} has no {absent} column: without {pronoun} you cannot tell when a row appeared or "
                f"last changed when debugging, syncing or backfilling, and adding them later needs a default for "
                f"existing rows. Add "
                f"{' and '.join(missing)}.",
                key_suffix=":timestamps",
            ))
    return findings
