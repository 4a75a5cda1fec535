"""Primary key strategy: 32-bit autoincrement ids, UUIDs stored as text, and a new model that breaks the schema's
id convention."""

from __future__ import annotations

from collections import Counter

from bot.checks.schema._common import (
    SchemaInput,
    authjs_adapter_model,
    entity_models,
    field_finding,
    fk_field_names,
    is_join_table,
    model_finding,
)
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Model
from bot.prisma.parser import FuncCall, StringLit
from bot.registry import define

AUTOINCREMENT = define(
    "prisma/autoincrement-int-id",
    Severity.INFO,
    Surface.SCHEMA,
    "Int @id @default(autoincrement()): 32-bit sequence ids that overflow and can be enumerated",
)
UUID_TEXT = define(
    "prisma/uuid-as-text",
    Severity.INFO,
    Surface.SCHEMA,
    "UUID id stored as text instead of @db.Uuid on PostgreSQL",
)
MIXED = define(
    "prisma/mixed-id-strategies",
    Severity.INFO,
    Surface.SCHEMA,
    "New model whose id strategy differs from the rest of the schema",
    options={"min_models": 4, "majority": 0.75},
)

# What `Int @default(autoincrement())` becomes, where it is 32-bit.
_SERIAL_SQL = {"postgresql": "serial", "mysql": "INT AUTO_INCREMENT", "sqlserver": "INT IDENTITY"}

# The 16-byte native type for a UUID column, where the connector has one.
_UUID_NATIVE = {"postgresql": " @db.Uuid", "sqlserver": " @db.UniqueIdentifier"}

_UUID_SQL = ("gen_random_uuid()", "uuid_generate_v4()", "uuid_generate_v7()", "uuidv7()", "uuidv4()")


def id_strategy(m: Model) -> str | None:
    """"autoincrement", "uuid", "cuid", "nanoid", "ulid", "dbgenerated", "client" (no default); None for
    composite keys."""
    pk = m.primary_key
    if pk is None or len(pk.columns) != 1:
        return None
    f = m.by_name.get(pk.columns[0])
    if f is None:
        return None
    d = f.default
    if not isinstance(d, FuncCall):
        return "client"
    if d.name == "dbgenerated":
        arg = d.args[0].value if d.args else None
        if isinstance(arg, StringLit) and arg.value.strip().lower() in _UUID_SQL:
            return "uuid"
        return "dbgenerated"
    if d.name in ("autoincrement", "sequence"):
        return "autoincrement"
    if d.name in ("uuid", "cuid", "nanoid", "ulid"):
        return d.name
    return d.name


def _has_id_strategy(m: Model) -> bool:
    """Whether the model's key is a generated surrogate id that could follow the schema's convention. Not so for
    join tables, a key that is the parent's id (`userId String @id` in a 1:1 Settings table), a natural key
    (`key String @id`, `slug String @id`: no default, not named id) or an Auth.js adapter model."""
    if is_join_table(m) or authjs_adapter_model(m) is not None:
        return False
    pk = m.primary_key
    if pk is None or len(pk.columns) != 1:
        return True
    col = pk.columns[0]
    if col in fk_field_names(m):
        return False
    f = m.by_name.get(col)
    return not (f is not None and f.default is None and f.name.lower() != "id")


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    findings: list[Finding] = []
    models = entity_models(schema)
    provider = schema.provider or "postgresql"
    for m in models:
        pk = m.primary_key
        if pk is None or len(pk.columns) != 1:
            continue
        f = m.by_name.get(pk.columns[0])
        if f is None:
            continue
        strategy = id_strategy(m)
        # SQLite's INTEGER PRIMARY KEY is the 64-bit rowid whatever Prisma calls it: nothing overflows there.
        if strategy == "autoincrement" and f.type == "Int" and provider in _SERIAL_SQL:
            findings.append(field_finding(
                AUTOINCREMENT, f,
                f"`{f.key}` is `Int @default(autoincrement())`: a 32-bit `{_SERIAL_SQL[provider]}` that "
                "stops at 2,147,483,647 "
                "(widening a hot table's key later rewrites it and every foreign key to it), and sequential ids "
                "let anyone who sees one guess the others. Use `BigInt @default(autoincrement())` for internal "
                f"tables, or `String @id @default(uuid(7)){_UUID_NATIVE.get(provider, '')}` for ids that leave the "
                "database.",
                line=f.attr_line("default")))
        if schema.is_postgres and strategy == "uuid" and f.type == "String" and f.native is not None \
                and f.native.name != "Uuid":
            findings.append(field_finding(
                UUID_TEXT, f,
                f"`{f.key}` holds UUIDs but is stored as `{f.native.sql}`: 36+ bytes per value instead of 16 in "
                "the key and in every foreign key and index that copies it, and no validation of the format. "
                f"Declare `{f.name} String @id @default({f.default_text}) @db.Uuid` (and `@db.Uuid` on the foreign "
                "keys that reference it).",
                line=f.attr_line("id")))
    # Id convention: only new models are judged, against the models that already exist.
    new = {m.name for m in inp.new_models()}
    if not new:
        return findings
    opts = inp.options(MIXED)
    existing = [s for m in models if m.name not in new and _has_id_strategy(m) and (s := id_strategy(m))]
    if len(existing) < int(opts.get("min_models", 4)):
        return findings
    common, count = Counter(existing).most_common(1)[0]
    if count / len(existing) < float(opts.get("majority", 0.75)):
        return findings
    example = next(m for m in models if m.name not in new and id_strategy(m) == common)
    example_id = example.by_name[example.primary_key.columns[0]] if example.primary_key else None
    for m in models:
        if m.name not in new or not _has_id_strategy(m):
            continue
        strategy = id_strategy(m)
        if strategy is None or strategy == common:
            continue
        shown = f"`{example_id.name} {example_id.type} @id" if example_id else "`id"
        if example_id is not None and example_id.default_text:
            shown += f" @default({example_id.default_text})"
        if example_id is not None and example_id.native is not None and example_id.native.explicit:
            shown += f" {example_id.native.prisma}"
        shown += "`"
        findings.append(model_finding(
            MIXED, m,
            f"New model {m.name} uses a `{strategy}` id while {count} of {len(existing)} existing models use "
            f"`{common}` (e.g. {example.name}: {shown}). Mixed id types make foreign keys, URLs and client code "
            f"handle both; use the same strategy unless this table needs a different one.",
            key_suffix=":id-strategy"))
    return findings
