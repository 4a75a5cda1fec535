"""Turn validated model findings into dbreview findings: anchored to the diff, deduplicated, filtered, sanitised.

Anchoring: a finding goes on an added line (or on a removed line, cited on the old side); one the model cites on an
unchanged line of a hunk is about code that was there before, so it is marked `preexisting` and lands in the same
"already there" list as old rule findings, never inline, unless its range reaches an added line, where it is
anchored instead. Lines the model was not shown become a note in the summary.

Rules first: a finding that says what a rule finding on the same lines already says is dropped; one that builds on
a rule finding (`same_as_rule`) and adds something is kept next to it, marked with the rule it extends. What is
dropped, and why, is counted and reported in one note.

Identity: an LLM comment is identified by its file, the text of its line and its category, never by its wording,
so a re-reviewed hunk whose remark comes back reworded is recognised as the comment already posted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.change import Change, ChangedFile
from bot.config import LlmConfig
from bot.findings import Finding, Severity, Side, Source, Suggestion
from bot.llm.output import LlmFindingOut
from bot.llm.sanitize import safe_suggestion, sanitize_line, sanitize_markdown

MAX_NOTES = 5
_WORD = re.compile(r"[a-z0-9_]{3,}")
_STOP = {"the", "and", "for", "this", "that", "with", "are", "not", "use", "add", "from", "will", "can", "has",
         "have", "into", "its", "column", "table", "field", "model", "line", "lines"}


@dataclass(frozen=True)
class Shown:
    """The lines of one file the model was shown: new-file numbers, of which added, and removed old-file numbers."""

    new: frozenset[int] = frozenset()
    added: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()

    def merged(self, other: Shown) -> Shown:
        return Shown(self.new | other.new, self.added | other.added, self.removed | other.removed)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped_low_confidence: int = 0
    dropped_duplicates: int = 0  # the same remark twice in this review
    dropped_outside_diff: int = 0
    repeated_rules: dict[str, int] = field(default_factory=dict)  # rule id -> remarks dropped as its repeats
    builds_on: int = 0
    preexisting: int = 0
    over_limit: int = 0

    def dropped_note(self, min_confidence: float) -> str | None:
        parts: list[str] = []
        repeated = sum(self.repeated_rules.values())
        if repeated:
            rules = ", ".join(f"`{r}`" for r in sorted(self.repeated_rules))
            parts.append(f"{repeated} repeating rule findings ({rules})")
        if self.dropped_low_confidence:
            parts.append(f"{self.dropped_low_confidence} below llm.min_confidence ({min_confidence:g})")
        if self.dropped_outside_diff:
            parts.append(f"{self.dropped_outside_diff} on lines it was not shown")
        if self.dropped_duplicates:
            parts.append(f"{self.dropped_duplicates} said twice")
        return f"AI review remarks dropped: {'; '.join(parts)}" if parts else None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= 0.35


def _adds_little(a: str, b: str) -> bool:
    """`a` (an LLM remark that says it builds on rule text `b`) brings few words the rule did not say."""
    wa, wb = _words(a), _words(b)
    if not wa:
        return True
    return len(wa - wb) < max(4, len(wa) // 3)


def _overlaps(a1: int, a2: int, b1: int, b2: int, slack: int = 0) -> bool:
    return a1 <= b2 + slack and b1 <= a2 + slack


def _line_texts(change: Change, changed: ChangedFile, side: Side) -> list[str]:
    if side is Side.OLD:
        text = change.base_text(changed.base_path) if changed.base_path else None
    else:
        text = change.head_text(changed.path)
    return (text or "").splitlines()


def finalize(
    raw: list[LlmFindingOut],
    change: Change,
    shown: dict[str, Shown],
    rule_findings: list[Finding],
    config: LlmConfig,
    prompt_version: str,
) -> Outcome:
    out = Outcome()
    kept: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    texts: dict[tuple[str, Side], list[str]] = {}
    for item in raw:
        changed = change.file(item.path)
        lines = shown.get(item.path)
        if changed is None or lines is None:
            out.dropped_outside_diff += 1
            continue
        side = Side.OLD if item.side == "old" else Side.NEW
        key_texts = texts.setdefault((item.path, side), _line_texts(change, changed, side))
        anchored = _anchor(item, side, lines, changed, key_texts)
        if anchored is None:
            out.dropped_outside_diff += 1
            if len(out.notes) < MAX_NOTES:
                where = f"{item.path}:{item.line}" + (" (old side)" if side is Side.OLD else "")
                out.notes.append(f"LLM remark on {where}, outside the lines it was shown: "
                                 f"{sanitize_line(item.title)}")
            continue
        line, end_line, preexisting = anchored
        if item.confidence < config.min_confidence:
            out.dropped_low_confidence += 1
            continue
        rule, repeats = _against_rules(item, side, line, end_line or line, rule_findings)
        if repeats:
            out.repeated_rules[rule.rule if rule else "?"] = out.repeated_rules.get(rule.rule if rule else "?", 0) + 1
            continue
        line_text = " ".join(key_texts[line - 1].split()) if 0 < line <= len(key_texts) else ""
        key = f"llm:{item.category}:{side.value}:{line_text or line}"
        if (item.path, key) in seen:
            out.dropped_duplicates += 1
            continue
        seen.add((item.path, key))
        finding = _to_finding(item, side, line, end_line, lines, changed, key, prompt_version)
        if rule is not None:
            out.builds_on += 1
            finding = finding.with_(
                message=f"Builds on `{rule.rule}`: {finding.message}",
                extra={**finding.extra, "builds_on": {"rule": rule.rule, "fingerprint": rule.fingerprint}})
        if preexisting:
            out.preexisting += 1
            finding = finding.with_(preexisting=True)
        kept.append(finding)
    kept.sort(key=lambda f: (f.preexisting, -f.severity.rank, -(f.confidence or 0), f.path, f.line))
    if len(kept) > config.max_findings:
        out.over_limit = len(kept) - config.max_findings
        kept = kept[: config.max_findings]
    out.findings = kept
    return out


def _anchor(item: LlmFindingOut, side: Side, lines: Shown, changed: ChangedFile,
            texts: list[str]) -> tuple[int, int | None, bool] | None:
    """(line, end_line, preexisting) on lines the change touched, or None when the model cited a line it was not
    shown."""
    if side is Side.OLD:
        if item.line not in lines.removed:
            return None
        hunk = changed.hunk_index(item.line, old=True)
        end = item.end_line if (item.end_line and item.end_line > item.line and item.end_line in lines.removed
                                and changed.hunk_index(item.end_line, old=True) == hunk) else None
        return item.line, end, False
    if item.line not in lines.new:
        return None
    hunk = changed.hunk_index(item.line)
    last = item.end_line if item.end_line and item.end_line > item.line else item.line
    if item.line in lines.added:
        start = item.line
    else:
        # An unchanged line: the remark is the change's only if its range reaches a line the change added.
        start = next((ln for ln in range(item.line, last + 1) if ln in lines.added
                      and changed.hunk_index(ln) == hunk and 0 < ln <= len(texts) and texts[ln - 1].strip()), None)
        if start is None:
            return item.line, None, True
    end = last if (last > start and last in lines.new and changed.hunk_index(last) == hunk) else None
    return start, end, False


def _against_rules(item: LlmFindingOut, side: Side, line: int, last: int,
                   rule_findings: list[Finding]) -> tuple[Finding | None, bool]:
    """(the rule finding this one builds on, whether it only repeats a rule finding)."""
    text = f"{item.title} {item.body}"
    builds: Finding | None = None
    for rule in rule_findings:
        if rule.path != item.path or rule.side is not side:
            continue
        if not _overlaps(line, last, rule.line, rule.last_line, slack=2):
            continue
        if item.same_as_rule and item.same_as_rule == rule.rule:
            if _adds_little(text, rule.message):
                return rule, True
            builds = builds or rule
            continue
        if _similar(text, rule.message):
            return rule, True
    return builds, False


def _to_finding(item: LlmFindingOut, side: Side, line: int, end_line: int | None, lines: Shown,
                changed: ChangedFile, key: str, prompt_version: str) -> Finding:
    title = sanitize_line(item.title) or "Database review remark"
    body = sanitize_markdown(item.body)
    suggestion = None
    if item.suggestion is not None and side is Side.NEW:
        replacement = safe_suggestion(item.suggestion)
        last = end_line or line
        hunk = changed.hunk_index(line)
        lines_ok = all(ln in lines.new and changed.hunk_index(ln) == hunk for ln in range(line, last + 1))
        if replacement is not None and lines_ok and line == item.line:
            suggestion = Suggestion(line=line, end_line=last, replacement=replacement.rstrip("\n"))
    message = f"{title}\n\n{body}" if body else title
    return Finding(
        rule=f"llm/{item.category}",
        severity=Severity(item.severity),
        path=item.path,
        line=line,
        end_line=end_line,
        side=side,
        message=message,
        suggestion=suggestion,
        source=Source.LLM,
        key=key,
        category=item.category,
        confidence=round(item.confidence, 3),
        title=title,
        extra={"prompt_version": prompt_version},
    )
