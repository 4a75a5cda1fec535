"""The database objects a Prisma schema stands for, and what migration SQL does to them (PostgreSQL).

`project(schema)` turns a schema into tables (columns, indexes) and enums under their database names (@map/@@map).
`SqlEffects.apply(statements)` replays the table/column/index/enum DDL of migration statements on such a shape.
The consistency checks compare "base schema + the new migrations' SQL" with "head schema", only on the objects the
change touches, so drift that was already there before the change is never blamed on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pglast import ast, enums

from bot.prisma.model import Field, Index, Model, Schema

# Defaults Prisma computes in the client: they leave no trace in the database.
PRISMA_LEVEL_DEFAULTS = ("uuid", "cuid", "nanoid", "ulid")
MAX_IDENT = 63


@dataclass
class Column:
    name: str
    field: Field | None = None  # the schema field it comes from (None when it only exists in SQL)
    type: str = ""
    nullable: bool = True
    default: str | None = None  # a database-level default, as written in the schema ("sql" when from SQL)
    sql_defined: bool = False  # nullability/default come from migration SQL, not from the schema
    type_from_sql: bool = False  # `type` was set by an ALTER COLUMN TYPE in the SQL


@dataclass(frozen=True)
class IndexSig:
    unique: bool
    columns: tuple[str, ...]

    def describe(self) -> str:
        return f"{'unique ' if self.unique else ''}index on ({', '.join(self.columns)})"


@dataclass
class Table:
    name: str
    model: Model | None = None
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: dict[str, IndexSig] = field(default_factory=dict)  # by index name
    index_sources: dict[IndexSig, Index] = field(default_factory=dict)  # schema index behind a signature
    primary_key: tuple[str, ...] = ()

    def sigs(self) -> set[IndexSig]:
        return set(self.indexes.values())


@dataclass
class EnumType:
    name: str
    values: list[str] = field(default_factory=list)
    source: Any = None  # the schema Enum


@dataclass
class DbShape:
    tables: dict[str, Table] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)

    def copy(self) -> DbShape:
        out = DbShape()
        for name, t in self.tables.items():
            columns = {c: replace(col) for c, col in t.columns.items()}
            out.tables[name] = Table(t.name, t.model, columns, dict(t.indexes), dict(t.index_sources), t.primary_key)
        for name, e in self.enums.items():
            out.enums[name] = EnumType(e.name, list(e.values), e.source)
        return out


def constraint_name(table: str, columns: tuple[str, ...], suffix: str) -> str:
    """Prisma's default index/constraint name: `{table}_{col1_col2}_{suffix}`, cut to 63 bytes keeping the suffix."""
    name = f"{table}_{'_'.join(columns)}"
    limit = MAX_IDENT - len(suffix) - 1
    return f"{name[:limit]}_{suffix}"


def _db_default(f: Field) -> str | None:
    function = f.default_function
    if function in PRISMA_LEVEL_DEFAULTS:
        return None
    return f.default_text


def _column_type(f: Field, schema: Schema) -> str:
    if f.kind == "enum":
        e = schema.enums.get(f.type)
        base = e.db_name if e is not None else f.type
    elif f.native is not None:
        base = f.native.sql
    elif f.unsupported:
        base = f.unsupported
    else:
        base = f.type
    return base + ("[]" if f.list else "")


def project(schema: Schema | None) -> DbShape:
    shape = DbShape()
    if schema is None:
        return shape
    for model in schema.models.values():
        if model.kind != "model":
            continue
        table = Table(model.db_name or model.name, model)
        for f in model.fields:
            if f.kind not in ("scalar", "enum", "unsupported"):
                continue
            table.columns[f.db_name or f.name] = Column(
                f.db_name or f.name, f, _column_type(f, schema), nullable=f.optional or f.list, default=_db_default(f)
            )
        if model.primary_key is not None:
            table.primary_key = tuple(model.column(c) for c in model.primary_key.columns)
        for idx in [*model.uniques, *model.indexes]:
            if idx.kind not in ("unique", "index") or not idx.is_btree or idx.where:
                continue  # GIN/GiST/hash and partial indexes: the SQL replay does not model them either
            cols = tuple(model.column(c) for c in idx.columns)
            sig = IndexSig(idx.kind == "unique", cols)
            name = idx.map or constraint_name(table.name, cols, "key" if sig.unique else "idx")
            table.indexes[name] = sig
            table.index_sources[sig] = idx
        shape.tables[table.name] = table
    for rel in schema.relations:
        # Prisma 2 gave the foreign key of a one-to-one relation a unique index of its own ("<Table>_<col>_unique")
        # without a @unique in the schema; Prisma 3 and later reject such a schema. Project it, so the index those
        # migrations created is not taken for drift.
        table = shape.tables.get(rel.model.db_name or rel.model.name)
        if table is None or not rel.is_one_to_one or rel.implicit_many_to_many or not rel.fields:
            continue
        cols = tuple(rel.model.column(c) for c in rel.fields)
        if cols == table.primary_key or IndexSig(True, cols) in table.sigs():
            continue
        table.indexes[f"{table.name}_{'_'.join(cols)}_unique"] = IndexSig(True, cols)
    for e in schema.enums.values():
        shape.enums[e.db_name or e.name] = EnumType(e.db_name or e.name, [v.db_name or v.name for v in e.values], e)
    return shape


def managed_schemas(schema: Schema | None) -> frozenset[str]:
    """The PostgreSQL schemas Prisma manages for this datasource: the `schemas = [...]` list when there is one,
    otherwise the datasource's own schema (`?schema=` of a literal URL, else `public`). Tables elsewhere (Supabase's
    `auth.users`, `extensions.*`) are not in the Prisma schema and `migrate dev` never drops them: SQL on them is
    not drift."""
    from bot.prisma.parser import ArrayExpr, StringLit

    ds = schema.datasource if schema is not None else None
    if ds is None:
        return frozenset({"public"})
    listed = ds.get("schemas")
    if isinstance(listed, ArrayExpr):
        names = {item.value for item in listed.items if isinstance(item, StringLit)}
        if names:
            return frozenset(names)
    url = ds.get("url")
    if isinstance(url, StringLit) and "schema=" in url.value:
        from urllib.parse import parse_qs, urlsplit

        found = parse_qs(urlsplit(url.value).query).get("schema")
        if found and found[0]:
            return frozenset({found[0]})
    return frozenset({"public"})


def statement_schema(node: Any) -> str | None:
    """The schema a statement qualifies its object with (`"auth"."users"` -> `auth`), None when unqualified."""
    relation = getattr(node, "relation", None)
    if isinstance(node, (ast.CreateStmt, ast.AlterTableStmt, ast.IndexStmt)) or (
            isinstance(node, ast.RenameStmt) and relation is not None):
        return getattr(relation, "schemaname", None) if relation is not None else None
    names: Any = None
    if isinstance(node, (ast.CreateEnumStmt, ast.AlterEnumStmt)):
        names = node.typeName
    elif isinstance(node, ast.RenameStmt):
        names = node.object
    elif isinstance(node, ast.DropStmt) and node.objects:
        first = node.objects[0]
        names = first.names if isinstance(first, ast.TypeName) else first
    if isinstance(names, ast.TypeName):
        names = names.names
    if isinstance(names, (tuple, list)) and len(names) > 1:
        return _str(names[0])
    return None


# -- SQL replay ---------------------------------------------------------------------------------------------------


@dataclass
class Touch:
    """What the SQL did to one object, for the messages: the statement's file and lines."""

    path: str
    line: int
    end_line: int
    action: str  # "create", "drop", "add", "rename"


@dataclass
class SqlEffects:
    """Replays migration DDL on a DbShape and records which objects the SQL touched."""

    shape: DbShape
    tables: dict[str, Touch] = field(default_factory=dict)
    columns: dict[tuple[str, str], Touch] = field(default_factory=dict)
    indexes: dict[tuple[str, IndexSig], Touch] = field(default_factory=dict)
    enums: dict[str, Touch] = field(default_factory=dict)
    enum_values: dict[tuple[str, str], Touch] = field(default_factory=dict)
    opaque: list[Touch] = field(default_factory=list)  # DO blocks, functions, EXECUTE: effects we cannot see
    renamed_tables: dict[str, str] = field(default_factory=dict)  # new -> old
    # Schemas the datasource manages (managed_schemas); statements on objects qualified with another schema are
    # not replayed. None: every schema counts.
    managed: frozenset[str] | None = None

    def apply(self, path: str, statements: list[Any]) -> None:
        for stmt in statements:
            touch = lambda action, s=stmt: Touch(path, s.line, s.end_line, action)  # noqa: E731
            try:
                if self.managed is not None:
                    schema = statement_schema(stmt.node)
                    if schema is not None and schema not in self.managed:
                        continue
                self._apply(stmt.node, touch)
            except (AttributeError, TypeError, IndexError):
                self.opaque.append(touch("unknown"))

    # pglast nodes are dynamically shaped: each branch reads only the fields documented for its node type.
    def _apply(self, node: Any, touch: Any) -> None:
        shape = self.shape
        if isinstance(node, ast.CreateStmt):
            name = node.relation.relname
            if name in shape.tables and node.if_not_exists:
                return
            table = Table(name)
            for elt in node.tableElts or ():
                if isinstance(elt, ast.ColumnDef):
                    table.columns[elt.colname] = _sql_column(elt)
                    for c in elt.constraints or ():
                        if isinstance(c, ast.Constraint) and c.contype == enums.ConstrType.CONSTR_UNIQUE:
                            sig = IndexSig(True, (elt.colname,))
                            table.indexes[c.conname or constraint_name(name, sig.columns, "key")] = sig
                elif isinstance(elt, ast.Constraint) and elt.contype == enums.ConstrType.CONSTR_PRIMARY:
                    table.primary_key = tuple(_str(k) for k in elt.keys or ())
                    for key in table.primary_key:
                        if key in table.columns:
                            table.columns[key].nullable = False
                elif isinstance(elt, ast.Constraint) and elt.contype == enums.ConstrType.CONSTR_UNIQUE and elt.keys:
                    sig = IndexSig(True, tuple(_str(k) for k in elt.keys))
                    table.indexes[elt.conname or constraint_name(name, sig.columns, "key")] = sig
            shape.tables[name] = table
            self.tables[name] = touch("create")
            for col in table.columns:
                self.columns[(name, col)] = touch("create")
            for sig in table.indexes.values():
                self.indexes[(name, sig)] = touch("create")
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == enums.ObjectType.OBJECT_TABLE:
            name = node.relation.relname
            table = shape.tables.get(name)
            for cmd in node.cmds or ():
                if not isinstance(cmd, ast.AlterTableCmd):
                    continue
                if cmd.subtype == enums.AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                    col = cmd.def_.colname
                    if table is not None and col not in table.columns:
                        table.columns[col] = _sql_column(cmd.def_)
                    self.columns[(name, col)] = touch("add")
                elif cmd.subtype in (enums.AlterTableType.AT_SetNotNull, enums.AlterTableType.AT_DropNotNull):
                    column = table.columns.get(cmd.name) if table is not None else None
                    if column is not None:
                        column.nullable = cmd.subtype == enums.AlterTableType.AT_DropNotNull
                        column.sql_defined = True
                        self.columns.setdefault((name, cmd.name), touch("alter"))
                elif cmd.subtype == enums.AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
                    column = table.columns.get(cmd.name) if table is not None else None
                    if column is not None:
                        column.type = sql_type(cmd.def_.typeName)
                        column.type_from_sql = True
                        self.columns.setdefault((name, cmd.name), touch("alter"))
                elif cmd.subtype == enums.AlterTableType.AT_ColumnDefault:
                    column = table.columns.get(cmd.name) if table is not None else None
                    if column is not None and column.sql_defined:
                        column.default = "sql" if cmd.def_ is not None else None
                elif cmd.subtype == enums.AlterTableType.AT_DropColumn:
                    if table is not None:
                        table.columns.pop(cmd.name, None)
                        for idx_name, sig in list(table.indexes.items()):
                            if cmd.name in sig.columns:
                                del table.indexes[idx_name]
                    self.columns[(name, cmd.name)] = touch("drop")
                elif cmd.subtype == enums.AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                    c = cmd.def_
                    if c.contype == enums.ConstrType.CONSTR_PRIMARY and c.keys and table is not None:
                        # a primary key makes its columns NOT NULL (split-pro renames a nullable uuid into `id`)
                        for key in c.keys:
                            column = table.columns.get(_str(key))
                            if column is not None:
                                column.nullable = False
                    if c.contype == enums.ConstrType.CONSTR_UNIQUE and c.keys and table is not None:
                        sig = IndexSig(True, tuple(_str(k) for k in c.keys))
                        table.indexes[c.conname or constraint_name(name, sig.columns, "key")] = sig
                        self.indexes[(name, sig)] = touch("create")
                    elif c.contype == enums.ConstrType.CONSTR_UNIQUE and c.indexname and table is not None:
                        sig = table.indexes.pop(c.indexname, None)  # ADD UNIQUE USING INDEX renames the index
                        if sig is not None and c.conname:
                            table.indexes[c.conname] = sig
                elif cmd.subtype == enums.AlterTableType.AT_DropConstraint and table is not None:
                    sig = table.indexes.pop(cmd.name, None)
                    if sig is not None:
                        self.indexes[(name, sig)] = touch("drop")
        elif isinstance(node, ast.RenameStmt):
            self._rename(node, touch)
        elif isinstance(node, ast.DropStmt):
            self._drop(node, touch)
        elif isinstance(node, ast.IndexStmt):
            table_name = node.relation.relname
            table = shape.tables.get(table_name)
            cols = [p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem)]
            plain = all(cols) and node.whereClause is None and (node.accessMethod or "btree") == "btree" \
                and not node.indexIncludingParams
            if not plain:
                return  # partial, expression or non-btree index: the schema may not be able to express it
            sig = IndexSig(bool(node.unique), tuple(cols))
            if table is not None:
                if node.if_not_exists and node.idxname in table.indexes:
                    return
                table.indexes[node.idxname or constraint_name(table_name, sig.columns, "idx")] = sig
            self.indexes[(table_name, sig)] = touch("create")
        elif isinstance(node, ast.CreateEnumStmt):
            name = _str(node.typeName[-1])
            if name in shape.enums:
                return
            shape.enums[name] = EnumType(name, [_str(v) for v in node.vals or ()])
            self.enums[name] = touch("create")
        elif isinstance(node, ast.AlterEnumStmt):
            name = _str(node.typeName[-1])
            e = shape.enums.get(name)
            if node.oldVal:
                if e is not None and node.oldVal in e.values:
                    e.values[e.values.index(node.oldVal)] = node.newVal
                self.enum_values[(name, node.oldVal)] = touch("rename")
                self.enum_values[(name, node.newVal)] = touch("rename")
            elif node.newVal:
                if e is not None and node.newVal not in e.values:
                    e.values.append(node.newVal)
                self.enum_values[(name, node.newVal)] = touch("add")
        elif isinstance(node, (ast.DoStmt, ast.CreateFunctionStmt, ast.ExecuteStmt, ast.CallStmt)):
            self.opaque.append(touch("opaque"))

    def _rename(self, node: ast.RenameStmt, touch: Any) -> None:
        shape = self.shape
        kind = node.renameType
        if kind == enums.ObjectType.OBJECT_COLUMN:
            table = shape.tables.get(node.relation.relname)
            if table is not None and node.subname in table.columns:
                column = table.columns.pop(node.subname)
                column.name = node.newname
                table.columns[node.newname] = column
                for idx_name, sig in list(table.indexes.items()):
                    if node.subname in sig.columns:
                        table.indexes[idx_name] = IndexSig(
                            sig.unique, tuple(node.newname if c == node.subname else c for c in sig.columns))
            self.columns[(node.relation.relname, node.subname)] = touch("rename")
            self.columns[(node.relation.relname, node.newname)] = touch("rename")
        elif kind == enums.ObjectType.OBJECT_TABLE:
            old = node.relation.relname
            table = shape.tables.pop(old, None)
            if table is not None:
                table.name = node.newname
                shape.tables[node.newname] = table
            self.renamed_tables[node.newname] = old
            self.tables[old] = touch("rename")
            self.tables[node.newname] = touch("rename")
        elif kind == enums.ObjectType.OBJECT_INDEX:
            old = node.relation.relname
            for table in shape.tables.values():
                if old in table.indexes:
                    table.indexes[node.newname] = table.indexes.pop(old)
        elif kind == enums.ObjectType.OBJECT_TABCONSTRAINT:
            table = shape.tables.get(node.relation.relname)
            if table is not None and node.subname in table.indexes:
                table.indexes[node.newname] = table.indexes.pop(node.subname)
        elif kind == enums.ObjectType.OBJECT_TYPE:
            old = _str(node.object[-1]) if isinstance(node.object, tuple) else None
            if old and old in shape.enums:
                e = shape.enums.pop(old)
                e.name = node.newname
                shape.enums[node.newname] = e
            if old:
                for table in shape.tables.values():  # columns of the type follow its new name
                    for column in table.columns.values():
                        if column.type in (old, f"{old}[]"):
                            column.type = column.type.replace(old, node.newname, 1)
            if old:
                self.enums[old] = touch("rename")
                self.enums[node.newname] = touch("rename")

    def _drop(self, node: ast.DropStmt, touch: Any) -> None:
        shape = self.shape
        if node.removeType == enums.ObjectType.OBJECT_TABLE:
            for obj in node.objects or ():
                name = _str(obj[-1])
                shape.tables.pop(name, None)
                self.tables[name] = touch("drop")
        elif node.removeType == enums.ObjectType.OBJECT_INDEX:
            for obj in node.objects or ():
                name = _str(obj[-1])
                for table_name, table in shape.tables.items():
                    sig = table.indexes.pop(name, None)
                    if sig is not None:
                        self.indexes[(table_name, sig)] = touch("drop")
        elif node.removeType == enums.ObjectType.OBJECT_TYPE:
            for obj in node.objects or ():
                names = obj.names if isinstance(obj, ast.TypeName) else obj
                name = _str(names[-1])
                shape.enums.pop(name, None)
                self.enums[name] = touch("drop")


# PostgreSQL's internal type names -> the spelling `NativeType.sql` uses (without length/precision).
_PG_TYPES = {
    "int4": "integer", "integer": "integer", "int": "integer", "serial": "integer", "serial4": "integer",
    "int8": "bigint", "bigint": "bigint", "bigserial": "bigint", "serial8": "bigint",
    "int2": "smallint", "smallint": "smallint", "smallserial": "smallint", "serial2": "smallint",
    "text": "text", "varchar": "varchar", "bpchar": "char", "char": "char", "citext": "citext",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date", "time": "time", "timetz": "timetz",
    "bool": "boolean", "boolean": "boolean", "float8": "double precision", "float4": "real", "numeric": "decimal",
    "decimal": "decimal", "money": "money", "jsonb": "jsonb", "json": "json", "bytea": "bytea", "uuid": "uuid",
    "inet": "inet", "xml": "xml", "oid": "oid", "bit": "bit", "varbit": "varbit",
}


def sql_type(type_name: Any) -> str:
    """`integer`, `timestamptz`, `OrderStatus`, `text[]`: the SQL column type without modifiers; "" if unknown."""
    if type_name is None:
        return ""
    names = [_str(n) for n in type_name.names or ()]
    if not names:
        return ""
    last = names[-1]
    base = _PG_TYPES.get(last.lower(), "" if last.lower() == last and len(names) > 1 else last)
    if not base:
        return ""
    return base + ("[]" if type_name.arrayBounds is not None else "")


def schema_type(column_type: str) -> str:
    """A projected column type (`timestamp(3)`, `varchar(255)[]`) without its modifiers, as `sql_type` spells it."""
    array = column_type.endswith("[]")
    base = column_type.removesuffix("[]").split("(")[0]
    return base + ("[]" if array else "")


def _sql_column(definition: ast.ColumnDef) -> Column:
    """A column as the SQL defines it: NOT NULL from the column's constraints, serial/identity, or PRIMARY KEY."""
    kinds = {c.contype for c in definition.constraints or () if isinstance(c, ast.Constraint)}
    type_names = [_str(n).lower() for n in (definition.typeName.names if definition.typeName else ())]
    serial = any(t in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2") for t in type_names)
    not_null = bool(definition.is_not_null) or serial or bool(
        kinds & {enums.ConstrType.CONSTR_NOTNULL, enums.ConstrType.CONSTR_PRIMARY, enums.ConstrType.CONSTR_IDENTITY})
    has_default = serial or bool(kinds & {enums.ConstrType.CONSTR_DEFAULT, enums.ConstrType.CONSTR_IDENTITY,
                                          enums.ConstrType.CONSTR_GENERATED})
    return Column(definition.colname, type=sql_type(definition.typeName), nullable=not not_null,
                  default="sql" if has_default else None, sql_defined=True, type_from_sql=True)


def _str(node: Any) -> str:
    if isinstance(node, ast.String):
        return node.sval
    if isinstance(node, str):
        return node
    return str(getattr(node, "sval", node))
