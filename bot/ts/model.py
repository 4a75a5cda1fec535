"""What the TS/JS analysis extracts from one file: Prisma calls with their arguments and surroundings, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.ts.sql_flow import SqlSource
from bot.ts.values import JsArray, JsLiteral, JsObject, JsValue

# Prisma Client model operations (Prisma 4 to 7).
READ_OPS = frozenset({"findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany", "count",
                      "aggregate", "groupBy"})
WRITE_OPS = frozenset({"create", "createMany", "createManyAndReturn", "update", "updateMany", "updateManyAndReturn",
                       "upsert", "delete", "deleteMany"})
MODEL_OPS = READ_OPS | WRITE_OPS
# Operation names no other popular library uses on a `x.y.op()` shape: an unknown receiver with these still counts.
PRISMA_SPECIFIC_OPS = frozenset({"findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany",
                                 "createMany", "createManyAndReturn", "updateMany", "updateManyAndReturn",
                                 "deleteMany", "upsert", "groupBy", "aggregate"})
CLIENT_OPS = frozenset({"$transaction", "$queryRaw", "$executeRaw", "$queryRawUnsafe", "$executeRawUnsafe",
                        "$queryRawTyped"})
UNSAFE_RAW_OPS = frozenset({"$queryRawUnsafe", "$executeRawUnsafe"})


class FrameKind(StrEnum):
    LOOP = "loop"  # for / for..of / for..in / while / do
    ITERATION = "iteration"  # callback of .map / .forEach / .flatMap / .reduce ...
    TRANSACTION = "transaction"  # interactive $transaction callback, or the array of a batch $transaction
    FUNCTION = "function"  # any other function boundary


@dataclass(frozen=True)
class Frame:
    kind: FrameKind
    line: int
    end_line: int
    start_byte: int
    end_byte: int
    detail: str = ""  # "for-of", "while", "map", "forEach", "interactive", "batch", a function name
    # The iterated collection's text (`order.items`, `ids`) and the loop variable, when they can be read.
    collection: str = ""
    variable: str = ""
    # Items in the iterated collection when it is a small literal list (`["a", "b", "c"]`, `for (i < 3)`).
    constant_items: int | None = None
    condition: str = ""  # a `for (;;)` / `while` / `do` loop's condition text (`attempt < MAX_RETRIES`, `true`)
    # For an iteration callback: what consumes the mapped promises ("Promise.all", "$transaction"), if anything.
    batch_into: str = ""
    is_async: bool = False
    tx_param: str = ""  # the interactive transaction's client parameter (`tx`)
    function: FunctionInfo | None = None  # for FUNCTION frames: the function's name and handler kind


def repeating_frame(frames: tuple[Frame, ...]) -> Frame | None:
    """The loop or iteration callback that repeats code with these frames (innermost first) within its own function
    body, looking through the array of a batch `$transaction`; None when the code runs once per call."""
    for frame in frames:
        if frame.kind in (FrameKind.LOOP, FrameKind.ITERATION):
            return frame
        if frame.kind is FrameKind.TRANSACTION and frame.detail == "batch":
            continue
        return None
    return None


@dataclass(frozen=True)
class FunctionInfo:
    """The named function a call belongs to: its key prefix and the scope the pipeline checks for edits."""

    name: str  # "OrderService.list", "GET", "orderRouter.list", "POST /orders", "<module>"
    line: int
    end_line: int
    # "next-route", "next-api", "next-page", "server-action", "trpc", "nest-controller", "nest-service", "express",
    # "job" (a @Cron / @OnEvent / queue-processor method: not per request),
    # "resolver", "loader", or "" when the function is not recognisably a request handler.
    handler: str = ""
    class_name: str = ""

    @property
    def is_module(self) -> bool:
        return self.name == "<module>"


@dataclass
class PrismaCall:
    path: str
    line: int
    end_line: int
    start_byte: int
    end_byte: int
    client: str  # the receiver as written, normalised: "prisma", "this.prisma", "ctx.db", "tx"
    client_kind: str  # "client" | "transaction" | "unknown"
    confidence: float
    accessor: str | None  # "order" in prisma.order.findMany; None for client operations ($transaction ...)
    operation: str
    args: JsObject | None  # the first argument when it is (or resolves to) an object literal
    args_opaque: bool  # a first argument we cannot read (a variable, a call): its keys are unknown
    arguments: list[JsValue]
    awaited: bool
    returned: bool
    result_names: tuple[str, ...]  # names bound to the result (`const order = await ...`, `const { id } = ...`)
    frames: tuple[Frame, ...]  # innermost first, up to the file
    function: FunctionInfo
    text: str  # the call's source (first 300 characters)
    # How the receiver was recognised ("client binding", "transaction client", "schema model accessor",
    # "Prisma-only operation name"...): with `confidence`, what a finding on a guessed receiver says.
    resolved_by: str = ""
    # For $queryRawUnsafe / $executeRawUnsafe: where each value in the SQL text comes from (bot.ts.sql_flow), and
    # whether the SQL text is the enclosing function's own parameter (a helper running its caller's SQL).
    sql_sources: tuple[SqlSource, ...] | None = None
    sql_from_caller: bool = False
    tagged: bool = False  # called as a tagged template (`$queryRaw`...``), not with parentheses
    # A `return`, `throw` or `break` follows the call in its block inside a for/while loop: it runs at most once
    # per loop (`if (failed) { await prisma.log.create(...); return; }`), not once per item.
    leaves_loop: bool = False
    # The call is a statement of its own, its promise dropped: a Prisma query is lazy and then never runs.
    discarded: bool = False

    @property
    def guessed(self) -> bool:
        """The receiver was not bound to a Prisma Client we could see: only its shape says Prisma."""
        return self.confidence < 0.9

    @property
    def is_write(self) -> bool:
        return self.operation in WRITE_OPS

    @property
    def is_read(self) -> bool:
        return self.operation in READ_OPS

    @property
    def target(self) -> str:
        """`prisma.order.findMany` (the call without its arguments)."""
        return f"{self.client}.{self.accessor}.{self.operation}" if self.accessor else f"{self.client}.{self.operation}"

    @property
    def key(self) -> str:
        return f"{self.function.name}:{self.target}"

    @property
    def scope(self) -> tuple[int, int] | None:
        return None if self.function.is_module else (self.function.line, self.function.end_line)

    def transaction_frame(self) -> Frame | None:
        return next((f for f in self.frames if f.kind is FrameKind.TRANSACTION), None)

    @property
    def in_transaction(self) -> bool:
        return self.client_kind == "transaction" or self.transaction_frame() is not None

    def arg(self, key: str) -> JsValue | None:
        return self.args.get(key) if self.args is not None else None

    def where_fields(self) -> dict[str, set[str]]:
        """Fields the top-level `where` (and its AND) filters on, with their operators: a plain value is "equals".

        `{ userId, total: { gte: 10 }, status: { in: [...] } }` -> {userId: {equals}, total: {gte}, status: {in}}.
        Relation filters and OR/NOT branches are left out."""
        out: dict[str, set[str]] = {}
        stack: list[JsValue | None] = [self.arg("where")]
        while stack:
            where = stack.pop()
            if not isinstance(where, JsObject):
                continue
            for name, value in where.entries.items():
                if name == "AND":
                    stack.extend(value.items if isinstance(value, JsArray) else [value])
                elif name in ("OR", "NOT"):
                    continue
                elif isinstance(value, JsObject):
                    out.setdefault(name, set()).update(value.entries)
                else:
                    out.setdefault(name, set()).add("equals")
        return out

    @property
    def include_depth(self) -> int:
        """How many relation levels `include`/`select` nest (`include: { a: { include: { b: true } } }` -> 2)."""

        def depth(obj: JsObject, level: int) -> int:
            best = level
            for key in ("include", "select"):
                nested = obj.obj(key)
                if nested is None:
                    continue
                for value in nested.entries.values():
                    if isinstance(value, JsObject):
                        best = max(best, depth(value, level + 1))
                    elif key == "include" and isinstance(value, JsLiteral) and value.value is True:
                        best = max(best, level + 1)
            return best

        return depth(self.args, 0) if self.args is not None else 0

    def has_arg(self, key: str) -> bool | None:
        """True/False when known; None when the arguments are opaque or spread so the key may hide in them."""
        if self.args is not None and key in self.args:
            return True
        if self.args_opaque or (self.args is not None and self.args.is_open):
            return None
        return False


@dataclass(frozen=True)
class TransactionInfo:
    line: int
    end_line: int
    kind: str  # "interactive" | "batch"
    client: str
    tx_param: str
    function: FunctionInfo
    # Batch items that already ran before $transaction got them: (line, text).
    awaited_items: tuple[tuple[int, str], ...] = ()
    # Awaited non-database I/O inside an interactive transaction: (line, callee text).
    io_calls: tuple[tuple[int, str], ...] = ()
    timeout_ms: int | None = None


@dataclass(frozen=True)
class NewClient:
    """A `new PrismaClient(...)` expression and where it sits."""

    line: int
    end_line: int
    function: FunctionInfo
    in_function: bool
    in_loop: bool
    cached: bool  # stored on globalThis / a module variable / returned by a singleton factory


@dataclass(frozen=True)
class RawHelper:
    """`Prisma.raw(x)`, `Prisma.sql(...)` called as a function, or a raw-SQL client call given a non-tagged string."""

    line: int
    end_line: int
    helper: str  # "Prisma.raw" | "Prisma.sql()" | "$queryRaw()" ...
    argument: JsValue | None
    function: FunctionInfo
    # Where the values that reach the SQL text come from (bot.ts.sql_flow); None when not followed.
    sources: tuple[SqlSource, ...] | None = None


@dataclass
class FileAnalysis:
    path: str
    calls: list[PrismaCall] = field(default_factory=list)
    transactions: list[TransactionInfo] = field(default_factory=list)
    new_clients: list[NewClient] = field(default_factory=list)
    raw_helpers: list[RawHelper] = field(default_factory=list)
    skipped: str | None = None  # why the file was not analysed
    unanalysable: bool = False  # skipped for a reason the author must hear (size, nesting), not a bundle
    error_lines: list[int] = field(default_factory=list)
    parse_failed: bool = False  # nothing usable parsed
    use_server: bool = False  # the file starts with the "use server" directive
    # Module-level `const NAME = "literal"` names: interpolating them into SQL is not an injection.
    const_strings: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)  # the file's text by line (index 0 = line 1), for suggestions

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None
