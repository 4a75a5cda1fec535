"""The one finding model every part of dbreview speaks.

A finding is produced by a rule (or by the LLM review), filtered by the pipeline, and rendered by every reporter.
Analyzers never compute fingerprints or apply config: the pipeline does that once for all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 1, "warning": 2, "error": 3}[self.value]


class Side(StrEnum):
    """Which version of the file a finding's line numbers refer to."""

    NEW = "new"
    OLD = "old"


class Surface(StrEnum):
    SCHEMA = "schema"
    MIGRATION = "migration"
    QUERY = "query"
    CHANGE = "change"  # findings about the change as a whole (history, cross-checks, unicode)


class Source(StrEnum):
    RULE = "rule"
    LLM = "llm"
    MEASURED = "measured"


@dataclass(frozen=True)
class Suggestion:
    """A mechanical fix: replace lines [line, end_line] of the finding's file (new side) with `replacement`."""

    line: int
    end_line: int
    replacement: str


@dataclass(frozen=True)
class Finding:
    """One problem a rule (or the LLM, or a measurement) found, where, and how to fix it."""

    rule: str
    severity: Severity
    path: str
    line: int
    message: str
    end_line: int | None = None
    side: Side = Side.NEW
    suggestion: Suggestion | None = None
    source: Source = Source.RULE
    # Identity that survives unrelated lines moving: the object the finding is about ("model Order field total",
    # "CREATE INDEX orders_user_id_idx"). The fingerprint is derived from it.
    key: str = ""
    # The enclosing object's line range (model block, SQL statement, function). A change anywhere in it makes the
    # finding the author's concern; a suppression comment right above it covers the finding.
    scope: tuple[int, int] | None = None
    # True when the finding is caused by the change even though its lines were not edited (for example code that
    # still reads a column the change drops). Such findings survive the diff-aware filter.
    caused_by_change: bool = False
    category: str = ""
    confidence: float | None = None
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    suppressed_reason: str | None = None
    # True when the problem was already there at the base: never an inline comment, listed apart in the summary
    # ("already there; this change did not add it"), in JSON under "preexisting", in the CLI only with --all.
    preexisting: bool = False

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.line

    def with_(self, **changes: Any) -> Finding:
        # dataclasses.replace re-runs the frozen __init__ (one object.__setattr__ per field): a review makes a
        # copy per finding at each stage, so copy the instance dict instead. No field has a __post_init__ to rerun.
        unknown = changes.keys() - _FINDING_FIELDS
        if unknown:
            raise TypeError(f"Finding has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def sort_key(self) -> tuple[Any, ...]:
        return (self.path, self.line, -self.severity.rank, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "end_line": self.last_line,
            "side": self.side.value,
            "message": self.message,
            "source": self.source.value,
            "fingerprint": self.fingerprint,
        }
        if self.title:
            data["title"] = self.title
        if self.category:
            data["category"] = self.category
        if self.confidence is not None:
            data["confidence"] = self.confidence
        if self.suggestion is not None:
            data["suggestion"] = {
                "line": self.suggestion.line,
                "end_line": self.suggestion.end_line,
                "replacement": self.suggestion.replacement,
            }
        if self.suppressed_reason is not None:
            data["suppressed"] = {"reason": self.suppressed_reason}
        if self.preexisting:
            data["preexisting"] = True
        if self.extra:
            data["extra"] = self.extra
        return data


_FINDING_FIELDS = frozenset(f.name for f in fields(Finding))
_WS = re.compile(r"\s+")


def compute_fingerprint(finding: Finding, line_text: str, occurrence: int = 0) -> str:
    """A stable id for a finding: rule, path, and what it is about, never its line number.

    `line_text` is the flagged line's text; whitespace is normalised so re-indenting does not re-post a comment.
    `occurrence` separates identical findings on identical lines in one file.
    """
    anchor = finding.key or _WS.sub(" ", line_text).strip()
    raw = f"{finding.rule}\x1f{finding.path}\x1f{finding.side.value}\x1f{anchor}\x1f{occurrence}"
    return _sha256()(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_SHA256: list[Any] = []


def _sha256() -> Any:
    """SHA-256 from CPython's built-in module: the same digest as hashlib's, without loading OpenSSL (~4 ms of a
    review's start-up). Looked up once: a failed import searches the whole path again every time."""
    if not _SHA256:
        try:
            from _sha2 import sha256  # Python 3.12+
        except ImportError:
            try:
                from _sha256 import sha256  # Python 3.11
            except ImportError:  # a build without the built-in modules
                from hashlib import sha256
        _SHA256.append(sha256)
    return _SHA256[0]
