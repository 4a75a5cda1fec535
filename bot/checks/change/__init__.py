"""Checks on the change as a whole: migration history, Prisma-version deploy failures, schema/migration
consistency, hidden Unicode. Each module exposes `check(ctx) -> list[Finding]`."""

from __future__ import annotations

from bot.checks.change import concurrently, consistency, files, hidden_unicode, history  # noqa: F401
from bot.context import ReviewContext, check_deadline
from bot.findings import Finding

CHECKS = (history.check, concurrently.check, consistency.check, hidden_unicode.check)


def analyze(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        check_deadline()
        findings.extend(check(ctx))
    return findings
