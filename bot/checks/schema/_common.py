"""What every schema check receives, and small helpers they share (name words, join tables, finding builders)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.findings import Finding, Severity
from bot.prisma.diff import SchemaDiff
from bot.prisma.model import Field, Model, Schema
from bot.registry import Rule


@dataclass
class SchemaInput:
    """One parsed schema plus what the change did to it. Checks are pure functions of this."""

    schema: Schema
    diff: SchemaDiff | None = None  # base → head; None when the base does not parse
    options_for: Callable[[Rule], dict[str, Any]] = field(default=lambda rule: dict(rule.options))
    # Rules the repo config turned off are not computed at all (the pipeline would drop their findings anyway).
    enabled: Callable[[Rule], bool] = field(default=lambda rule: True)
    # Source lines by path, for mechanical fix suggestions (empty: no suggestions).
    sources: dict[str, list[str]] = field(default_factory=dict)

    def options(self, rule: Rule) -> dict[str, Any]:
        return self.options_for(rule)

    def new_models(self) -> list[Model]:
        """Models this change adds (all models when the schema itself is new)."""
        if self.diff is None:
            return []
        names = {i.model for i in self.diff.of("model_added", "model_renamed")}
        return [m for m in self.schema.models.values() if m.name in names]

    def new_fields(self) -> set[tuple[str, str]]:
        if self.diff is None:
            return set()
        return {(i.model, i.name) for i in self.diff.of("field_added", "field_renamed", "field_changed")} | {
            (m.name, f.name) for m in self.new_models() for f in m.fields
        }


_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9]|$|_|\d)|[A-Z]?[a-z]+|[0-9]+|[A-Z]+")


@lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """`refreshTokenHash` -> [refresh, token, hash]; `access_token` -> [access, token]; `APIKey` -> [api, key]."""
    return tuple(w.lower() for part in re.split(r"[_\-\s]+", name) for w in _WORD.findall(part))


_DB_LABELS = {"postgresql": "PostgreSQL", "postgres": "PostgreSQL", "cockroachdb": "CockroachDB", "mysql": "MySQL",
              "sqlite": "SQLite", "sqlserver": "SQL Server", "mongodb": "MongoDB"}


def db_label(schema: Schema) -> str:
    """The database's name for messages: advice about SQLite or MySQL must not talk about PostgreSQL."""
    return _DB_LABELS.get(schema.provider or "postgresql", "the database")


def entity_models(schema: Schema) -> list[Model]:
    """Real tables Prisma manages: models, not views, composite types or @@ignore'd models."""
    return [m for m in schema.models.values() if not m.ignored]


def authjs_adapter_model(m: Model) -> str | None:
    """"Account", "Session" or "VerificationToken" when `m` has the shape Auth.js/NextAuth's Prisma adapter
    prescribes (the library owns those columns), else None."""
    names = {f.name for f in m.scalar_fields}
    key_sets = [set(k.columns) for k in m.all_keys if k.kind in ("id", "unique")]
    if {"identifier", "token", "expires"} <= names and {"identifier", "token"} in key_sets:
        return "VerificationToken"
    if {"sessionToken", "userId", "expires"} <= names and {"sessionToken"} in key_sets:
        return "Session"
    if {"provider", "providerAccountId", "userId", "type"} <= names and {"provider", "providerAccountId"} in key_sets:
        return "Account"
    return None


def fk_field_names(model: Model) -> set[str]:
    return {n for f in model.relation_fields if f.relation is not None and f.relation.model is model
            for n in f.relation.fields}


def is_join_table(model: Model) -> bool:
    """A many-to-many link table: its key is made of foreign keys only (`@@id([postId, tagId])`)."""
    fks = fk_field_names(model)
    if len(fks) < 2:
        return False
    keys = [model.primary_key] if model.primary_key else []
    keys += model.uniques
    return any(k is not None and len(k.columns) >= 2 and set(k.columns) <= fks for k in keys)


def field_finding(rule: Rule, f: Field, message: str, *, line: int | None = None,
                  severity: Severity | None = None, key_suffix: str = "", model_scope: bool = False,
                  extra: dict[str, Any] | None = None, key: str | None = None) -> Finding:
    """A finding about one field. Field-type advice is scoped to the field's own line (it resurfaces only when that
    field is edited); structural findings (indexes, relations) pass `model_scope=True` so any edit of the model
    brings them back."""
    return rule.finding(
        f.path, line or f.line, message, key=key or (f.key + key_suffix),
        scope=f.model.scope if model_scope else None, severity=severity, extra=extra,
    )


def model_finding(rule: Rule, m: Model, message: str, *, key_suffix: str = "",
                  severity: Severity | None = None) -> Finding:
    return rule.finding(m.path, m.line, message, key=m.name + key_suffix, scope=m.scope, severity=severity)


def index_text(columns: list[str] | tuple[str, ...]) -> str:
    return f"@@index([{', '.join(columns)}])"
