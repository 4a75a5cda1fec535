"""Reviewers teach dbreview: what people did with each posted comment decides what the next run says and fails on.

Pure: threads (bot/github/threads.py), the current review and what the store remembers go in; the dismissed
findings, the findings held back from inline comments, and the fate of every posted comment come out.

- **Dismissed** on this pull request (the finding stops counting toward `fail_on` and is listed as dismissed, by
  whom): a 👎 on its comment, its thread resolved while the finding is still there, or `/dbreview ignore`, each by
  someone allowed to command dbreview (owner, member, collaborator; a person whose association is unknown counts
  when they have write access). A 👎 from anyone else changes nothing but is counted.
- **Fixed**: the comment's finding is gone from a later push (and not merely suppressed).
- **Never said again**: a dismissed finding is matched by fingerprint or by object (rule, file, the finding's key),
  so a moved line or a reworded message is still the same finding; it comes back only when it got more severe
  (a new problem). Dismissed on another pull request of the repository (the store remembers): not posted inline.
- **Summary-only rules**: a rule dismissed at least `feedback.summary_only_after` times in the repository and at
  least `feedback.summary_only_ratio` times as often as fixed posts no inline comments there; `keep_inline` restores.
- **Learnings**: the explanation a trusted reviewer gave in the thread of a dismissed finding (or the reason of
  `/dbreview ignore`) is kept as a learning of the repository.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.config import Config
from bot.findings import Finding, Severity
from bot.github.comments import fingerprint_of, head_of, object_of
from bot.github.threads import Note, Thread
from bot.learnings import Learning, clean_text, worth_keeping
from bot.review import Review

TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# Permission API roles (GET /repos/{o}/{r}/collaborators/{login}/permission) that may dismiss findings.
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})

_IGNORE = re.compile(r"^/dbreview[ \t]+ignore(?![\w-])(?P<rest>[^\n]*)", re.I)
RULE_ID = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9-]{0,80}$")


class How(StrEnum):
    THUMBS_DOWN = "thumbs-down"
    RESOLVED = "resolved"
    IGNORE = "ignore"
    SUPPRESSED = "suppressed"  # a dbreview-ignore comment or config change was committed

    @property
    def label(self) -> str:
        return {"thumbs-down": "👎", "resolved": "thread resolved", "ignore": "`/dbreview ignore`",
                "suppressed": "suppression committed"}[self.value]


class State(StrEnum):
    OPEN = "open"
    FIXED = "fixed"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Dismissal:
    how: How
    by: str = ""
    reason: str = ""
    url: str = ""
    pr_number: int | None = None  # where it was dismissed (for other pull requests of the repository)
    severity: Severity | None = None  # the finding's severity when it was dismissed

    def describe(self) -> str:
        who = f" by `{self.by}`" if self.by else ""
        why = f": {clean_text(self.reason)[:200]}" if self.reason else ""
        return f"{self.how.label}{who}{why}"

    def covers_severity(self, severity: Severity) -> bool:
        """A finding that got more severe since it was dismissed is a new problem."""
        return self.severity is None or severity.rank <= self.severity.rank


@dataclass(frozen=True)
class Ignore:
    """`/dbreview ignore [rule] <reason>`: in a thread (one finding), or in the conversation (a rule's findings)."""

    reason: str
    by: str
    rule: str | None = None
    fingerprint: str | None = None
    object_id: str | None = None
    url: str = ""

    def covers(self, f: Finding) -> bool:
        if self.fingerprint or self.object_id:
            return f.fingerprint == self.fingerprint or (bool(self.object_id) and object_id(f) == self.object_id)
        return self.rule is not None and f.rule == self.rule

    def dismissal(self, f: Finding) -> Dismissal:
        return Dismissal(How.IGNORE, self.by, self.reason, self.url, severity=f.severity)


@dataclass
class Outcome:
    """One posted comment's fate as of this run (the store keeps the latest per pull request and fingerprint)."""

    fingerprint: str
    object_id: str
    rule: str
    path: str
    severity: str
    state: State
    comment_id: int | None = None
    thread_id: str | None = None
    url: str = ""
    dismissal: Dismissal | None = None
    resolved: bool = False
    thumbs_up: int = 0
    thumbs_down: int = 0
    thumbs_down_trusted: int = 0
    replies: int = 0


@dataclass(frozen=True)
class RuleStats:
    rule: str
    posted: int = 0
    fixed: int = 0
    dismissed: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    resolved_unfixed: int = 0

    @property
    def acceptance(self) -> float | None:
        """Share of the settled comments (fixed or dismissed) that were fixed; None before any is settled."""
        settled = self.fixed + self.dismissed
        return self.fixed / settled if settled else None


@dataclass
class RepoMemory:
    """What the store remembers of the repository (empty for the Action without a database)."""

    dismissals: dict[str, Dismissal] = field(default_factory=dict)  # object id -> dismissed on another PR
    ignores: list[Ignore] = field(default_factory=list)  # `/dbreview ignore` recorded for this pull request
    rules: dict[str, RuleStats] = field(default_factory=dict)
    learnings: list[Learning] = field(default_factory=list)


@dataclass
class FeedbackResult:
    dismissed: list[tuple[Finding, Dismissal]] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # fingerprint -> why it is not posted inline
    outcomes: list[Outcome] = field(default_factory=list)
    learnings: list[Learning] = field(default_factory=list)  # new, from this pull request's threads
    demoted: list[RuleStats] = field(default_factory=list)
    untrusted_thumbs_down: int = 0

    def section(self, where: Callable[[Finding], str] | None = None) -> str:
        """The summary's lines about reviewers' feedback (empty when there is none)."""
        parts: list[str] = []
        if self.dismissed:
            rows = ["| | Rule | Where | Dismissed |", "|---|---|---|---|"]
            icon = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
            for f, d in sorted(self.dismissed, key=lambda x: (-x[0].severity.rank, x[0].path, x[0].line)):
                loc = where(f) if where is not None else f"`{f.path}:{f.line}`"
                rows.append(f"| {icon[f.severity]} | `{f.rule}` | {loc} | {_cell(d.describe())} |")
            parts.append(f"### Dismissed by reviewers ({len(self.dismissed)})\nNot counted toward `fail_on` on "
                         "this pull request.\n\n" + "\n".join(rows))
        for stats in self.demoted:
            parts.append(f"> `{stats.rule}` is summary-only in this repository: reviewers dismissed it "
                         f"{_times(stats.dismissed)} and fixed it {_times(stats.fixed)}. To post it inline again, "
                         f"add it to `feedback.keep_inline` in `.dbreview.yml`.")
        if self.untrusted_thumbs_down:
            n = self.untrusted_thumbs_down
            parts.append(f"{n} 👎 from people who cannot dismiss findings (not an owner, member or collaborator) "
                         f"{'was' if n == 1 else 'were'} counted and changed nothing.")
        return "\n\n".join(parts)


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def object_id(f: Finding) -> str:
    """The finding's object identity: rule, file, side and key (the fingerprint when the rule gives no key)."""
    if not f.key:
        return f.fingerprint
    raw = f"{f.rule}\x1f{f.path}\x1f{f.side.value}\x1f{f.key}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parse_ignore(body: str | None) -> tuple[str | None, str] | None:
    """(rule id or None, reason) of a `/dbreview ignore [rule] <reason>` comment, else None."""
    match = _IGNORE.match((body or "").lstrip())
    if match is None:
        return None
    words = match.group("rest").split()
    rule = words[0].lower() if words and RULE_ID.match(words[0].lower()) else None
    reason = " ".join(words[1:] if rule else words)
    return rule, clean_text(reason)


def rule_stats(rows: Iterable[Outcome]) -> dict[str, RuleStats]:
    """Per-rule figures from posted comments' outcomes."""
    acc: dict[str, dict[str, int]] = {}
    for o in rows:
        s = acc.setdefault(o.rule, {"posted": 0, "fixed": 0, "dismissed": 0, "thumbs_up": 0, "thumbs_down": 0,
                                    "resolved_unfixed": 0})
        s["posted"] += 1
        s["fixed"] += o.state is State.FIXED
        s["dismissed"] += o.state is State.DISMISSED
        s["thumbs_up"] += o.thumbs_up
        s["thumbs_down"] += o.thumbs_down
        s["resolved_unfixed"] += o.resolved and o.state is not State.FIXED
    return {rule: RuleStats(rule, **values) for rule, values in acc.items()}


def summary_only(stats: RuleStats, config: Config) -> bool:
    fb = config.feedback
    if not fb.summary_only_after or stats.rule in fb.keep_inline:
        return False
    return stats.dismissed >= fb.summary_only_after and stats.dismissed >= fb.summary_only_ratio * stats.fixed


class Trust:
    """Who may dismiss findings: associations seen on comments, then the permission API for anyone else (cached)."""

    # A pull request drawing reactions from a crowd must not turn into a crowd of API calls.
    MAX_LOOKUPS = 20

    def __init__(self, known: dict[str, str], lookup: Callable[[str], str | None] | None = None,
                 extra: Iterable[str] = ()) -> None:
        self.known = dict(known)
        self.lookup = lookup
        self.extra = set(extra)  # e.g. the PR author when `review.allow_pr_author_commands` is on
        self._cache: dict[str, bool] = {}
        self.lookups = 0

    def __call__(self, login: str | None) -> bool:
        if not login:
            return False
        if login in self.extra:
            return True
        if login not in self._cache:
            association = self.known.get(login)
            if association is not None and association in TRUSTED_ASSOCIATIONS:
                self._cache[login] = True
            elif association is not None or self.lookup is None or self.lookups >= self.MAX_LOOKUPS:
                self._cache[login] = False
            else:
                self.lookups += 1
                self._cache[login] = (self.lookup(login) or "") in WRITE_PERMISSIONS
        return self._cache[login]


def known_associations(threads: Iterable[Thread], notes: Iterable[Note], pr_author: str,
                       pr_author_association: str) -> dict[str, str]:
    known: dict[str, str] = {}
    if pr_author:
        known[pr_author] = pr_author_association
    for note in [*notes, *(r for t in threads for r in t.replies)]:
        if note.login and not note.is_bot:
            known.setdefault(note.login, note.association)
    return known


def conversation_ignores(notes: Iterable[Note], trust: Trust) -> list[Ignore]:
    """`/dbreview ignore <rule> <reason>` written in the pull request's conversation by someone trusted."""
    out = []
    for note in notes:
        parsed = parse_ignore(note.body)
        if parsed is None or note.is_bot or not trust(note.login):
            continue
        rule, reason = parsed
        if rule and reason:
            out.append(Ignore(reason, note.login, rule=rule, url=note.url))
    return out


def assess(review: Review, threads: Iterable[Thread], *, ours: Callable[[Thread], bool], trust: Trust,
           config: Config, memory: RepoMemory | None = None, notes: Iterable[Note] = (),
           bots: Iterable[str] = ()) -> FeedbackResult:
    """What reviewers' answers mean for this run (see the module docstring)."""
    memory = memory or RepoMemory()
    bot_logins = set(bots)
    result = FeedbackResult()
    by_fp = {f.fingerprint: f for f in review.findings if f.fingerprint}
    by_obj = {object_id(f): f for f in review.findings if f.fingerprint}
    suppressed = {f.fingerprint for f in review.suppressed} | {object_id(f) for f in review.suppressed}
    dismissed: dict[str, Dismissal] = {}  # fingerprint of a current finding -> why
    ignores = [*memory.ignores, *conversation_ignores(notes, trust)]

    def human(login: str | None, is_bot: bool = False) -> bool:
        return bool(login) and not is_bot and login not in bot_logins and not str(login).endswith("[bot]")

    for thread in threads:
        fp = fingerprint_of(thread.body)
        if fp is None or thread.pending or not ours(thread):
            continue
        obj = object_of(thread.body) or fp
        head = head_of(thread.body)
        severity, rule = head if head else ("warning", "")
        finding = by_fp.get(fp) or by_obj.get(obj)
        ups = [x for x in thread.thumbs_up if human(x)]
        downs = [x for x in thread.thumbs_down if human(x)]
        trusted_downs = [x for x in downs if trust(x)]
        result.untrusted_thumbs_down += len(downs) - len(trusted_downs) if finding is not None else 0
        replies = [r for r in thread.replies if human(r.login, r.is_bot)]
        outcome = Outcome(fp, obj, finding.rule if finding else rule, finding.path if finding else thread.path,
                          finding.severity.value if finding else severity, State.OPEN, thread.comment_id, thread.id,
                          thread.url, resolved=thread.resolved and human(thread.resolved_by),
                          thumbs_up=len(ups), thumbs_down=len(downs), thumbs_down_trusted=len(trusted_downs),
                          replies=len(replies))
        if finding is None:
            if fp in suppressed or obj in suppressed or _turned_off(rule, config):
                # Gone because someone silenced it (an inline comment, the rule off in .dbreview.yml): not a fix.
                outcome.state = State.DISMISSED
                outcome.dismissal = Dismissal(How.SUPPRESSED)
            else:
                outcome.state = State.FIXED
            result.outcomes.append(outcome)
            continue
        dismissal = _thread_dismissal(thread, replies, trusted_downs, trust, finding, human)
        if dismissal is not None and dismissal.covers_severity(finding.severity):
            outcome.state = State.DISMISSED
            outcome.dismissal = dismissal
            dismissed[finding.fingerprint] = dismissal
            result.learnings.extend(_learnings(thread, replies, dismissal, trust, finding))
        result.outcomes.append(outcome)

    for f in review.findings:
        if f.fingerprint in dismissed:
            continue
        ignore = next((i for i in ignores if i.covers(f)), None)
        if ignore is not None:
            dismissed[f.fingerprint] = ignore.dismissal(f)
    for o in result.outcomes:  # a conversation-level ignore also settles the comment of a finding it covers
        if o.state is State.OPEN and o.fingerprint in dismissed:
            o.state, o.dismissal = State.DISMISSED, dismissed[o.fingerprint]
    result.learnings.extend(_ignore_learnings(ignores, by_fp, dismissed))

    result.dismissed = [(f, dismissed[f.fingerprint]) for f in review.findings if f.fingerprint in dismissed]
    for f in review.findings:
        if f.fingerprint in dismissed:
            continue
        earlier = memory.dismissals.get(object_id(f))
        if earlier is not None and earlier.covers_severity(f.severity):
            where = f"on #{earlier.pr_number} " if earlier.pr_number else ""
            result.held[f.fingerprint] = f"dismissed {where}({earlier.describe()})"
    demoted = {rule: s for rule, s in memory.rules.items() if summary_only(s, config)}
    result.demoted = [demoted[r] for r in sorted(demoted) if any(f.rule == r for f in review.findings)]
    for f in review.findings:
        if f.rule in demoted and f.fingerprint not in dismissed:
            result.held.setdefault(f.fingerprint, "summary-only in this repository (reviewers dismiss it far more "
                                                  "often than they fix it)")
    return result


def _turned_off(rule_id: str, config: Config) -> bool:
    from bot.registry import all_rules

    rule = all_rules().get(rule_id)
    return rule is not None and not config.is_enabled(rule)


def _thread_dismissal(thread: Thread, replies: list[Note], trusted_downs: list[str], trust: Trust, finding: Finding,
                      human: Callable[..., bool]) -> Dismissal | None:
    for reply in reversed(replies):  # the latest `/dbreview ignore` in the thread wins
        parsed = parse_ignore(reply.body)
        if parsed is None or not trust(reply.login):
            continue
        rule, reason = parsed
        if rule is None or rule == finding.rule:
            return Dismissal(How.IGNORE, reply.login, reason, reply.url, severity=_posted_severity(thread, finding))
    if trusted_downs:
        return Dismissal(How.THUMBS_DOWN, trusted_downs[0], url=thread.url, severity=_posted_severity(thread, finding))
    if thread.resolved and human(thread.resolved_by) and trust(thread.resolved_by):
        return Dismissal(How.RESOLVED, str(thread.resolved_by), url=thread.url,
                         severity=_posted_severity(thread, finding))
    return None


def _posted_severity(thread: Thread, finding: Finding) -> Severity:
    head = head_of(thread.body)
    try:
        return Severity(head[0]) if head else finding.severity
    except ValueError:
        return finding.severity


def _learnings(thread: Thread, replies: list[Note], dismissal: Dismissal, trust: Trust,
               finding: Finding) -> list[Learning]:
    out = []
    for reply in replies:
        if parse_ignore(reply.body) is not None or not trust(reply.login) or not worth_keeping(reply.body):
            continue
        out.append(Learning(clean_text(reply.body), reply.login, reply.created_at, reply.url, finding.rule,
                            finding.path))
    if dismissal.how is How.IGNORE and worth_keeping(dismissal.reason):
        stamp = next((r.created_at for r in replies if r.url == dismissal.url), "")
        out.append(Learning(clean_text(dismissal.reason), dismissal.by, stamp, dismissal.url, finding.rule,
                            finding.path))
    return out


def _ignore_learnings(ignores: list[Ignore], by_fp: dict[str, Finding],
                      dismissed: dict[str, Dismissal]) -> list[Learning]:
    out = []
    for ignore in ignores:
        if not ignore.url or not worth_keeping(ignore.reason):
            continue
        hit = next((by_fp[fp] for fp, d in dismissed.items() if d.url == ignore.url and fp in by_fp), None)
        if hit is None:
            continue
        out.append(Learning(clean_text(ignore.reason), ignore.by, "", ignore.url, hit.rule,
                            hit.path if ignore.fingerprint or ignore.object_id else ""))
    return out
