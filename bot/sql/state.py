"""The per-file state model: what the database looks like before each statement of a migration, and what the
migration runner holds while it runs.

`Catalog` is the schema built by replaying earlier migrations (tables, column types, indexes, enums, RLS).
`walk(parsed, catalog, fresh_tables)` steps through one file, recording for every operation whether its table is
new (created in this file, or by an earlier migration of the same change: empty when this one runs), whether it
runs inside a transaction (Prisma runs a multi-statement migration.sql as one implicit transaction, a single
statement in autocommit), whether `lock_timeout` was set, which strong locks are already held, and the column as
it was before the statement. The catalog is updated as it goes, so the next file sees this one's effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import check_deadline
from bot.sql import locks as L
from bot.sql.model import ParsedMigration
from bot.sql.ops import VOLATILE_FUNCS, ColumnInfo, Op, ops_of


@dataclass
class TableState:
    """What the replayed history knows about one table: columns, indexes, constraints, RLS."""

    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    indexes: dict[str, list[str | None]] = field(default_factory=dict)  # index/constraint name -> columns
    constraints: dict[str, dict] = field(default_factory=dict)
    rls: bool = False
    unlogged: bool = False

    def valid_not_null_check(self, column: str | None) -> bool:
        """A validated CHECK (column IS NOT NULL): SET NOT NULL then skips its scan (PostgreSQL 12+)."""
        return any(c.get("contype") == "check" and c.get("not_null_of") == column and not c.get("not_valid")
                   for c in self.constraints.values())


@dataclass
class Catalog:
    """The database the migration history builds, replayed statement by statement."""

    tables: dict[str, TableState] = field(default_factory=dict)
    index_table: dict[str, str] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # name -> volatility, from CREATE/ALTER FUNCTION
    domains: set[str] = field(default_factory=set)
    rls_enabled: bool = False  # some ENABLE ROW LEVEL SECURITY was replayed (most histories have none)

    @property
    def uses_rls(self) -> bool:
        return self.rls_enabled and any(t.rls for t in self.tables.values())

    def column(self, table: str | None, column: str | None) -> ColumnInfo | None:
        t = self.tables.get(table or "")
        return t.columns.get(column or "") if t else None

    def apply(self, op: Op) -> None:
        k, t = op.kind, op.table or ""
        if k == "create_table":
            state = TableState({c.name: c for c in op.data.get("columns", [])})
            for c in op.data.get("constraints", []):
                if c.get("contype") in ("pk", "unique"):
                    state.indexes[c.get("name") or f"{t}_{c['contype']}"] = list(c.get("columns") or [])
                if c.get("name"):
                    state.constraints[c["name"]] = c
            for col in state.columns.values():
                if col.primary_key or col.unique:
                    state.indexes[f"{t}_{col.name}_inline"] = [col.name]
            state.unlogged = bool(op.data.get("unlogged"))
            self.tables[t] = state
        elif k == "drop_table":
            self.tables.pop(t, None)
        elif k == "rename_table":
            if t in self.tables:
                self.tables[op.data["new"]] = self.tables.pop(t)
        elif k == "create_index" and op.name is not None:
            self.tables.setdefault(t, TableState()).indexes[op.name] = list(op.data.get("columns") or [])
            self.index_table[op.name] = t
        elif k == "drop_index":
            owner = self.index_table.pop(op.name or "", None)
            if owner in self.tables:
                self.tables[owner].indexes.pop(op.name or "", None)
        elif k == "rename_index":
            owner = self.index_table.pop(op.name or "", None)
            if owner is not None:
                self.index_table[op.data["new"]] = owner
                idx = self.tables.get(owner)
                if idx and op.name in idx.indexes:
                    idx.indexes[op.data["new"]] = idx.indexes.pop(op.name)
        elif t in self.tables or k in ("add_column", "add_constraint", "enable_rls"):
            self._apply_table_op(op, self.tables.setdefault(t, TableState()) if t else TableState())
        if k == "create_function" and op.name:
            self.functions[op.name] = op.data.get("volatility") or "volatile"
        elif k == "create_domain" and op.name:
            self.domains.add(op.name)
        if k == "create_enum":
            self.enums[op.name or ""] = list(op.data.get("values", []))
        elif k == "add_enum_value":
            self.enums.setdefault(op.name or "", []).append(op.data.get("value"))
        elif k == "rename_type" and op.name in self.enums:
            self.enums[op.data["new"]] = self.enums.pop(op.name)
        elif k == "drop_type":
            # columns that still use the type: DROP TYPE ... CASCADE drops them with their data
            op.data.setdefault("users", [f"{tn}.{cn}" for tn, ts in self.tables.items()
                                         for cn, c in ts.columns.items() if c.type == op.name])
            self.enums.pop(op.name or "", None)
            self.domains.discard(op.name or "")

    def _apply_table_op(self, op: Op, state: TableState) -> None:
        k, col = op.kind, op.column or ""
        cur = state.columns.get(col)
        if k == "add_column":
            state.columns[col] = op.data["col"]
        elif k == "drop_column":
            state.columns.pop(col, None)
        elif k == "rename_column" and cur is not None:
            state.columns[op.data["new"]] = _with(cur, name=op.data["new"])
            state.columns.pop(col, None)
        elif cur is not None and k == "alter_type":
            state.columns[col] = _with(cur, type=op.data["new_type"], is_array=op.data.get("is_array", False))
        elif cur is not None and k == "set_not_null":
            state.columns[col] = _with(cur, not_null=True)
        elif cur is not None and k == "drop_not_null":
            state.columns[col] = _with(cur, not_null=False)
        elif cur is not None and k == "set_default":
            state.columns[col] = _with(cur, default=op.data.get("expr"))
        elif cur is not None and k == "drop_default":
            state.columns[col] = _with(cur, default=None)
        elif k == "add_constraint":
            d = op.data
            if d.get("contype") in ("pk", "unique"):
                state.indexes[op.name or f"{op.table}_{d['contype']}"] = list(d.get("columns") or [])
            if d.get("contype") == "pk":
                # a primary key makes its columns NOT NULL (PostgreSQL sets it while adding the key)
                for name in d.get("columns") or []:
                    if name in state.columns and not state.columns[name].not_null:
                        state.columns[name] = _with(state.columns[name], not_null=True)
            if op.name:
                state.constraints[op.name] = d
        elif k == "drop_constraint":
            # what was dropped (contype, columns, ref_table), for rules that compare it with what the file adds
            op.data.setdefault("was", state.constraints.get(op.name or ""))
            state.constraints.pop(op.name or "", None)
            state.indexes.pop(op.name or "", None)
        elif k == "validate_constraint" and op.name in state.constraints:
            state.constraints[op.name or ""] = {**state.constraints[op.name or ""], "not_valid": False}
        elif k == "enable_rls":
            state.rls = True
            self.rls_enabled = True
        elif k == "table_rewrite" and op.data.get("subtype") in ("AT_SetLogged", "AT_SetUnLogged"):
            state.unlogged = op.data["subtype"] == "AT_SetUnLogged"


def _with(col: ColumnInfo, **changes: object) -> ColumnInfo:
    return ColumnInfo(**{**col.__dict__, **changes})


@dataclass
class OpState:
    """An operation with what the history knew when it ran (new table, transaction, ...)."""

    op: Op
    new_table: bool  # created in this file or by an earlier migration of this change: empty, no lock risk
    known_table: bool  # the table exists in the replayed history before this statement
    in_transaction: bool
    lock_timeout: bool  # `SET lock_timeout` ran earlier in this file
    locks: list[tuple[str, str]]  # (table, mode) this op takes on tables that already hold data
    held_before: dict[str, str]  # strong locks on tables with data, held since earlier statements
    column_before: ColumnInfo | None = None
    explicit_transaction: bool = False  # inside BEGIN ... COMMIT written in the file
    # the op's column was added by this change (earlier in this file, or by an earlier migration of the change):
    # it holds no data anyone relies on yet, and code running before the deploy never knew it
    new_column: bool = False
    new_index: bool = False  # the index a DROP INDEX names was created by this change
    # a validated CHECK (column IS NOT NULL) exists on the table when this op runs (SET NOT NULL skips its scan)
    not_null_checked: bool = False
    known_constraint: bool = False  # the constraint a VALIDATE/DROP CONSTRAINT names is known to the history
    tx: int = 0  # the transaction it runs in, numbered in file order (equal numbers: the same transaction)

    @property
    def stmt(self):  # type: ignore[no-untyped-def]
        return self.op.stmt

    @property
    def existing(self) -> bool:
        """The op's table holds data when this runs (not created by this change)."""
        return not self.new_table


@dataclass
class MigrationModel:
    """One migration file replayed against the history before it."""

    parsed: ParsedMigration
    ops: list[OpState]
    multi_statement: bool
    created_tables: set[str]
    uses_rls_before: bool
    enums_before: dict[str, list[str]]
    # Index column lists per table at the end of the file (for "FK without an index" on touched tables).
    indexes_after: dict[str, list[list[str | None]]]
    rls_after: set[str]
    # False for Prisma 7.4.0+, which sends each statement of a multi-statement file on its own.
    implicit_transaction: bool = True
    created_columns: set[tuple[str, str]] = field(default_factory=set)  # (table, column) added by this file
    created_indexes: set[str] = field(default_factory=set)

    @property
    def path(self) -> str:
        return self.parsed.path


def apply_file(parsed: ParsedMigration, catalog: Catalog) -> None:
    """Replay a file into the catalog without recording anything (earlier history)."""
    if not parsed.ok:
        return
    check_deadline()
    for stmt in parsed.statements:
        for op in ops_of(stmt, parsed.provider):
            catalog.apply(op)


def _table_of_index_name(name: str, tables: set[str]) -> str | None:
    """The table of an index the history does not know (created by SQL outside the replayed files), from Prisma's
    naming: "<Table>_<columns>_idx/_key", Prisma 2 "<Table>.<columns>_unique". The longest matching table wins."""
    best: str | None = None
    for t in tables:
        bare = t.split(".")[-1]
        if name.startswith((bare + "_", bare + ".")) and (best is None or len(bare) > len(best.split(".")[-1])):
            best = t
    return best


def _timeout_on(op: Op) -> bool:
    """`SET lock_timeout = '5s'` sets one; `= 0`, `'0'`, RESET and DEFAULT (0 unless the role sets it) do not."""
    if op.data.get("reset"):
        return False
    value = str(op.data.get("value", "")).strip("'\" ")
    digits = "".join(ch for ch in value if ch.isdigit() or ch == ".")
    try:
        return float(digits or "1") > 0
    except ValueError:
        return True


def _annotate(op: Op, catalog: Catalog) -> None:
    """What an op means given the schema so far: a default's user-defined functions the history declares
    IMMUTABLE/STABLE, the columns a domain constraint checks, a SET LOGGED/UNLOGGED that changes nothing."""
    k = op.kind
    if k == "add_column":
        col: ColumnInfo = op.data["col"]
        declared = {f: catalog.functions[f] for f in col.default_funcs if f in catalog.functions}
        if declared and not col.type.endswith("serial"):
            # the history's own CREATE/ALTER FUNCTION decides for the functions it defines, both ways
            unknown = tuple(f for f in col.default_unknown_funcs if f not in declared)
            volatile = any(v == "volatile" for v in declared.values()) or bool(unknown) or any(
                f in VOLATILE_FUNCS for f in col.default_funcs if f not in declared)
            op.data["col"] = ColumnInfo(**{**col.__dict__, "default_volatile": volatile,
                                           "default_unknown_funcs": unknown})
    elif k == "domain_add_constraint":
        op.data["users"] = [(tn, cn) for tn, ts in catalog.tables.items() for cn, c in ts.columns.items()
                            if c.type == op.name]
        op.data["known"] = op.name in catalog.domains
    elif k == "table_rewrite" and op.data.get("subtype") in ("AT_SetLogged", "AT_SetUnLogged"):
        ts = catalog.tables.get(op.table or "")
        if ts is not None and ts.unlogged == (op.data["subtype"] == "AT_SetUnLogged"):
            op.data["noop"] = True


_SAYS_WHAT_IS_MEANT = frozenset({"drop_column", "drop_table", "rename_column", "rename_table"})


def _required_without_default(op: Op) -> bool:
    col = op.data.get("col")
    return col is not None and bool(getattr(col, "not_null", False)) and getattr(col, "default", None) is None \
        and not getattr(col, "identity", False) and not getattr(col, "generated_stored", False)


def walk(parsed: ParsedMigration, catalog: Catalog, fresh_tables: set[str] | frozenset[str] = frozenset(),
         *, implicit_transaction: bool = True,
         fresh_columns: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
         fresh_indexes: set[str] | frozenset[str] = frozenset()) -> MigrationModel:
    """`implicit_transaction=False` models Prisma 7.4.0+, which sends each statement on its own (autocommit).
    `fresh_*` are what earlier migrations of the same change created (tables, (table, column) pairs, indexes)."""
    statements = [s for s in parsed.statements if s.kind != "TransactionStmt"]
    multi = len(statements) > 1
    one_transaction = multi and implicit_transaction
    enums = {k: list(v) for k, v in catalog.enums.items()}
    model = MigrationModel(parsed, [], multi, set(), catalog.uses_rls, enums, {}, set(),
                           implicit_transaction=implicit_transaction)
    created: set[str] = set()
    explicit_tx = False
    lock_timeout = False
    held: dict[str, str] = {}
    touched: set[str] = set()
    emptied: set[str] = set()
    required_empty: set[str] = set()
    new_columns: set[tuple[str, str]] = set(fresh_columns)
    new_indexes: set[str] = set(fresh_indexes)
    if not parsed.ok:
        return model
    pg = parsed.is_postgres  # lock modes are PostgreSQL's; other providers get the destructive rules only
    stmt_ops = [ops_of(stmt, parsed.provider) for stmt in parsed.statements]
    named_tables = set(catalog.tables) | {op.table for ops in stmt_ops for op in ops if op.table}
    tx = 0  # which transaction the statement runs in: COMMIT/ROLLBACK end one, autocommit statements are each one
    for ops in stmt_ops:
        autocommit = not one_transaction and not explicit_tx and not any(o.kind == "transaction" for o in ops)
        for op in ops:
            if op.kind == "transaction":
                kind = op.data.get("kind")
                if kind == "begin":
                    if not explicit_tx and not one_transaction:
                        tx += 1
                    explicit_tx = True
                elif kind in ("commit", "rollback"):
                    # the locks go with the transaction; what follows runs in a new one (PostgreSQL starts a new
                    # implicit transaction for the rest of a multi-statement batch)
                    explicit_tx = False
                    held = {}
                    tx += 1
            if op.kind == "set" and op.name == "lock_timeout":
                lock_timeout = _timeout_on(op)
            table = op.table or ""
            if op.kind in ("drop_index", "reindex") and op.name and op.name not in catalog.index_table:
                guess = _table_of_index_name(op.name, named_tables)
                if guess:
                    catalog.index_table[op.name] = guess
            if op.kind in ("drop_index", "reindex") and op.name in catalog.index_table:
                table = catalog.index_table[op.name or ""]
            # After ADD COLUMN ... NOT NULL without a default the table is empty (the statement fails otherwise):
            # what runs on it later locks and scans nothing. Drops and renames keep their findings: they say what
            # the author meant (a rename, data to keep) once the ADD is fixed.
            says = op.kind in _SAYS_WHAT_IS_MEANT or (op.kind == "add_column" and _required_without_default(op))
            empty = emptied if says else emptied | required_empty  # (a second required column fails the same way)
            is_new = table in created or table in fresh_tables or table in empty
            known = table in catalog.tables
            in_tx = one_transaction or explicit_tx
            _annotate(op, catalog)
            op_locks = [(t, m) for t, m in (L.locks_of(op, catalog.index_table) if pg else [])
                        if t not in created and t not in fresh_tables and t not in empty and t != "?"]
            ts = catalog.tables.get(table)
            state = OpState(op, is_new, known, in_tx, lock_timeout, op_locks, dict(held),
                            catalog.column(table, op.column), explicit_tx,
                            new_column=(table, op.column or "") in new_columns,
                            new_index=op.kind == "drop_index" and (op.name or "") in new_indexes,
                            not_null_checked=op.kind == "set_not_null" and ts is not None
                            and ts.valid_not_null_check(op.column),
                            known_constraint=ts is not None and (op.name or "") in ts.constraints, tx=tx)
            model.ops.append(state)
            if op.kind == "add_column" and op.table and op.column:
                new_columns.add((op.table, op.column))
                model.created_columns.add((op.table, op.column))
            elif op.kind == "create_index" and op.name:
                new_indexes.add(op.name)
                model.created_indexes.add(op.name)
            if in_tx:
                for t, mode in op_locks:
                    if mode in L.STRONG:
                        held[t] = L.stronger(held.get(t), mode) or mode
            if op.kind == "create_table" and op.table:
                created.add(op.table)
            if in_tx and op.table and (op.kind == "truncate" or (op.kind == "delete" and not op.data.get("where"))):
                # emptied earlier in the same transaction: later DDL on it scans nothing and fails on no row
                emptied.add(op.table)
            if op.kind == "add_column" and op.table and _required_without_default(op):
                required_empty.add(op.table)
            if table:
                touched.add(table)
            catalog.apply(op)
        if autocommit:
            tx += 1
    model.created_tables = created
    for t in touched:
        ts = catalog.tables.get(t)
        if ts is not None:
            model.indexes_after[t] = list(ts.indexes.values())
            if ts.rls:
                model.rls_after.add(t)
    return model
