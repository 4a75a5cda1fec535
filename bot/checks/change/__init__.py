"""Checks on the change as a whole: migration history, schema/migration consistency, hidden Unicode.

Each module exposes `check(ctx) -> list[Finding]`; this package runs the ones that exist, in a fixed order.
"""

from __future__ import annotations

import importlib

from bot.context import ReviewContext
from bot.findings import Finding

# Modules owned by different parts of the product; listed here so a reader sees every change-level check.
CHECK_MODULES = ("history", "concurrently", "consistency", "hidden_unicode")


def _modules() -> list[object]:
    found = []
    for name in CHECK_MODULES:
        try:
            found.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return found


MODULES = _modules()


def analyze(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    for module in MODULES:
        findings.extend(module.check(ctx))  # type: ignore[attr-defined]
    return findings
