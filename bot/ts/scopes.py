"""Where a node sits: the loops, iteration callbacks, transactions and named function around it.

Queries cannot express "any-depth ancestor", so this walks parents once per call and caches the function info.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.ts.model import Frame, FrameKind, FunctionInfo
from bot.ts.values import callee_of, text_of, unwrap

if TYPE_CHECKING:  # tree-sitter loads on the first parse (bot.ts.parser)
    from tree_sitter import Node

FUNCTION_TYPES = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition",
                            "generator_function", "generator_function_declaration", "function"})
LOOP_TYPES = {"for_statement": "for", "for_in_statement": "for-of", "while_statement": "while",
              "do_statement": "do"}
ITERATION_METHODS = frozenset({"map", "forEach", "flatMap", "reduce", "reduceRight", "filter", "some", "every",
                               "find", "findIndex", "each", "mapSeries", "forEachSeries"})
# Functions that call their second argument once per item of their first (Effect, p-map).
ITERATING_FUNCTIONS = frozenset({"Effect.forEach", "pMap", "pMapSeries"})
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "del", "all", "head", "options"})
_NEXT_ROUTE_VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_TRPC_METHODS = frozenset({"query", "mutation", "subscription"})
_NEST_ROUTE_DECORATORS = re.compile(r"^@(Get|Post|Put|Patch|Delete|All|Head|Options|Query|Mutation|Subscription|"
                                    r"ResolveField|MessagePattern|EventPattern|GrpcMethod)\b")
_NEST_CONTROLLER = re.compile(r"^@(Controller|Resolver|WebSocketGateway)\b")
_NEST_SERVICE = re.compile(r"^@Injectable\b")
# Scheduled or message-driven methods: a scheduler or a queue calls them, not an HTTP request.
_NEST_JOB = re.compile(r"^@(Cron|Interval|Timeout|OnEvent|Process|OnQueue\w*|OnWorkerEvent|EventPattern|"
                       r"MessagePattern|RabbitSubscribe|SqsMessageHandler|Processor)\b")
_LOADER_NAMES = frozenset({"loader", "action", "load", "getServerSideProps", "generateMetadata"})
_GRAPHQL_ROOTS = frozenset({"Query", "Mutation", "Subscription"})
_SMALL_LIST = 20
# A project's own interactive-transaction helpers: `this.prismaService.$tx(async (prisma) => ...)`,
# `withTransaction(async (tx) => ...)`. Their callback's first parameter is a transaction client.
_TX_WRAPPER = re.compile(r"^(\$tx|withTransaction|runInTransaction|inTransaction|withTx|runTransaction|"
                         r"transactional|withPrismaTransaction)$")


class ScopeResolver:
    """Per-file helper: frames around a node, and the named function that owns it."""

    def __init__(self, path: str, root: Node, use_server: bool, module_consts: dict[str, int]) -> None:
        self.path = path
        self.root = root
        self.use_server = use_server
        # Module- and function-level `const X = [a, b, c]`: name -> item count, for "loop over a small constant".
        self.module_consts = module_consts
        self._functions: dict[int, FunctionInfo] = {}
        self._frames: dict[int, Frame | None] = {}
        self._chains: dict[int, tuple[Frame, ...]] = {}
        self.module = FunctionInfo("<module>", 1, root.end_point.row + 1)

    # -- frames ---------------------------------------------------------------------------------------------

    def frames(self, node: Node) -> tuple[Frame, ...]:
        """Frames around `node`, innermost first. Everything above the nearest loop or function is shared by
        all nodes inside it, so that part is cached per scope node."""
        out: list[Frame] = []
        prev = node
        n = node.parent
        while n is not None:
            t = n.type
            if t in LOOP_TYPES:
                frame = self._loop_frame(n, prev)
                if frame is not None:
                    out.append(frame)
                out.extend(self._above(n))
                return tuple(out)
            if t in FUNCTION_TYPES:
                cached = self._frames.get(n.id)
                if cached is None:
                    cached = self._function_frame(n)
                    self._frames[n.id] = cached
                out.append(cached)
                out.extend(self._above(n))
                return tuple(out)
            if t == "array" and _is_transaction_batch_array(n):
                out.append(Frame(FrameKind.TRANSACTION, n.start_point.row + 1, n.end_point.row + 1, n.start_byte,
                                 n.end_byte, detail="batch"))
            prev = n
            n = n.parent
        return tuple(out)

    def _above(self, scope: Node) -> tuple[Frame, ...]:
        cached = self._chains.get(scope.id)
        if cached is None:
            cached = self.frames(scope)
            self._chains[scope.id] = cached
        return cached

    def _loop_frame(self, loop: Node, child: Node) -> Frame | None:
        # Only the loop body (and a while condition) runs per item: `for (const x of await prisma...)` runs once.
        if loop.type in ("for_in_statement", "for_statement"):
            body = loop.child_by_field_name("body")
            if body is None or body.id != child.id:
                return None
        cached = self._frames.get(loop.id)
        if cached is not None:
            return cached
        frame = self._describe_loop(loop)
        self._frames[loop.id] = frame
        return frame

    def _describe_loop(self, loop: Node) -> Frame:
        detail = LOOP_TYPES[loop.type]
        collection = variable = ""
        constant: int | None = None
        if loop.type == "for_in_statement":
            right = loop.child_by_field_name("right")
            left = loop.child_by_field_name("left")
            operator = loop.child_by_field_name("operator")
            if operator is not None and text_of(operator) == "in":
                detail = "for-in"
            if right is not None:
                collection = text_of(unwrap(right))
                constant = self._constant_size(unwrap(right))
            if left is not None:
                variable = text_of(left)
        elif loop.type == "for_statement":
            constant = _numeric_bound(loop)
        cond = loop.child_by_field_name("condition") if loop.type != "for_in_statement" else None
        condition = text_of(cond)[:200] if cond is not None else ""
        return Frame(FrameKind.LOOP, loop.start_point.row + 1, loop.end_point.row + 1, loop.start_byte,
                     loop.end_byte, detail=detail, collection=collection, variable=variable,
                     constant_items=constant, condition=condition)

    def _constant_size(self, node: Node) -> int | None:
        if node.type == "array":
            items = node.named_children
            if len(items) <= _SMALL_LIST and not any(c.type == "spread_element" for c in items):
                return len(items)
            return None
        if node.type == "identifier":
            return self.module_consts.get(text_of(node))
        if node.type == "call_expression":  # Object.entries(CONST), Object.values({...})
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and text_of(fn) in ("Object.entries", "Object.values", "Object.keys") and args:
                first = args.named_children[0] if args.named_children else None
                if first is not None and first.type == "identifier":
                    return self.module_consts.get(text_of(first))
                if first is not None and first.type == "object" and len(first.named_children) <= _SMALL_LIST:
                    return len(first.named_children)
        return None

    def _function_frame(self, fn: Node) -> Frame:
        line, end = fn.start_point.row + 1, fn.end_point.row + 1
        is_async = any(c.type == "async" for c in fn.children[:3])
        call, position = _callback_of(fn)
        if call is not None:
            callee = callee_of(call)
            prop = callee.child_by_field_name("property") if callee is not None and \
                callee.type == "member_expression" else None
            method = text_of(prop) if prop is not None else text_of(callee) if callee is not None and \
                callee.type == "identifier" else ""
            if method in ITERATION_METHODS and position == 0 and prop is not None:
                obj = callee.child_by_field_name("object") if callee is not None else None
                collection = text_of(unwrap(obj)) if obj is not None else ""
                params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
                variable = ""
                if params is not None:
                    named = [p for p in params.named_children] if params.type == "formal_parameters" else [params]
                    if named:
                        variable = text_of(named[0].child_by_field_name("pattern") or named[0])
                return Frame(FrameKind.ITERATION, line, end, fn.start_byte, fn.end_byte, detail=method,
                             collection=collection, variable=variable, is_async=is_async,
                             constant_items=self._constant_size(unwrap(obj)) if obj is not None else None,
                             batch_into=_batch_consumer(call))
            if position == 1 and callee is not None and text_of(callee) in ITERATING_FUNCTIONS:
                # `Effect.forEach(items, (item) => ...)`, `pMap(items, async (item) => ..., { concurrency })`
                args = call.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
                named = (params.named_children if params.type == "formal_parameters" else [params]) \
                    if params is not None else []
                variable = text_of(named[0].child_by_field_name("pattern") or named[0]) if named else ""
                return Frame(FrameKind.ITERATION, line, end, fn.start_byte, fn.end_byte, detail=text_of(callee),
                             collection=text_of(unwrap(first)) if first is not None else "", variable=variable,
                             is_async=is_async,
                             constant_items=self._constant_size(unwrap(first)) if first is not None else None,
                             batch_into=_batch_consumer(call))
            if (method == "$transaction" or _TX_WRAPPER.match(method)) and position == 0:
                params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
                tx = ""
                if params is not None:
                    named = params.named_children if params.type == "formal_parameters" else [params]
                    if named:
                        tx = text_of(named[0].child_by_field_name("pattern") or named[0])
                        tx = tx.split(":")[0].strip()
                return Frame(FrameKind.TRANSACTION, line, end, fn.start_byte, fn.end_byte, detail="interactive",
                             is_async=is_async, tx_param=tx)
        info = self.function_info(fn)
        return Frame(FrameKind.FUNCTION, line, end, fn.start_byte, fn.end_byte, detail=info.name,
                     is_async=is_async, function=info)

    # -- owning function ------------------------------------------------------------------------------------

    def owner(self, frames: tuple[Frame, ...], node: Node) -> FunctionInfo:
        """The nearest named function: anonymous callbacks, iterations and transactions belong to it."""
        for frame in frames:
            if frame.kind is FrameKind.FUNCTION and frame.function is not None and frame.function.name:
                return frame.function
        return self.module

    def function_info(self, fn: Node) -> FunctionInfo:
        cached = self._functions.get(fn.id)
        if cached is None:
            cached = self._describe(fn)
            self._functions[fn.id] = cached
        return cached

    def _describe(self, fn: Node) -> FunctionInfo:
        line, end = fn.start_point.row + 1, fn.end_point.row + 1
        t = fn.type
        handler = ""
        if t in ("function_declaration", "generator_function_declaration"):
            name_node = fn.child_by_field_name("name")
            name = text_of(name_node) if name_node is not None else ""
            exported = fn.parent is not None and fn.parent.type == "export_statement"
            handler = self._function_handler(name, exported, fn)
            return FunctionInfo(name, line, end, handler)
        if t == "method_definition":
            name_node = fn.child_by_field_name("name")
            name = text_of(name_node) if name_node is not None else ""
            cls = _enclosing_class(fn)
            if cls is not None:
                cls_name, cls_decorators = cls
                decorators = _method_decorators(fn)
                if any(_NEST_JOB.match(d) for d in decorators) or any(_NEST_JOB.match(d) for d in cls_decorators):
                    handler = "job"
                elif any(_NEST_ROUTE_DECORATORS.match(d) for d in decorators) or \
                        any(_NEST_CONTROLLER.match(d) for d in cls_decorators):
                    handler = "nest-controller"
                elif any(_NEST_SERVICE.match(d) for d in cls_decorators):
                    handler = "nest-service"
                return FunctionInfo(f"{cls_name}.{name}", line, end, handler, cls_name)
            owner_name = self._object_owner(fn)
            if owner_name in _GRAPHQL_ROOTS or owner_name.endswith(tuple(f".{r}" for r in _GRAPHQL_ROOTS)):
                handler = "resolver"
            return FunctionInfo(f"{owner_name}.{name}" if owner_name else name, line, end, handler)
        # arrow functions and function expressions: named by what they are assigned to or passed to
        call, position = _callback_of(fn)
        if call is not None:
            callee = callee_of(call)
            prop = callee.child_by_field_name("property") if callee is not None and \
                callee.type == "member_expression" else None
            method = text_of(prop) if prop is not None else ""
            args = call.child_by_field_name("arguments")
            first = args.named_children[0] if args is not None and args.named_children else None
            if method in HTTP_METHODS and first is not None and first.type in ("string", "template_string") \
                    and position > 0:
                return FunctionInfo(f"{method.upper()} {text_of(first)[1:-1]}", line, end, "express")
            if method in _TRPC_METHODS and position == 0:
                named = _binding_name(call)
                return FunctionInfo(named or method, line, end, "trpc")
            return FunctionInfo("", line, end)  # an anonymous callback belongs to its enclosing function
        name = _binding_name(fn)
        if name:
            exported = _is_exported(fn)
            short = name.rsplit(".", 1)[-1]
            handler = self._function_handler(short, exported, fn)
            if not handler and fn.parent is not None and fn.parent.type == "pair":
                owner_name = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
                if owner_name in _GRAPHQL_ROOTS:
                    handler = "resolver"
            if not handler and fn.parent is not None and fn.parent.type == "public_field_definition":
                cls = _enclosing_class(fn)
                if cls is not None and any(_NEST_CONTROLLER.match(d) for d in cls[1]):
                    handler = "nest-controller"
            return FunctionInfo(name, line, end, handler)
        return FunctionInfo("", line, end)

    def _function_handler(self, name: str, exported: bool, fn: Node) -> str:
        path = self.path
        if exported and name in _NEXT_ROUTE_VERBS and re.search(r"(^|/)route\.[cm]?[jt]sx?$", path):
            return "next-route"
        if re.search(r"(^|/)pages/api/", path) and (exported or name == "handler"):
            return "next-api"
        if exported and re.search(r"(^|/)app/(.*/)?(page|layout)\.[jt]sx?$", path):
            return "next-page"
        if exported and name == "getServerSideProps":
            return "loader"
        if (self.use_server and exported) or _has_use_server(fn):
            return "server-action"
        if exported and name in _LOADER_NAMES:
            return "loader"
        return ""

    def _object_owner(self, fn: Node) -> str:
        obj = fn.parent
        if obj is None or obj.type != "object":
            return ""
        return _binding_name(obj)


def _callback_of(fn: Node) -> tuple[Node | None, int]:
    """The call a function is passed to directly (`xs.map(fn)`, `app.get("/", fn)`), and its argument position."""
    parent = fn.parent
    if parent is None or parent.type != "arguments":
        return None, -1
    call = parent.parent
    if call is None or call.type != "call_expression":
        return None, -1
    for position, child in enumerate(parent.named_children):
        if child.id == fn.id:
            return call, position
    return call, -1


def _batch_consumer(call: Node) -> str:
    """`Promise.all(xs.map(...))` or `prisma.$transaction(xs.map(...))`: who receives the mapped promises."""
    n = call.parent
    hops = 0
    while n is not None and hops < 4:
        if n.type == "call_expression":
            fn = callee_of(n)
            text = text_of(fn) if fn is not None else ""
            if text.startswith("Promise.") or text.endswith(("Promise.all", "Promise.allSettled")):
                return "Promise.all"
            if text.endswith("$transaction"):
                return "$transaction"
            return ""
        if n.type in ("return_statement", "arrow_function") and hops < 3:
            # `$transaction(as.flatMap((a) => bs.map((b) => prisma.x.upsert(...))))`: the inner map's promises are
            # what the outer flatMap/map callback returns, so they reach the same consumer
            outer = _enclosing_iteration_call(n)
            return _batch_consumer(outer) if outer is not None else ""
        if n.type not in ("arguments", "await_expression", "parenthesized_expression", "array", "spread_element"):
            return ""
        n = n.parent
        hops += 1
    return ""


def _enclosing_iteration_call(node: Node) -> Node | None:
    """The `xs.map(...)` / `xs.flatMap(...)` call whose callback returns `node`'s value, if any."""
    n = node
    for _ in range(4):
        if n.type == "arrow_function":
            break
        n = n.parent
        if n is None:
            return None
    if n.type != "arrow_function" or n.parent is None or n.parent.type != "arguments":
        return None
    call = n.parent.parent
    if call is None or call.type != "call_expression":
        return None
    fn = callee_of(call)
    prop = fn.child_by_field_name("property") if fn is not None and fn.type == "member_expression" else None
    return call if prop is not None and text_of(prop) in ("map", "flatMap") else None


def _is_transaction_batch_array(array: Node) -> bool:
    parent = array.parent
    if parent is None or parent.type != "arguments":
        return False
    call = parent.parent
    if call is None or call.type != "call_expression":
        return False
    fn = callee_of(call)
    return fn is not None and text_of(fn).endswith("$transaction")


def _binding_name(node: Node) -> str:
    """The name a value is bound to: `const x = <node>`, `{ key: <node> }` (prefixed by the object's own name),
    `exports.x = <node>`, `class { x = <node> }`; climbing through the call chains tRPC builders use."""
    n = node
    hops = 0
    while n.parent is not None and hops < 12:
        parent = n.parent
        pt = parent.type
        if pt == "variable_declarator":
            name = parent.child_by_field_name("name")
            return text_of(name) if name is not None else ""
        if pt == "pair":
            key = parent.child_by_field_name("key")
            key_text = text_of(key).strip("'\"") if key is not None else ""
            obj = parent.parent
            owner = _binding_name(obj) if obj is not None else ""
            return f"{owner}.{key_text}" if owner else key_text
        if pt == "assignment_expression":
            left = parent.child_by_field_name("left")
            return text_of(left) if left is not None else ""
        if pt == "public_field_definition":
            name = parent.child_by_field_name("name")
            cls = _enclosing_class(parent)
            base = text_of(name) if name is not None else ""
            return f"{cls[0]}.{base}" if cls else base
        if pt == "export_statement":
            return "default"
        if pt in ("call_expression", "member_expression", "arguments", "await_expression",
                  "parenthesized_expression", "as_expression", "satisfies_expression"):
            n = parent
            hops += 1
            continue
        return ""
    return ""


def _is_exported(fn: Node) -> bool:
    n = fn.parent
    hops = 0
    while n is not None and hops < 4:
        if n.type == "export_statement":
            return True
        if n.type not in ("variable_declarator", "lexical_declaration", "variable_declaration"):
            return False
        n = n.parent
        hops += 1
    return False


def _has_use_server(fn: Node) -> bool:
    body = fn.child_by_field_name("body")
    if body is None or body.type != "statement_block" or not body.named_children:
        return False
    first = body.named_children[0]
    return first.type == "expression_statement" and text_of(first).strip(" ;\"'") == "use server"


def _enclosing_class(node: Node) -> tuple[str, list[str]] | None:
    n = node.parent
    while n is not None:
        if n.type in ("class_declaration", "class", "abstract_class_declaration"):
            name = n.child_by_field_name("name")
            decorators = [text_of(c) for c in n.children if c.type == "decorator"]
            if n.parent is not None and n.parent.type == "export_statement":
                decorators += [text_of(c) for c in n.parent.children if c.type == "decorator"]
            return (text_of(name) if name is not None else "<class>", decorators)
        if n.type in FUNCTION_TYPES and n.type != "method_definition":
            return None
        n = n.parent
    return None


def _method_decorators(method: Node) -> list[str]:
    out: list[str] = []
    sib = method.prev_sibling
    while sib is not None and sib.type == "decorator":
        out.append(text_of(sib))
        sib = sib.prev_sibling
    out.extend(text_of(c) for c in method.children if c.type == "decorator")
    return out


def _numeric_bound(loop: Node) -> int | None:
    """`for (let i = 0; i < 3; i++)`: a literal bound of at most a few iterations."""
    condition = loop.child_by_field_name("condition")
    if condition is None:
        return None
    m = re.fullmatch(r"\s*\w+\s*(<=?)\s*(\d+)\s*;?\s*", text_of(condition))
    if not m:
        return None
    bound = int(m.group(2)) + (1 if m.group(1) == "<=" else 0)
    return bound if bound <= _SMALL_LIST else None
