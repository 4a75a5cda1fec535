"""The answer to `/dbreview ignore`: it is honoured on this pull request now, and here is what to commit so it stays.

The exact suppression: the inline `dbreview-ignore` comment for the flagged line, in the file's comment syntax
(placed on its own line right above the flagged line it covers that line, and the statement, model or function
starting there), or the `.dbreview.yml` lines that turn the rule off for the repository. A finding on a deleted
line has no line to put a comment above: only the config applies.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from bot.github.comments import fingerprint_of, head_of, object_of, sanitize
from bot.github.feedback import Ignore
from bot.learnings import clean_text

_SQL = {".sql"}
_HASH = {".toml", ".yml", ".yaml"}


def directive(path: str, rule: str, reason: str) -> str:
    """`-- dbreview-ignore rule: reason` (SQL), `// ...` (Prisma, TypeScript, JavaScript)."""
    ext = posixpath.splitext(path)[1].lower()
    prefix = "--" if ext in _SQL else "#" if ext in _HASH else "//"
    return f"{prefix} dbreview-ignore {rule}: {_reason(reason)}"


def _reason(reason: str) -> str:
    # One line, and nothing that would close the comment or hide the rest of the line.
    return clean_text(reason).replace("*/", "* /").replace("`", "'")[:200] or "reviewed"


def _lang(path: str) -> str:
    ext = posixpath.splitext(path)[1].lower()
    return {".sql": "sql", ".prisma": "prisma", ".ts": "ts", ".tsx": "tsx", ".js": "js", ".jsx": "jsx",
            ".mjs": "js", ".cjs": "js", ".mts": "ts", ".cts": "ts"}.get(ext, "")


def config_lines(rule: str) -> str:
    return f"```yaml\nrules:\n  {rule}: off\n```"


def ignore_reply(rule: str, reason: str, by: str, *, path: str | None = None, line: int | None = None,
                 on_new_side: bool = True) -> str:
    """The reply to a `/dbreview ignore` that was honoured (in a finding's thread when `path` is given)."""
    scope = "this finding" if path else f"`{rule}` findings"
    head = (f"dbreview no longer counts {scope} on this pull request (ignored by `{by}`: {_reason(reason)}). "
            "The next review says so in the summary, and the check passes if nothing else fails.")
    parts = [head, "To keep it ignored after this pull request, commit one of these:"]
    if path and line and on_new_side:
        parts.append(f"- on its own line right above line {line} of `{path}`:\n\n"
                     f"  ```{_lang(path)}\n  {directive(path, rule, reason)}\n  ```")
    elif not path:
        parts.append(f"- on its own line right above each flagged line (the summary lists them), e.g. "
                     f"`{directive('x.sql', rule, reason)}` in SQL, `{directive('x.ts', rule, reason)}` in "
                     "Prisma and TypeScript;")
    parts.append(f"- {'or, ' if len(parts) > 2 else ''}for the whole repository, in `.dbreview.yml`:\n\n"
                 + "\n".join("  " + ln for ln in config_lines(rule).splitlines()))
    return sanitize("\n\n".join(parts))


@dataclass(frozen=True)
class IgnoreAnswer:
    reply: str
    ignore: Ignore | None  # None: refused (the reply says why)
    outcome: str  # ignored | ignore-no-reason | ignore-not-a-finding | ignore-wrong-rule | ignore-no-rule | ...


def answer_ignore(rule: str, reason: str, by: str, url: str, *, in_thread: bool,
                  root: dict[str, Any] | None = None) -> IgnoreAnswer:
    """What `/dbreview ignore [rule] <reason>` from `by` records and answers (the caller checked `by` may command).

    `root`: the REST review comment that starts the thread (in a thread), to tell which finding is meant."""
    from bot.registry import all_rules

    if not reason:
        return IgnoreAnswer("`/dbreview ignore` needs a reason, kept with the suppression: "
                            "`/dbreview ignore [rule] <why it does not apply here>`.", None, "ignore-no-reason")
    if in_thread:
        body = (root or {}).get("body") or ""
        fingerprint, head = fingerprint_of(body), head_of(body)
        if root is None or fingerprint is None or head is None or (root.get("user") or {}).get("type") != "Bot":
            return IgnoreAnswer("This thread is not a dbreview finding. Answer `/dbreview ignore <reason>` in the "
                                "thread of a dbreview comment, or write `/dbreview ignore <rule> <reason>` in the "
                                "conversation.", None, "ignore-not-a-finding")
        posted_rule = head[1]
        if rule and rule != posted_rule:
            return IgnoreAnswer(f"This thread is about `{posted_rule}`, not `{rule}`: nothing was ignored.", None,
                                "ignore-wrong-rule")
        line = root.get("line") or root.get("original_line")
        text = ignore_reply(posted_rule, reason, by, path=str(root.get("path") or ""),
                            line=line if isinstance(line, int) else None,
                            on_new_side=root.get("side", "RIGHT") == "RIGHT")
        return IgnoreAnswer(text, Ignore(reason, by, posted_rule, fingerprint, object_of(body) or fingerprint, url),
                            "ignored")
    if not rule:
        return IgnoreAnswer("Name the rule to ignore on this pull request (`/dbreview ignore <rule> <reason>`), or "
                            "answer `/dbreview ignore <reason>` in the thread of the finding.", None, "ignore-no-rule")
    if rule not in all_rules() and not rule.startswith("llm/"):
        return IgnoreAnswer(f"`{rule}` is not a dbreview rule (`dbreview rules` lists them): nothing was ignored.",
                            None, "ignore-unknown-rule")
    return IgnoreAnswer(ignore_reply(rule, reason, by), Ignore(reason, by, rule, url=url), "ignored")
