"""The schema as the query rules see it: models by client accessor, unique keys, indexes, large and sensitive fields.

Built once per review from bot.prisma (every schema of the project at one side, so monorepos work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.prisma.model import Field, Model, Relation, Schema

if TYPE_CHECKING:
    from bot.context import ReviewContext

SENSITIVE_NAME = re.compile(
    r"(^|_)(password|passwd|pwd)|password|passwordHash|hashedPassword|^hash$|secret|token|apiKey|api_key|"
    r"privateKey|private_key|salt$|^otp|totp|mfa|recoveryCode|ssn$|creditCard|cardNumber|cvv|pinCode",
    re.I,
)
_NOT_SENSITIVE = re.compile(r"(expires|expiry|At$|Id$|_id$|count|type$|hint|length|enabled|name$)", re.I)
LARGE_TYPES = frozenset({"Json", "Bytes"})
LARGE_NATIVE = frozenset({"Text", "ByteA", "JsonB", "Json", "Xml"})


def accessor_of(model_name: str) -> str:
    """Prisma Client's property for a model: the name with its first letter lower-cased."""
    return model_name[:1].lower() + model_name[1:]


@dataclass
class SchemaView:
    schemas: list[Schema]
    by_accessor: dict[str, Model] = field(default_factory=dict)

    @property
    def accessors(self) -> set[str]:
        return set(self.by_accessor)

    def model(self, accessor: str | None) -> Model | None:
        return self.by_accessor.get(accessor or "")

    def model_named(self, name: str) -> Model | None:
        for schema in self.schemas:
            found = schema.model(name)
            if found is not None:
                return found
        return None

    def schema_of(self, model: Model) -> Schema | None:
        return next((s for s in self.schemas if s.model(model.name) is model), None)

    def relations_into(self, model: Model) -> list[Relation]:
        """Relations whose foreign key points at `model` (its children)."""
        schema = self.schema_of(model)
        if schema is None:
            return []
        return [r for r in schema.relations if r.target is model and not r.implicit_many_to_many]


def unique_sets(model: Model) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if model.primary_key is not None:
        keys.append(model.primary_key.columns)
    keys.extend(u.columns for u in model.uniques)
    return keys


def index_column_lists(model: Model) -> list[tuple[str, ...]]:
    """Ordered btree column lists that can serve a lookup (primary key, uniques, @@index)."""
    return [idx.columns for idx in model.all_keys if idx.is_btree and idx.columns]


@dataclass(frozen=True)
class IndexShape:
    """An index as the planner sees it: its access method and ordered columns."""

    columns: tuple[str, ...]
    method: str  # "btree", "hash", "gin", "gist", "brin", "spgist"

    def serves_equality(self, column: str) -> bool:
        # A btree serves `=`/`IN` on its leading column; a hash index (single-column in PostgreSQL) only `=`/`IN`;
        # BRIN serves any of its columns (a lossy scan, still far from reading every page of a correlated table).
        if self.method in ("btree", "hash"):
            return self.columns[:1] == (column,)
        return self.method == "brin" and column in self.columns

    def serves_range(self, column: str) -> bool:
        if self.method == "btree":
            return self.columns[:1] == (column,)
        return self.method == "brin" and column in self.columns

    def serves_containment(self, column: str) -> bool:
        """`has`/`hasSome`/`hasEvery` on a list, `array_contains` on JSON: array and jsonb operators GIN serves."""
        return self.method == "gin" and column in self.columns


def index_shapes(model: Model) -> list[IndexShape]:
    """Every index of the model with its access method (`type: Hash` and friends included)."""
    return [IndexShape(idx.columns, (idx.type or "btree").lower()) for idx in model.all_keys if idx.columns]


def sensitive_fields(model: Model) -> list[str]:
    out: list[str] = []
    for f in model.scalar_fields:
        if f.type not in ("String", "Bytes"):
            continue
        if SENSITIVE_NAME.search(f.name) and not _NOT_SENSITIVE.search(f.name):
            out.append(f.name)
    return out


def large_fields(model: Model) -> list[str]:
    return [f.name for f in model.scalar_fields if _is_large(f)]


def _is_large(f: Field) -> bool:
    if f.type in LARGE_TYPES:
        return True
    native = f.native
    return native is not None and native.explicit and native.name in LARGE_NATIVE


def schema_view(ctx: ReviewContext, side: str = "head") -> SchemaView | None:
    def build() -> SchemaView | None:
        from bot.prisma.load import schemas_at

        loads = schemas_at(ctx, side)  # type: ignore[arg-type]
        schemas = [load.schema for load in loads if load.schema is not None]
        if not schemas:
            return None
        return view_of(schemas)

    return ctx.memo(("query-schema-view", side), build)


def view_of(schemas: list[Schema]) -> SchemaView:
    view = SchemaView(schemas)
    for schema in schemas:
        for model in schema.all_models():
            view.by_accessor.setdefault(accessor_of(model.name), model)
    return view
