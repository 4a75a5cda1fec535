"""PostgreSQL statements through pglast (libpg_query: PostgreSQL's own grammar).

pglast 8 gives statement spans as *character* offsets (RawStmt.stmt_location/stmt_len, first token to the last
token before the semicolon), so line numbers come from counting newlines in the decoded text.
"""

from __future__ import annotations

import bisect
import json
from typing import Any

from pglast.parser import ParseError, parse_sql_json, scan, split

from bot.sql.model import SqlError, Statement


class _LineIndex:
    """Character offset -> 1-based line, in O(log n) per lookup (a 5 MB file has many statements)."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        pos = text.find("\n")
        while pos != -1:
            self.starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, max(offset, 0))


def _spans(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(start, end, JSON parse tree) per statement, as character offsets.

    libpg_query's JSON output is built in C (about 20x faster than pglast's Python AST); its spans are byte
    offsets, converted in one pass. Raises ParseError (message, character offset) like pglast.parse_sql.
    """
    try:
        stmts = json.loads(parse_sql_json(text)).get("stmts", [])
    except RecursionError:
        return _spans_one_by_one(text)
    data = text.encode("utf-8") if not text.isascii() else None
    chars = _ByteToChar(data) if data is not None else None
    size = len(data) if data is not None else len(text)
    out: list[tuple[int, int, dict[str, Any]]] = []
    for s in stmts:
        b_start = s.get("stmt_location", 0)
        b_end = b_start + s["stmt_len"] if s.get("stmt_len") else size
        if chars is not None:
            out.append((chars(b_start), chars(b_end), s["stmt"]))
        else:
            out.append((b_start, b_end, s["stmt"]))
    return out


# The kind given to a statement nested too deeply to load as JSON: no rule knows it, text-level rules still see it.
DEEPLY_NESTED = "DeeplyNestedStmt"


def _spans_one_by_one(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """The slow path for a file with a statement nested deeper than Python's JSON decoder goes: each statement is
    loaded on its own, so only the deep one loses its tree. Offsets from pglast's split are characters."""
    out: list[tuple[int, int, dict[str, Any]]] = []
    for piece in split(text, with_parser=True, only_slices=True):
        start, end = piece.start or 0, piece.stop if piece.stop is not None else len(text)
        try:
            stmts = json.loads(parse_sql_json(text[start:end])).get("stmts", [])
            tree = stmts[0]["stmt"] if stmts else {DEEPLY_NESTED: {}}
        except RecursionError:
            tree = {DEEPLY_NESTED: {}}
        out.append((start, end, tree))
    return out


class _ByteToChar:
    """Byte offset -> character offset for increasing offsets, in one pass over the UTF-8 data."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.byte = 0
        self.char = 0

    def __call__(self, offset: int) -> int:
        if offset < self.byte:
            self.byte, self.char = 0, 0
        self.char += len(self.data[self.byte:offset].decode("utf-8", "ignore"))
        self.byte = offset
        return self.char


def _strip_trailing_comments(body: str) -> str:
    try:
        tokens = [t for t in scan(body) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:  # the scanner rejects what the parser accepted: keep the text as it is
        return body.rstrip()
    return body[: tokens[-1].end + 1] if tokens else body.rstrip()


def parse_postgres(text: str) -> tuple[list[Statement], SqlError | None]:
    lines = _LineIndex(text)
    try:
        spans = _spans(text)
    except ParseError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        # the error offset is in characters on both paths (unlike the JSON statement spans)
        return [], SqlError(message, lines.line(min(offset, len(text))))
    statements: list[Statement] = []
    for index, (start, end, tree) in enumerate(spans):
        body = text[start:end]
        if end == len(text):  # the last statement without a semicolon runs to the end of the file: drop comments
            body = _strip_trailing_comments(body)
        else:
            body = body.rstrip()
        statements.append(
            Statement(
                index=index,
                text=body,
                line=lines.line(start),
                end_line=lines.line(start + max(len(body) - 1, 0)),
                kind=next(iter(tree), "Unknown"),
                json=tree,
            )
        )
    return statements, None
