"""Operations of MySQL / SQLite / SQL Server statements parsed by sqlglot: the destructive subset.

Lock rules are PostgreSQL's; for the other providers only what is the same everywhere is extracted: tables created
and dropped, columns added, dropped and renamed, tables renamed, INSERT ... SELECT. Statements sqlglot cannot type
(`Command`) give no operation.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from bot.sql.model import Statement
from bot.sql.ops import ColumnInfo, Op


def _name(node: Any) -> str:
    if node is None:
        return "?"
    if isinstance(node, exp.Table):
        return node.name or "?"
    if isinstance(node, exp.Schema):
        return _name(node.this)
    return getattr(node, "name", None) or "?"


def _column(cd: exp.ColumnDef, provider: str) -> ColumnInfo:
    kind = cd.args.get("kind")
    typ = kind.sql(dialect="mysql" if provider == "mysql" else None).lower() if kind is not None else "?"
    constraints = [c.args.get("kind") for c in cd.args.get("constraints") or []]
    not_null = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in constraints)
    default_c = next((k for k in constraints if isinstance(k, exp.DefaultColumnConstraint)), None)
    default = default_c.this.sql() if default_c is not None and default_c.this is not None else None
    if provider == "mysql" and not_null and default is None:
        # MySQL fills existing rows with the type's implicit default (0, '', ...): the statement does not fail
        default = "(implicit)"
    pk = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in constraints)
    auto = any(isinstance(k, exp.AutoIncrementColumnConstraint) for k in constraints)
    return ColumnInfo(cd.name or "?", typ, not_null or pk, default, auto, False, False, pk)


def ops_of_other(stmt: Statement, provider: str) -> list[Op]:
    n = stmt.raw
    if isinstance(n, exp.Create) and str(n.args.get("kind", "")).upper() == "TABLE":
        schema = n.this
        columns = [_column(c, provider) for c in (schema.expressions if isinstance(schema, exp.Schema) else [])
                   if isinstance(c, exp.ColumnDef)]
        return [Op(stmt, "create_table", table=_name(schema), data={"columns": columns, "constraints": []})]
    if isinstance(n, exp.Drop) and str(n.args.get("kind", "")).upper() == "TABLE":
        tables = n.args.get("tables") or ([n.this] if n.this is not None else [])
        return [Op(stmt, "drop_table", table=_name(t), data={"cascade": bool(n.args.get("cascade"))})
                for t in tables]
    if isinstance(n, exp.Alter) and str(n.args.get("kind", "")).upper() == "TABLE":
        table = _name(n.this)
        out: list[Op] = []
        for action in n.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                col = _column(action, provider)
                out.append(Op(stmt, "add_column", table=table, column=col.name, data={"col": col}))
            elif isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "COLUMN":
                for col in action.args.get("tables") or ([action.this] if action.this is not None else []):
                    out.append(Op(stmt, "drop_column", table=table, column=_name(col)))
            elif isinstance(action, exp.RenameColumn):
                out.append(Op(stmt, "rename_column", table=table, column=_name(action.this),
                              data={"new": _name(action.args.get("to"))}))
            elif isinstance(action, exp.AlterRename):
                out.append(Op(stmt, "rename_table", table=table, data={"new": _name(action.this)}))
        return out or [Op(stmt, "other")]
    if isinstance(n, exp.Insert):
        target = n.this.this if isinstance(n.this, exp.Schema) else n.this
        return [Op(stmt, "insert", table=_name(target), data={"select": isinstance(n.expression, exp.Select)})]
    return [Op(stmt, "other", data={"node": stmt.kind})]
