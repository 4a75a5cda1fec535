"""Prisma Schema Language: parser, semantic model, schema diff, and loading through the review context.

- `parser.parse(text, path) -> SchemaFile` (AST; every node has .line/.column); raises only `PrismaParseError`
  (.message, .line, .column, .path). `parser.render(expr)` turns an expression back into text (`now()`, `[a, b]`).
- `load.schema_at(ctx, "head"|"base", group=None) -> SchemaLoad | None` (memoized): `.schema` (None if a file failed),
  `.errors` ([SchemaError(path, line, column, message)]), `.texts`. `load.schemas_at(ctx, side)` for every schema;
  `load.load_texts({path: text})` without a context; `load.schema_diff(ctx) -> SchemaDiff | None` (base → head).
- `model.Schema`: provider, relation_mode, emulated_relations, models/views/types/enums (dicts by name), relations,
  model(name), model_by_table(db_name). `Model`: name, db_name (@@map), fields, by_name, field(name), primary_key,
  uniques, indexes (`Index.columns` = ordered field names, .kind id/unique/index, .type, .map), path, line, end_line,
  scope. `Field`: name, type, optional, list, kind (scalar/enum/relation/composite/unsupported/unknown), db_name (@map),
  native (`NativeType` .sql e.g. "timestamp(3)", explicit or Prisma's PostgreSQL default), default/default_text,
  is_id, is_unique, is_updated_at, attr(name), relation, line, path, key ("Model.field"). `Relation`: model, field,
  target, fields (FK scalars), references, on_delete/on_update as written, effective_on_delete/effective_on_update.
- `diff.diff_schemas(base | None, head) -> SchemaDiff`: models/fields/enums/enum values/indexes added/removed/
  renamed-looking/changed, each with head or base line numbers.
"""
