"""`/dbreview` commands: parsed only at the very start of a comment, from an allow-list, with no free-form options.

    /dbreview                 review what changed since the last reviewed head
    /dbreview full            review the whole pull request again
    /dbreview pause | resume  stop / restart automatic reviews on pushes
    /dbreview explain <rule>  what a rule finds and why
    /dbreview ignore [rule] <reason>   dismiss a finding (in its thread) or a rule (in the conversation) on this PR
    /dbreview stats           per-rule acceptance figures of this repository
    /dbreview learnings       the conventions reviewers taught dbreview here; /dbreview forget <id> removes one
    /dbreview help            this list
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ALLOWED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
REVIEW_COMMANDS = frozenset({"review", "full"})

_HEAD = re.compile(r"^/dbreview(?![\w-])(?P<rest>[^\n]*)")
_RULE_ID = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9-]{0,80}$")


@dataclass(frozen=True)
class Command:
    name: str  # review | full | pause | resume | explain | ignore | stats | learnings | forget | help | unknown
    arg: str = ""  # the rule of explain and ignore, the learning id of forget
    text: str = ""  # the reason of ignore


def parse(body: str | None) -> Command | None:
    """The command at the start of the comment, or None when the comment is not addressed to us.

    Only the first line counts, after leading whitespace; a `/dbreview` quoted or mid-sentence is not a command."""
    if not body:
        return None
    match = _HEAD.match(body.lstrip())
    if match is None:
        return None
    words = match.group("rest").split()
    if not words:
        return Command("review")
    head, rest = words[0].lower(), words[1:]
    if head in ("full", "pause", "resume", "help", "stats", "learnings") and not rest:
        return Command(head)
    if head == "ignore":
        from bot.github.feedback import parse_ignore

        parsed = parse_ignore(match.group(0))
        rule, reason = parsed if parsed is not None else (None, "")
        return Command("ignore", rule or "", reason)
    if head == "forget" and len(rest) == 1 and rest[0].isdigit() and len(rest[0]) <= 18:
        return Command("forget", rest[0])
    if head == "review" and not rest:
        return Command("review")
    if head == "explain" and len(rest) == 1 and _RULE_ID.match(rest[0].lower()):
        return Command("explain", rest[0].lower())
    return Command("unknown", " ".join(words)[:80])


HELP = """\
**dbreview commands** (start a comment with one of these):

| Command | What it does |
|---|---|
| `/dbreview` | Review what changed since the last reviewed commit |
| `/dbreview full` | Review the whole pull request again |
| `/dbreview pause` | Stop automatic reviews on new pushes to this pull request |
| `/dbreview resume` | Restart automatic reviews |
| `/dbreview explain <rule>` | Explain a rule, e.g. `/dbreview explain prisma/fk-missing-index` |
| `/dbreview ignore [rule] <reason>` | In a finding's thread: stop counting it on this pull request, and \
get the suppression to commit. In the conversation: the same for every finding of `<rule>` |
| `/dbreview stats` | Per rule in this repository: comments posted, fixed, dismissed, 👍 / 👎, acceptance |
| `/dbreview learnings` | The conventions reviewers explained to dbreview in this repository |
| `/dbreview forget <id>` | Remove learning `<id>` |
| `/dbreview help` | Show this list |

A 👎 on a dbreview comment, or resolving its thread while the finding is still there, also dismisses it.

Reviews can be requested by the repository's owners, members and collaborators."""

NOT_ALLOWED = (
    "Sorry @{login}, only repository owners, members and collaborators can run `/dbreview` commands here. "
    "(This reply is shown once.)"
)
RATE_LIMITED = (
    "`/dbreview`: this pull request has had {limit} review requests in the last {minutes} minutes; "
    "wait a little before asking again."
)
PAUSED = "Automatic dbreview reviews are **paused** on this pull request. `/dbreview resume` restarts them; " \
         "`/dbreview` still runs a one-off review."
RESUMED = "Automatic dbreview reviews are **resumed** on this pull request."
UNKNOWN = "`/dbreview {arg}` is not a dbreview command.\n\n" + HELP


def unknown_reply(arg: str) -> str:
    """The reply to an unknown command; the echoed text stays inside its code span (no backtick to break out and
    mention people, no HTML comment that could pass for one of our markers)."""
    plain = arg.replace("`", "'").replace("<", "‹").replace(">", "›")
    return UNKNOWN.format(arg=plain[:80])


def explain(rule_id: str, rules_dir: Path | None = None) -> str:
    """The rule's page (rules/<id>.md) when it ships with the code, else its registry summary."""
    from bot.registry import all_rules

    rules = all_rules()
    rule = rules.get(rule_id)
    if rule is None:
        aliased = [r for r in rules.values() if rule_id in r.aliases]
        rule = aliased[0] if aliased else None
    if rule is None:
        return f"`{rule_id}` is not a dbreview rule. `dbreview rules` lists them all."
    rules_dir = rules_dir or Path(__file__).resolve().parents[2] / "rules"
    page = rules_dir / f"{rule.id}.md"
    if page.is_file():
        text = page.read_text("utf-8")
        if len(text) > 60_000:
            text = text[:60_000] + "\n\n…"
        return text
    return f"# {rule.id}\n\n**Severity:** {rule.severity.value} · **Surface:** {rule.surface.value}\n\n{rule.summary}"
