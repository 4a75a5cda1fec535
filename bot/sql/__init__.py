"""SQL of Prisma migrations: parsing, the per-file state model, the lock table. Shared by every analyzer.

Public API (reuse these; do not parse migration files yourself):

- `bot.sql.load.parsed_migration(ctx, path, old=False) -> ParsedMigration | None`: the file at head (or base),
  parsed once per review through `ctx.memo(("sql.parsed_migration", path, old))`. PostgreSQL/CockroachDB go through
  pglast (libpg_query), MySQL/SQLite/SQL Server through sqlglot, by `migration_lock.toml`'s provider (default
  postgresql). Prisma 8 `migrations/app/<dir>/ops.json` is read too (each SQL string, at its line in ops.json).
  `ParsedMigration`: `.statements` (`Statement`: index, text, 1-based `line`/`end_line`, `kind` = parser node
  class, `json` = libpg_query's JSON parse tree (PostgreSQL; what the migration rules read, fast), `node` =
  pglast AST node (built lazily on first access, per statement) or sqlglot Expression, `.short`, `.scope`),
  `.error` (`SqlError(message, line)`
  when the file does not parse), `.skipped` (a note: empty, comments only, not UTF-8, over 2 MB), `.warnings`
  (`PrismaWarning`: kind, text, line, table, column, values, from_type, to_type from the `/* Warnings: */` header),
  `.provider`, `.is_postgres`, `.ok`, `statement_at(line)`.
- `bot.sql.load.parse_migration_text(text, path, provider)`: the same without a context.
- `bot.sql.ops.ops_of(statement, provider="postgresql") -> list[Op]`: flat operations of a statement
  (create_table, add_column, drop_column, alter_type, set_not_null, add_constraint, create_index, drop_index,
  rename_column, add_enum_value, update, set, transaction, table_rewrite, drop_database, create_function,
  domain_add_constraint, ...) with `table`, `column`, `name`, `data`. Column constraints of ADD COLUMN come out as
  their own add_constraint ops (`data["inline"]`). For
  MySQL/SQLite/SQL Server (sqlglot) only the destructive subset: create/drop/rename table, add/drop/rename column.
- `bot.sql.history.migration_models(ctx) -> {path: MigrationModel}` for the changed migration files, memoised:
  each folder's history is replayed in order (`bot.sql.state.Catalog`: tables, column types, indexes, enums, RLS),
  and each changed file is walked with the state model (`OpState` per op: new_table, new_column, new_index
  (created by this change), in_transaction and `tx` (which transaction: COMMIT/ROLLBACK start a new one),
  lock_timeout, locks taken on tables that hold data, locks held from earlier statements, the column as it was,
  whether a validated CHECK (col IS NOT NULL) exists). The catalog also knows functions' volatility, domains and
  unlogged tables.
- `bot.sql.pg_functions.NON_VOLATILE`: built-in functions a DEFAULT may call without a rewrite.
- `bot.sql.locks`: lock mode per operation (`locks_of`), what each mode blocks (`BLOCKS`), `describe(mode)`.

The migration analyzer (bot/checks/migration) puts the lock table into `ctx.facts["locks"]`: a list of
{path, line, statement (short), lock, blocks, table, held_until} for statements that lock tables holding data.
"""
