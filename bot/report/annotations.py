"""GitHub Actions workflow commands (`::error file=…,line=…::message`): annotations without any API token."""

from __future__ import annotations

from bot.findings import Severity, Side
from bot.review import Review

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotations(review: Review) -> str:
    lines: list[str] = []
    for f in review.findings:
        props = [f"file={_escape_property(f.path)}"]
        if f.side is Side.NEW:
            props += [f"line={f.line}", f"endLine={f.last_line}"]
        props.append(f"title={_escape_property(f.rule)}")
        lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    counts = review.counts()
    lines.append(
        f"dbreview: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
        + ("" if review.has_database_surface else " (no database surface in this change)")
    )
    return "\n".join(lines) + "\n"
