"""Normalise parsed statements into flat operations (Op) that rules and the state model read.

Works on libpg_query's JSON parse tree (Statement.json): typed members are plain dicts ({"relname": ...}),
polymorphic ones are wrapped in their node name ({"ColumnDef": {...}}), enums are their C names ("AT_AddColumn").
One statement can hold several operations (`ALTER TABLE t DROP COLUMN a, ADD COLUMN b ...`); every Op keeps its
statement, so findings point at the statement's lines. Table names drop the `public.` schema and quotes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.sql.model import Statement
from bot.sql.pg_functions import NON_VOLATILE

J = dict[str, Any]


@dataclass(frozen=True)
class ColumnInfo:
    """A column as a migration defines it."""

    name: str
    type: str  # normalised: "text", "int4", "timestamp(3)", "varchar(255)", "serial", "jsonb", "Role" (enum)
    not_null: bool = False
    default: str | None = None  # the default expression, rendered compactly; None when there is none
    default_volatile: bool = False
    identity: bool = False
    generated_stored: bool = False
    primary_key: bool = False
    unique: bool = False
    is_array: bool = False
    references: str | None = None  # inline REFERENCES target table
    # functions the default calls that are neither known volatile nor known IMMUTABLE/STABLE built-ins: they count
    # as volatile (default_volatile) until the replayed history shows them defined IMMUTABLE or STABLE
    default_unknown_funcs: tuple[str, ...] = ()
    default_funcs: tuple[str, ...] = ()  # every function the default calls (the history may redefine any of them)


@dataclass
class Op:
    """What one statement does to the database, in the terms the rules use."""

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
# now()/current_timestamp/statement_timestamp() are stable (evaluated once per statement): metadata-only. A function
# in neither this set nor bot.sql.pg_functions.NON_VOLATILE is unknown, and unknown counts as volatile unless the
# migration history defines it IMMUTABLE or STABLE (bot.sql.state.Catalog.functions).
VOLATILE_FUNCS = {"gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "uuid_generate_v1mc", "random",
                  "clock_timestamp", "timeofday", "nextval", "gen_random_bytes", "uuid_generate_v7", "uuidv4",
                  "uuidv7", "cuid", "nanoid", "ulid", "gen_salt", "setval", "random_normal", "array_shuffle",
                  "array_sample"}
_TYPE_ALIASES = {"integer": "int4", "int": "int4", "bigint": "int8", "smallint": "int2", "bpchar": "char",
                 "serial4": "serial", "serial8": "bigserial", "serial2": "smallserial"}
_SERIALS = ("serial", "bigserial", "smallserial")
_INLINE_CONSTRAINTS = ("CONSTR_FOREIGN", "CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_CHECK")
# ALTER TABLE forms that copy every row into a new file under ACCESS EXCLUSIVE (SET STORAGE and SET COMPRESSION only
# change how future values are stored: no rewrite).
_REWRITING_FORMS = {"AT_SetLogged": "SET LOGGED", "AT_SetUnLogged": "SET UNLOGGED",
                    "AT_SetTableSpace": "SET TABLESPACE", "AT_SetAccessMethod": "SET ACCESS METHOD"}
_CONTYPES = {"CONSTR_FOREIGN": "fk", "CONSTR_CHECK": "check", "CONSTR_UNIQUE": "unique", "CONSTR_PRIMARY": "pk",
             "CONSTR_EXCLUSION": "exclude", "CONSTR_NOTNULL": "notnull"}


def unwrap(node: Any) -> tuple[str, J]:
    """{"ColumnDef": {...}} -> ("ColumnDef", {...})."""
    if isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        value = node[key]
        if isinstance(value, dict):
            return key, value
    return "", node if isinstance(node, dict) else {}


def strs(items: Any) -> list[str]:
    out: list[str] = []
    for item in items or ():
        kind, body = unwrap(item)
        if kind == "String":
            out.append(body.get("sval", ""))
    return out


def rel_name(rv: J | None) -> str:
    if not rv:
        return "?"
    if "RangeVar" in rv:
        rv = rv["RangeVar"]
    schema = rv.get("schemaname")
    name = rv.get("relname") or "?"
    return name if not schema or schema == "public" else f"{schema}.{name}"


def type_name(tn: J | None) -> tuple[str, bool]:
    """Normalised type of a TypeName and whether it is an array."""
    if not tn:
        return "?", False
    parts = [n for n in strs(tn.get("names")) if n != "pg_catalog"]
    base = parts[-1] if parts else "?"
    if len(parts) > 1 and parts[0] != "public":
        base = f"{parts[0]}.{base}"
    base = _TYPE_ALIASES.get(base, base)
    mods = [str(c["A_Const"]["ival"].get("ival", 0)) for c in tn.get("typmods") or ()
            if "A_Const" in c and "ival" in c["A_Const"]]
    return (f"{base}({','.join(mods)})" if mods else base), bool(tn.get("arrayBounds"))


def nodes(tree: Any) -> Iterator[tuple[str, J]]:
    """Every wrapped node under `tree` (depth first) as (kind, body)."""
    stack = [tree]
    while stack:
        cur = stack.pop()
        if isinstance(cur, list):
            stack.extend(cur)
        elif isinstance(cur, dict):
            if len(cur) == 1:
                key = next(iter(cur))
                value = cur[key]
                if isinstance(value, dict) and key[:1].isupper():
                    yield key, value
            stack.extend(v for v in cur.values() if isinstance(v, dict | list))


def func_names(tree: Any) -> set[str]:
    found: set[str] = set()
    for kind, body in nodes(tree):
        if kind == "FuncCall":
            names = strs(body.get("funcname"))
            if names:
                found.add(names[-1].lower())
    return found


def string_literals(tree: Any) -> set[str]:
    return {body["sval"]["sval"] for kind, body in nodes(tree) if kind == "A_Const" and "sval" in body}


def expr_text(tree: Any) -> str:
    """A compact rendering of a default / SET value for messages: 'new', 0, now(), CURRENT_TIMESTAMP, x::text."""
    kind, body = unwrap(tree)
    if kind == "A_Const":
        if "sval" in body:
            return f"'{body['sval']['sval']}'"
        for key in ("ival", "fval", "boolval"):
            if key in body:
                value = body[key].get(key, 0 if key != "boolval" else False)
                return str(value).lower() if key == "boolval" else str(value)
        return "NULL" if body.get("isnull") else "constant"
    if kind == "FuncCall":
        return f"{'.'.join(strs(body.get('funcname')))}()"
    if kind == "SQLValueFunction":
        return str(body.get("op", "")).removeprefix("SVFOP_")
    if kind == "TypeCast":
        return f"{expr_text(body.get('arg'))}::{type_name(body.get('typeName'))[0]}"
    if kind == "ColumnRef":
        return ".".join(strs(body.get("fields")))
    if kind == "A_ArrayExpr":
        return "ARRAY[...]"
    return "an expression"


def default_volatility(tree: Any, called: set[str] | None = None) -> tuple[bool, tuple[str, ...]]:
    """(volatile, unknown functions) of a default expression: volatile when it calls a known volatile function or
    one this module cannot classify (those are returned so the history can vouch for them). A known volatile call
    decides it whatever the others are, so no unknown function is returned then."""
    called = func_names(tree) if called is None else called
    if called & VOLATILE_FUNCS:
        return True, ()
    unknown = tuple(sorted(called - NON_VOLATILE))
    return bool(unknown), unknown


def column_info(cd: J) -> ColumnInfo:
    typ, is_array = type_name(cd.get("typeName"))
    not_null = bool(cd.get("is_not_null"))
    default = None
    volatile = identity = stored = pk = unique = False
    references = None
    unknown: tuple[str, ...] = ()
    called: tuple[str, ...] = ()
    if typ in _SERIALS:
        default, volatile = "nextval(...)", True
    for c in cd.get("constraints") or ():
        _k, con = unwrap(c)
        ct = con.get("contype")
        if ct == "CONSTR_NOTNULL":
            not_null = True
        elif ct == "CONSTR_DEFAULT" and con.get("raw_expr") is not None:
            default = expr_text(con["raw_expr"])
            names = func_names(con["raw_expr"])
            is_volatile, unknown = default_volatility(con["raw_expr"], names)
            called = tuple(sorted(names))
            volatile = volatile or is_volatile
        elif ct == "CONSTR_IDENTITY":
            identity, not_null = True, True
        elif ct == "CONSTR_GENERATED":
            stored = con.get("generated_kind", "s") != "v"
        elif ct == "CONSTR_PRIMARY":
            pk, not_null = True, True
        elif ct == "CONSTR_UNIQUE":
            unique = True
        elif ct == "CONSTR_FOREIGN":
            references = rel_name(con.get("pktable"))
    return ColumnInfo(cd.get("colname") or "?", typ, not_null, default, volatile, identity, stored, pk, unique,
                      is_array, references, unknown, called)


def constraint_data(c: J) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contype": _CONTYPES.get(c.get("contype", ""), c.get("contype", "")),
        "not_valid": bool(c.get("skip_validation")),
        "using_index": c.get("indexname"),
        "columns": strs(c.get("keys")) or strs(c.get("fk_attrs")),
    }
    if data["contype"] == "fk":
        data["ref_table"] = rel_name(c.get("pktable"))
        data["ref_columns"] = strs(c.get("pk_attrs"))
    if data["contype"] == "check" and c.get("raw_expr") is not None:
        data["not_null_of"] = _is_not_null_column(c["raw_expr"])
    return data


def _is_not_null_column(tree: Any) -> str | None:
    kind, body = unwrap(tree)
    if kind == "NullTest" and body.get("nulltesttype") == "IS_NOT_NULL":
        k2, arg = unwrap(body.get("arg"))
        if k2 == "ColumnRef":
            names = strs(arg.get("fields"))
            return names[-1] if names else None
    return None


def ops_of(stmt: Statement, provider: str = "postgresql") -> list[Op]:
    """The operations of one statement; unknown statements give one Op of kind "other"."""
    if stmt.json is None:
        if stmt.raw is None:
            return [Op(stmt, "other", data={"node": stmt.kind})]
        from bot.sql.ops_other import ops_of_other

        return ops_of_other(stmt, provider)
    kind, body = unwrap(stmt.json)
    handler = _HANDLERS.get(kind)
    if handler is None:
        return [Op(stmt, "other", data={"node": stmt.kind})]
    try:
        return handler(stmt, body)
    except RecursionError:  # an expression nested past Python's stack: this statement is opaque, the file goes on
        return [Op(stmt, "other", data={"node": stmt.kind})]


def _create_table(stmt: Statement, n: J) -> list[Op]:
    table = rel_name(n.get("relation"))
    columns: list[ColumnInfo] = []
    constraints: list[dict[str, Any]] = []
    for elt in n.get("tableElts") or ():
        kind, body = unwrap(elt)
        if kind == "ColumnDef":
            columns.append(column_info(body))
            for c in body.get("constraints") or ():
                _k, con = unwrap(c)
                if con.get("contype") == "CONSTR_FOREIGN":
                    d = constraint_data(con)
                    d["columns"] = [body.get("colname")]
                    constraints.append(d)
        elif kind == "Constraint":
            d = constraint_data(body)
            d["name"] = body.get("conname")
            constraints.append(d)
    inh = n.get("inhRelations") or []
    return [Op(stmt, "create_table", table=table, data={
        "columns": columns, "constraints": constraints, "partitioned": n.get("partspec") is not None,
        "partition_of": rel_name(inh[0]) if n.get("partbound") is not None and inh else None,
        "if_not_exists": bool(n.get("if_not_exists")),
        "unlogged": (n.get("relation") or {}).get("relpersistence") == "u",
        "duplicates": _duplicates(c.name for c in columns),
    })]


def _duplicates(names: Iterator[str] | list[str]) -> list[str]:
    """Names that occur more than once, in order of their second occurrence."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name in seen and name not in out:
            out.append(name)
        seen.add(name)
    return out


def _create_table_as(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "create_table", table=rel_name((n.get("into") or {}).get("rel")),
               data={"columns": [], "constraints": [], "as_select": True})]


def _select(stmt: Statement, n: J) -> list[Op]:
    """`SELECT ... INTO t FROM ...` creates `t` (a data migration's scratch copy); any other SELECT changes nothing."""
    into = n.get("intoClause")
    if not into:
        return [Op(stmt, "other", data={"node": stmt.kind})]
    return [Op(stmt, "create_table", table=rel_name(into.get("rel")),
               data={"columns": [], "constraints": [], "as_select": True})]


def _index(stmt: Statement, n: J) -> list[Op]:
    cols = [unwrap(p)[1].get("name") for p in n.get("indexParams") or ()]
    return [Op(stmt, "create_index", table=rel_name(n.get("relation")), name=n.get("idxname"), data={
        "unique": bool(n.get("unique")), "concurrent": bool(n.get("concurrent")), "columns": cols,
        "partial": n.get("whereClause") is not None, "if_not_exists": bool(n.get("if_not_exists")),
        "method": n.get("accessMethod"),
    })]


def _alter_table(stmt: Statement, n: J) -> list[Op]:
    table = rel_name(n.get("relation"))
    if n.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return [Op(stmt, "other", table=table, data={"node": "AlterTableStmt", "objtype": n.get("objtype")})]
    out: list[Op] = []
    for raw in n.get("cmds") or ():
        _k, cmd = unwrap(raw)
        st = cmd.get("subtype", "")
        name = cmd.get("name")
        dkind, d = unwrap(cmd.get("def"))
        if st == "AT_AddColumn":
            col = column_info(d)
            out.append(Op(stmt, "add_column", table=table, column=col.name,
                          data={"col": col, "if_not_exists": bool(cmd.get("missing_ok"))}))
            # column constraints are built or validated over every existing row, like their ADD CONSTRAINT forms
            for c in d.get("constraints") or ():
                _k2, con = unwrap(c)
                if con.get("contype") in _INLINE_CONSTRAINTS:
                    cd = constraint_data(con)
                    cd["columns"] = [col.name]
                    cd["inline"] = True
                    # a new column without a default is NULL in every row: PostgreSQL skips the REFERENCES scan
                    cd["column_filled"] = (col.default not in (None, "NULL")) or col.identity or col.generated_stored
                    out.append(Op(stmt, "add_constraint", table=table, column=col.name, name=con.get("conname"),
                                  data=cd))
        elif st == "AT_DropColumn":
            out.append(Op(stmt, "drop_column", table=table, column=name,
                          data={"if_exists": bool(cmd.get("missing_ok"))}))
        elif st == "AT_AlterColumnType":
            typ, is_array = type_name(d.get("typeName"))
            using = d.get("raw_default")
            out.append(Op(stmt, "alter_type", table=table, column=name, data={
                "new_type": typ, "is_array": is_array, "using": expr_text(using) if using is not None else None}))
        elif st == "AT_SetNotNull":
            out.append(Op(stmt, "set_not_null", table=table, column=name))
        elif st == "AT_DropNotNull":
            out.append(Op(stmt, "drop_not_null", table=table, column=name))
        elif st == "AT_ColumnDefault":
            if cmd.get("def") is None:
                out.append(Op(stmt, "drop_default", table=table, column=name))
            else:
                expr = cmd["def"]
                out.append(Op(stmt, "set_default", table=table, column=name, data={
                    "expr": expr_text(expr), "volatile": bool(func_names(expr) & VOLATILE_FUNCS),
                    "literals": sorted(string_literals(expr))}))
        elif st == "AT_AddConstraint":
            out.append(Op(stmt, "add_constraint", table=table, name=d.get("conname"), data=constraint_data(d)))
        elif st == "AT_ValidateConstraint":
            out.append(Op(stmt, "validate_constraint", table=table, name=name))
        elif st == "AT_DropConstraint":
            out.append(Op(stmt, "drop_constraint", table=table, name=name))
        elif st in ("AT_EnableRowSecurity", "AT_ForceRowSecurity"):
            out.append(Op(stmt, "enable_rls", table=table))
        elif st == "AT_DetachPartition":
            out.append(Op(stmt, "detach_partition", table=table, data={"concurrent": bool(d.get("concurrent"))}))
        elif st == "AT_AttachPartition":
            out.append(Op(stmt, "attach_partition", table=table))
        elif st in _REWRITING_FORMS:
            out.append(Op(stmt, "table_rewrite", table=table, data={
                "form": _REWRITING_FORMS[st] + (f" {name}" if name else ""), "subtype": st}))
        else:
            out.append(Op(stmt, "alter_other", table=table, data={"subtype": st, "def": dkind}))
    return out


def _rename(stmt: Statement, n: J) -> list[Op]:
    rt = n.get("renameType")
    new = n.get("newname")
    if rt == "OBJECT_COLUMN":
        return [Op(stmt, "rename_column", table=rel_name(n.get("relation")), column=n.get("subname"),
                   data={"new": new})]
    if rt == "OBJECT_TABLE":
        return [Op(stmt, "rename_table", table=rel_name(n.get("relation")), data={"new": new})]
    if rt == "OBJECT_TYPE":
        kind, obj = unwrap(n.get("object"))
        names = [x for x in strs(obj.get("items") if kind == "List" else obj.get("names")) if x != "public"]
        return [Op(stmt, "rename_type", name=".".join(names) or "?", data={"new": new})]
    if rt == "OBJECT_INDEX":
        return [Op(stmt, "rename_index", name=rel_name(n.get("relation")), data={"new": new})]
    if rt == "OBJECT_TABCONSTRAINT":
        return [Op(stmt, "rename_constraint", table=rel_name(n.get("relation")), name=n.get("subname"),
                   data={"new": new})]
    return [Op(stmt, "rename_other", data={"objtype": rt, "new": new})]


def _drop(stmt: Statement, n: J) -> list[Op]:
    rt = n.get("removeType")
    cascade = n.get("behavior") == "DROP_CASCADE"
    out: list[Op] = []
    for obj in n.get("objects") or ():
        kind, body = unwrap(obj)
        if kind == "List":
            parts = strs(body.get("items"))
        elif kind == "TypeName":
            parts = strs(body.get("names"))
        elif kind == "String":
            parts = [body.get("sval", "")]
        else:
            parts = []
        name = ".".join(p for p in parts if p != "public") or "?"
        if rt == "OBJECT_TABLE":
            out.append(Op(stmt, "drop_table", table=name, data={"cascade": cascade,
                                                               "if_exists": bool(n.get("missing_ok"))}))
        elif rt == "OBJECT_INDEX":
            out.append(Op(stmt, "drop_index", name=name, data={"concurrent": bool(n.get("concurrent")),
                                                               "if_exists": bool(n.get("missing_ok")),
                                                               # "auth"."idx", not Prisma 2's "User.email_unique"
                                                               "qualified": len([p for p in parts
                                                                                 if p != "public"]) > 1}))
        elif rt == "OBJECT_SCHEMA":
            out.append(Op(stmt, "drop_schema", name=name, data={"cascade": cascade}))
        elif rt == "OBJECT_TYPE":
            out.append(Op(stmt, "drop_type", name=name, data={"cascade": cascade}))
        else:
            out.append(Op(stmt, "drop_other", name=name, data={"objtype": rt}))
    return out


def _create_enum(stmt: Statement, n: J) -> list[Op]:
    name = ".".join(p for p in strs(n.get("typeName")) if p != "public")
    return [Op(stmt, "create_enum", name=name, data={"values": strs(n.get("vals"))})]


def _alter_enum(stmt: Statement, n: J) -> list[Op]:
    name = ".".join(p for p in strs(n.get("typeName")) if p != "public")
    if n.get("oldVal"):
        return [Op(stmt, "rename_enum_value", name=name, data={"old": n["oldVal"], "new": n.get("newVal")})]
    return [Op(stmt, "add_enum_value", name=name, data={"value": n.get("newVal"),
                                                         "neighbor": n.get("newValNeighbor")})]


def _truncate(stmt: Statement, n: J) -> list[Op]:
    cascade = n.get("behavior") == "DROP_CASCADE"
    return [Op(stmt, "truncate", table=rel_name(r), data={"cascade": cascade}) for r in n.get("relations") or ()]


def _target_path(target: J) -> str:
    """`a`, or `a.f` / `a[1]` for an assignment to a field or element (`SET a.f = 1, a.g = 2` is valid)."""
    parts = [target.get("name") or "?"]
    for item in target.get("indirection") or ():
        kind, body = unwrap(item)
        parts.append(f".{body.get('sval', '')}" if kind == "String" else "[]")
    return "".join(parts)


def _update(stmt: Statement, n: J) -> list[Op]:
    targets = [_target_path(unwrap(t)[1]) for t in n.get("targetList") or ()]
    return [Op(stmt, "update", table=rel_name(n.get("relation")), data={
        "where": n.get("whereClause") is not None, "duplicates": _duplicates(targets)})]


def _delete(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "delete", table=rel_name(n.get("relation")), data={"where": n.get("whereClause") is not None})]


def _insert(stmt: Statement, n: J) -> list[Op]:
    _k, sel = unwrap(n.get("selectStmt"))
    from_select = bool(sel) and not sel.get("valuesLists")
    targets = [_target_path(unwrap(t)[1]) for t in n.get("cols") or ()]
    return [Op(stmt, "insert", table=rel_name(n.get("relation")), data={"select": from_select,
                                                                        "duplicates": _duplicates(targets)})]


def _set(stmt: Statement, n: J) -> list[Op]:
    value = " ".join(expr_text(a) for a in n.get("args") or ())
    return [Op(stmt, "set", name=(n.get("name") or "").lower(), data={
        "value": value, "local": bool(n.get("is_local")), "reset": n.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT")})]


def _transaction(stmt: Statement, n: J) -> list[Op]:
    kinds = {"TRANS_STMT_BEGIN": "begin", "TRANS_STMT_START": "begin", "TRANS_STMT_COMMIT": "commit",
             "TRANS_STMT_ROLLBACK": "rollback"}
    k = n.get("kind", "")
    return [Op(stmt, "transaction", data={"kind": kinds.get(k, k.lower()), "chain": bool(n.get("chain")),
                                          "ordinal": stmt.index})]


def option_on(options: Any, name: str) -> bool:
    """Whether a boolean utility option is on: `(FULL)`, `(FULL TRUE)`, `(FULL 1)`, `(FULL on)`; `(FULL FALSE)`,
    `(FULL 0)`, `(FULL off)` and an absent option are off."""
    for o in options or ():
        elem = unwrap(o)[1]
        if elem.get("defname") != name:
            continue
        kind, arg = unwrap(elem.get("arg"))
        if not kind:
            return True
        if kind == "Integer":
            return bool(arg.get("ival", 0))
        if kind == "Boolean":
            return bool(arg.get("boolval", False))
        return str(arg.get("sval", "")).lower() not in ("false", "off", "no", "0")
    return False


def _vacuum(stmt: Statement, n: J) -> list[Op]:
    tables = [rel_name(unwrap(r)[1].get("relation")) for r in n.get("rels") or ()]
    vacuum = bool(n.get("is_vacuumcmd"))
    kind = "vacuum_full" if vacuum and option_on(n.get("options"), "full") else ("vacuum" if vacuum else "analyze")
    return [Op(stmt, kind, table=t) for t in tables] or [Op(stmt, kind)]


def _cluster(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "cluster", table=rel_name(n["relation"]) if n.get("relation") else None)]


def _reindex(stmt: Statement, n: J) -> list[Op]:
    concurrent = option_on(n.get("params"), "concurrently")
    kind = str(n.get("kind", "")).replace("REINDEX_OBJECT_", "").lower()
    target = rel_name(n["relation"]) if n.get("relation") else n.get("name")
    return [Op(stmt, "reindex", table=target if kind == "table" else None, name=target,
               data={"concurrent": concurrent, "object": kind})]


def _dropdb(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "drop_database", name=n.get("dbname"), data={"if_exists": bool(n.get("missing_ok"))})]


def _qualified(names: Any) -> str:
    return ".".join(p for p in strs(names) if p not in ("public", "pg_catalog")) or "?"


def _create_domain(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "create_domain", name=_qualified(n.get("domainname")))]


def _alter_domain(stmt: Statement, n: J) -> list[Op]:
    name = _qualified(n.get("typeName"))
    if n.get("subtype") == "C":
        _k, con = unwrap(n.get("def"))
        return [Op(stmt, "domain_add_constraint", name=name, data={
            "constraint": con.get("conname"), "contype": _CONTYPES.get(con.get("contype", ""), con.get("contype")),
            "not_valid": bool(con.get("skip_validation"))})]
    if n.get("subtype") == "V":
        return [Op(stmt, "domain_validate_constraint", name=name, data={"constraint": n.get("name")})]
    return [Op(stmt, "other", name=name, data={"node": "AlterDomainStmt", "subtype": n.get("subtype")})]


def _volatility(options: Any) -> str | None:
    for o in options or ():
        elem = unwrap(o)[1]
        if elem.get("defname") == "volatility":
            return str(unwrap(elem.get("arg"))[1].get("sval", "")).lower() or None
    return None


def _create_function(stmt: Statement, n: J) -> list[Op]:
    names = strs(n.get("funcname"))
    # PostgreSQL's default is VOLATILE
    return [Op(stmt, "create_function", name=(names[-1] if names else "?").lower(),
               data={"volatility": _volatility(n.get("options")) or "volatile"})]


def _alter_function(stmt: Statement, n: J) -> list[Op]:
    names = strs((n.get("func") or {}).get("objname"))
    volatility = _volatility(n.get("actions"))
    if volatility is None:
        return [Op(stmt, "other", data={"node": "AlterFunctionStmt"})]
    return [Op(stmt, "create_function", name=(names[-1] if names else "?").lower(), data={"volatility": volatility})]


def _policy(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "create_policy", table=rel_name(n.get("table")), name=n.get("policy_name"))]


def _trigger(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "create_trigger", table=rel_name(n.get("relation")), name=n.get("trigname"))]


def _refresh(stmt: Statement, n: J) -> list[Op]:
    return [Op(stmt, "refresh_matview", name=rel_name(n.get("relation")),
               data={"concurrent": bool(n.get("concurrent"))})]


_HANDLERS = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select,
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
    "DropdbStmt": _dropdb,
    "CreateDomainStmt": _create_domain,
    "AlterDomainStmt": _alter_domain,
    "CreateFunctionStmt": _create_function,
    "AlterFunctionStmt": _alter_function,
}
