"""A tokenizer and recursive-descent parser for the Prisma Schema Language.

Follows prisma-engines' `psl/schema-ast/src/parser/datamodel.pest`: newline-significant at block level (one field,
attribute or key/value per line), newline-insensitive inside argument lists and arrays (real schemas wrap long
`@@index([...])` lists), identifiers may contain `-`, `///` doc comments attach to the next declaration (or to the
field they trail). Beyond the pest grammar it also skips `/* ... */` block comments. Prisma's own parser never fails
(it collects errors); this one stops at the first problem and raises `PrismaParseError` with the line and column, which
is all a reviewer needs. Nothing else ever escapes `parse()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_DEPTH = 64  # nesting of arrays/calls; deeper input is hostile or broken, never a real schema


class PrismaParseError(Exception):
    def __init__(self, message: str, line: int, column: int, path: str = "") -> None:
        super().__init__(f"{path + ':' if path else ''}{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column
        self.path = path


# --------------------------------------------------------------------------------------------------------------------
# AST


@dataclass(slots=True)
class StringLit:
    """A string literal, unescaped."""

    value: str
    line: int
    column: int


@dataclass(slots=True)
class NumberLit:
    """A number literal, as written."""

    text: str
    line: int
    column: int


@dataclass(slots=True)
class PathExpr:
    """A constant or reference: `Cascade`, `Desc`, `true`, `userId`, `db.Uuid`."""

    name: str
    line: int
    column: int


@dataclass(slots=True)
class ArrayExpr:
    """`[a, b]` in an attribute argument."""

    items: list[Expr]
    line: int
    column: int


@dataclass(slots=True)
class FuncCall:
    """`name(args)` in an attribute argument: `now()`, `dbgenerated("...")`."""

    name: str
    args: list[Argument]
    line: int
    column: int


Expr = StringLit | NumberLit | PathExpr | ArrayExpr | FuncCall


@dataclass(slots=True)
class Argument:
    """One argument of an attribute or function: `fields: [userId]`, or a positional value."""

    name: str | None  # None for positional arguments
    value: Expr | None  # None for an empty named argument (`fields: `), which the grammar allows
    line: int
    column: int


@dataclass(slots=True)
class Attribute:
    """`@name(args)` on a field or `@@name(args)` on a block."""

    name: str  # without the @ / @@: "id", "default", "db.VarChar", "index"
    args: list[Argument]
    block: bool  # @@attribute
    line: int
    column: int
    has_parens: bool = False

    def arg(self, name: str | None = None, position: int | None = None) -> Expr | None:
        """A named argument's value, or the positional argument at `position` (named args don't count)."""
        if name is not None:
            for a in self.args:
                if a.name == name:
                    return a.value
        if position is not None:
            positional = [a for a in self.args if a.name is None]
            if position < len(positional):
                return positional[position].value
        return None


@dataclass(slots=True)
class FieldType:
    """A field's type as written: the base name, `?` and `[]`."""

    name: str  # "String", a model/enum/type name, or "Unsupported"
    optional: bool = False
    list: bool = False
    unsupported: str | None = None  # the string in Unsupported("...")
    legacy: bool = False  # `Type!` or `[Type]`
    line: int = 0
    column: int = 0
    # Prisma Next contract files write a type as a namespaced constructor, `temporal.updatedAt()`: `name` is then the
    # dotted name and these are its arguments (None for an ordinary type).
    call_args: list[Argument] | None = None


@dataclass(slots=True)
class FieldDecl:
    """A field line of a model, view or composite type block."""

    name: str
    type: FieldType
    attributes: list[Attribute]
    line: int
    column: int
    doc: list[str] = field(default_factory=list)
    comment: str | None = None  # trailing `//` comment text


@dataclass(slots=True)
class EnumValueDecl:
    """A value line of an enum block."""

    name: str
    attributes: list[Attribute]
    line: int
    column: int
    doc: list[str] = field(default_factory=list)
    comment: str | None = None


@dataclass(slots=True)
class KeyValue:
    """A `key = value` line of a datasource or generator block."""

    key: str
    value: Expr
    line: int
    column: int


@dataclass(slots=True)
class ModelBlock:
    """A `model`, `view` or `type` block as written."""

    kind: str  # "model", "view" or "type"
    name: str
    fields: list[FieldDecl]
    attributes: list[Attribute]
    line: int
    column: int
    end_line: int
    doc: list[str] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)  # every comment inside the block, with its line


@dataclass(slots=True)
class EnumBlock:
    """An `enum` block as written."""

    name: str
    values: list[EnumValueDecl]
    attributes: list[Attribute]
    line: int
    column: int
    end_line: int
    doc: list[str] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class ConfigBlock:
    """A `datasource` or `generator` block as written."""

    kind: str  # "datasource" or "generator"
    name: str
    properties: list[KeyValue]
    line: int
    column: int
    end_line: int
    doc: list[str] = field(default_factory=list)

    def get(self, key: str) -> Expr | None:
        return next((p.value for p in self.properties if p.key == key), None)


@dataclass(slots=True)
class TypeAlias:
    """Legacy `type Name = Base @attr`, still in the grammar."""

    name: str
    base: FieldType
    attributes: list[Attribute]
    line: int
    column: int


Block = ModelBlock | EnumBlock | ConfigBlock | TypeAlias


@dataclass(slots=True)
class SchemaFile:
    """One parsed .prisma file: its blocks and every comment."""

    path: str
    blocks: list[Block]
    comments: list[tuple[int, str]] = field(default_factory=list)  # every comment in the file, with its line
    line_count: int = 0


# --------------------------------------------------------------------------------------------------------------------
# Tokenizer

# Token kinds: NL, DOC, COMMENT, STRING, NUMBER, IDENT, EOF, and each punctuation mark as its own kind
_TOKEN_RE = re.compile(
    r"""
    [ \t\f\v\u00a0\ufeff]*
    (?:
      (?P<NL>\r\n|\r|\n)
    | (?P<DOC>///[^\r\n]*)
    | (?P<COMMENT>//[^\r\n]*)
    | (?P<BLOCK>/\*.*?\*/)
    | (?P<STRING>"(?:[^"\\\r\n]|\\[^\r\n])*")
    | (?P<NUMBER>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_\-]))
    | (?P<IDENT>[A-Za-z0-9_][A-Za-z0-9_\-]*)
    | (?P<PUNCT>@@|[@{}()\[\],:=?!.])
    | (?P<END>$)
    )
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class Token(NamedTuple):
    kind: str
    text: str
    line: int
    column: int


_new_token = tuple.__new__  # builds a Token without NamedTuple's Python-level __new__ (the tokenizer's hot path)


def tokenize(text: str) -> list[Token]:
    """Tokens with 1-based line/column. Punctuation tokens use their text as kind (`(`, `@@`, ...)."""
    tokens: list[Token] = []
    append = tokens.append
    line = 1
    line_start = 0
    pos = 0
    n = len(text)
    match = _TOKEN_RE.match
    while True:
        m = match(text, pos)
        kind = m.lastgroup if m is not None else None
        if m is None or kind is None:
            # Only whitespace matched, or nothing: an illegal character right after it.
            bad = pos
            while bad < n and text[bad] in " \t\f\v\u00a0\ufeff":
                bad += 1
            col = bad - line_start + 1
            ch = text[bad]
            if ch == '"':
                raise PrismaParseError("unterminated string literal (a string must close on the same line)", line, col)
            if text.startswith("/*", bad):
                raise PrismaParseError("unterminated block comment: missing `*/`", line, col)
            raise PrismaParseError(f"unexpected character {ch!r}", line, col)
        start = m.start(kind)
        end = m.end()
        col = start - line_start + 1
        if kind == "IDENT" or kind == "STRING" or kind == "NUMBER" or kind == "DOC" or kind == "COMMENT":
            append(_new_token(Token, (kind, m.group(kind), line, col)))
        elif kind == "PUNCT":
            punct = m.group(kind)
            append(_new_token(Token, (punct, punct, line, col)))
        elif kind == "NL":
            append(_new_token(Token, ("NL", "\n", line, col)))
            # Prisma ends a line on a lone "\r" too, but git and GitHub number lines by "\n" only, and findings
            # must land on the line GitHub shows.
            if m.group(kind) != "\r":
                line += 1
                line_start = end
        elif kind == "BLOCK":
            body = m.group(kind)
            breaks = body.count("\n")
            if breaks or "\r" in body:
                # A multi-line block comment ends the line it starts on, like a newline would.
                append(_new_token(Token, ("NL", "\n", line, col)))
            if breaks:
                line += breaks
                line_start = start + body.rfind("\n") + 1
        else:  # END
            append(_new_token(Token, ("EOF", "", line, col)))
            return tokens
        if end == pos:  # cannot happen (every alternative but END consumes); guards against a loop
            raise PrismaParseError("internal tokenizer error", line, col)
        pos = end
        if pos >= n:
            append(_new_token(Token, ("EOF", "", line, pos - line_start + 1)))
            return tokens


def _unescape(raw: str, line: int, column: int) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[i + 2:i + 6] or ""):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
            continue
        # pest accepts `\` followed by any character; unknown escapes keep the character.
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


# --------------------------------------------------------------------------------------------------------------------
# Parser

_MODEL_KEYWORDS = ("model", "view", "type")
_CONFIG_KEYWORDS = ("datasource", "generator")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0
        self.tok = tokens[0]  # the current token (kept in step by advance())
        self.comments: list[tuple[int, str]] = []

    # -- token helpers -----------------------------------------------------------------------------------------------

    def peek(self, ahead: int = 1) -> Token:
        j = min(self.i + ahead, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        t = self.tok
        if t.kind != "EOF":
            self.i += 1
            self.tok = self.toks[self.i]
        return t

    def is_punct(self, text: str, tok: Token | None = None) -> bool:
        return (tok or self.tok).kind == text

    def error(self, message: str, tok: Token | None = None) -> PrismaParseError:
        t = tok or self.tok
        return PrismaParseError(message, t.line, t.column)

    def describe(self, t: Token) -> str:
        if t.kind == "EOF":
            return "end of file"
        if t.kind == "NL":
            return "end of line"
        if t.kind in ("DOC", "COMMENT"):
            return "a comment"
        return f"`{t.text}`"

    def expect_punct(self, text: str, context: str) -> Token:
        if not self.is_punct(text):
            raise self.error(f"expected `{text}` {context}, found {self.describe(self.tok)}")
        return self.advance()

    def expect_ident(self, context: str) -> Token:
        if self.tok.kind != "IDENT":
            raise self.error(f"expected {context}, found {self.describe(self.tok)}")
        return self.advance()

    def skip_layout(self) -> None:
        """Inside brackets newlines and comments are insignificant."""
        while self.tok.kind in ("NL", "COMMENT", "DOC"):
            t = self.advance()
            if t.kind != "NL":
                self.comments.append((t.line, t.text))

    def end_of_line(self, what: str) -> str | None:
        """After a declaration: an optional trailing comment, then a newline (or the block's `}` / end of file)."""
        comment = None
        if self.tok.kind in ("COMMENT", "DOC"):
            t = self.advance()
            self.comments.append((t.line, t.text))
            comment = t.text
        if self.tok.kind == "NL":
            self.advance()
        elif not (self.tok.kind == "}" or self.tok.kind == "EOF"):
            raise self.error(f"unexpected {self.describe(self.tok)} after {what}; put one declaration per line")
        return comment

    # -- top level ---------------------------------------------------------------------------------------------------

    def parse_file(self, path: str) -> SchemaFile:
        blocks: list[Block] = []
        docs: list[str] = []
        while True:
            t = self.tok
            if t.kind == "EOF":
                break
            if t.kind == "NL":
                self.advance()
                continue
            if t.kind == "DOC":
                self.advance()
                self.comments.append((t.line, t.text))
                docs.append(t.text[3:].strip())
                continue
            if t.kind == "COMMENT":
                self.advance()
                self.comments.append((t.line, t.text))
                continue
            if t.kind != "IDENT":
                raise self.error(f"unexpected {self.describe(t)}; expected a `model`, `enum`, `view`, `type`, "
                                 "`datasource` or `generator` block")
            keyword = t.text
            if keyword == "type" and self.peek().kind == "IDENT" and (self.peek(2).kind == "="):
                blocks.append(self.parse_type_alias())
            elif keyword in _MODEL_KEYWORDS:
                blocks.append(self.parse_model(docs))
            elif keyword == "enum":
                blocks.append(self.parse_enum(docs))
            elif keyword in _CONFIG_KEYWORDS:
                blocks.append(self.parse_config(docs))
            elif self.peek().kind == "IDENT" and (self.peek(2).kind == "{"):
                raise self.error(f"unknown block type `{keyword}`; expected model, enum, view, type, datasource "
                                 "or generator")
            else:
                raise self.error(f"unexpected `{keyword}`; expected a `model`, `enum`, `view`, `type`, "
                                 "`datasource` or `generator` block")
            docs = []
        return SchemaFile(path=path, blocks=blocks, comments=self.comments)

    def block_header(self, keyword: str) -> tuple[Token, Token]:
        kw = self.advance()
        name = self.expect_ident(f"a name after `{keyword}`")
        self.expect_punct("{", f"to open the {keyword} `{name.text}`")
        # pest's BLOCK_OPEN swallows the rest of the line; only a comment may sit there in practice.
        if self.tok.kind in ("COMMENT", "DOC"):
            c = self.advance()
            self.comments.append((c.line, c.text))
        return kw, name

    def unclosed(self, keyword: str, name: Token, kw: Token) -> PrismaParseError:
        return PrismaParseError(f"{keyword} `{name.text}` is never closed: missing `}}`", kw.line, kw.column)

    def parse_model(self, docs: list[str]) -> ModelBlock:
        keyword = self.tok.text
        kw, name = self.block_header(keyword)
        fields: list[FieldDecl] = []
        attrs: list[Attribute] = []
        pending: list[str] = []
        start_comments = len(self.comments)
        while True:
            t = self.tok
            if t.kind == "EOF":
                raise self.unclosed(keyword, name, kw)
            if self.tok.kind == "}":
                end = self.advance()
                break
            if t.kind == "NL":
                self.advance()
                continue
            if t.kind in ("DOC", "COMMENT"):
                self.advance()
                self.comments.append((t.line, t.text))
                if t.kind == "DOC":
                    pending.append(t.text[3:].strip())
                continue
            if self.tok.kind == "@@":
                attrs.append(self.parse_attribute())
                self.end_of_line("a block attribute")
                pending = []
                continue
            if t.kind == "IDENT":
                fields.append(self.parse_field(pending, keyword))
                pending = []
                continue
            if self.tok.kind == "@":
                raise self.error("a field attribute must follow a field on the same line (block attributes use `@@`)")
            raise self.error(f"unexpected {self.describe(t)} in {keyword} `{name.text}`; expected a field, "
                             "a `@@` attribute or `}`")
        return ModelBlock(keyword, name.text, fields, attrs, kw.line, kw.column, end.line, list(docs),
                          self.comments[start_comments:])

    def parse_field(self, docs: list[str], keyword: str) -> FieldDecl:
        name = self.advance()
        if self.tok.kind == ":":  # legacy `name: Type`
            self.advance()
        if self.tok.kind == "NL" or self.tok.kind == "EOF" or self.tok.kind == "}" or self.tok.kind == "@" or \
                self.tok.kind in ("COMMENT", "DOC"):
            raise self.error(f"field `{name.text}` has no type", name)
        ftype = self.parse_field_type(name)
        attrs: list[Attribute] = []
        while self.tok.kind == "@":
            attrs.append(self.parse_attribute())
        doc = list(docs)
        comment = self.end_of_line(f"field `{name.text}`")
        if comment is not None and comment.startswith("///"):
            doc.append(comment[3:].strip())
        return FieldDecl(name.text, ftype, attrs, name.line, name.column, doc, comment)

    def parse_field_type(self, field_name: Token) -> FieldType:
        start = self.tok
        if self.tok.kind == "[":  # legacy `[Type]`
            self.advance()
            base = self.parse_base_type(field_name)
            self.expect_punct("]", "to close the legacy list type")
            base.list = True
            base.legacy = True
            return base
        base = self.parse_base_type(field_name)
        if self.tok.kind == "[" and (self.peek().kind == "]"):
            self.advance()
            self.advance()
            base.list = True
        if self.tok.kind == "?":
            self.advance()
            base.optional = True
        elif self.tok.kind == "!":
            self.advance()
            base.legacy = True
        base.line, base.column = start.line, start.column
        return base

    def parse_base_type(self, field_name: Token) -> FieldType:
        t = self.tok
        if t.kind != "IDENT":
            raise self.error(f"expected a type for field `{field_name.text}`, found {self.describe(t)}")
        self.advance()
        if t.text == "Unsupported" and self.tok.kind == "(":
            self.advance()
            if self.tok.kind != "STRING":
                raise self.error("Unsupported(...) takes one string, such as Unsupported(\"tsvector\")")
            s = self.advance()
            self.expect_punct(")", "to close Unsupported(...)")
            return FieldType("Unsupported", unsupported=_unescape(s.text, s.line, s.column), line=t.line,
                             column=t.column)
        if self.tok.kind == ".":
            parts = [t.text]
            while self.tok.kind == ".":
                self.advance()
                if self.tok.kind != "IDENT":
                    raise self.error(f"expected a name after `.` in the type of field `{field_name.text}`")
                parts.append(self.advance().text)
            call_args = self.parse_arguments(0) if self.tok.kind == "(" else []
            return FieldType(".".join(parts), line=t.line, column=t.column, call_args=call_args)
        return FieldType(t.text, line=t.line, column=t.column)

    def parse_enum(self, docs: list[str]) -> EnumBlock:
        kw, name = self.block_header("enum")
        values: list[EnumValueDecl] = []
        attrs: list[Attribute] = []
        pending: list[str] = []
        start_comments = len(self.comments)
        while True:
            t = self.tok
            if t.kind == "EOF":
                raise self.unclosed("enum", name, kw)
            if self.tok.kind == "}":
                end = self.advance()
                break
            if t.kind == "NL":
                self.advance()
                continue
            if t.kind in ("DOC", "COMMENT"):
                self.advance()
                self.comments.append((t.line, t.text))
                if t.kind == "DOC":
                    pending.append(t.text[3:].strip())
                continue
            if self.tok.kind == "@@":
                attrs.append(self.parse_attribute())
                self.end_of_line("a block attribute")
                continue
            if t.kind == "IDENT" or t.kind == "NUMBER":
                self.advance()
                vattrs: list[Attribute] = []
                while self.tok.kind == "@":
                    vattrs.append(self.parse_attribute())
                doc = list(pending)
                comment = self.end_of_line(f"enum value `{t.text}`")
                if comment is not None and comment.startswith("///"):
                    doc.append(comment[3:].strip())
                values.append(EnumValueDecl(t.text, vattrs, t.line, t.column, doc, comment))
                pending = []
                continue
            raise self.error(f"unexpected {self.describe(t)} in enum `{name.text}`; expected a value or `}}`")
        return EnumBlock(name.text, values, attrs, kw.line, kw.column, end.line, list(docs),
                         self.comments[start_comments:])

    def parse_config(self, docs: list[str]) -> ConfigBlock:
        keyword = self.tok.text
        kw, name = self.block_header(keyword)
        props: list[KeyValue] = []
        while True:
            t = self.tok
            if t.kind == "EOF":
                raise self.unclosed(keyword, name, kw)
            if self.tok.kind == "}":
                end = self.advance()
                break
            if t.kind == "NL":
                self.advance()
                continue
            if t.kind in ("DOC", "COMMENT"):
                self.advance()
                self.comments.append((t.line, t.text))
                continue
            if t.kind != "IDENT":
                raise self.error(f"unexpected {self.describe(t)} in {keyword} `{name.text}`; expected `key = value`")
            self.advance()
            self.expect_punct("=", f"after `{t.text}` in {keyword} `{name.text}`")
            value = self.parse_expression(0)
            self.end_of_line(f"`{t.text} = ...`")
            props.append(KeyValue(t.text, value, t.line, t.column))
        return ConfigBlock(keyword, name.text, props, kw.line, kw.column, end.line, list(docs))

    def parse_type_alias(self) -> TypeAlias:
        kw = self.advance()
        name = self.advance()
        self.advance()  # =
        base = self.parse_base_type(name)
        attrs: list[Attribute] = []
        while self.tok.kind == "@":
            attrs.append(self.parse_attribute())
        self.end_of_line(f"type alias `{name.text}`")
        return TypeAlias(name.text, base, attrs, kw.line, kw.column)

    # -- attributes and expressions ----------------------------------------------------------------------------------

    def parse_path(self, context: str) -> tuple[str, Token]:
        first = self.expect_ident(context)
        parts = [first.text]
        while self.tok.kind == ".":
            self.advance()
            if self.tok.kind != "IDENT":
                raise self.error(f"expected a name after `.` in `{'.'.join(parts)}.`")
            parts.append(self.advance().text)
        return ".".join(parts), first

    def parse_attribute(self) -> Attribute:
        at = self.advance()
        block = at.text == "@@"
        name, _ = self.parse_path(f"an attribute name after `{at.text}`")
        args: list[Argument] = []
        has_parens = False
        if self.tok.kind == "(":
            has_parens = True
            args = self.parse_arguments(0)
        return Attribute(name, args, block, at.line, at.column, has_parens)

    def parse_arguments(self, depth: int) -> list[Argument]:
        open_tok = self.advance()  # (
        args: list[Argument] = []
        self.skip_layout()
        while self.tok.kind != ")":
            t = self.tok
            if t.kind == "EOF" or self.tok.kind == "}" or t.kind in ("@", "@@"):
                raise PrismaParseError("unclosed `(`: missing `)`", open_tok.line, open_tok.column)
            if t.kind == "IDENT" and (self.peek().kind == ":"):
                self.advance()
                self.advance()
                self.skip_layout()
                if self.tok.kind == "," or self.tok.kind == ")":
                    args.append(Argument(t.text, None, t.line, t.column))
                else:
                    args.append(Argument(t.text, self.parse_expression(depth + 1), t.line, t.column))
            else:
                args.append(Argument(None, self.parse_expression(depth + 1), t.line, t.column))
            self.skip_layout()
            if self.tok.kind == ",":
                self.advance()
                self.skip_layout()
            elif self.tok.kind != ")":
                bad = self.tok
                if (bad.line != open_tok.line and bad.kind in ("IDENT", "EOF")) or (bad.kind == "}"):
                    raise PrismaParseError("unclosed `(`: missing `)`", open_tok.line, open_tok.column)
                raise self.error(f"expected `,` or `)` in the argument list, found {self.describe(bad)}")
        self.advance()
        return args

    def parse_expression(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise self.error("expression nested too deeply")
        t = self.tok
        if t.kind == "STRING":
            self.advance()
            return StringLit(_unescape(t.text, t.line, t.column), t.line, t.column)
        if t.kind == "NUMBER":
            self.advance()
            return NumberLit(t.text, t.line, t.column)
        if self.tok.kind == "[":
            self.advance()
            items: list[Expr] = []
            self.skip_layout()
            while self.tok.kind != "]":
                if self.tok.kind == "EOF" or self.tok.kind == "}":
                    raise PrismaParseError("unclosed `[`: missing `]`", t.line, t.column)
                items.append(self.parse_expression(depth + 1))
                self.skip_layout()
                if self.tok.kind == ",":
                    self.advance()
                    self.skip_layout()
                elif self.tok.kind != "]":
                    raise self.error(f"expected `,` or `]` in the array, found {self.describe(self.tok)}")
            self.advance()
            return ArrayExpr(items, t.line, t.column)
        if t.kind == "IDENT":
            name, first = self.parse_path("a value")
            if self.tok.kind == "(":
                return FuncCall(name, self.parse_arguments(depth + 1), first.line, first.column)
            return PathExpr(name, first.line, first.column)
        raise self.error(f"expected a value, found {self.describe(t)}")


def parse(text: str, path: str = "schema.prisma") -> SchemaFile:
    """Parse one .prisma file. Raises PrismaParseError (with `.path` set) and nothing else."""
    try:
        tokens = tokenize(text)
        parser = _Parser(tokens)
        result = parser.parse_file(path)
    except PrismaParseError as exc:
        raise PrismaParseError(exc.message, exc.line, exc.column, path) from None
    except RecursionError:
        raise PrismaParseError("schema nested too deeply", 1, 1, path) from None
    result.line_count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return result


def render(expr: Expr | None) -> str:
    """An expression back as schema text, normalised: `now()`, `[a, b]`, `"x"`, `dbgenerated("gen_random_uuid()")`."""
    if expr is None:
        return ""
    if isinstance(expr, StringLit):
        escaped = expr.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(expr, NumberLit):
        return expr.text
    if isinstance(expr, PathExpr):
        return expr.name
    if isinstance(expr, ArrayExpr):
        return "[" + ", ".join(render(i) for i in expr.items) + "]"
    args = ", ".join((f"{a.name}: " if a.name else "") + render(a.value) for a in expr.args)
    return f"{expr.name}({args})"
