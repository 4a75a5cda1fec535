"""Where the text of raw SQL comes from: each value that reaches the SQL string of `$queryRawUnsafe(sql, ...)`,
`$executeRawUnsafe(sql, ...)` or `Prisma.raw(x)`, followed back through the function and the file.

The SQL expression is walked as a tree: template substitutions, `+` concatenation, ternaries, `.join(...)` of a
list built by `.map(...)` or `.push(...)`, variables and their `+=` appends, parameters, loop and callback
variables. Every leaf gets one origin:

- "safe": cannot carry outside text into the SQL: literals, a generated `$n` placeholder (`$${i}`), constants
  (UPPER_CASE names, `const X = "..."`), numbers (`Number(x)`, `.length`, `.toISOString()`, a value typed or
  validated as a number, boolean, bigint, Date or enum), a lookup in a constant map (`OPS[op]`), SQL compiled by a
  query builder (`knex.raw(...).toQuery()`, `.toSQL()`, Kysely `compile()`), a quoting or escaping function
  (`quoteIdent(x)`, `safeName(x)`), a value checked against an allow-list first, the signed-in user's id,
  deployment configuration (`process.env.X`, a zero-argument getter such as `getSchema()`), the values of an enum
  (`Object.values(Entity).map((e) => ...)`).
- "request": request input read directly (`req.body`, `request.json()`, `searchParams`, a zero-argument getter of
  the request such as `getQueryParams()`).
- "parameter": a parameter of the named function; the rule decides from the function (a request handler's
  parameters are request input, a helper's are of unknown origin).
- "unknown": anything else (a call's result, an imported value, a value we cannot follow).

Pure functions of the parsed tree; nothing here decides severity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ts.imports import Imports
from bot.ts.values import callee_of, text_of, unwrap

if TYPE_CHECKING:  # tree-sitter loads on the first parse, not for a change without TS/JS files
    from tree_sitter import Node

SAFE, REQUEST, PARAMETER, UNKNOWN = "safe", "request", "parameter", "unknown"


@dataclass(frozen=True)
class SqlSource:
    """One value that becomes part of the SQL text, and what is known about where it comes from."""

    origin: str  # "safe" | "request" | "parameter" | "unknown"
    expr: str  # the expression as written (first 80 characters)
    why: str  # "a generated $n placeholder", "a parameter of `set`", "`req.body`"...
    line: int
    # For "parameter": the first line of the function whose parameter it is (the rule compares it with the
    # request handler the call sits in), and its name and the parameter's position (its callers decide).
    function_line: int = 0
    function_name: str = ""
    param_index: int = -1


_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition",
                        "generator_function", "generator_function_declaration", "function"})
_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NUMERIC_CALLS = frozenset({"Number", "parseInt", "parseFloat", "BigInt", "Boolean", "Math.floor", "Math.ceil",
                            "Math.round", "Math.trunc", "Math.max", "Math.min", "Math.abs", "Date.now",
                            "Number.parseInt", "Number.parseFloat"})
_NUMERIC_METHODS = frozenset({"toISOString", "getTime", "toFixed", "valueOf", "toJSON", "toUTCString", "getFullYear",
                              "toPrecision", "length"})
_PASS_METHODS = frozenset({"trim", "toLowerCase", "toUpperCase", "toString", "slice", "substring", "padStart",
                           "padEnd", "replace", "replaceAll", "concat", "filter", "sort", "reverse", "flat",
                           "trimEnd", "trimStart", "repeat", "normalize"})
# `quoteIdent(x)`, `escapeLiteral(x)`, `safeName(x)`, `pgFormat.ident(x)`, `sanitizeIdentifier(x)`: a function whose
# name says it quotes, escapes or vets its argument for SQL.
_QUOTING = re.compile(r"(^|[.])(\w*(quote|escape|sanitiz|safe|ident|literal|validat)\w*|format)$", re.I)
# Query builders compile SQL with its bind values kept apart (knex `??`/`?` bindings are quoted by `.toQuery()`).
_COMPILED = re.compile(r"\.(toQuery|toSQL|toNative|compile)\(\s*\)(\.sql)?$|\.toSQL\(\)\.toNative\(\)\.sql$")
_REQUEST_ROOTS = frozenset({"req", "request", "body", "query", "params", "searchParams", "formData", "headers",
                            "cookies", "event", "input"})
_REQUEST_CHAIN = re.compile(r"^(req|request|ctx\.req|ctx\.request|context\.req|event)\b.*\b(body|query|params|headers|"
                            r"cookies|json|formData|searchParams|nextUrl|url)\b")
# An imported settings object (`import { env } from "~/env/server"`): deployment configuration.
_CONFIG_NAMES = frozenset({"env", "serverEnv", "clientEnv", "config", "appConfig", "settings", "ENV", "CONFIG"})
_SESSION_ID = re.compile(r"^(ctx|context|session|req|request)(\.session)?\.user\.id$")
_REQUEST_GETTER = re.compile(r"header|cookie|param|query|body|request|input|search|form", re.I)
_SAFE_TYPE = re.compile(r"^(number|boolean|bigint|Date|true|false|\d+|number\[\]|boolean\[\]|bigint\[\]|Date\[\]|"
                        r"Array<number>|readonly number\[\])$")
_STRING_LITERAL = re.compile(r"""^("[\w\s-]*"|'[\w\s-]*')$""")  # `"asc" | "desc"`: no quote can get in
# a type as written in an annotation: `number`, `Date[]`, `"asc" | "desc"`, `Level | undefined`
_TYPE_UNION = r"""(?:[\w\[\]<>]+|"[^"]*"|'[^']*')(?:\s*\|\s*(?:[\w\[\]<>]+|"[^"]*"|'[^']*'))*"""
_ZOD_SAFE = r"z\s*\.\s*(?:coerce\s*\.\s*)?(?:number|boolean|bigint|date|enum|nativeEnum|literal)\b"
_ITERATION = frozenset({"map", "flatMap", "forEach", "filter", "reduce", "some", "every", "find"})
_MAX_DEPTH = 24


class SqlFlow:
    """Follows values to their origin inside one parsed file."""

    def __init__(self, root: Node, source: bytes, const_strings: set[str], imports: Imports | None = None,
                 schema_enums: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.source = source
        self.const_strings = const_strings
        self.imports = imports
        self.schema_enums = schema_enums
        self._text: str | None = None
        self._visiting: set[tuple[int, str]] = set()
        self._call_args: dict[int, list[Node]] = {}  # a local function being followed -> the call's arguments
        self._functions: dict[str, Node] | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.source.decode("utf-8", "replace")
        return self._text

    # -- entry points ---------------------------------------------------------------------------------------

    def sql(self, node: Node, depth: int = 0) -> list[SqlSource]:
        """Sources of the text of an SQL expression (what it contributes to the statement)."""
        if depth > _MAX_DEPTH:
            return [self._src(UNKNOWN, node, "too deep to follow")]
        n = unwrap(node)
        t = n.type
        if t in ("string", "number", "true", "false", "null", "undefined", "regex"):
            return []
        if t == "template_string":
            out: list[SqlSource] = []
            for sub in n.named_children:
                inner = next((c for c in sub.named_children if c.type != "comment"), None) \
                    if sub.type == "template_substitution" else None
                if inner is None:
                    continue
                if sub.start_byte > 0 and self.source[sub.start_byte - 1:sub.start_byte] == b"$":
                    out.append(self._src(SAFE, inner, "a generated $n placeholder"))
                else:
                    out.extend(self.value(inner, depth + 1))
            return out
        if t == "binary_expression":
            op = n.child_by_field_name("operator")
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if op is not None and text_of(op) in ("+", "??", "||") and left is not None and right is not None:
                return self.sql(left, depth + 1) + self.sql(right, depth + 1)
            if op is not None and text_of(op) == "&&" and right is not None:
                return self.sql(right, depth + 1)  # `cond && `AND name = '${name}'``: the text is the right side
            return [self._src(SAFE, n, "a computed number or boolean")]
        if t == "ternary_expression":
            a, b = n.child_by_field_name("consequence"), n.child_by_field_name("alternative")
            return [*(self.sql(a, depth + 1) if a is not None else []),
                    *(self.sql(b, depth + 1) if b is not None else [])]
        return self.value(n, depth + 1)

    def value(self, node: Node, depth: int = 0) -> list[SqlSource]:
        """Sources of one value interpolated into SQL text."""
        if depth > _MAX_DEPTH:
            return [self._src(UNKNOWN, node, "too deep to follow")]
        n = unwrap(node)
        t = n.type
        if t in ("string", "number", "true", "false", "null", "undefined", "regex"):
            return []
        if t in ("template_string", "binary_expression", "ternary_expression"):
            return self.sql(n, depth + 1)
        if t in ("unary_expression", "update_expression"):
            return [self._src(SAFE, n, "a number")]
        if t == "await_expression" and n.named_children:
            return self.value(n.named_children[0], depth + 1)
        if t == "new_expression":
            ctor = n.child_by_field_name("constructor")
            args = n.child_by_field_name("arguments")
            if ctor is not None and text_of(ctor) in ("URL", "Date") and args is not None and args.named_children:
                return self.value(args.named_children[0], depth + 1)
            if ctor is not None and text_of(ctor) == "Date":
                return [self._src(SAFE, n, "a date")]
        if self._allow_listed(n):
            return [self._src(SAFE, n, "checked against an allow-list first")]
        if t == "call_expression":
            return self._call(n, depth)
        if t == "subscript_expression":
            obj = n.child_by_field_name("object")
            if obj is not None and self._constant_container(obj):
                return [self._src(SAFE, n, f"a lookup in the constant `{text_of(obj)[:40]}`")]
            return self.value(obj, depth + 1) if obj is not None else [self._src(UNKNOWN, n, "an indexed value")]
        if t == "member_expression":
            return self._member(n, depth)
        if t == "identifier":
            return self._name(text_of(n), n, depth)
        if t == "array":
            return [s for item in n.named_children for s in self.value(item, depth + 1)]
        return [self._src(UNKNOWN, n, "an expression we cannot follow")]

    def elements(self, node: Node, depth: int) -> list[SqlSource]:
        """Sources of the items of a list (`ids` in `ids.join(",")`, the `xs` a callback iterates)."""
        if depth > _MAX_DEPTH:
            return [self._src(UNKNOWN, node, "too deep to follow")]
        n = unwrap(node)
        if n.type == "array":
            return [s for item in n.named_children for s in self.value(item, depth + 1)]
        if n.type == "call_expression":
            fn = callee_of(n)
            args = n.child_by_field_name("arguments")
            first = args.named_children[0] if args is not None and args.named_children else None
            name = text_of(fn) if fn is not None else ""
            if name in ("Object.values", "Object.keys", "Object.entries") and first is not None:
                target = unwrap(first)
                if target.type == "identifier" and target.text and text_of(target)[:1].isupper():
                    return [self._src(SAFE, n, f"the values of the enum or constant `{text_of(target)}`")]
                if name == "Object.keys" and self._constant_container(target):
                    return [self._src(SAFE, n, f"the keys of the constant `{text_of(target)}`")]
                if name == "Object.keys":
                    return self.value(first, depth + 1)
                return self.elements(first, depth + 1) if name == "Object.values" else self.value(first, depth + 1)
            if fn is not None and fn.type == "member_expression":
                method = text_of(fn.child_by_field_name("property") or fn)
                obj = fn.child_by_field_name("object")
                if method in ("map", "flatMap") and first is not None and text_of(first) in _NUMERIC_CALLS:
                    return [self._src(SAFE, n, f"numbers (`.map({text_of(first)})`)")]
                if method in ("map", "flatMap") and first is not None:
                    return self._returns(first, depth + 1)
                if method in _PASS_METHODS and obj is not None:
                    return self.elements(obj, depth + 1)
                if method == "split" and obj is not None:
                    return self.value(obj, depth + 1)
            if name == "Array.from" and first is not None:
                second = args.named_children[1] if args is not None and len(args.named_children) > 1 else None
                return self._returns(second, depth + 1) if second is not None else self.elements(first, depth + 1)
        if n.type == "identifier":
            return self._name(text_of(n), n, depth, as_list=True)
        return self.value(n, depth + 1)

    # -- pieces ---------------------------------------------------------------------------------------------

    def _call(self, n: Node, depth: int) -> list[SqlSource]:
        fn = callee_of(n)
        name = re.sub(r"\s+", "", text_of(fn)) if fn is not None else ""
        args = n.child_by_field_name("arguments")
        arg_nodes = [a for a in args.named_children if a.type != "comment"] if args is not None else []
        whole = re.sub(r"\s+", "", text_of(n))
        # a function of this file is judged by what it returns, not by its name
        local = self._local_function(name) if fn is not None and fn.type == "identifier" else None
        if local is not None and (local.id, "returns") not in self._visiting and depth < _MAX_DEPTH - 2:
            # `getOrderByClause(sort, dir)` declared in this file: what it returns, its parameters bound to the
            # arguments given here
            self._visiting.add((local.id, "returns"))
            self._call_args[local.id] = arg_nodes
            try:
                return self._returns(local, depth + 1)
            finally:
                self._visiting.discard((local.id, "returns"))
                self._call_args.pop(local.id, None)
        if name in _NUMERIC_CALLS:
            return [self._src(SAFE, n, f"a number (`{name}(...)`)")]
        if _COMPILED.search(whole):
            return [self._src(SAFE, n, "SQL compiled by a query builder with its bindings")]
        if _QUOTING.search(name.rsplit(".", 1)[-1]) or _QUOTING.search(name):
            return [self._src(SAFE, n, f"quoted by `{name}`")]
        if name in ("String", "JSON.stringify") and arg_nodes:
            return self.value(arg_nodes[0], depth + 1)
        if fn is not None and fn.type == "member_expression":
            method = text_of(fn.child_by_field_name("property") or fn)
            obj = fn.child_by_field_name("object")
            if method in _NUMERIC_METHODS:
                return [self._src(SAFE, n, f"a number or date (`.{method}()`)")]
            if method == "join" and obj is not None:
                return self.elements(obj, depth + 1)
            if method in ("find", "findLast", "at", "pop", "shift") and obj is not None:
                return self.elements(obj, depth + 1)  # one of the list's items
            if method in _PASS_METHODS and obj is not None:
                return self.value(obj, depth + 1)
            if method in ("get", "getAll") and obj is not None and \
                    text_of(obj).endswith(("searchParams", "headers", "cookies")):
                # `url.searchParams.get("x")`: request input when the URL is the request's, not when it is
                # `new URL(process.env.DATABASE_URL)`
                return _renamed(self.value(obj, depth + 1), text_of(n))
        if not arg_nodes and name and not name.startswith("this.") and "." not in name:
            # `getSchema()`: a zero-argument getter; one that names the request reads request input
            if _REQUEST_GETTER.search(name):
                return [self._src(REQUEST, n, f"`{name}()` reads the request")]
            return [self._src(SAFE, n, f"configuration read by `{name}()`")]
        return [self._src(UNKNOWN, n, f"the result of `{name[:50] or 'a call'}(...)`")]

    def _member(self, n: Node, depth: int) -> list[SqlSource]:
        chain = re.sub(r"\s+|\?(?=\.)|!", "", text_of(n))
        prop = n.child_by_field_name("property")
        obj = n.child_by_field_name("object")
        if prop is not None and text_of(prop) in _NUMERIC_METHODS:
            return [self._src(SAFE, n, "a length or number")]
        if chain.startswith("process.env."):
            return [self._src(SAFE, n, "deployment configuration")]
        if _SESSION_ID.match(chain):
            return [self._src(SAFE, n, "the signed-in user's id")]
        if _REQUEST_CHAIN.match(chain):
            return [self._src(REQUEST, n, f"`{chain[:60]}`")]
        root = chain.split(".", 1)[0]
        if _CONSTANT_NAME.match(root) or root in self.const_strings:
            return [self._src(SAFE, n, f"the constant `{root}`")]
        if re.fullmatch(r"[A-Z][a-z]\w*", root) and chain.count(".") == 1 and self._unbound(root, n):
            return [self._src(SAFE, n, f"a member of the enum or class `{root}`")]
        if obj is None or prop is None:
            return [self._src(UNKNOWN, n, "a property we cannot follow")]
        # `input.entityId` with `input: CollectionEvent` and `type CollectionEvent = { entityId: number }`
        typed = self._typed_member(chain, n)
        if typed:
            return [self._src(SAFE, n, typed)]
        projected = self._projected(obj, text_of(prop), depth)
        if projected is not None:
            return _renamed(projected, chain)
        # name the property read (`input.entityType`), with its root's origin
        return _renamed(self.value(obj, depth + 1), chain)

    def _name(self, name: str, at: Node, depth: int, as_list: bool = False) -> list[SqlSource]:
        if _CONSTANT_NAME.match(name) or name in self.const_strings:
            return [self._src(SAFE, at, f"the constant `{name}`")]
        key = (at.start_byte, name)
        if key in self._visiting:
            return []
        self._visiting.add(key)
        try:
            return self._resolve(name, at, depth, as_list)
        finally:
            self._visiting.discard(key)

    def _resolve(self, name: str, at: Node, depth: int, as_list: bool) -> list[SqlSource]:
        scope = at.parent
        while scope is not None:
            if scope.type in _FUNCTIONS or scope.type == "program":
                found = self._in_scope(name, at, scope, depth, as_list)
                if found is not None:
                    return found
            elif scope.type == "for_in_statement":
                left = scope.child_by_field_name("left")
                right = scope.child_by_field_name("right")
                if left is not None and right is not None and name in _pattern_names(left):
                    # `for (const sql of builder.statements())`: shown as the loop variable
                    return _renamed(self.elements(right, depth + 1), name) if left.type == "identifier" or \
                        text_of(left).split()[-1] == name else self.elements(right, depth + 1)
            scope = scope.parent
        if name in _REQUEST_ROOTS:
            return [self._src(REQUEST, at, f"`{name}`")]
        if name in _CONFIG_NAMES:
            return [self._src(SAFE, at, f"deployment configuration (`{name}`)")]
        return [self._src(UNKNOWN, at, f"`{name}`, bound outside this file or not followed")]

    def _in_scope(self, name: str, at: Node, scope: Node, depth: int, as_list: bool) -> list[SqlSource] | None:
        if scope.type in _FUNCTIONS:
            param = _parameter(scope, name)
            if param is not None:
                return self._parameter(name, param, scope, at, depth)
        body = scope.child_by_field_name("body") if scope.type != "program" else scope
        if body is None:
            return None
        declared: Node | None = None
        pattern_init: Node | None = None
        appends: list[Node] = []
        pushes: list[Node] = []
        for node in _walk_same_function(body):
            if node.start_byte >= at.start_byte and node.type != "variable_declarator":
                continue
            if node.type == "variable_declarator":
                target = node.child_by_field_name("name")
                value = node.child_by_field_name("value")
                if target is None or node.start_byte > at.start_byte:
                    continue
                if target.type == "identifier" and text_of(target) == name:
                    declared = value
                    pattern_init = None
                elif target.type in ("object_pattern", "array_pattern") and name in _pattern_names(target):
                    pattern_init = value
                    declared = None
                    if self._closed_type(_param_type(node, name)):  # `const { id }: { id: number } = req.body`
                        pattern_init = None
                        declared = target
            elif node.type in ("augmented_assignment_expression", "assignment_expression"):
                left = node.child_by_field_name("left")
                right = node.child_by_field_name("right")
                if left is not None and right is not None and left.type == "identifier" and text_of(left) == name:
                    appends.append(right)
            elif node.type == "call_expression":
                fn = callee_of(node)
                if fn is not None and fn.type == "member_expression" and \
                        text_of(fn.child_by_field_name("property") or fn) in ("push", "unshift"):
                    obj = fn.child_by_field_name("object")
                    args = node.child_by_field_name("arguments")
                    if obj is not None and text_of(obj) == name and args is not None:
                        pushes.extend(a for a in args.named_children if a.type != "spread_element")
        if declared is None and pattern_init is None and not appends and not pushes:
            return None
        out: list[SqlSource] = []
        if declared is not None and declared.type in ("object_pattern", "array_pattern"):
            out.append(self._src(SAFE, declared, f"`{name}` is typed `{_param_type(declared.parent, name)}`"))
        elif declared is not None:
            found = self.elements(declared, depth + 1) if as_list else self.sql(declared, depth + 1)
            out.extend(_named(found, name, declared))
        if pattern_init is not None:
            out.extend(_named(self._destructured(name, pattern_init, depth), name, pattern_init))
        for right in appends:
            out.extend(self.sql(right, depth + 1))
        for item in pushes:
            out.extend(self.value(item, depth + 1))
        return out

    def _destructured(self, name: str, init: Node, depth: int) -> list[SqlSource]:
        init = unwrap(init)
        if init.type == "await_expression" and init.named_children:
            init = unwrap(init.named_children[0])
        if init.type == "call_expression":
            fn = callee_of(init)
            callee = text_of(fn) if fn is not None else ""
            if callee.endswith((".parse", ".parseAsync", ".safeParse")):
                if self._zod_safe(name):
                    return [self._src(SAFE, init, f"`{name}` is validated as a number, boolean or enum")]
                args = init.child_by_field_name("arguments")
                if args is not None and args.named_children:
                    return _renamed(self.value(args.named_children[0], depth + 1), name)
            if callee.endswith(("req.json", "request.json", "req.formData", "request.formData")):
                return [SqlSource(REQUEST, name, f"from `{callee}()`", init.start_point.row + 1)]
        return self.value(init, depth + 1)

    def _projected(self, obj: Node, field_name: str, depth: int) -> list[SqlSource] | None:
        """`sanity.sane` with `const sanity = await getSanity(id)` and `getSanity` (in this file) returning
        `{ sane: strikes < 3 }` on every path: the field's value in each returned object. None otherwise."""
        o = unwrap(obj)
        if o.type != "identifier" or depth > _MAX_DEPTH - 3:
            return None
        init = self._initializer(text_of(o), o)
        if init is None:
            return None
        init = unwrap(init)
        if init.type == "await_expression" and init.named_children:
            init = unwrap(init.named_children[0])
        fn = callee_of(init) if init.type == "call_expression" else None
        local = self._local_function(text_of(fn)) if fn is not None and fn.type == "identifier" else None
        body = local.child_by_field_name("body") if local is not None else None
        if local is None or body is None or (local.id, "returns") in self._visiting:
            return None
        returned = [unwrap(r.named_children[0]) for r in _walk_same_function(body)
                    if r.type == "return_statement" and r.named_children]
        if body.type != "statement_block":
            returned = [unwrap(body)]
        values: list[Node] = []
        for r in returned:
            if r.type != "object":
                return None
            pair = next((p for p in r.named_children if (p.type == "pair" and text_of(
                p.child_by_field_name("key") or p) == field_name) or (p.type == "shorthand_property_identifier"
                                                                     and text_of(p) == field_name)), None)
            if pair is None:
                return None
            values.append(pair.child_by_field_name("value") if pair.type == "pair" else pair)
        args = init.child_by_field_name("arguments")
        self._visiting.add((local.id, "returns"))
        self._call_args[local.id] = [a for a in args.named_children if a.type != "comment"] if args else []
        try:
            out: list[SqlSource] = []
            for v in values:
                if v is None:
                    return None
                if v.type == "shorthand_property_identifier":
                    out.extend(self._name(text_of(v), v, depth + 1))
                else:
                    out.extend(self.value(v, depth + 1))
            return out
        finally:
            self._visiting.discard((local.id, "returns"))
            self._call_args.pop(local.id, None)

    def _initializer(self, name: str, at: Node) -> Node | None:
        """The value a plain `const name = ...` declaration gives, in the nearest function that declares it."""
        scope = at.parent
        while scope is not None:
            if scope.type in _FUNCTIONS or scope.type == "program":
                body = scope.child_by_field_name("body") if scope.type != "program" else scope
                for node in _walk_same_function(body) if body is not None else ():
                    if node.type == "variable_declarator" and node.start_byte < at.start_byte:
                        target = node.child_by_field_name("name")
                        if target is not None and target.type == "identifier" and text_of(target) == name:
                            return node.child_by_field_name("value")
                if scope.type in _FUNCTIONS and _parameter(scope, name) is not None:
                    return None
            scope = scope.parent
        return None

    def _unbound(self, name: str, at: Node) -> bool:
        """No variable or parameter of this file's scopes around `at` is called `name` (it is imported)."""
        return self._initializer(name, at) is None and not re.search(
            rf"(?:const|let|var)\s+{re.escape(name)}\b|[(,]\s*{re.escape(name)}\s*[:,)=]", self.text)

    def _local_function(self, name: str) -> Node | None:
        """A function declared at the top of this file under `name` (`function f() {}`, `const f = () => ...`)."""
        if self._functions is None:
            self._functions = {}
            for top in self.root.named_children:
                node = top.named_children[0] if top.type == "export_statement" and top.named_children else top
                if node.type == "function_declaration":
                    fn_name = node.child_by_field_name("name")
                    if fn_name is not None:
                        self._functions.setdefault(text_of(fn_name), node)
                elif node.type in ("lexical_declaration", "variable_declaration"):
                    for decl in node.named_children:
                        target, value = decl.child_by_field_name("name"), decl.child_by_field_name("value")
                        if target is not None and value is not None and \
                                unwrap(value).type in ("arrow_function", "function_expression"):
                            self._functions.setdefault(text_of(target), unwrap(value))
        return self._functions.get(name)

    def _parameter(self, name: str, param: Node, fn: Node, at: Node, depth: int) -> list[SqlSource]:
        args = self._call_args.get(fn.id)
        if args is not None:
            index = next((i for i, p in enumerate(_param_nodes(fn)) if p.id == param.id), -1)
            if 0 <= index < len(args) and args[index].type != "spread_element":
                return self.value(args[index], depth + 1)
            if index >= len(args):
                return []  # not passed: its default or undefined
        type_text = _param_type(param, name) or self._named_field_type(param, name)
        if type_text and self._closed_type(type_text):
            return [self._src(SAFE, at, f"typed `{type_text}`")]
        # a callback's parameter: what the iterated list holds
        parent = fn.parent
        if parent is not None and parent.type == "arguments" and parent.parent is not None:
            call = parent.parent
            callee = callee_of(call)
            if callee is not None and callee.type == "member_expression":
                method = text_of(callee.child_by_field_name("property") or callee)
                obj = callee.child_by_field_name("object")
                params = _param_nodes(fn)
                if method in _ITERATION and obj is not None and params and params[0].id == param.id:
                    entry = self._entry_part(obj, params[0], name)
                    return entry if entry is not None else self.elements(obj, depth + 1)
                if method in _ITERATION and params and param.id != params[0].id:
                    return [self._src(SAFE, at, "an index")]
            where = text_of(callee)[:40] if callee is not None else "a call"
            return [SqlSource(PARAMETER, re.sub(r"\s+", " ", text_of(at))[:80],
                              f"a parameter of the callback passed to `{where}`", at.start_point.row + 1,
                              fn.start_point.row + 1)]
        if name in _REQUEST_ROOTS and name not in ("input", "event", "query", "params"):
            return [self._src(REQUEST, at, f"`{name}`")]
        index = next((i for i, p in enumerate(_param_nodes(fn)) if p.id == param.id), -1)
        return [SqlSource(PARAMETER, re.sub(r"\s+", " ", text_of(at))[:80], f"a parameter of `{_function_name(fn)}`",
                          at.start_point.row + 1, fn.start_point.row + 1, _function_name(fn), index)]

    def _entry_part(self, collection: Node, param: Node, name: str) -> list[SqlSource] | None:
        """`Object.entries(input.ratings).map(([id, level]) => ...)` with `ratings: z.record(z.string(), z.number())`:
        the values are numbers. None when this is not that shape (the caller follows the whole list)."""
        c = unwrap(collection)
        pattern = param.child_by_field_name("pattern") or param
        if c.type != "call_expression" or pattern.type != "array_pattern":
            return None
        fn = callee_of(c)
        args = c.child_by_field_name("arguments")
        if fn is None or text_of(fn) != "Object.entries" or args is None or not args.named_children:
            return None
        items = [i for i in pattern.named_children]
        if len(items) < 2 or text_of(items[1]) != name:
            return None
        field = text_of(args.named_children[0]).rsplit(".", 1)[-1]
        if re.search(rf"\b{re.escape(field)}\s*:\s*z\s*\.\s*record\((?:[^()]|\([^()]*\))*,\s*{_ZOD_SAFE}", self.text):
            return [self._src(SAFE, param, f"the values of `{field}` are validated as numbers")]
        return None

    def _returns(self, callback: Node, depth: int) -> list[SqlSource]:
        """What a `.map(cb)` callback returns."""
        cb = unwrap(callback)
        if cb.type not in ("arrow_function", "function_expression", "function_declaration"):
            return self.value(cb, depth + 1)
        body = cb.child_by_field_name("body")
        if body is None:
            return []
        if body.type != "statement_block":
            return self.sql(body, depth + 1)
        out: list[SqlSource] = []
        for node in _walk_same_function(body):
            if node.type == "return_statement" and node.named_children:
                out.extend(self.sql(node.named_children[0], depth + 1))
        return out

    # -- knowledge from the file's text ---------------------------------------------------------------------

    def _allow_listed(self, n: Node) -> bool:
        """`if (!ALLOWED.includes(x)) throw ...`, `/^[a-z_]+$/.test(x)` before the use, in the same function."""
        expr = re.sub(r"\s+", "", text_of(n))
        if not re.fullmatch(r"[\w$.]+", expr):
            return False
        fn = n.parent
        while fn is not None and fn.type not in _FUNCTIONS:
            fn = fn.parent
        start = fn.start_byte if fn is not None else 0
        before = self.source[start:n.start_byte].decode("utf-8", "replace")
        e = re.escape(expr).replace(r"\.", r"\s*\??\.\s*")
        lists = r"(?:[\w$.]+|\[[^\]\n]*\])"  # `ALLOWED.includes(x)`, `["=", ">"].includes(x)`
        return bool(re.search(rf"!\s*{lists}\.(includes|has)\(\s*{e}\s*(as\s+\w+\s*)?\)\s*\)?[^;]{{0,80}}?"
                              rf"\b(throw|return)\b", before)
                    or re.search(rf"/\^[^/\n]*\$/[a-z]*\.test\(\s*{e}\s*\)", before)
                    or re.search(rf"\b(assert|invariant|guard)\w*\(\s*[\w$.]+\.(includes|has)\(\s*{e}\s*\)", before))

    def _constant_container(self, obj: Node) -> bool:
        name = text_of(unwrap(obj))
        if _CONSTANT_NAME.match(name):
            return True
        return bool(re.fullmatch(r"[A-Za-z_$][\w$]*", name)) and bool(
            re.search(rf"^\s*(?:export\s+)?const\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*\{{", self.text, re.M))

    def _zod_safe(self, name: str) -> bool:
        n = re.escape(name)
        return bool(re.search(rf"\b{n}\s*:\s*{_ZOD_SAFE}", self.text)
                    or re.search(rf"\b{n}\s*:\s*z\s*\.\s*array\(\s*{_ZOD_SAFE}", self.text)
                    or re.search(rf"\b{n}\s*:\s*{_ZOD_SAFE}[^,\n]*\)\s*\.\s*array\(", self.text)
                    or re.search(rf"\b{n}\s*:\s*z\s*\.\s*(?:coerce\s*\.\s*)?number\(\)[\w.()]*\.array\(", self.text))

    def _named_field_type(self, param: Node, name: str) -> str:
        """`{ type }: VotingInput` with `type VotingInput = { type: EntityType; ... }` in this file -> EntityType."""
        annotation = param.child_by_field_name("type") if param.type != "identifier" else None
        type_name = text_of(annotation).lstrip(":").strip() if annotation is not None else ""
        if not re.fullmatch(r"[A-Z]\w*", type_name):
            return ""
        body = re.search(rf"(?:type\s+{type_name}\s*=|interface\s+{type_name}\b[^{{]*)\s*\{{([^}}]*)\}}", self.text)
        m = re.search(rf"\b{re.escape(name)}\??\s*:\s*({_TYPE_UNION})", body.group(1)) if body else None
        return m.group(1) if m else ""

    def _closed_type(self, type_text: str, text: str | None = None, hops: int = 0) -> bool:
        """A type whose values cannot hold SQL text: numbers, booleans, dates, string-literal unions, enums (of
        the file, of an imported module of the repository, or of the Prisma schema), `z.infer` of a `z.enum`,
        `(typeof LIST)[number]` of a constant list of literals."""
        parts = [p.strip() for p in type_text.split("|") if p.strip() not in ("", "undefined", "null")]
        return bool(parts) and all(self._closed_part(p, text if text is not None else self.text, hops)
                                   for p in parts)

    def _closed_part(self, part: str, text: str, hops: int) -> bool:
        if _SAFE_TYPE.match(part) or _STRING_LITERAL.match(part):
            return True
        if part.endswith("[]"):
            return self._closed_part(part[:-2].strip("() "), text, hops)
        m = re.fullmatch(r"(?:readonly\s+)?Array<(.+)>", part)
        if m:
            return self._closed_type(m.group(1), text, hops)
        if not re.fullmatch(r"[A-Z]\w*", part) or hops > 3:
            return False
        if part in self.schema_enums:
            return True
        n = re.escape(part)
        if re.search(rf"^\s*(?:export\s+)?(?:declare\s+)?(?:const\s+)?enum\s+{n}\b", text, re.M):
            return True
        alias = re.search(rf"^\s*(?:export\s+)?type\s+{n}\s*=\s*([^;\n]+)", text, re.M)
        if alias is not None:
            rhs = alias.group(1).strip()
            infer = re.fullmatch(r"z\s*\.\s*infer\s*<\s*typeof\s+(\w+)\s*>", rhs)
            if infer is not None:
                return bool(re.search(rf"\b(?:const|let)\s+{infer.group(1)}\s*=\s*(?:z\s*\.\s*)?"
                                      rf"(?:enum|nativeEnum)\s*\(", text))
            listed = re.fullmatch(r"\(\s*typeof\s+(\w+)\s*\)\s*\[\s*number\s*\]", rhs)
            if listed is not None:
                return _literal_list(text, listed.group(1))
            return self._closed_type(rhs, text, hops + 1)
        if text is self.text and self.imports is not None:
            module = self.imports.module_of(part)
            original = self.imports.original_name(part) or part
            if module is not None:
                return self._closed_part(original, module.text, hops + 1)
        return False

    def _typed_member(self, chain: str, at: Node) -> str:
        """`input.entityId` where the parameter `input` is typed by a type declared in this file whose
        `entityId` is a number (or boolean, bigint, Date, enum)."""
        parts = chain.split(".")
        if len(parts) != 2:
            return ""
        root, field_name = parts
        fn = at.parent
        while fn is not None:
            if fn.type in _FUNCTIONS:
                param = _parameter(fn, root)
                if param is not None:
                    annotation = param.child_by_field_name("type") if param.type != "identifier" else None
                    type_text = text_of(annotation).lstrip(":").strip() if annotation is not None else ""
                    if type_text.startswith("{"):
                        fields, type_name = type_text, "its type"
                    elif re.fullmatch(r"[A-Z]\w*", type_text):
                        body = re.search(rf"(?:type\s+{type_text}\s*=|interface\s+{type_text}\b[^{{]*)\s*"
                                         rf"\{{([^}}]*)\}}", self.text)
                        if body is None:
                            return ""
                        fields, type_name = body.group(1), f"`{type_text}`"
                    else:
                        return ""
                    m = re.search(rf"\b{re.escape(field_name)}\??\s*:\s*({_TYPE_UNION})", fields)
                    if m and self._closed_type(m.group(1)):
                        return f"`{field_name}` is typed `{m.group(1)}` in {type_name}"
                    return ""
            fn = fn.parent
        return ""

    def _src(self, origin: str, node: Node, why: str) -> SqlSource:
        return SqlSource(origin, re.sub(r"\s+", " ", text_of(node))[:80], why, node.start_point.row + 1)


def _renamed(sources: list[SqlSource], expr: str) -> list[SqlSource]:
    """Sources shown as the expression that carries them (`input.sort` rather than its root `input`)."""
    shown = re.sub(r"\s+", " ", expr)[:80]
    return [s if s.origin == SAFE else SqlSource(s.origin, shown, s.why, s.line, s.function_line) for s in sources]


def _named(sources: list[SqlSource], name: str, init: Node) -> list[SqlSource]:
    """`const { sql } = buildSql(x)`: a source that is the whole initializer is shown by the variable's name."""
    whole = re.sub(r"\s+", " ", text_of(unwrap(init)))[:80]
    return [SqlSource(s.origin, name, s.why, s.line, s.function_line) if s.origin != SAFE and s.expr == whole else s
            for s in sources]


def _literal_list(text: str, name: str) -> bool:
    """`const NAME = ["a", "b"] as const` (module or function level) holding string or number literals only."""
    m = re.search(rf"\b(?:const|let)\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*\[([^\[\]]*)\]", text)
    return m is not None and bool(re.fullmatch(r"""(\s*("[^"\n]*"|'[^'\n]*'|-?\d+)\s*,?)*\s*""", m.group(1)))


def _walk_same_function(body: Node):  # type: ignore[no-untyped-def]
    """Every node under `body` that belongs to the same function: nested functions have their own variables
    (the innermost scope is searched first, so a callback's own declarations are found there)."""
    stack = [body]
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(node.children):
            if child.type in _FUNCTIONS or child.type in ("class_declaration", "class"):
                continue
            stack.append(child)


def _param_nodes(fn: Node) -> list[Node]:
    params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
    if params is None:
        return []
    return list(params.named_children) if params.type == "formal_parameters" else [params]


def _parameter(fn: Node, name: str) -> Node | None:
    for param in _param_nodes(fn):
        if param.type == "identifier":
            if text_of(param) == name:
                return param
            continue
        pattern = param.child_by_field_name("pattern") or param
        if name in _pattern_names(pattern):
            return param
    return None


def _param_type(param: Node, name: str) -> str:
    """The declared type of `name` in a parameter: `id: number` -> number; `{ id }: { id: number }` -> number."""
    annotation = param.child_by_field_name("type") if param.type != "identifier" else None
    if annotation is None:
        return ""
    pattern = param.child_by_field_name("pattern")
    type_text = text_of(annotation).lstrip(":").strip()
    if pattern is not None and pattern.type == "identifier":
        return type_text
    m = re.search(rf"\b{re.escape(name)}\??\s*:\s*({_TYPE_UNION})", type_text)
    return m.group(1) if m else ""


def _pattern_names(pattern: Node) -> set[str]:
    """Names a destructuring pattern binds (`{ a, b: c, ...d }` -> a, c, d; `[x, y]` -> x, y)."""
    names: set[str] = set()
    stack = [pattern]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("identifier", "shorthand_property_identifier_pattern"):
            names.add(text_of(node))
        elif t == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif t == "assignment_pattern" or t == "object_assignment_pattern":
            left = node.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        elif t in ("object_pattern", "array_pattern", "rest_pattern", "required_parameter", "optional_parameter"):
            pat = node.child_by_field_name("pattern")
            stack.extend([pat] if pat is not None else node.named_children)
    return names


def _function_name(fn: Node) -> str:
    name = fn.child_by_field_name("name")
    if name is not None:
        return text_of(name)
    parent = fn.parent
    if parent is not None and parent.type == "variable_declarator":
        target = parent.child_by_field_name("name")
        if target is not None:
            return text_of(target)
    if parent is not None and parent.type == "pair":
        key = parent.child_by_field_name("key")
        if key is not None:
            return text_of(key)
    return "the function"
