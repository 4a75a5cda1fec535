"""The result of one review: what every reporter and publisher renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.findings import Finding, Severity, Source

if TYPE_CHECKING:
    from bot.config import ReviewConfig


@dataclass
class LlmUsage:
    """What the LLM review cost and how it went."""

    model: str = ""
    prompt_version: str = ""
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    # Files or hunks the LLM did not see (budget), listed in the summary so a partial review is never silent.
    not_reviewed: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "latency_s": round(self.latency_s, 3),
            "not_reviewed": list(self.not_reviewed),
            "error": self.error,
        }


@dataclass
class Review:
    """The result of one review: findings, notes and what the reporters need."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    # Problems that were already there at the base (each with preexisting=True): reported apart, never inline,
    # never counted toward fail_on.
    preexisting: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Summary facts contributed by analyzers: "locks" (statement → lock → blocks), "touched_models", …
    facts: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # surface → changed paths reviewed
    base_label: str = ""
    head_label: str = ""
    has_database_surface: bool = False
    llm: LlmUsage | None = None
    llm_assessment: str = ""
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts

    def fails(self, fail_on: str) -> bool:
        """Whether a rule finding is at or above `fail_on` (LLM findings never fail a build: they are advice)."""
        if fail_on == "never":
            return False
        threshold = Severity(fail_on).rank
        return any(f.severity.rank >= threshold for f in self.findings if f.source is not Source.LLM)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        summary: dict[str, Any] = {
            "total": len(self.findings),
            "by_severity": counts,
            "by_source": {
                s.value: sum(1 for f in self.findings if f.source is s) for s in Source
            },
            "suppressed": len(self.suppressed),
            "preexisting": len(self.preexisting),
            "base": self.base_label,
            "head": self.head_label,
            "has_database_surface": self.has_database_surface,
            "files": self.files,
            "notes": list(self.notes),
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if self.llm is not None:
            summary["llm"] = self.llm.to_dict()
            if self.llm_assessment:
                summary["llm"]["assessment"] = self.llm_assessment
        for key, value in self.facts.items():
            summary.setdefault(key, value)
        return {
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [f.to_dict() for f in self.suppressed],
            "preexisting": [f.to_dict() for f in self.preexisting],
            "summary": summary,
        }


def inline_priority(f: Finding) -> tuple[Any, ...]:
    """Order for the inline budget: severity, then rules before the LLM, then confidence, then place."""
    confidence = f.confidence if f.confidence is not None else 1.0
    return (-f.severity.rank, f.source is Source.LLM, -confidence, f.path, f.line)


def inline_candidates(findings: list[Finding], review: ReviewConfig) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Which findings may become inline comments, best first, and which stay in the summary and why.

    The budget (`review.max_inline_comments`) is applied by the publisher after anchoring, since a finding that
    cannot be anchored on the diff does not use a slot.
    """
    candidates: list[Finding] = []
    summary_only: list[tuple[Finding, str]] = []
    for f in sorted(findings, key=inline_priority):
        if f.preexisting:
            summary_only.append((f, "already there before this change"))
        elif f.severity is Severity.INFO and not review.inline_info:
            summary_only.append((f, "info: summary only"))
        else:
            candidates.append(f)
    return candidates, summary_only
