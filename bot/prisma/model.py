"""The semantic model of a Prisma schema: models, fields, keys, indexes and resolved relations.

Built from one or more parsed files (a multi-file schema is one Schema; relations may cross files). Encodes what
Prisma does when the schema is silent: PostgreSQL native types (`DateTime` is `timestamp(3)`, `Decimal` is
`decimal(65,30)`), column names (`@map`), and referential actions (onDelete Restrict for a required relation, SetNull
for an optional one, onUpdate Cascade). Building never raises: what cannot be resolved stays unresolved (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import field as _dc_field  # `Relation.field` shadows the name inside that class

from bot.prisma.parser import (
    ArrayExpr,
    Attribute,
    ConfigBlock,
    EnumBlock,
    Expr,
    FuncCall,
    ModelBlock,
    NumberLit,
    PathExpr,
    SchemaFile,
    StringLit,
    render,
)

SCALAR_TYPES = frozenset({"String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes"})

# prisma-engines psl, SCALAR_TYPE_DEFAULTS of each SQL connector: the column type when no @db.* attribute is given.
_DEFAULT_NATIVE: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "postgresql": {
        "String": ("Text", ()), "Boolean": ("Boolean", ()), "Int": ("Integer", ()), "BigInt": ("BigInt", ()),
        "Float": ("DoublePrecision", ()), "Decimal": ("Decimal", ("65", "30")), "DateTime": ("Timestamp", ("3",)),
        "Json": ("JsonB", ()), "Bytes": ("ByteA", ()),
    },
    "mysql": {
        "String": ("VarChar", ("191",)), "Boolean": ("TinyInt", ("1",)), "Int": ("Int", ()), "BigInt": ("BigInt", ()),
        "Float": ("Double", ()), "Decimal": ("Decimal", ("65", "30")), "DateTime": ("DateTime", ("3",)),
        "Json": ("Json", ()), "Bytes": ("LongBlob", ()),
    },
}
_DEFAULT_NATIVE["cockroachdb"] = {**_DEFAULT_NATIVE["postgresql"], "String": ("String", ()), "Int": ("Int8", ()),
                                  "Float": ("Float8", ())}

# PostgreSQL spelling of Prisma's @db.* names (args appended), and the btree operator family each belongs to:
# a foreign key works only between types of one family (text/varchar; smallint/integer/bigint; ...).
_PG_NATIVE: dict[str, tuple[str, str]] = {
    "Text": ("text", "text"), "VarChar": ("varchar", "text"), "Char": ("char", "bpchar"),
    "Citext": ("citext", "citext"),
    "Uuid": ("uuid", "uuid"), "Inet": ("inet", "network"), "Xml": ("xml", "xml"), "Bit": ("bit", "bit"),
    "VarBit": ("varbit", "varbit"), "SmallInt": ("smallint", "integer"), "Integer": ("integer", "integer"),
    "BigInt": ("bigint", "integer"), "Oid": ("oid", "oid"), "Real": ("real", "float"),
    "DoublePrecision": ("double precision", "float"), "Decimal": ("decimal", "numeric"), "Money": ("money", "money"),
    "Timestamp": ("timestamp", "datetime"), "Timestamptz": ("timestamptz", "datetime"), "Date": ("date", "datetime"),
    "Time": ("time", "time"), "Timetz": ("timetz", "timetz"), "Boolean": ("boolean", "boolean"),
    "Json": ("json", "json"), "JsonB": ("jsonb", "jsonb"), "ByteA": ("bytea", "bytea"),
    # cockroachdb names
    "String": ("text", "text"), "Int8": ("bigint", "integer"), "Int4": ("integer", "integer"),
    "Int2": ("smallint", "integer"), "Float8": ("double precision", "float"), "Float4": ("real", "float"),
}


@dataclass(frozen=True, slots=True)
class NativeType:
    """A column's database type: Prisma's `@db.X` (or the default it implies for the scalar type)."""

    name: str  # Prisma's @db name: "Timestamptz", "VarChar", "Uuid"
    args: tuple[str, ...] = ()
    explicit: bool = False  # written as @db.X (False: Prisma's default for the scalar type)

    @property
    def sql(self) -> str:
        """The PostgreSQL column type, e.g. `timestamptz(6)`, `varchar(255)`, `decimal(65,30)`."""
        base = _PG_NATIVE.get(self.name, (self.name.lower(), ""))[0]
        return f"{base}({','.join(self.args)})" if self.args else base

    @property
    def family(self) -> str:
        """Types a PostgreSQL foreign key can join across (same btree operator family)."""
        return _PG_NATIVE.get(self.name, ("", self.name.lower()))[1]

    @property
    def prisma(self) -> str:
        return f"@db.{self.name}" + (f"({', '.join(self.args)})" if self.args else "")


@dataclass(slots=True)
class IndexField:
    """One column of an index or key, with its sort order, length and operator class."""

    name: str
    sort: str | None = None  # "Asc" / "Desc"
    length: str | None = None
    ops: str | None = None


@dataclass(slots=True)
class Index:
    """A primary key, unique constraint, index or fulltext index, as an ordered list of field names."""

    kind: str  # "id", "unique", "index", "fulltext"
    fields: list[IndexField]
    line: int
    path: str
    source: str  # "field" (@id/@unique) or "block" (@@id/@@unique/@@index)
    name: str | None = None  # `name:` (Prisma Client name)
    map: str | None = None  # `map:` (database constraint/index name)
    type: str | None = None  # `type: Gin` etc.
    clustered: str | None = None
    where: str | None = None  # partial index predicate, when a future Prisma accepts one

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def is_btree(self) -> bool:
        return self.type is None or self.type.lower() == "btree"

    @property
    def constrains(self) -> bool:
        return self.kind in ("id", "unique")


@dataclass(slots=True, eq=False)
class Field:
    """A model's field, resolved: scalar or relation, its attributes and native type."""

    name: str
    type: str  # "String", "Int", a model, enum or composite type name, or "Unsupported"
    model: Model = field(repr=False)
    optional: bool
    list: bool
    attributes: list[Attribute]
    line: int
    column: int
    path: str
    doc: list[str] = field(default_factory=list)
    comment: str | None = None
    unsupported: str | None = None
    kind: str = "scalar"  # "scalar", "enum", "relation", "composite", "unsupported", "unknown"
    db_name: str = ""
    native: NativeType | None = None  # explicit or Prisma's default for the provider (None for relations/enums)
    default: Expr | None = None
    relation: Relation | None = field(default=None, repr=False)  # set on relation fields (both sides)
    relation_attr: Attribute | None = field(default=None, repr=False)

    @property
    def required(self) -> bool:
        return not self.optional and not self.list

    @property
    def is_scalar(self) -> bool:
        return self.kind in ("scalar", "enum", "unsupported")

    @property
    def is_relation(self) -> bool:
        return self.kind == "relation"

    @property
    def is_id(self) -> bool:
        return self.has("id")

    @property
    def is_unique(self) -> bool:
        return self.has("unique")

    @property
    def is_updated_at(self) -> bool:
        return self.has("updatedAt")

    @property
    def is_ignored(self) -> bool:
        return self.has("ignore")

    @property
    def default_text(self) -> str | None:
        """The @default expression as text: `now()`, `autoincrement()`, `"x"`, `[]`; None without @default."""
        return None if self.default is None else render(self.default)

    @property
    def default_function(self) -> str | None:
        return self.default.name if isinstance(self.default, FuncCall) else None

    @property
    def key(self) -> str:
        return f"{self.model.name}.{self.name}"

    def attr(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def has(self, name: str) -> bool:
        return any(a.name == name for a in self.attributes)

    def attr_line(self, name: str) -> int:
        a = self.attr(name)
        return a.line if a is not None else self.line

    def type_text(self) -> str:
        base = f'Unsupported("{self.unsupported}")' if self.unsupported is not None else self.type
        return base + ("[]" if self.list else "") + ("?" if self.optional else "")


@dataclass(slots=True, eq=False)
class Model:
    """A model, view or composite type with its fields, keys and indexes."""

    name: str
    kind: str  # "model", "view" or "type" (composite type)
    path: str
    line: int
    end_line: int
    block: ModelBlock = field(repr=False)
    db_name: str = ""
    db_schema: str | None = None  # @@schema
    fields: list[Field] = field(default_factory=list, repr=False)
    by_name: dict[str, Field] = field(default_factory=dict, repr=False)
    primary_key: Index | None = None
    uniques: list[Index] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)  # @@index (and @@fulltext in `fulltext`)
    fulltext: list[Index] = field(default_factory=list)
    ignored: bool = False
    doc: list[str] = field(default_factory=list)

    @property
    def scope(self) -> tuple[int, int]:
        return (self.line, self.end_line)

    @property
    def scalar_fields(self) -> list[Field]:
        return [f for f in self.fields if f.is_scalar]

    @property
    def relation_fields(self) -> list[Field]:
        return [f for f in self.fields if f.is_relation]

    @property
    def all_keys(self) -> list[Index]:
        """Primary key, unique constraints and indexes: everything that gives PostgreSQL a btree to search."""
        keys: list[Index] = []
        if self.primary_key is not None:
            keys.append(self.primary_key)
        return keys + self.uniques + self.indexes

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)

    def attr(self, name: str) -> Attribute | None:
        return next((a for a in self.block.attributes if a.name == name), None)

    def column(self, field_name: str) -> str:
        f = self.by_name.get(field_name)
        return f.db_name if f is not None else field_name


@dataclass(slots=True)
class EnumValue:
    """An enum value and the name it has in the database (`@map`)."""

    name: str
    db_name: str
    line: int


@dataclass(slots=True)
class Enum:
    """An enum and the name it has in the database (`@@map`)."""

    name: str
    path: str
    line: int
    end_line: int
    values: list[EnumValue]
    db_name: str
    block: EnumBlock
    db_schema: str | None = None

    @property
    def scope(self) -> tuple[int, int]:
        return (self.line, self.end_line)


@dataclass(slots=True, eq=False)
class Relation:
    """A relation between two models, seen from the side that holds the foreign key (`@relation(fields: ...)`)."""

    name: str | None
    model: Model = _dc_field(repr=False)  # holds the FK columns
    field: Field = _dc_field(repr=False)  # the relation field on `model`
    target: Model = _dc_field(repr=False)  # the referenced model
    fields: list[str]  # FK scalar field names on `model`
    references: list[str]  # referenced field names on `target`
    on_delete: str | None  # as written
    on_update: str | None
    back_field: Field | None = _dc_field(default=None, repr=False)  # the opposite relation field on `target`
    map: str | None = None
    implicit_many_to_many: bool = False

    @property
    def optional(self) -> bool:
        """Prisma: a relation is optional when its relation field is optional (so are its FK scalars)."""
        return self.field.optional or any(
            (f := self.model.by_name.get(n)) is not None and f.optional for n in self.fields
        )

    @property
    def effective_on_delete(self) -> str:
        if self.on_delete:
            return self.on_delete
        if self.implicit_many_to_many:
            return "Cascade"
        return "SetNull" if self.optional else "Restrict"

    @property
    def effective_on_update(self) -> str:
        return self.on_update or "Cascade"

    @property
    def fk_fields(self) -> list[Field]:
        return [f for n in self.fields if (f := self.model.by_name.get(n)) is not None]

    @property
    def referenced_fields(self) -> list[Field]:
        return [f for n in self.references if (f := self.target.by_name.get(n)) is not None]

    @property
    def is_one_to_one(self) -> bool:
        return self.back_field is not None and not self.back_field.list

    @property
    def key(self) -> str:
        return f"{self.model.name}.{self.field.name}"


@dataclass(slots=True)
class Schema:
    """The schema built from one or more .prisma files: models, enums, relations, datasource and generators."""

    files: list[str] = field(default_factory=list)
    parsed: list[SchemaFile] = field(default_factory=list)
    provider: str | None = None
    relation_mode: str = "foreignKeys"
    datasource: ConfigBlock | None = None
    generators: list[ConfigBlock] = field(default_factory=list)
    models: dict[str, Model] = field(default_factory=dict)  # models (kind "model")
    views: dict[str, Model] = field(default_factory=dict)
    types: dict[str, Model] = field(default_factory=dict)  # composite types
    enums: dict[str, Enum] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    @property
    def is_postgres(self) -> bool:
        return self.provider in ("postgresql", "postgres", "cockroachdb")

    @property
    def emulated_relations(self) -> bool:
        return self.relation_mode == "prisma"

    def model(self, name: str) -> Model | None:
        return self.models.get(name) or self.views.get(name)

    def model_by_table(self, table: str) -> Model | None:
        return next((m for m in self.models.values() if m.db_name == table), None)

    def all_models(self) -> list[Model]:
        return [*self.models.values(), *self.views.values()]

    def preview_features(self) -> list[str]:
        out: list[str] = []
        for g in self.generators:
            value = g.get("previewFeatures")
            if isinstance(value, ArrayExpr):
                out.extend(i.value for i in value.items if isinstance(i, StringLit))
        return out


# --------------------------------------------------------------------------------------------------------------------
# Building


def _string(expr: Expr | None) -> str | None:
    if isinstance(expr, StringLit):
        return expr.value
    if isinstance(expr, FuncCall) and expr.name == "env" and expr.args:
        return None
    return None


def _name(expr: Expr | None) -> str | None:
    if isinstance(expr, PathExpr):
        return expr.name
    if isinstance(expr, FuncCall):
        return expr.name
    if isinstance(expr, StringLit):
        return expr.value
    return None


def _name_list(expr: Expr | None) -> list[str]:
    if isinstance(expr, ArrayExpr):
        return [n for i in expr.items if (n := _name(i)) is not None]
    n = _name(expr)
    return [n] if n else []


def _index_fields(expr: Expr | None) -> list[IndexField]:
    items = expr.items if isinstance(expr, ArrayExpr) else ([expr] if expr is not None else [])
    out: list[IndexField] = []
    for item in items:
        if isinstance(item, PathExpr):
            out.append(IndexField(item.name))
        elif isinstance(item, FuncCall):
            f = IndexField(item.name)
            for a in item.args:
                if a.name == "sort":
                    f.sort = _name(a.value)
                elif a.name == "length" and isinstance(a.value, NumberLit):
                    f.length = a.value.text
                elif a.name == "ops":
                    f.ops = render(a.value)
            out.append(f)
    return out


def _block_index(attr: Attribute, kind: str, path: str) -> Index:
    fields_expr = attr.arg("fields", 0)
    return Index(
        kind=kind,
        fields=_index_fields(fields_expr),
        line=attr.line,
        path=path,
        source="block",
        name=_string(attr.arg("name")),
        map=_string(attr.arg("map")),
        type=_name(attr.arg("type")),
        clustered=_name(attr.arg("clustered")),
    )


def _field_index(f: Field, attr: Attribute, kind: str) -> Index:
    idx = IndexField(f.name, sort=_name(attr.arg("sort")))
    length = attr.arg("length")
    if isinstance(length, NumberLit):
        idx.length = length.text
    return Index(kind=kind, fields=[idx], line=attr.line, path=f.path, source="field", map=_string(attr.arg("map")),
                 clustered=_name(attr.arg("clustered")))


def _native(attrs: list[Attribute], type_name: str, provider: str | None) -> NativeType | None:
    for a in attrs:
        if a.name.startswith("db.") or (a.name.count(".") == 1 and a.name.split(".")[1][:1].isupper()):
            args = tuple(render(x.value) for x in a.args if x.value is not None)
            return NativeType(a.name.split(".", 1)[1], args, explicit=True)
    defaults = _DEFAULT_NATIVE.get(provider or "postgresql")
    if defaults and type_name in defaults:
        name, args = defaults[type_name]
        return NativeType(name, args, explicit=False)
    return None


def _datasource_settings(schema: Schema) -> None:
    ds = schema.datasource
    if ds is None:
        return
    provider = _string(ds.get("provider"))
    if provider is not None:
        schema.provider = "postgresql" if provider == "postgres" else provider
    mode = _string(ds.get("relationMode")) or _string(ds.get("referentialIntegrity"))
    if mode is not None:
        schema.relation_mode = mode
    elif schema.provider == "mongodb":
        schema.relation_mode = "prisma"


def build_schema(files: list[SchemaFile], provider_hint: str | None = None) -> Schema:
    """One Schema from the parsed files of a (possibly multi-file) schema."""
    schema = Schema(files=[f.path for f in files], parsed=list(files))
    model_blocks: list[tuple[ModelBlock, str]] = []
    for sf in files:
        for block in sf.blocks:
            if isinstance(block, ConfigBlock):
                if block.kind == "datasource" and schema.datasource is None:
                    schema.datasource = block
                elif block.kind == "generator":
                    schema.generators.append(block)
            elif isinstance(block, EnumBlock):
                schema.enums.setdefault(block.name, _build_enum(block, sf.path))
            elif isinstance(block, ModelBlock):
                model_blocks.append((block, sf.path))
    schema.provider = provider_hint
    _datasource_settings(schema)
    for block, path in model_blocks:
        m = Model(block.name, block.kind, path, block.line, block.end_line, block, doc=list(block.doc))
        target = {"model": schema.models, "view": schema.views, "type": schema.types}[block.kind]
        target.setdefault(block.name, m)
    for m in [*schema.models.values(), *schema.views.values(), *schema.types.values()]:
        _build_fields(schema, m)
    _resolve_relations(schema)
    return schema


def _build_enum(block: EnumBlock, path: str) -> Enum:
    values = []
    for v in block.values:
        mapped = next((_string(a.arg(None, 0)) for a in v.attributes if a.name == "map"), None)
        values.append(EnumValue(v.name, mapped or v.name, v.line))
    db_name = next((_string(a.arg("name", 0)) for a in block.attributes if a.name == "map"), None)
    db_schema = next((_string(a.arg(None, 0)) for a in block.attributes if a.name == "schema"), None)
    return Enum(block.name, path, block.line, block.end_line, values, db_name or block.name, block, db_schema)


def _build_fields(schema: Schema, m: Model) -> None:
    block = m.block
    for decl in block.fields:
        t = decl.type
        f = Field(
            name=decl.name, type=t.name, model=m, optional=t.optional, list=t.list, attributes=decl.attributes,
            line=decl.line, column=decl.column, path=m.path, doc=list(decl.doc), comment=decl.comment,
            unsupported=t.unsupported,
        )
        if t.unsupported is not None:
            f.kind = "unsupported"
        elif t.call_args is not None and t.name.startswith("temporal."):
            # Prisma Next contract types (`updatedAt temporal.updatedAt()`): a time value whose column type the
            # contract decides, so no native type is assumed.
            f.type = "DateTime"
            f.kind = "scalar"
        elif t.name in SCALAR_TYPES:
            f.kind = "scalar"
            f.native = _native(decl.attributes, t.name, schema.provider)
        elif t.name in schema.enums:
            f.kind = "enum"
        elif t.name in schema.types:
            f.kind = "composite"
        elif t.name in schema.models or t.name in schema.views:
            f.kind = "relation"
        else:
            f.kind = "unknown"
        f.db_name = f.name
        for a in decl.attributes:
            if a.name == "map":
                f.db_name = _string(a.arg("name", 0)) or f.name
            elif a.name == "default":
                f.default = a.arg("value", 0)
            elif a.name == "relation":
                f.relation_attr = a
            elif a.name == "id":
                m.primary_key = _field_index(f, a, "id")
            elif a.name == "unique":
                m.uniques.append(_field_index(f, a, "unique"))
        m.fields.append(f)
        m.by_name.setdefault(f.name, f)
    m.db_name = m.name
    for a in block.attributes:
        if a.name == "map":
            m.db_name = _string(a.arg("name", 0)) or m.name
        elif a.name == "schema":
            m.db_schema = _string(a.arg(None, 0))
        elif a.name == "ignore":
            m.ignored = True
        elif a.name == "id":
            m.primary_key = _block_index(a, "id", m.path)
        elif a.name == "unique":
            m.uniques.append(_block_index(a, "unique", m.path))
        elif a.name == "index":
            m.indexes.append(_block_index(a, "index", m.path))
        elif a.name == "fulltext":
            m.fulltext.append(_block_index(a, "fulltext", m.path))


def _relation_name(f: Field) -> str | None:
    a = f.relation_attr
    if a is None:
        return None
    return _string(a.arg("name", 0))


def _resolve_relations(schema: Schema) -> None:
    # Group the relation fields of each model pair by relation name; a side with `fields:` owns the foreign key.
    for m in schema.all_models():
        for f in m.fields:
            if f.kind != "relation":
                continue
            target = schema.model(f.type)
            if target is None or f.relation_attr is None:
                continue
            fk = _name_list(f.relation_attr.arg("fields"))
            if not fk:
                continue
            rel = Relation(
                name=_relation_name(f), model=m, field=f, target=target, fields=fk,
                references=_name_list(f.relation_attr.arg("references")),
                on_delete=_name(f.relation_attr.arg("onDelete")), on_update=_name(f.relation_attr.arg("onUpdate")),
                map=_string(f.relation_attr.arg("map")),
            )
            f.relation = rel
            schema.relations.append(rel)
    for rel in schema.relations:
        candidates = [
            g for g in rel.target.fields
            if g.kind == "relation" and g.type == rel.model.name and g is not rel.field and g.relation is None
            and _relation_name(g) == rel.name
        ]
        if candidates:
            rel.back_field = candidates[0]
            candidates[0].relation = rel
    # Implicit many-to-many: list on both sides, no `fields:`; Prisma makes a `_AToB` join table with Cascade.
    seen: set[int] = set()
    for m in schema.models.values():
        for f in m.fields:
            if f.kind != "relation" or not f.list or f.relation is not None or id(f) in seen:
                continue
            target = schema.models.get(f.type)
            if target is None:
                continue
            other = next((g for g in target.fields if g.kind == "relation" and g.list and g.type == m.name
                          and g is not f and g.relation is None and _relation_name(g) == _relation_name(f)), None)
            if other is None:
                continue
            rel = Relation(name=_relation_name(f), model=m, field=f, target=target, fields=[], references=[],
                           on_delete=None, on_update=None, back_field=other, implicit_many_to_many=True)
            f.relation = rel
            other.relation = rel
            seen.update((id(f), id(other)))
            schema.relations.append(rel)
