"""Normalise parsed statements into flat operations (Op) that rules and the state model read.

One statement can hold several operations (`ALTER TABLE t DROP COLUMN a, ADD COLUMN b ...`); every Op keeps its
statement, so findings point at the statement's lines. Table names drop the `public.` schema and quotes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType, TransactionStmtKind

from bot.sql.model import Statement


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # normalised: "text", "int4", "timestamp(3)", "varchar(255)", "serial", "jsonb", "Role" (enum)
    not_null: bool = False
    default: str | None = None  # the default expression's SQL-ish text, None when there is none
    default_volatile: bool = False
    identity: bool = False
    generated_stored: bool = False
    primary_key: bool = False
    unique: bool = False
    is_array: bool = False
    references: str | None = None  # inline REFERENCES target table


@dataclass
class Op:
    stmt: Statement
    kind: str
    table: str | None = None
    column: str | None = None
    name: str | None = None  # index / constraint / type / schema name
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """What the op is about, for keys: `User.email`, `User_email_key`, `Role`."""
        if self.table and self.column:
            return f"{self.table}.{self.column}"
        return self.name or self.table or self.kind


# Functions whose value differs per row: a DEFAULT using one makes ADD COLUMN rewrite the whole table.
# now()/current_timestamp are stable within a statement (evaluated once), so they stay metadata-only.
VOLATILE_FUNCS = {"gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "uuid_generate_v1mc", "random",
                  "clock_timestamp", "timeofday", "nextval", "gen_random_bytes", "uuid_generate_v7", "uuidv4",
                  "uuidv7", "txid_current", "statement_timestamp", "cuid", "nanoid", "ulid"}
_TYPE_ALIASES = {"int4": "int4", "integer": "int4", "int": "int4", "int8": "int8", "bigint": "int8",
                 "int2": "int2", "smallint": "int2", "float8": "float8", "float4": "float4", "bool": "bool",
                 "bpchar": "char", "timestamptz": "timestamptz", "timestamp": "timestamp", "numeric": "numeric",
                 "varchar": "varchar", "text": "text", "jsonb": "jsonb", "json": "json", "uuid": "uuid"}


def rel_name(rv: Any) -> str:
    if rv is None:
        return "?"
    schema = getattr(rv, "schemaname", None)
    name = getattr(rv, "relname", None) or "?"
    return name if not schema or schema == "public" else f"{schema}.{name}"


def names_of(items: Any) -> list[str]:
    out: list[str] = []
    for item in items or ():
        sval = getattr(item, "sval", None)
        if sval is not None:
            out.append(sval)
    return out


def type_name(tn: Any) -> tuple[str, bool]:
    """Normalised type of a TypeName node and whether it is an array."""
    if tn is None:
        return "?", False
    parts = [n for n in names_of(tn.names) if n != "pg_catalog"]
    base = parts[-1] if parts else "?"
    if len(parts) > 1 and parts[0] != "public":
        base = f"{parts[0]}.{base}"
    base = _TYPE_ALIASES.get(base, base)
    mods: list[str] = []
    for m in tn.typmods or ():
        val = getattr(m, "val", None)
        ival = getattr(val, "ival", None)
        if ival is not None:
            mods.append(str(ival))
    if base == "timestamptz" or base == "timestamp":
        # `TIMESTAMP(3) WITH TIME ZONE` arrives as timestamptz with typmods
        pass
    text = f"{base}({','.join(mods)})" if mods else base
    return text, bool(tn.arrayBounds)


def expr_text(node: Any) -> str:
    """A compact rendering of a default/USING expression, enough for messages and volatility checks."""
    try:
        from pglast.stream import RawStream

        return RawStream()(node)
    except Exception:  # some expression nodes cannot be printed stand-alone
        return type(node).__name__


def func_names(node: Any) -> set[str]:
    found: set[str] = set()
    for n in walk(node):
        if isinstance(n, ast.FuncCall):
            names = names_of(n.funcname)
            if names:
                found.add(names[-1].lower())
        elif isinstance(n, ast.SQLValueFunction):
            found.add("now")
    return found


def walk(node: Any) -> Any:
    """Every AST node under `node` (depth first), including itself."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur is None:
            continue
        if isinstance(cur, tuple | list):
            stack.extend(cur)
            continue
        if not isinstance(cur, ast.Node):
            continue
        yield cur
        for attr in cur.__slots__:
            value = getattr(cur, attr, None)
            if isinstance(value, ast.Node | tuple | list):
                stack.append(value)


def string_literals(node: Any) -> set[str]:
    out: set[str] = set()
    for n in walk(node):
        if isinstance(n, ast.A_Const):
            sval = getattr(getattr(n, "val", None), "sval", None)
            if sval is not None:
                out.add(sval)
    return out


def column_info(cd: Any) -> ColumnInfo:
    typ, is_array = type_name(cd.typeName)
    not_null = bool(cd.is_not_null)
    default = None
    volatile = identity = stored = pk = unique = False
    references = None
    if typ in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"):
        default, volatile = "nextval(...)", True
    for c in cd.constraints or ():
        ct = c.contype
        if ct == ConstrType.CONSTR_NOTNULL:
            not_null = True
        elif ct == ConstrType.CONSTR_DEFAULT and c.raw_expr is not None:
            default = expr_text(c.raw_expr)
            volatile = volatile or bool(func_names(c.raw_expr) & VOLATILE_FUNCS)
        elif ct == ConstrType.CONSTR_IDENTITY:
            identity, not_null = True, True
        elif ct == ConstrType.CONSTR_GENERATED:
            stored = getattr(c, "generated_kind", "s") != "v"
        elif ct == ConstrType.CONSTR_PRIMARY:
            pk, not_null = True, True
        elif ct == ConstrType.CONSTR_UNIQUE:
            unique = True
        elif ct == ConstrType.CONSTR_FOREIGN:
            references = rel_name(c.pktable)
    return ColumnInfo(cd.colname or "?", typ, not_null, default, volatile, identity, stored, pk, unique, is_array,
                      references)


def constraint_data(c: Any) -> dict[str, Any]:
    kinds = {ConstrType.CONSTR_FOREIGN: "fk", ConstrType.CONSTR_CHECK: "check", ConstrType.CONSTR_UNIQUE: "unique",
             ConstrType.CONSTR_PRIMARY: "pk", ConstrType.CONSTR_EXCLUSION: "exclude",
             ConstrType.CONSTR_NOTNULL: "notnull"}
    data: dict[str, Any] = {
        "contype": kinds.get(c.contype, str(c.contype)),
        "not_valid": bool(c.skip_validation),
        "using_index": c.indexname,
        "columns": names_of(c.keys) or names_of(c.fk_attrs),
    }
    if c.contype == ConstrType.CONSTR_FOREIGN:
        data["ref_table"] = rel_name(c.pktable)
        data["ref_columns"] = names_of(c.pk_attrs)
    if c.contype == ConstrType.CONSTR_CHECK and c.raw_expr is not None:
        data["expr"] = expr_text(c.raw_expr)
    return data


def ops_of(stmt: Statement) -> list[Op]:
    """The operations of one PostgreSQL statement; unknown statements give one Op of kind "other"."""
    node = stmt.node
    handler = _HANDLERS.get(type(node).__name__)
    if handler is None:
        return [Op(stmt, "other", data={"node": stmt.kind})]
    return handler(stmt, node)


def _create_table(stmt: Statement, n: Any) -> list[Op]:
    table = rel_name(n.relation)
    columns: list[ColumnInfo] = []
    constraints: list[dict[str, Any]] = []
    for elt in n.tableElts or ():
        if isinstance(elt, ast.ColumnDef):
            columns.append(column_info(elt))
            for c in elt.constraints or ():
                if c.contype == ConstrType.CONSTR_FOREIGN:
                    d = constraint_data(c)
                    d["columns"] = [elt.colname]
                    constraints.append(d)
        elif isinstance(elt, ast.Constraint):
            d = constraint_data(elt)
            d["name"] = elt.conname
            constraints.append(d)
    return [Op(stmt, "create_table", table=table, data={
        "columns": columns, "constraints": constraints, "partitioned": n.partspec is not None,
        "partition_of": rel_name(n.inhRelations[0]) if n.partbound is not None and n.inhRelations else None,
        "if_not_exists": bool(n.if_not_exists),
    })]


def _create_table_as(stmt: Statement, n: Any) -> list[Op]:
    into = getattr(n, "into", None)
    return [Op(stmt, "create_table", table=rel_name(getattr(into, "rel", None)),
               data={"columns": [], "constraints": [], "as_select": True})]


def _index(stmt: Statement, n: Any) -> list[Op]:
    cols: list[str | None] = [p.name for p in n.indexParams or ()]
    return [Op(stmt, "create_index", table=rel_name(n.relation), name=n.idxname, data={
        "unique": bool(n.unique), "concurrent": bool(n.concurrent), "columns": cols,
        "partial": n.whereClause is not None, "if_not_exists": bool(n.if_not_exists),
        "method": n.accessMethod,
    })]


def _alter_table(stmt: Statement, n: Any) -> list[Op]:
    table = rel_name(n.relation)
    out: list[Op] = []
    objtype = n.objtype
    if objtype not in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE):
        return [Op(stmt, "other", table=table, data={"node": "AlterTableStmt", "objtype": str(objtype)})]
    for cmd in n.cmds or ():
        st = cmd.subtype
        if st == AlterTableType.AT_AddColumn:
            col = column_info(cmd.def_)
            out.append(Op(stmt, "add_column", table=table, column=col.name,
                          data={"col": col, "if_not_exists": bool(cmd.missing_ok)}))
            for c in cmd.def_.constraints or ():
                if c.contype == ConstrType.CONSTR_FOREIGN:
                    d = constraint_data(c)
                    d["columns"] = [col.name]
                    out.append(Op(stmt, "add_constraint", table=table, name=c.conname, data=d))
        elif st == AlterTableType.AT_DropColumn:
            out.append(Op(stmt, "drop_column", table=table, column=cmd.name, data={"if_exists": bool(cmd.missing_ok)}))
        elif st == AlterTableType.AT_AlterColumnType:
            typ, is_array = type_name(cmd.def_.typeName)
            using = cmd.def_.raw_default
            out.append(Op(stmt, "alter_type", table=table, column=cmd.name, data={
                "new_type": typ, "is_array": is_array, "using": expr_text(using) if using is not None else None}))
        elif st == AlterTableType.AT_SetNotNull:
            out.append(Op(stmt, "set_not_null", table=table, column=cmd.name))
        elif st == AlterTableType.AT_DropNotNull:
            out.append(Op(stmt, "drop_not_null", table=table, column=cmd.name))
        elif st == AlterTableType.AT_ColumnDefault:
            if cmd.def_ is None:
                out.append(Op(stmt, "drop_default", table=table, column=cmd.name))
            else:
                out.append(Op(stmt, "set_default", table=table, column=cmd.name, data={
                    "expr": expr_text(cmd.def_), "volatile": bool(func_names(cmd.def_) & VOLATILE_FUNCS),
                    "literals": sorted(string_literals(cmd.def_))}))
        elif st == AlterTableType.AT_AddConstraint:
            c = cmd.def_
            out.append(Op(stmt, "add_constraint", table=table, name=c.conname, data=constraint_data(c)))
        elif st == AlterTableType.AT_ValidateConstraint:
            out.append(Op(stmt, "validate_constraint", table=table, name=cmd.name))
        elif st == AlterTableType.AT_DropConstraint:
            out.append(Op(stmt, "drop_constraint", table=table, name=cmd.name))
        elif st in (AlterTableType.AT_EnableRowSecurity, AlterTableType.AT_ForceRowSecurity):
            out.append(Op(stmt, "enable_rls", table=table))
        elif st == AlterTableType.AT_DetachPartition:
            out.append(Op(stmt, "detach_partition", table=table,
                          data={"concurrent": bool(getattr(cmd.def_, "concurrent", False))}))
        elif st == AlterTableType.AT_AttachPartition:
            out.append(Op(stmt, "attach_partition", table=table))
        else:
            out.append(Op(stmt, "alter_other", table=table, data={"subtype": st.name}))
    return out


def _rename(stmt: Statement, n: Any) -> list[Op]:
    rt = n.renameType
    if rt == ObjectType.OBJECT_COLUMN:
        return [Op(stmt, "rename_column", table=rel_name(n.relation), column=n.subname, data={"new": n.newname})]
    if rt == ObjectType.OBJECT_TABLE:
        return [Op(stmt, "rename_table", table=rel_name(n.relation), data={"new": n.newname})]
    if rt == ObjectType.OBJECT_TYPE:
        obj = n.object
        old = names_of(getattr(obj, "names", None) or obj)[-1:] if obj is not None else []
        return [Op(stmt, "rename_type", name=old[0] if old else "?", data={"new": n.newname})]
    if rt == ObjectType.OBJECT_INDEX:
        return [Op(stmt, "rename_index", name=rel_name(n.relation), data={"new": n.newname})]
    if rt == ObjectType.OBJECT_TABCONSTRAINT:
        return [Op(stmt, "rename_constraint", table=rel_name(n.relation), name=n.subname, data={"new": n.newname})]
    return [Op(stmt, "rename_other", data={"objtype": rt.name, "new": n.newname})]


def _drop(stmt: Statement, n: Any) -> list[Op]:
    rt = n.removeType
    cascade = n.behavior is not None and n.behavior.name == "DROP_CASCADE"
    out: list[Op] = []
    for obj in n.objects or ():
        parts = names_of(obj if isinstance(obj, tuple | list) else getattr(obj, "names", None) or (obj,))
        if not parts and isinstance(obj, ast.TypeName):
            parts = names_of(obj.names)
        name = ".".join(p for p in parts if p != "public") or "?"
        if rt == ObjectType.OBJECT_TABLE:
            out.append(Op(stmt, "drop_table", table=name, data={"cascade": cascade, "if_exists": bool(n.missing_ok)}))
        elif rt == ObjectType.OBJECT_INDEX:
            out.append(Op(stmt, "drop_index", name=name, data={"concurrent": bool(n.concurrent),
                                                               "if_exists": bool(n.missing_ok)}))
        elif rt == ObjectType.OBJECT_SCHEMA:
            out.append(Op(stmt, "drop_schema", name=name, data={"cascade": cascade}))
        elif rt == ObjectType.OBJECT_TYPE:
            out.append(Op(stmt, "drop_type", name=name, data={"cascade": cascade}))
        else:
            out.append(Op(stmt, "drop_other", name=name, data={"objtype": rt.name}))
    return out


def _create_enum(stmt: Statement, n: Any) -> list[Op]:
    name = [p for p in names_of(n.typeName) if p != "public"]
    vals = [v.sval for v in n.vals or () if getattr(v, "sval", None) is not None]
    return [Op(stmt, "create_enum", name=".".join(name), data={"values": vals})]


def _alter_enum(stmt: Statement, n: Any) -> list[Op]:
    name = ".".join(p for p in names_of(n.typeName) if p != "public")
    if n.oldVal:
        return [Op(stmt, "rename_enum_value", name=name, data={"old": n.oldVal, "new": n.newVal})]
    return [Op(stmt, "add_enum_value", name=name, data={"value": n.newVal, "neighbor": n.newValNeighbor})]


def _truncate(stmt: Statement, n: Any) -> list[Op]:
    cascade = n.behavior is not None and n.behavior.name == "DROP_CASCADE"
    return [Op(stmt, "truncate", table=rel_name(r), data={"cascade": cascade}) for r in n.relations or ()]


def _update(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "update", table=rel_name(n.relation), data={"where": n.whereClause is not None,
                                                                  "literals": sorted(string_literals(n))})]


def _delete(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "delete", table=rel_name(n.relation), data={"where": n.whereClause is not None})]


def _insert(stmt: Statement, n: Any) -> list[Op]:
    sel = n.selectStmt
    from_select = sel is not None and not getattr(sel, "valuesLists", None)
    return [Op(stmt, "insert", table=rel_name(n.relation), data={"select": from_select,
                                                                  "literals": sorted(string_literals(n))})]


def _set(stmt: Statement, n: Any) -> list[Op]:
    value = " ".join(expr_text(a) for a in n.args or ())
    return [Op(stmt, "set", name=(n.name or "").lower(), data={"value": value, "local": bool(n.is_local)})]


def _transaction(stmt: Statement, n: Any) -> list[Op]:
    k = n.kind
    kind = {TransactionStmtKind.TRANS_STMT_BEGIN: "begin", TransactionStmtKind.TRANS_STMT_START: "begin",
            TransactionStmtKind.TRANS_STMT_COMMIT: "commit", TransactionStmtKind.TRANS_STMT_ROLLBACK: "rollback"}
    return [Op(stmt, "transaction", data={"kind": kind.get(k, k.name.lower())})]


def _vacuum(stmt: Statement, n: Any) -> list[Op]:
    opts = {getattr(o, "defname", "") for o in n.options or ()}
    tables = [rel_name(r.relation) for r in n.rels or ()]
    kind = "vacuum_full" if "full" in opts and n.is_vacuumcmd else ("vacuum" if n.is_vacuumcmd else "analyze")
    return [Op(stmt, kind, table=t) for t in tables] or [Op(stmt, kind)]


def _cluster(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "cluster", table=rel_name(n.relation) if n.relation is not None else None)]


def _reindex(stmt: Statement, n: Any) -> list[Op]:
    concurrent = any(getattr(p, "defname", "") == "concurrently" for p in n.params or ())
    kind = n.kind.name.replace("REINDEX_OBJECT_", "").lower()
    target = rel_name(n.relation) if n.relation is not None else n.name
    return [Op(stmt, "reindex", table=target if kind == "table" else None, name=target,
               data={"concurrent": concurrent, "object": kind})]


def _policy(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "create_policy", table=rel_name(n.table), name=n.policy_name)]


def _trigger(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "create_trigger", table=rel_name(n.relation), name=n.trigname)]


def _refresh(stmt: Statement, n: Any) -> list[Op]:
    return [Op(stmt, "refresh_matview", name=rel_name(n.relation), data={"concurrent": bool(n.concurrent)})]


_HANDLERS = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "IndexStmt": _index,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "CreateEnumStmt": _create_enum,
    "AlterEnumStmt": _alter_enum,
    "TruncateStmt": _truncate,
    "UpdateStmt": _update,
    "DeleteStmt": _delete,
    "InsertStmt": _insert,
    "VariableSetStmt": _set,
    "TransactionStmt": _transaction,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "ReindexStmt": _reindex,
    "CreatePolicyStmt": _policy,
    "CreateTrigStmt": _trigger,
    "RefreshMatViewStmt": _refresh,
}
