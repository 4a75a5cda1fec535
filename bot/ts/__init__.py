"""TypeScript / JavaScript that calls Prisma Client, parsed with tree-sitter once per review.

Public API (everything goes through `ctx.memo`, so each file is parsed once, whichever analyzer asks first):

    from bot.ts import file_analysis, prisma_calls

    analysis = file_analysis(ctx, "src/orders/order.service.ts")        # head side; side="base" for the base
    analysis.skipped            # None, or why the file was not analysed ("a minified bundle", ".d.ts", > 1 MB...)
    analysis.parse_failed       # True when nothing usable parsed (analysis.error_lines says where)
    analysis.calls              # list[PrismaCall], in source order
    analysis.transactions       # list[TransactionInfo]: batch / interactive, awaited batch items, I/O inside
    analysis.new_clients        # list[NewClient]: `new PrismaClient()` and where it sits
    analysis.raw_helpers        # list[RawHelper]: Prisma.raw(x), Prisma.sql(...) called as a function, $queryRaw(`..`)
    analysis.use_server, analysis.const_strings, analysis.line_text(n)   # "use server" module, SQL-safe constants

    for call in prisma_calls(ctx, path):                                  # = file_analysis(ctx, path).calls
        call.client, call.client_kind, call.confidence   # "this.prisma", "client" | "transaction" | "unknown", 0.6-1
        call.accessor, call.operation                    # "order", "findMany"  (accessor None for $transaction...)
        call.args                                        # JsObject of the first argument (None when not a literal)
        call.arg("where"), call.has_arg("take")          # has_arg: True / False / None (unknown: spread or variable)
        call.where_fields(), call.include_depth          # {"userId": {"equals"}, "total": {"gte"}}, 2
        call.awaited, call.returned, call.result_names   # `const order = await ...` -> ("order",)
        call.frames                                      # loops, iteration callbacks, $transaction, functions
        call.function                                    # FunctionInfo: "OrderService.list", line range, handler kind
        call.key, call.scope                             # "OrderService.list:this.prisma.order.findMany", (start, end)

Lower level (no ctx): `bot.ts.extract.analyze_file(path, data, model_accessors=...)` and `bot.ts.parser.parse`.
Argument values are `bot.ts.values` objects: JsObject (entries, spreads), JsArray, JsLiteral, JsExpr (text, idents).

Clients are recognised by name (prisma, db, ctx.prisma, this.prisma, this.prismaService, tx ...), by what the file
imports (any name from a module that builds or re-exports a PrismaClient, a client class or factory from it), by
type annotations (PrismaClient, a class extending it), by `$extends(...)` results and transaction callbacks (also a
project's `$tx(cb)` / `withTransaction(cb)`). An unknown receiver counts only with a schema model accessor or a `$`
operation (confidence 0.8, `call.guessed`), or, without a schema, a Prisma-only operation name (0.6); an unknown
receiver whose member is not a model of the schema is not Prisma. `call.resolved_by` says how it was recognised.

For raw SQL, `call.sql_sources` (and `RawHelper.sources`) say where each value in the SQL text comes from
(bot.ts.sql_flow: safe / request / parameter / unknown), following the file and its imported modules
(bot.ts.imports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.change import decode_text

# The extractor, the model and the clients' resolution (~25 ms of imports) load on the first file analysed, not
# with this package: a review imports the query analyzer for its repository-wide rule (dropped columns) whether or
# not the change has TS/JS files, and it reaches for them only when a dropped name is found in the code.
if TYPE_CHECKING:
    from bot.context import ReviewContext
    from bot.ts.imports import ModuleText, ReadModule
    from bot.ts.model import FileAnalysis, FrameKind, FunctionInfo, PrismaCall

__all__ = ["FileAnalysis", "FrameKind", "FunctionInfo", "PrismaCall", "file_analysis", "model_accessors",
           "prisma_calls"]


def __getattr__(name: str) -> object:
    """The model's classes, re-exported (`from bot.ts import PrismaCall`) without importing it up front."""
    if name in ("FileAnalysis", "FrameKind", "FunctionInfo", "PrismaCall"):
        from bot.ts import model

        return getattr(model, name)
    raise AttributeError(f"module 'bot.ts' has no attribute {name!r}")


def model_accessors(ctx: ReviewContext, side: str = "head") -> frozenset[str]:
    """`order` for model `Order`: the client properties the schema defines (empty when no schema parses)."""

    def build() -> frozenset[str]:
        try:
            from bot.checks.query.schema_view import schema_view

            view = schema_view(ctx, side)
        except Exception:  # the schema is optional for parsing; schema rules report their own problems
            return frozenset()
        return frozenset(view.accessors) if view is not None else frozenset()

    return ctx.memo(("ts-model-accessors", side), build)


def repo_files(ctx: ReviewContext, side: str = "head") -> frozenset[str]:
    """Every file path of one side of the change, listed once per review (empty when the tree cannot be listed)."""
    snapshot = ctx.change.head if side == "head" else ctx.change.base

    def listing() -> frozenset[str]:
        try:
            return frozenset(snapshot.list_files())
        except Exception:
            return frozenset()

    return ctx.memo(("ts-listing", side), listing)


def _module_is_client(ctx: ReviewContext, side: str):  # type: ignore[no-untyped-def]
    snapshot = ctx.change.head if side == "head" else ctx.change.base

    def check(importer: str, spec: str) -> bool:
        def build() -> bool:
            from bot.ts.clients import resolve_module

            files = repo_files(ctx, side)
            target = resolve_module(importer, spec, files.__contains__)
            if target is None:
                return False
            text = decode_text(snapshot.read_bytes(target)) or ""
            return "PrismaClient" in text or "@prisma/client" in text

        return ctx.memo(("ts-module-is-client", side, importer, spec), build)

    return check


def schema_enums(ctx: ReviewContext, side: str = "head") -> frozenset[str]:
    """The enum names of the schema(s): a value typed by one cannot hold SQL text."""

    def build() -> frozenset[str]:
        try:
            from bot.checks.query.schema_view import schema_view

            view = schema_view(ctx, side)
        except Exception:  # the schema is optional for parsing
            return frozenset()
        return frozenset(name for s in view.schemas for name in s.enums) if view is not None else frozenset()

    return ctx.memo(("ts-schema-enums", side), build)


def _read_module(ctx: ReviewContext, side: str) -> ReadModule:
    snapshot = ctx.change.head if side == "head" else ctx.change.base

    def read(importer: str, spec: str) -> ModuleText | None:
        def build() -> ModuleText | None:
            from bot.ts.clients import resolve_module
            from bot.ts.imports import ModuleText

            files = repo_files(ctx, side)
            target = resolve_module(importer, spec, files.__contains__)
            if target is None:
                return None
            data = snapshot.read_bytes(target)
            if data is None or len(data) > 500_000:
                return None
            return ModuleText(target, decode_text(data) or "")

        return ctx.memo(("ts-module-text", side, importer, spec), build)

    return read


def file_analysis(ctx: ReviewContext, path: str, side: str = "head") -> FileAnalysis:
    def build() -> FileAnalysis:
        from bot.ts.extract import analyze_file
        from bot.ts.model import FileAnalysis
        from bot.ts.parser import oversized

        snapshot = ctx.change.head if side == "head" else ctx.change.base
        data = snapshot.read_bytes(path)
        if data is None:
            return FileAnalysis(path, skipped="not readable")
        if b"\x00" in data[:8192]:
            return FileAnalysis(path, skipped="binary")
        limit = ctx.config.limits.query_bytes
        too_big = oversized(data, limit)
        if too_big is not None:
            return FileAnalysis(path, skipped=too_big, unanalysable=True)
        try:
            return analyze_file(path, data, model_accessors=model_accessors(ctx, side),
                                module_is_client=_module_is_client(ctx, side), max_bytes=limit,
                                read_module=_read_module(ctx, side), schema_enums=schema_enums(ctx, side))
        except RecursionError:
            return FileAnalysis(path, skipped="its expressions are nested too deeply to parse", unanalysable=True)

    return ctx.memo(("ts-analysis", side, path), build)


def prisma_calls(ctx: ReviewContext, path: str, side: str = "head") -> list[PrismaCall]:
    return file_analysis(ctx, path, side).calls
