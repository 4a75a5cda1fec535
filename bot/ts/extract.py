"""Extract Prisma Client usage from one parsed file: calls with arguments as data, transactions, clients, raw SQL."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.change import split_lines
from bot.ts.clients import ClientNames, collect_client_names
from bot.ts.imports import Imports, ReadModule
from bot.ts.model import (
    CLIENT_OPS,
    MODEL_OPS,
    PRISMA_SPECIFIC_OPS,
    FileAnalysis,
    Frame,
    FrameKind,
    NewClient,
    PrismaCall,
    RawHelper,
    TransactionInfo,
)
from bot.ts.parser import MAX_BYTES, SourceFile, captures, parse, skip_reason
from bot.ts.scopes import FUNCTION_TYPES, ScopeResolver
from bot.ts.sql_flow import UNKNOWN, SqlFlow, SqlSource
from bot.ts.values import JsExpr, JsObject, JsValue, callee_of, text_of, to_value, unwrap

if TYPE_CHECKING:  # tree-sitter loads on the first parse (bot.ts.parser)
    from tree_sitter import Node

_OPS = sorted(MODEL_OPS | CLIENT_OPS)
_OP_BYTES = frozenset(o.encode() for o in _OPS)
# One flat query, one walk of the tree (a query cursor's cost is mostly the traversal), filtered in Python by the
# shapes below. Compiling a query is tree-sitter's analysis of every pattern step against the grammar: the patterns
# these filters replace (tests/query/test_ts_shapes.py keeps them and checks both pick the same nodes of real files)
# took ~25 ms per grammar, again with the awaits, where this one takes ~2 ms.
NODES_QUERY = "(call_expression) @call\n(new_expression) @new\n(await_expression) @await"
_NEW_CLIENT_NAME = re.compile("PrismaClient$")


def is_prisma_op_call(call: Node) -> bool:
    """`a.b.op(...)` with op a Prisma Client method. tree-sitter-typescript parses `await a.b<T>(x)` as a call whose
    function is `await a.b` (the type arguments bind the call to the await expression), while `return a.b<T>(x)`
    keeps the member as the function: both shapes."""
    fn = call.child_by_field_name("function")
    if fn is None:
        return False
    if fn.type == "await_expression":
        return any(c.type == "member_expression" and _op_member(c) for c in fn.named_children)
    return fn.type == "member_expression" and _op_member(fn)


def _op_member(member: Node) -> bool:
    prop = member.child_by_field_name("property")
    return prop is not None and prop.type == "property_identifier" and prop.text in _OP_BYTES


def is_new_prisma_client(new: Node) -> bool:
    """`new PrismaClient(...)`, `new x.PrismaClient(...)`: the constructor's text ends with PrismaClient."""
    ctor = new.child_by_field_name("constructor")
    return ctor is not None and ctor.is_named and _NEW_CLIENT_NAME.search(text_of(ctor)) is not None


def is_raw_helper_call(call: Node) -> bool:
    """`Prisma.raw(...)` / `Prisma.sql(...)` called with arguments (not as a tagged template)."""
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "member_expression":
        return False
    obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
    args = call.child_by_field_name("arguments")
    return (obj is not None and obj.type == "identifier" and obj.text == b"Prisma" and prop is not None
            and prop.type == "property_identifier" and prop.text in (b"raw", b"sql") and args is not None
            and args.type == "arguments")


_FACTORY_NAME = re.compile(r"singleton|getPrisma|createPrisma|getClient|createClient|getDb|makePrisma|"
                           r"^get\w*Client$|^create\w*Client$", re.I)
_DECLARATORS = "(variable_declarator name: (identifier) @name value: (_) @value)"
_PASS_THROUGH = frozenset({"parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression"})
_CONST_STRING = re.compile(r"""^(?:export\s+)?const\s+(\w+)\s*(?::\s*string\s*)?=\s*(?:"[^"\n]*"|'[^'\n]*'|`[^`$]*`)""",
                           re.M)
_SMALL_CONST = re.compile(r"(?:const|let)\s+(\w+)\s*(?::[^=\n]+)?=\s*\[([^\[\]]{0,2000}?)\]\s*(?:as\s+const)?")
_IO_CALLEE = re.compile(
    r"(^|\.)(fetch|axios|got|ky|request|post|put|putObject|invoke|capture|refund|sleep|delay|setTimeout)$"
    r"|(^|\.)(send|notify|publish|enqueue|upload|charge|email|mail|trigger|dispatchWebhook)([A-Z_]\w*)?$"
    r"|^(axios|stripe|resend|sendgrid|mailer|transporter|twilio|sqs|sns|s3|kafka|producer|queue|\w+Queue|"
    r"inngest|pusher|openai|anthropic|slack|webhook|http|https|ky|got|storage|this\.\w*(Queue|Mailer|Gateway|"
    r"Api|Http\w*))\b", re.I)


def is_io_callee(callee: str) -> bool:
    """`fetch`, `stripe.charges.create`, `sendEmail`, `queue.add`: a call that leaves the process."""
    return bool(_IO_CALLEE.search(callee))


_AWAITED_CALLEE = re.compile(r"\bawait\s+([A-Za-z_$][\w$.]*)\s*\(")


def awaits_io(code: str, database_callees: frozenset[str] | set[str] = frozenset()) -> bool:
    """The code awaits a call that leaves the process; Prisma calls, transaction clients and `database_callees`
    (helpers known to run queries, whatever their names say) are database work, not I/O."""
    for callee in _AWAITED_CALLEE.findall(code):
        if "prisma" in callee.lower() or callee.startswith(("tx.", "db.", "this.db.")) or callee in database_callees:
            continue
        if is_io_callee(callee):
            return True
    return False


_NOT_IO = re.compile(r"^(Promise|tx|trx|JSON|Math|Object|Array|console|bcrypt|argon2|crypto|z|this\.prisma)\b")


def analyze_file(path: str, data: bytes, *, model_accessors: frozenset[str] = frozenset(),
                 module_is_client: Callable[[str, str], bool] | None = None,
                 max_bytes: int = MAX_BYTES, read_module: ReadModule | None = None,
                 schema_enums: frozenset[str] = frozenset()) -> FileAnalysis:
    """Everything the query rules need from one file. Never raises on bad input."""
    reason = skip_reason(path, data, max_bytes)
    if reason is not None:
        return FileAnalysis(path, skipped=reason)
    source = parse(path, data)
    result = FileAnalysis(path, error_lines=list(source.error_lines))
    if source.mostly_broken:
        result.parse_failed = True
        return result
    text = source.source.decode("utf-8", "replace")
    result.lines = split_lines(data.decode("utf-8", "replace"))
    result.use_server = _starts_with_use_server(source.root)
    names = collect_client_names(path, text, module_is_client)
    result.const_strings = set(_CONST_STRING.findall(text))
    consts = {name: _count_items(items) for name, items in _SMALL_CONST.findall(text)}
    scopes = ScopeResolver(path, source.root, result.use_server,
                           {k: v for k, v in consts.items() if v is not None})
    extractor = _Extractor(source, names, scopes, model_accessors, result)
    extractor.imports = Imports.of(path, text, read_module) if read_module is not None else None
    extractor.schema_enums = schema_enums
    extractor.run()
    return result


def _count_items(items: str) -> int | None:
    if "..." in items or "(" in items:
        return None
    parts = [p for p in items.split(",") if p.strip()]
    return len(parts) if len(parts) <= 20 else None


def _starts_with_use_server(root: Node) -> bool:
    for child in root.named_children[:3]:
        if child.type == "comment":
            continue
        return child.type == "expression_statement" and text_of(child).strip(" ;\n\"'") == "use server"
    return False


class _Extractor:
    def __init__(self, source: SourceFile, names: ClientNames, scopes: ScopeResolver,
                 accessors: frozenset[str], result: FileAnalysis) -> None:
        self.src = source
        self.names = names
        self.scopes = scopes
        self.accessors = accessors
        self.result = result
        self._declarators: dict[int, dict[str, Node]] = {}
        self._sql_flow: SqlFlow | None = None
        self.imports: Imports | None = None
        self.schema_enums: frozenset[str] = frozenset()
        self._awaits: list[Node] = []
        self._await_starts: list[int] = []

    def run(self) -> None:
        root = self.src.root
        kind = self.src.kind
        caps = captures(kind, NODES_QUERY, root)
        all_calls = caps.get("call", [])
        # Awaits are only needed inside interactive transactions.
        awaits = caps.get("await", []) if b"$transaction" in self.src.source else []
        self._awaits = sorted(awaits, key=lambda n: n.start_byte)
        self._await_starts = [n.start_byte for n in self._awaits]
        # In document order; of two calls starting at one byte (`a.b.create().update()`) the inner one first, as the
        # nested patterns this filter replaced gave them (their match ended at the inner call's method name).
        call_nodes = sorted((n for n in all_calls if is_prisma_op_call(n)), key=lambda n: (n.start_byte, n.end_byte))
        tx_nodes: list[tuple[Node, PrismaCall]] = []
        for node in call_nodes:
            call = self._call(node)
            if call is None:
                continue
            self.result.calls.append(call)
            if call.operation == "$transaction":
                tx_nodes.append((node, call))
        for node, call in tx_nodes:
            info = self._transaction(node, call)
            if info is not None:
                self.result.transactions.append(info)
        self._new_clients([n for n in caps.get("new", []) if is_new_prisma_client(n)])
        self._raw_helpers([n for n in all_calls if is_raw_helper_call(n)])

    # -- calls ----------------------------------------------------------------------------------------------

    def _call(self, node: Node) -> PrismaCall | None:
        fn = callee_member(node)
        if fn is None:
            return None
        op_node = fn.child_by_field_name("property")
        receiver = fn.child_by_field_name("object")
        if op_node is None or receiver is None:
            return None
        op = text_of(op_node)
        accessor: str | None = None
        receiver = unwrap(receiver)
        if op in MODEL_OPS:
            if receiver.type != "member_expression":
                return None
            prop = receiver.child_by_field_name("property")
            client_node = receiver.child_by_field_name("object")
            if prop is None or client_node is None or prop.type != "property_identifier":
                return None
            accessor = text_of(prop)
            if accessor.startswith("$") or not accessor[:1].islower():
                return None
            client_node = unwrap(client_node)
        else:
            client_node = receiver
        client = text_of(client_node)
        if client_node.type == "identifier":
            segments = [client]
        else:
            if not client.isascii() or any(ch.isspace() for ch in client):
                client = re.sub(r"\s+", "", client)
            # `a?.b!.c` is the receiver `a.b.c` for naming: optional chaining and `!` do not change what it is
            client = re.sub(r"[?!]+(?=\.)|!+$", "", client)
            segments = re.findall(r"[\w$]+", client)
        if accessor is not None and segments and segments[-1] == "query":
            return None  # Drizzle's relational API: db.query.users.findMany()
        frames = self.scopes.frames(node)
        tx_params = {f.tx_param for f in frames if f.kind is FrameKind.TRANSACTION and f.tx_param}
        kind = "transaction" if tx_params.intersection(segments) else self.names.kind_of(segments)
        resolution = receiver_confidence(kind, op, accessor, client_node.type, self.accessors)
        if resolution is None:
            return None
        confidence, resolved_by = resolution
        kind = kind or "unknown"
        args_node = node.child_by_field_name("arguments")
        sql_sources: tuple[SqlSource, ...] | None = None
        sql_from_caller = False
        arguments: list[JsValue] = []
        args: JsObject | None = None
        opaque = False
        if args_node is not None:
            if args_node.type == "template_string":  # tagged template: $queryRaw`...`
                arguments = [to_value(args_node)]
            else:
                arg_children = [c for c in args_node.named_children if c.type != "comment"]
                # model operations take one argument object; raw SQL calls take the SQL and its parameters
                arguments = [to_value(c) for c in arg_children[:1 if op in MODEL_OPS else 4]]
                if arg_children and op in MODEL_OPS:
                    first = unwrap(arg_children[0])
                    if first.type == "object":
                        value = arguments[0]
                        args = value if isinstance(value, JsObject) else None
                        if args is not None and not args.spreads and set(args.entries) - _PRISMA_ARG_KEYS:
                            # `caller.notes.upsert({ content, type })` (a tRPC caller), `service.updateMany({
                            # dataSource, symbol })`: Prisma takes no such keys, so this is not Prisma Client
                            return None
                    elif first.type == "identifier":
                        args = self._resolve_object(text_of(first), node)
                        opaque = args is None
                    else:
                        opaque = True
                if arg_children and op in ("$queryRawUnsafe", "$executeRawUnsafe"):
                    sql_sources = self._follow(arg_children[0], sql=True)
                    sql_from_caller = _is_own_parameter(arg_children[0])
                    first = unwrap(arg_children[0])
                    if first.type == "identifier":
                        resolved = self._resolve_string(text_of(first), node)
                        if resolved is not None:
                            arguments[0] = resolved
                if args is not None:
                    self._resolve_members(args, node)
        owner = self.scopes.owner(frames, node)
        awaited, returned, result_names = _how_used(node)
        discarded = not awaited and _discarded(node)
        leaves_loop = _leaves_loop_after(node)
        return PrismaCall(
            path=self.src.path,
            line=node.start_point.row + 1,
            end_line=node.end_point.row + 1,
            start_byte=node.start_byte,
            end_byte=node.end_byte,
            client=client,
            client_kind=kind,
            confidence=confidence,
            accessor=accessor,
            operation=op,
            args=args,
            args_opaque=opaque,
            arguments=arguments,
            awaited=awaited,
            returned=returned,
            result_names=result_names,
            discarded=discarded,
            leaves_loop=leaves_loop,
            frames=frames,
            function=owner,
            resolved_by=resolved_by,
            sql_sources=sql_sources,
            sql_from_caller=sql_from_caller,
            tagged=args_node is not None and args_node.type == "template_string",
            text=self.src.source[node.start_byte:min(node.end_byte, node.start_byte + 1200)]
            .decode("utf-8", "replace")[:300],
        )

    def _flow(self) -> SqlFlow:
        if self._sql_flow is None:
            self._sql_flow = SqlFlow(self.src.root, self.src.source, self.result.const_strings, self.imports,
                                     self.schema_enums)
        return self._sql_flow

    def _follow(self, node: Node, *, sql: bool) -> tuple[SqlSource, ...]:
        """The value flow of raw SQL text; code it cannot walk counts as of unknown origin, never as safe."""
        try:
            return tuple(self._flow().sql(node) if sql else self._flow().value(node))
        except (RecursionError, ValueError, AttributeError, IndexError, KeyError, TypeError):
            return (SqlSource(UNKNOWN, text_of(node)[:80], "not followed", node.start_point.row + 1),)

    def _function_node(self, node: Node) -> Node:
        n = node.parent
        while n is not None:
            if n.type in FUNCTION_TYPES:
                return n
            n = n.parent
        return self.src.root

    def _declarations(self, scope: Node) -> dict[str, Node]:
        found = self._declarators.get(scope.id)
        if found is None:
            found = {}
            pairs = [(caps["name"][0], caps["value"][0]) for _, caps in _matches(self.src.kind, _DECLARATORS, scope)]
            for name_node, value in sorted(pairs, key=lambda p: p[0].start_byte):
                found.setdefault(text_of(name_node), value)
            self._declarators[scope.id] = found
        return found

    def _resolve_object(self, name: str, at: Node) -> JsObject | None:
        """`const args = { where, take: 20 }; prisma.x.findMany(args)`: read the object the variable holds."""
        scope = self._function_node(at)
        for candidate in (scope, self.src.root):
            value = self._declarations(candidate).get(name)
            if value is None:
                continue
            value = unwrap(value)
            if value.type != "object" or value.start_byte > at.start_byte:
                return None
            obj = to_value(value)
            if not isinstance(obj, JsObject):
                return None
            obj.resolved_from = name
            scope_text = text_of(candidate)
            if re.search(rf"\b{re.escape(name)}\s*(\.\s*\w+|\[[^\]]+\])\s*(=(?!=)|\?\?=|\|\|=)", scope_text) or \
                    re.search(rf"Object\.assign\(\s*{re.escape(name)}\b", scope_text):
                obj.spreads.append(JsExpr("<assigned later>", "assignment", obj.line))
            return obj
        return None

    def _resolve_string(self, name: str, at: Node) -> JsValue | None:
        """`const sql = "SELECT ..."; $queryRawUnsafe(sql, id)`: the SQL the variable holds."""
        scope = self._function_node(at)
        for candidate in (scope, self.src.root):
            value = self._declarations(candidate).get(name)
            if value is None:
                continue
            value = unwrap(value)
            if value.type in ("string", "template_string", "binary_expression") and value.start_byte < at.start_byte:
                resolved = to_value(value)
                # `let sql = "SELECT ..."; sql += where;` is not the constant it was declared as
                after = self.src.source[value.end_byte:candidate.end_byte].decode("utf-8", "replace")
                if re.search(rf"(?<![\w$.]){re.escape(name)}\s*(\+=|=(?![=>]))", after):
                    return JsExpr(name, "identifier", value.start_point.row + 1, frozenset({name}), interpolated=True)
                return resolved
            return None
        return None

    def _resolve_members(self, args: JsObject, at: Node) -> None:
        for key in ("where", "select", "include", "orderBy", "data"):
            value = args.entries.get(key)
            if isinstance(value, JsExpr) and value.kind == "identifier":
                resolved = self._resolve_object(value.text, at)
                if resolved is not None:
                    args.entries[key] = resolved

    # -- transactions ---------------------------------------------------------------------------------------

    def _transaction(self, node: Node, call: PrismaCall) -> TransactionInfo | None:
        args_node = node.child_by_field_name("arguments")
        if args_node is None or not args_node.named_children:
            return None
        first = unwrap(args_node.named_children[0])
        timeout = None
        if len(args_node.named_children) > 1:
            options = to_value(args_node.named_children[1])
            if isinstance(options, JsObject):
                t = options.get("timeout")
                timeout = int(t.value) if t is not None and hasattr(t, "value") and \
                    isinstance(getattr(t, "value", None), (int, float)) else None
        line, end = node.start_point.row + 1, node.end_point.row + 1
        if first.type == "array":
            awaited_names = {n for c in self.result.calls if c.awaited and c.function == call.function
                             and c.end_byte <= node.start_byte for n in c.result_names}
            items: list[tuple[int, str]] = []
            for item in first.named_children:
                inner = unwrap(item)
                if inner.type == "await_expression" or (inner.type == "identifier" and text_of(inner) in
                                                        awaited_names):
                    items.append((inner.start_point.row + 1, text_of(inner)[:120]))
            return TransactionInfo(line, end, "batch", call.client, "", call.function, awaited_items=tuple(items),
                                   timeout_ms=timeout)
        if first.type in ("arrow_function", "function_expression"):
            frame = self.scopes.frames(first.named_children[-1] if first.named_children else first)
            tx_frame = next((f for f in frame if f.kind is FrameKind.TRANSACTION), None)
            tx_param = tx_frame.tx_param if tx_frame else ""
            io: list[tuple[int, str]] = []
            lo = bisect.bisect_left(self._await_starts, first.start_byte)
            hi = bisect.bisect_left(self._await_starts, first.end_byte)
            for aw in self._awaits[lo:hi]:
                inner = unwrap(aw.named_children[0]) if aw.named_children else None
                if inner is not None and inner.type != "call_expression" and aw.parent is not None and \
                        aw.parent.type == "call_expression" and aw.parent.child_by_field_name("function") == aw:
                    inner = aw.parent  # `await sendMail<T>(x)`: the typed call wraps its await
                    callee_node = aw.named_children[0]
                elif inner is None or inner.type != "call_expression":
                    continue
                else:
                    callee_node = inner.child_by_field_name("function")
                callee = re.sub(r"\s+", "", text_of(callee_node)) if callee_node is not None else ""
                root_name = re.split(r"[.(\[]", callee, maxsplit=1)[0]
                if root_name == tx_param or _NOT_IO.match(callee) or "$" in callee:
                    continue
                if self.names.kind_of([root_name]) is not None:
                    continue
                if _IO_CALLEE.search(callee) or root_name in self.names.io_imports:
                    io.append((aw.start_point.row + 1, callee))
            return TransactionInfo(line, end, "interactive", call.client, tx_param, call.function,
                                   io_calls=tuple(sorted(io)), timeout_ms=timeout)
        return None

    # -- new PrismaClient, Prisma.raw -----------------------------------------------------------------------

    def _new_clients(self, nodes: list[Node]) -> None:
        for node in sorted(nodes, key=lambda n: n.start_byte):
            frames = self.scopes.frames(node)
            in_function = any(f.kind in (FrameKind.FUNCTION, FrameKind.ITERATION, FrameKind.TRANSACTION)
                              for f in frames)
            in_loop = any(f.kind in (FrameKind.LOOP, FrameKind.ITERATION) for f in frames)
            owner = self.scopes.owner(frames, node)
            self.result.new_clients.append(NewClient(node.start_point.row + 1, node.end_point.row + 1, owner,
                                                     in_function, in_loop, _is_cached(node, frames)))

    def _raw_helpers(self, nodes: list[Node]) -> None:
        for node in sorted(nodes, key=lambda n: n.start_byte):
            callee = node.child_by_field_name("function")
            prop = callee.child_by_field_name("property") if callee is not None else None
            args = node.child_by_field_name("arguments")
            if prop is None or args is None:
                continue
            fn = text_of(prop)
            first = args.named_children[0] if args.named_children else None
            value = to_value(first) if first is not None else None
            owner = self.scopes.owner(self.scopes.frames(node), node)
            # `Prisma.raw(x)` puts x into the SQL text; `Prisma.sql([...])` (a strings array, no template) does the
            # same with each item
            sources = None
            if first is not None and (fn == "raw" or unwrap(first).type == "array"):
                sources = self._follow(first, sql=False)
            self.result.raw_helpers.append(RawHelper(node.start_point.row + 1, node.end_point.row + 1,
                                                     "Prisma.raw" if fn == "raw" else "Prisma.sql()", value,
                                                     owner, sources=sources))
        for call in self.result.calls:
            if call.operation in ("$queryRaw", "$executeRaw") and call.arguments and not call.tagged:
                first_value = call.arguments[0]
                if isinstance(first_value, JsExpr) and first_value.kind == "template_string":
                    self.result.raw_helpers.append(RawHelper(call.line, call.end_line, f"{call.operation}()",
                                                             first_value, call.function))


# A member named like a service object is an application class, not a model delegate:
# `this.marketDataService.updateMany(...)` is the app's wrapper, whatever its method names.
_SERVICE_LIKE = re.compile(r"(Service|Repository|Repo|Manager|Provider|Helper|Api|Client|Store|Dao|Gateway|Queue|"
                           r"Cache|Controller|Handler|Module|Facade|Adapter)s?$")


def receiver_confidence(kind: str | None, op: str, accessor: str | None, client_type: str,
                        accessors: frozenset[str]) -> tuple[float, str] | None:
    """How sure we are that a call is Prisma Client's, and why; None when it is not Prisma at all.

    1.0: a receiver bound to a client (import, instance, type, transaction parameter) and a model of the schema.
    0.9: a bound client whose member is not a model of the schema (a stale schema, an extension's property).
    0.8: an unknown receiver, but a Prisma-only `$` operation or a model of the schema as the member.
    0.6: no schema to ask, an unknown receiver, a Prisma-only operation name (`findMany`, `upsert`...).
    With a schema, an unknown receiver whose member is not one of its models is not Prisma
    (`this.marketDataService.updateMany` is a service method)."""
    if kind is not None:
        if accessors and accessor is not None and accessor not in accessors:
            return 0.9, "client binding; member not a schema model"
        return 1.0, "client binding" if kind == "client" else "transaction client"
    if op in CLIENT_OPS:
        return 0.8, "Prisma-only operation name"
    if accessor is not None and accessor in accessors:
        return 0.8, "schema model accessor"
    if accessors or accessor is None or _SERVICE_LIKE.search(accessor):
        return None
    if op in PRISMA_SPECIFIC_OPS and client_type in ("identifier", "member_expression", "this"):
        return 0.6, "Prisma-only operation name"
    return None


def _is_own_parameter(sql: Node) -> bool:
    """The SQL text is a parameter of the enclosing function, maybe through a method call on it
    (`rawQuery(sql, data)` running `sql.replaceAll(...)`): the function runs its caller's SQL."""
    n = unwrap(sql)
    if n.type != "identifier":
        return False
    name = text_of(n)
    fn = n.parent
    while fn is not None and fn.type not in FUNCTION_TYPES:
        fn = fn.parent
    if fn is None:
        return False
    params = fn.child_by_field_name("parameters")
    if params is None:
        return False
    names = {text_of(p.child_by_field_name("pattern") or p) for p in params.named_children}
    if name in names:
        return True
    # `const query = sql.replaceAll(...)` with `sql` a parameter
    body = text_of(fn)
    m = re.search(rf"\b(?:const|let)\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*([A-Za-z_$][\w$]*)\s*\??\.\s*\w+\(", body)
    return bool(m and m.group(1) in names)


def callee_member(call: Node) -> Node | None:
    """The `a.b` member a call invokes (see values.callee_of for the shapes it sees through)."""
    fn = callee_of(call)
    return fn if fn is not None and fn.type == "member_expression" else None


def _matches(kind: str, query_src: str, node: Node) -> list[tuple[int, dict[str, list[Node]]]]:
    from bot.ts.parser import matches

    return matches(kind, query_src, node)


_LOOP_STATEMENTS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
_FUNCTION_NODES = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                             "generator_function_declaration", "generator_function", "function"})


def _leaves_loop_after(node: Node) -> bool:
    """The statement holding `node` is followed, in its block, by `return`/`throw` (or a `break` not inside a
    `switch`), and that block is inside a for/while loop of the same function: the call runs at most once."""
    stmt = node
    while stmt.parent is not None and stmt.parent.type != "statement_block":
        if stmt.type in _FUNCTION_NODES or stmt.type in _LOOP_STATEMENTS:
            return False
        stmt = stmt.parent
    block = stmt.parent
    if block is None:
        return False
    in_switch = False
    up: Node | None = block
    while up is not None and up.type not in _LOOP_STATEMENTS:
        if up.type in _FUNCTION_NODES:
            return False
        in_switch = in_switch or up.type == "switch_statement"
        up = up.parent
    if up is None:
        return False
    after = False
    for child in block.named_children:
        if child.start_byte == stmt.start_byte and child.end_byte == stmt.end_byte:
            after = True
        elif after and (child.type in ("return_statement", "throw_statement") or
                        (child.type == "break_statement" and not in_switch and child.named_child_count == 0)):
            return True
    return False


def _discarded(node: Node) -> bool:
    """The call is a statement of its own (`prisma.log.create(...);`, `void prisma.x.delete(...)`): its result is
    neither awaited, returned, bound, chained nor passed on."""
    n = node
    parent = n.parent
    while parent is not None and (parent.type in _PASS_THROUGH or (
            parent.type == "unary_expression" and parent.child_by_field_name("operator") is not None
            and text_of(parent.child_by_field_name("operator")) == "void")):
        n = parent
        parent = n.parent
    fn = node.child_by_field_name("function")
    return parent is not None and parent.type == "expression_statement" and not (
        fn is not None and fn.type == "await_expression")


# Every key a Prisma model operation's argument object may hold (Prisma 4-6).
_PRISMA_ARG_KEYS = frozenset({
    "where", "data", "select", "include", "omit", "orderBy", "take", "skip", "cursor", "distinct", "create",
    "update", "by", "having", "_count", "_sum", "_avg", "_min", "_max", "skipDuplicates", "relationLoadStrategy",
    "cacheStrategy", "comment",
})


def _how_used(node: Node) -> tuple[bool, bool, tuple[str, ...]]:
    """Whether the call is awaited or returned, and the names its result is bound to."""
    n = node
    parent = n.parent
    while parent is not None and parent.type in _PASS_THROUGH:
        n = parent
        parent = n.parent
    awaited = returned = False
    fn = node.child_by_field_name("function")
    if fn is not None and fn.type == "await_expression":
        awaited = True  # `await a.b<T>(x)`: the await sits inside the call node (see is_prisma_op_call)
    if parent is not None and parent.type == "await_expression":
        awaited = True
        n = parent
        parent = n.parent
        while parent is not None and parent.type in _PASS_THROUGH:
            n = parent
            parent = n.parent
    elif parent is not None and parent.type == "member_expression":
        prop = parent.child_by_field_name("property")
        if prop is not None and text_of(prop) in ("then", "catch", "finally"):
            awaited = True
    if parent is None:
        return awaited, returned, ()
    if parent.type == "return_statement" or (parent.type == "arrow_function" and
                                             parent.child_by_field_name("body") == n):
        returned = True
    names: tuple[str, ...] = ()
    if parent.type == "variable_declarator":
        target = parent.child_by_field_name("name")
        if target is not None:
            if target.type == "identifier":
                names = (text_of(target),)
            else:
                names = tuple(re.findall(r"[A-Za-z_$][\w$]*", re.sub(r":\s*[\w$]+", "", text_of(target))))
    elif parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            names = (text_of(left),)
    return awaited, returned, names


def _is_cached(node: Node, frames: tuple[Frame, ...]) -> bool:
    """`globalThis.prisma ??= new PrismaClient()`, `if (!cached) cached = new PrismaClient()`, a singleton factory."""
    n = node.parent
    hops = 0
    while n is not None and hops < 6:
        t = n.type
        if t == "assignment_expression" or t == "augmented_assignment_expression":
            left = n.child_by_field_name("left")
            left_text = text_of(left) if left is not None else ""
            if left is not None and (left.type == "member_expression" or "global" in left_text.lower()):
                return True
            return True  # assigning to an outer variable is the lazy-singleton pattern
        if t == "binary_expression" and re.search(r"\?\?|\|\|", text_of(n)) and \
                re.search(r"global|cache|instance|singleton", text_of(n), re.I):
            return True
        if t == "return_statement" or t in FUNCTION_TYPES:
            break
        n = n.parent
        hops += 1
    fn = next((f for f in frames if f.kind is FrameKind.FUNCTION), None)
    return bool(fn is not None and _FACTORY_NAME.search(fn.detail))


def analysis_from_text(path: str, text: str, **kwargs) -> FileAnalysis:  # type: ignore[no-untyped-def]
    """Convenience for tests and benchmarks: analyse text given as a str."""
    return analyze_file(path, text.encode("utf-8"), **kwargs)

