"""Entry points behind `dbreview trace` and `dbreview stats` (bot/cli.py parses the arguments)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def run_trace(repo: Path, base: str | None, head: str | None, database_url: str, rows: int | None, fmt: str,
              *, diff: str | None = None) -> int:
    """Review the change like `check` (static rules), plus the measured trace; reconcile; size-aware severity.

    Exit 0 = nothing at or above the config's fail_on, 1 = findings at or above it, 2 = the trace could not run
    (server unreachable, no permission to create a database) or a usage/git error.
    """
    from bot.cli import load_change, load_repo_config, render
    from bot.pipeline import review as run_review
    from bot.trace.analyzer import TraceAnalyzer
    from bot.trace.stats import load_stats

    if not repo.is_dir():
        print(f"dbreview: error: no such directory: {repo}", file=sys.stderr)
        return EXIT_ERROR
    config = load_repo_config(repo)
    change = load_change(repo, base, head, diff)
    if rows is not None and rows < 0:
        print("dbreview: error: --rows must be 0 or more", file=sys.stderr)
        return EXIT_ERROR
    analyzer = TraceAnalyzer(database_url, config.trace.rows if rows is None else rows)
    result = run_review(change, config, extra_analyzers=[("trace", analyzer)])
    if analyzer.error is not None:
        print(f"dbreview: error: {analyzer.error}", file=sys.stderr)
        return EXIT_ERROR
    # The base branch's copy: a PR cannot lower its own severities by editing the stats file.
    analyzer.finish(result, stats=load_stats(change.base))
    sys.stdout.write(render(result, change, fmt))
    if fmt == "text":
        from bot.trace.rules import format_lock_table

        table = format_lock_table(result.facts.get("measured_locks") or [])
        if table:
            sys.stdout.write("\n" + table)
    return EXIT_FINDINGS if result.fails(config.fail_on) else EXIT_OK


def run_stats(database_url: str, output: Path) -> int:
    """Write table sizes (catalog estimates, no data) of the database at `database_url` to `output`."""
    from bot.trace.stats import collect_stats, human_bytes
    from bot.trace.tempdb import TraceError

    try:
        data = collect_stats(database_url)
    except TraceError as exc:
        print(f"dbreview: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        output.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"dbreview: error: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    tables = data["tables"]
    total = sum(t["total_bytes"] for t in tables.values())
    print(f"dbreview: wrote {output}: {len(tables)} tables, {human_bytes(total)} in all (sizes only, no data)",
          file=sys.stderr)
    return EXIT_OK
