"""What every analyzer receives: the change, the config, the classified files, and a memo for parsed objects.

Parsers are called through `ctx.memo(...)` so each file is parsed once per review, whichever analyzer asks first.
Analyzers add notes (files skipped and why) and summary facts (lock tables, touched models) here; they never print.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.change import Change

if TYPE_CHECKING:
    from bot.config import Config
    from bot.learnings import Learning
    from bot.registry import Rule
    from bot.surfaces import Surfaces

T = TypeVar("T")


class ReviewTimeout(BaseException):
    """Raised by `check_deadline()` once the running analyzer's share of the review's time is used up.

    A BaseException, so the per-file `except Exception` guards in the analyzers let it through."""


# The deadline of the analyzer running in this thread (each analyzer runs in its own thread with its own share).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("dbreview_deadline", default=None)


def set_deadline(at: float | None) -> None:
    """Set the running analyzer's deadline (a `time.monotonic()` value), for this thread's context."""
    _DEADLINE.set(at)


def check_deadline() -> None:
    """Long loops in analyzers call this between files and statements: it stops an analyzer past its share."""
    at = _DEADLINE.get()
    if at is not None and time.monotonic() > at:
        raise ReviewTimeout()


@dataclass
class ReviewContext:
    """What every analyzer of one review shares: the change, config, surfaces, notes and parses."""

    change: Change
    config: Config
    surfaces: Surfaces
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    # Database files of the change that the review could not read or analyse, and why: each becomes a finding.
    unanalysed: dict[str, str] = field(default_factory=dict)
    # Conventions reviewers explained on earlier comments (GitHub App / Action); context for the LLM review only.
    learnings: list[Learning] = field(default_factory=list)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    # Parses keyed by content, shared with the base-side pass of the same review (bot.pipeline), whose "head" is
    # this context's "base": a base schema the diff already parsed is not parsed again there.
    parsed: dict[Any, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Any, factory: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]

    def not_analysed(self, path: str, reason: str) -> None:
        """Record that `path` was not analysed (the reason is shown to the author as a finding)."""
        self.unanalysed.setdefault(path, reason)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def options(self, rule: Rule) -> dict[str, Any]:
        """The rule's options: its defaults, overridden by the repo config."""
        return self.config.rule_options(rule)

    def head_text(self, path: str) -> str | None:
        return self.change.head_text(path)

    def base_text(self, path: str) -> str | None:
        return self.change.base_text(path)
