"""Where a query's rows go after the call, within its function: a response, a log, a client component's props.

Used by query/include-sensitive: a secret column is only a leak when the row carrying it leaves the server. The
analysis is textual and local to the function (the call's result names, `delete row.secret`, and the argument
text of response/log calls), so it answers "reaches" only when it sees the row itself handed to a sink.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ts.model import FileAnalysis, FrameKind, PrismaCall

# Handler kinds whose return value is what the client receives. A service's return value goes to its caller; a
# GraphQL resolver's goes through the schema's output type, which lists the fields the client may see.
_RESPONDING_HANDLERS = frozenset({"next-route", "next-api", "server-action", "trpc", "nest-controller", "express",
                                  "loader"})
_RESPONSE_SINK = re.compile(
    r"\b(?:res|reply|response|ctx|c)\s*(?:\.\s*status\s*\([^()]*\))?\s*\.\s*(?:json|send|jsonp)\s*\("
    r"|\b(?:NextResponse|Response)\s*\.\s*json\s*\(|(?<![\w$.])(?:json|typedjson|superjson)\s*\(")
_LOG_SINK = re.compile(r"\b(?:console|logger|log|this\.logger|this\.log)\s*\.\s*(?:log|info|warn|error|debug|"
                       r"trace)\s*\(")
_RETURN = re.compile(r"(?<![\w$.])return\b")
_JSX_PROP = re.compile(r"<([A-Z][\w.]*)[^<>]*?\b[\w-]+\s*=\s*\{")


@dataclass(frozen=True)
class Leak:
    """A row with secrets handed to a sink: where, and what kind of sink."""

    line: int
    sink: str  # "response" | "log" | "client-component"
    text: str  # the sink's text as written (`res.json(users)`), shortened


_OUTSIDE = re.compile(r"//|/\*|['\"`{}]")
_IN_TEMPLATE = re.compile(r"\\|`|\$\{")
_BLANK = re.compile(r"[^\n]")


def _blank(text: str) -> str:
    return _BLANK.sub(" ", text)


def code_only(text: str) -> str:
    """The text with comments and the literal parts of strings blanked out (same length, newlines kept), so that a
    word inside `"Error disabling user"` or `// console.log(links)` is not read as code. `${...}` stays."""
    out: list[str] = []
    i, n = 0, len(text)
    stack: list[str] = []  # open template literals ("`") and the `${` / `{` braces inside them ("{")
    while i < n:
        if stack and stack[-1] == "`":
            m = _IN_TEMPLATE.search(text, i)
            if m is None:
                out.append(_blank(text[i:]))
                break
            out.append(_blank(text[i:m.start()]))
            token = m.group(0)
            if token == "\\":
                out.append(_blank(text[m.start():m.start() + 2]))
                i = m.start() + 2
                continue
            out.append(token)
            if token == "`":
                stack.pop()
            else:
                stack.append("{")
            i = m.end()
            continue
        m = _OUTSIDE.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        out.append(text[i:m.start()])
        token, at = m.group(0), m.start()
        if token == "//":
            end = text.find("\n", at)
            end = n if end < 0 else end
            out.append(_blank(text[at:end]))
            i = end
        elif token == "/*":
            end = text.find("*/", at + 2)
            end = n if end < 0 else end + 2
            out.append(_blank(text[at:end]))
            i = end
        elif token in "'\"":
            j = at + 1
            while j < n and text[j] != token and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            out.append(token + _blank(text[at + 1:j]) + (text[j] if j < n else ""))
            i = j + 1
        elif token == "`":
            stack.append("`")
            out.append(token)
            i = at + 1
        else:  # a brace: inside a `${...}` it nests, and the closing one returns to the template
            if token == "{" and stack:
                stack.append("{")
            elif token == "}" and stack and stack[-1] == "{":
                stack.pop()
            out.append(token)
            i = at + 1
    result = "".join(out)
    return result if len(result) == n else result[:n].ljust(n)


def code_lines(analysis: FileAnalysis) -> list[str]:
    """The file's lines through `code_only`, computed once per analysed file (comments and strings can span lines,
    so blanking the whole text is also the correct way)."""
    cached = analysis.__dict__.get("_code_lines")
    if cached is None or len(cached) != len(analysis.lines):
        cached = code_only("\n".join(analysis.lines)).split("\n")
        analysis.__dict__["_code_lines"] = cached
    return cached


def code_between(analysis: FileAnalysis, first_line: int, last_line: int) -> str:
    """Lines `first_line`..`last_line` (1-based, inclusive) of the file, comments and string contents blanked."""
    return "\n".join(code_lines(analysis)[max(first_line - 1, 0):max(last_line, 0)])


def _balanced(text: str, start: int) -> str:
    """The text from `start` up to the bracket that closes the one opened just before it (or a statement end)."""
    depth = 0
    for i in range(start, min(len(text), start + 4000)):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return text[start:i]
            depth -= 1
        elif ch == ";" and depth == 0:
            return text[start:i]
    return text[start:start + 4000]


def _inside_call(expr: str, at: int) -> bool:
    """Whether position `at` sits inside the parentheses of a call written in `expr` (`f(x)`, not `(x)` or `{x}`)."""
    stack: list[bool] = []
    for i, ch in enumerate(expr[:at]):
        if ch in "([{":
            stack.append(ch == "(" and i > 0 and bool(re.match(r"[\w$)\]]", expr[i - 1])))
        elif ch in ")]}" and stack:
            stack.pop()
    return any(stack)


# Array methods that hand on the rows themselves.
_KEEPS_ROWS = r"(?:filter|slice|sort|reverse|concat|find|findLast|at|toSorted|toReversed|flat)"


def _passes_whole(expr: str, name: str) -> bool:
    """`name` appears as a value (`users`, `{ data: users }`, `...user`, `users.filter(...)`, `users.map((u) =>
    ({ ...u, x }))`), not only as `users.length`, `u.id` or `users.map(toView)`."""
    if name not in expr:  # every pattern below contains the name as written: none to build and compile
        return False
    n = re.escape(name)
    # not `rows.length`, `rows[0]`, `rows(...)`, nor an object key `{ rows: ... }`, nor an argument of another call
    # (`toDTO(row)` makes a new object; the sink itself is the call whose argument `expr` is)
    # nor a test: `row && toView(row)` and `row ? toView(row) : null` hand on the row only when it is null
    for m in re.finditer(rf"(?<![\w$.!]){n}\b(?!\s*(?:\.|\?\.|\[|\(|:(?!:)|&&|\?(?![.?])))", expr):
        if not _inside_call(expr, m.start()):
            return True
    if re.search(rf"(?<![\w$.]){n}\s*\??\.\s*{_KEEPS_ROWS}\s*\(", expr):
        return True
    # `{ ...row, extra }`: every column of the row is copied (the lookbehind above keeps `a.row` out, and `...row` too)
    for m in re.finditer(rf"(?<![\w$])\.\.\.\s*{n}\b(?!\s*(?:\.|\?\.|\[|\())", expr):
        if not _inside_call(expr, m.start()):
            return True
    # `.map((row) => ({ ...row, extra }))` or `.map((row) => row)`: every column of the row is still there
    spread = (rf"(?<![\w$.]){n}\s*\??\.\s*map\s*\(\s*(?:async\s*)?\(?\s*(\w+)[^)=]*\)?\s*=>\s*"
              r"(?:\(\s*\{\s*\.\.\.\1\b|\1\s*\))")
    return re.search(spread, expr) is not None


def _line_of(analysis: FileAnalysis, first_line: int, text: str, offset: int) -> int:
    return first_line + text.count("\n", 0, offset)


def _graphql_resolver(analysis: FileAnalysis, call: PrismaCall) -> bool:
    """A method of a NestJS `@Resolver()` class: what it returns goes through the GraphQL output type."""
    if call.function.handler != "nest-controller" or not call.function.class_name:
        return False
    text = "\n".join(analysis.lines[:call.function.line])
    at = text.rfind(f"class {call.function.class_name}")
    return at >= 0 and "@Resolver(" in text[max(0, at - 400):at]


def removed_fields(body: str, name: str) -> set[str]:
    """Fields the code deletes from the row(s) before using them: `delete user.password`,
    `delete users[i].password`, `user.password = undefined`."""
    if name not in body:  # both patterns contain the name as written: none to build and compile
        return set()
    n = re.escape(name)
    out = set(re.findall(rf"\bdelete\s+{n}(?:\s*\[[^\]]*\])?\s*\.\s*(\w+)", body))
    out |= set(re.findall(rf"(?<![\w$.]){n}(?:\s*\[[^\]]*\])?\s*\.\s*(\w+)\s*=\s*(?:undefined|null|''|\"\")",
                          body))
    # blanked in a copy: `{ ...row, secret: undefined }`, `rows.map((w) => ({ ...w, secret: undefined }))` (invoicerr's
    # webhook list); JSON drops an undefined key, and a null one tells nothing
    spread = rf"\{{\s*\.\.\.{n}\b([^{{}}]*)\}}"
    mapped = (rf"(?<![\w$.]){n}\s*\??\.\s*map\s*\(\s*(?:async\s*)?\(?\s*(\w+)[^)=]*\)?\s*=>\s*"
              rf"\(\s*\{{\s*\.\.\.\1\b([^{{}}]*)\}}")
    for m in re.finditer(spread, body):
        out |= set(_BLANKED.findall(m.group(1)))
    for m in re.finditer(mapped, body):
        out |= set(_BLANKED.findall(m.group(2)))
    return out


_BLANKED = re.compile(r"(?:^|,)\s*(\w+)\s*:\s*(?:undefined|null)\s*(?=,|$)")


def _destructured(analysis: FileAnalysis, call: PrismaCall) -> list[str] | None:
    """The fields `const { id, name: label } = await <call>` takes from the row (None when it is not destructured)."""
    text = analysis.line_text(call.line) or ""
    receiver = re.escape(call.client.split(".")[0])
    m = re.search(r"\{([\w$\s,:]*)\}\s*(?::\s*[\w$<>\[\]]+\s*)?=\s*(?:await\s+)?" + receiver, text)
    if m is None:
        return None
    return [part.split(":")[0].strip() for part in m.group(1).split(",") if part.strip()]


def leaks_of(analysis: FileAnalysis, call: PrismaCall, secrets: list[str]) -> tuple[Leak | None, list[str]]:
    """The first sink the call's rows reach with a secret still in them, and the secrets still there."""
    if call.function.is_module:
        return None, secrets
    responding = call.function.handler in _RESPONDING_HANDLERS and not _graphql_resolver(analysis, call)
    if call.returned:
        # returned from the handler itself, not from a callback inside it (`$transaction(async (tx) => ...)`)
        own = next((f for f in call.frames if f.kind is not FrameKind.LOOP), None)
        direct = own is not None and own.kind is FrameKind.FUNCTION and own.line == call.function.line
        if responding and direct:
            text = (analysis.line_text(call.line) or "").strip()
            return Leak(call.line, "response", text[:80]), secrets
        return None, secrets
    picked = _destructured(analysis, call)
    if picked is not None and not set(picked) & set(secrets):
        return None, []  # `const { id } = await prisma.x.delete(...)`: only those fields leave, not the row
    if len(call.result_names) != 1:
        return None, secrets
    name = call.result_names[0]
    first = call.end_line + 1
    body = code_between(analysis, call.end_line + 1, call.function.end_line)
    # a later `const rows = ...` of the same name (another branch of the handler) is another value
    again = re.search(rf"\b(?:const|let|var)\s+{re.escape(name)}\b", body) if name in body else None
    if again is not None:
        body = body[:again.start()]
    left = [s for s in secrets if s not in removed_fields(body, name)]
    if not left:
        return None, []
    sinks: list[tuple[int, str, re.Match[str]]] = []
    sinks += [(m.start(), "response", m) for m in _RESPONSE_SINK.finditer(body)]
    sinks += [(m.start(), "log", m) for m in _LOG_SINK.finditer(body)]
    if responding:
        sinks += [(m.start(), "response", m) for m in _RETURN.finditer(body)]
    if call.function.handler == "next-page" and analysis.path.endswith((".tsx", ".jsx")):
        sinks += [(m.start(), "client-component", m) for m in _JSX_PROP.finditer(body)]
    for start, kind, match in sorted(sinks, key=lambda s: s[0]):
        argument = _balanced(body, match.end())
        if kind == "log" and re.search(r"JSON\.stringify\s*\([^()]*,\s*[A-Za-z_$]", argument):
            continue  # serialised with a replacer, which is how such code strips secrets
        if _passes_whole(argument, name):
            line = _line_of(analysis, first, body, start)
            closing = ")" if match.group(0).endswith("(") else ""
            shown = re.sub(r"\s+", " ", match.group(0) + argument.strip() + closing)
            return Leak(line, kind, shown if len(shown) <= 80 else shown[:77] + "..."), left
    return None, left
