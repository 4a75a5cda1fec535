"""Turn validated model findings into dbreview findings: anchored to the diff, deduplicated, filtered, sanitised.

The model may only cite new-file lines it was shown; anything else becomes a note in the summary (when it is about a
changed file) or is dropped. A finding on the same lines as a rule finding that says the same thing is dropped: the
rule already said it. Low-confidence findings are dropped, and at most `llm.max_findings` are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.change import Change, ChangedFile
from bot.config import LlmConfig
from bot.findings import Finding, Severity, Source, Suggestion
from bot.llm.output import LlmFindingOut
from bot.llm.sanitize import safe_suggestion, sanitize_line, sanitize_markdown

MAX_NOTES = 5
_WORD = re.compile(r"[a-z0-9_]{3,}")
_STOP = {"the", "and", "for", "this", "that", "with", "are", "not", "use", "add", "from", "will", "can", "has",
         "have", "into", "its", "column", "table", "field", "model", "line", "lines"}


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped_low_confidence: int = 0
    dropped_duplicates: int = 0
    dropped_outside_diff: int = 0
    over_limit: int = 0


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= 0.35


def _overlaps(a1: int, a2: int, b1: int, b2: int, slack: int = 0) -> bool:
    return a1 <= b2 + slack and b1 <= a2 + slack


def finalize(
    raw: list[LlmFindingOut],
    change: Change,
    shown: dict[str, set[int]],
    rule_findings: list[Finding],
    config: LlmConfig,
    prompt_version: str,
) -> Outcome:
    out = Outcome()
    kept: list[Finding] = []
    seen: set[tuple[str, int, str]] = set()
    for item in raw:
        changed = change.file(item.path)
        if changed is None:
            out.dropped_outside_diff += 1
            continue
        commentable = changed.commentable_new_lines()
        if item.line not in shown.get(item.path, set()) or item.line not in commentable:
            out.dropped_outside_diff += 1
            if len(out.notes) < MAX_NOTES:
                out.notes.append(f"LLM remark on {item.path}:{item.line}, outside the changed lines: "
                                 f"{sanitize_line(item.title)}")
            continue
        if item.confidence < config.min_confidence:
            out.dropped_low_confidence += 1
            continue
        end_line = _end_line(item, changed.hunk_index(item.line), changed, commentable)
        last = end_line or item.line
        if _duplicates_rule(item, last, rule_findings):
            out.dropped_duplicates += 1
            continue
        identity = (item.path, item.line, " ".join(item.title.lower().split()))
        if identity in seen:
            out.dropped_duplicates += 1
            continue
        seen.add(identity)
        kept.append(_to_finding(item, end_line, commentable, changed.hunk_index(item.line), changed, prompt_version))
    kept.sort(key=lambda f: (-f.severity.rank, -(f.confidence or 0), f.path, f.line))
    if len(kept) > config.max_findings:
        out.over_limit = len(kept) - config.max_findings
        kept = kept[: config.max_findings]
    out.findings = kept
    return out


def _end_line(item: LlmFindingOut, hunk: int | None, changed: ChangedFile, commentable: set[int]) -> int | None:
    if item.end_line is None or item.end_line <= item.line:
        return None
    if item.end_line not in commentable or changed.hunk_index(item.end_line) != hunk:
        return None  # GitHub needs both ends of a range in the same hunk; the start line alone still anchors it
    return item.end_line


def _duplicates_rule(item: LlmFindingOut, last: int, rule_findings: list[Finding]) -> bool:
    text = f"{item.title} {item.body}"
    for rule in rule_findings:
        if rule.path != item.path:
            continue
        if not _overlaps(item.line, last, rule.line, rule.last_line, slack=2):
            continue
        if item.same_as_rule and item.same_as_rule == rule.rule:
            return True
        if _similar(text, rule.message):
            return True
    return False


def _to_finding(item: LlmFindingOut, end_line: int | None, commentable: set[int], hunk: int | None,
                changed: ChangedFile, prompt_version: str) -> Finding:
    title = sanitize_line(item.title) or "Database review remark"
    body = sanitize_markdown(item.body)
    suggestion = None
    if item.suggestion is not None:
        replacement = safe_suggestion(item.suggestion)
        last = end_line or item.line
        lines_ok = all(ln in commentable and changed.hunk_index(ln) == hunk for ln in range(item.line, last + 1))
        if replacement is not None and lines_ok:
            suggestion = Suggestion(line=item.line, end_line=last, replacement=replacement.rstrip("\n"))
    message = f"{title}\n\n{body}" if body else title
    return Finding(
        rule=f"llm/{item.category}",
        severity=Severity(item.severity),
        path=item.path,
        line=item.line,
        end_line=end_line,
        message=message,
        suggestion=suggestion,
        source=Source.LLM,
        key=f"llm:{item.category}:{' '.join(sorted(_words(item.title)))}",
        category=item.category,
        confidence=round(item.confidence, 3),
        title=title,
        extra={"prompt_version": prompt_version},
    )
