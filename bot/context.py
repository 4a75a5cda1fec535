"""What every analyzer receives: the change, the config, the classified files, and a memo for parsed objects.

Parsers are called through `ctx.memo(...)` so each file is parsed once per review, whichever analyzer asks first.
Analyzers add notes (files skipped and why) and summary facts (lock tables, touched models) here; they never print.
"""

from __future__ import annotations

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


@dataclass
class ReviewContext:
    change: Change
    config: Config
    surfaces: Surfaces
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    # Conventions reviewers explained on earlier comments (GitHub App / Action); context for the LLM review only.
    learnings: list[Learning] = field(default_factory=list)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Any, factory: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]

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
