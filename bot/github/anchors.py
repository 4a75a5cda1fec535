"""Where on the diff a finding can be commented, checked locally before anything is sent to GitHub.

GitHub accepts a review comment only on a line of a hunk (RIGHT: added or context lines in new numbering; LEFT:
deleted or context lines in old numbering), and a multi-line comment only when `start_line < line` and both lie in
the same hunk. Anything else is a 422 that rejects the whole review, so such findings go to the summary instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.change import Change, ChangedFile
from bot.findings import Finding, Side


@dataclass(frozen=True)
class Anchor:
    path: str
    line: int
    side: str  # "RIGHT" | "LEFT"
    start_line: int | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line, "side": self.side}
        if self.start_line is not None and self.start_line < self.line:
            data["start_line"] = self.start_line
            data["start_side"] = self.side
        return data


def _commentable(changed: ChangedFile, old: bool) -> set[int]:
    return changed.commentable_old_lines() if old else changed.commentable_new_lines()


def anchor_for(finding: Finding, change: Change) -> tuple[Anchor | None, str]:
    """The anchor for a finding, or None and the reason it cannot be inlined (shown in the summary)."""
    changed = change.file(finding.path)
    if changed is None and finding.side is Side.OLD:
        # An old-side finding may name the file by its base path (a renamed file).
        changed = next((f for f in change.files if f.base_path == finding.path), None)
    if changed is None:
        return None, "file not changed in this PR"
    if changed.is_binary or not changed.hunks:
        return None, "file has no diff to comment on"
    old = finding.side is Side.OLD
    lines = _commentable(changed, old)
    first, last = finding.line, max(finding.last_line, finding.line)
    candidates = [n for n in range(first, last + 1) if n in lines]
    if not candidates:
        where = "old" if old else "new"
        return None, f"line {finding.line} ({where} side) is outside the diff"
    # Keep the comment inside one hunk: the hunk of the first commentable line of the range.
    hunk = changed.hunk_index(candidates[0], old=old)
    same_hunk = [n for n in candidates if changed.hunk_index(n, old=old) == hunk]
    end = max(same_hunk)
    start = min(same_hunk)
    return Anchor(path=changed.path, line=end, side="LEFT" if old else "RIGHT",
                  start_line=start if start < end else None), ""


def valid_against(anchor: Anchor, change: Change) -> bool:
    """Re-check an anchor (used for anchors built elsewhere, e.g. by the LLM reviewer)."""
    changed = change.file(anchor.path)
    if changed is None:
        return False
    old = anchor.side == "LEFT"
    lines = _commentable(changed, old)
    if anchor.line not in lines:
        return False
    if anchor.start_line is None:
        return True
    return (anchor.start_line < anchor.line and anchor.start_line in lines
            and changed.hunk_index(anchor.start_line, old=old) == changed.hunk_index(anchor.line, old=old))
