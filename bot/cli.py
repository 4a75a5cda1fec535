"""`dbreview`: the command line. Every subcommand is a thin front door to the same pipeline.

Exit codes: 0 = nothing at or above --fail-on, 1 = findings at or above it, 2 = usage, config or git error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__

if TYPE_CHECKING:
    from bot.change import Change
    from bot.config import Config
    from bot.review import Review

# Every other import happens inside the command that needs it: `dbreview --version` and a `check` on a change
# without database files load neither the parsers nor the App, GitHub, LLM, trace or plans stacks (tests/core/
# test_speed.py checks sys.modules).

FORMATS = ("text", "concise", "json", "sarif", "github", "markdown")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (given the command about to run) that command alone: argparse builds a parser and a
    help formatter per option, a cost `dbreview check` in a pre-commit hook should not pay for the other eleven
    commands. `dbreview --help` and an unknown command get the whole parser."""
    parser = argparse.ArgumentParser(
        prog="dbreview",
        description="Review the database side of a change: Prisma schema, migrations and Prisma Client code.",
    )
    parser.add_argument("--version", action="version", version=f"dbreview {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_options) in _COMMANDS.items():
        if command is None or command == name:
            add_options(sub.add_parser(name, help=help_text))
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word of an argument list (the first argument that is not an option), if it is a known one."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in _COMMANDS else None
    return None


def _check_options(check: argparse.ArgumentParser) -> None:
    _add_change_options(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--fail-on", choices=("error", "warning", "info", "never"), default=None,
                       help="exit 1 when a rule finding is at or above this severity (default: config, else error)")
    check.add_argument("--no-llm", action="store_true", help="deterministic rules only, even with an API key")
    check.add_argument("--all", action="store_true",
                       help="report everything in the changed files, not only what the change touched")
    check.add_argument("--trace-database-url", "--database-url", dest="trace_database_url", default=None,
                       help="a PostgreSQL server for scratch databases: measure the new migrations' locks and the "
                            "new queries' plans there")
    check.add_argument("--output", "-o", default=None, help="write the report to this file instead of stdout")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def _no_options(_: argparse.ArgumentParser) -> None:
    return None


def _explain_options(explain: argparse.ArgumentParser) -> None:
    explain.add_argument("rule", help="rule id, e.g. prisma/fk-missing-index")


def _init_options(init: argparse.ArgumentParser) -> None:
    init.add_argument("--repo", default=".", help="repository directory (default: .)")
    init.add_argument("--no-workflow", action="store_true", help="write only .dbreview.yml")
    init.add_argument("--force", action="store_true", help="replace files that already exist")


def _trace_options(trace: argparse.ArgumentParser) -> None:
    _add_change_options(trace)
    trace.add_argument("--database-url", required=True, help="a PostgreSQL server; dbreview works in a scratch db")
    trace.add_argument("--rows", type=int, default=None, help="seed this many rows into affected tables first")
    trace.add_argument("--format", choices=("text", "json"), default="text")


def _stats_options(stats: argparse.ArgumentParser) -> None:
    stats.add_argument("--database-url", required=True)
    stats.add_argument("--output", "-o", default="dbreview-stats.json")


def _feedback_stats_options(fb_stats: argparse.ArgumentParser) -> None:
    fb_stats.add_argument("--database-url", default=None, help="the store (default: DATABASE_URL, else the App's "
                                                               "SQLite file in DBREVIEW_DATA_DIR)")
    fb_stats.add_argument("--repo", default=None, help="one repository (owner/name); default: all")
    fb_stats.add_argument("--format", choices=("text", "json"), default="text")


def _learnings_options(learn: argparse.ArgumentParser) -> None:
    learn.add_argument("--database-url", default=None)
    learn.add_argument("--repo", required=True, help="owner/name")
    learn.add_argument("--remove", type=int, default=None, metavar="ID", help="remove this learning")


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=2, help="queue consumer threads in this process (0 = none)")


def _worker_options(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--workers", type=int, default=2)


_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "check": ("review a change in a local repository", _check_options),
    "rules": ("list every rule with its severity and summary", _no_options),
    "explain": ("print a rule's page", _explain_options),
    "config-schema": ("print the JSON schema of .dbreview.yml", _no_options),
    "init": ("write a commented .dbreview.yml detected from the repository, and the example GitHub workflow",
             _init_options),
    "trace": ("measure the locks and rewrites of the change's migrations on PostgreSQL", _trace_options),
    "stats": ("write dbreview-stats.json (table sizes, no data) from a database", _stats_options),
    "feedback-stats": ("per-rule acceptance of dbreview's comments, from the App's store", _feedback_stats_options),
    "learnings": ("list a repository's learnings (or remove one) from the App's store", _learnings_options),
    "action": ("run inside GitHub Actions (reads the GITHUB_* environment)", _no_options),
    "serve": ("run the GitHub App webhook receiver", _serve_options),
    "worker": ("run queue consumers only (for Redis or PostgreSQL queues)", _worker_options),
}


def _add_change_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=None,
                   help="repository directory (default: the git repository around the current directory)")
    p.add_argument("--base", default=None, help="base ref (default: merge-base with the default branch)")
    p.add_argument("--head", default=None, help="head ref (default: the working tree)")
    p.add_argument("--diff", default=None, help="review this unified diff file instead of two refs ('-' = stdin)")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = _build_parser(_command_in(arguments))
    args = parser.parse_args(arguments)
    import logging

    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr,
                        format="dbreview: %(levelname)s %(name)s: %(message)s")
    from bot.redact import redact_log_handlers, scrub

    redact_log_handlers()  # no token, key or database password ever reaches a log line
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("dbreview: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from bot.change import ChangeError
        from bot.config import ConfigError
        from bot.extras import MissingExtra

        if isinstance(exc, ConfigError) and len(exc.problems) > 1:
            lines = [f"dbreview: error: {exc.where or 'the config'} has {len(exc.problems)} problems:",
                     *(f"  - {p}" for p in exc.problems)]
            print(scrub("\n".join(lines)), file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, (ConfigError, CliError, ChangeError, MissingExtra)):
            print(f"dbreview: error: {scrub(str(exc))}", file=sys.stderr)
            return EXIT_ERROR
        if args.debug:
            raise
        print(f"dbreview: internal error: {type(exc).__name__}: {scrub(str(exc))} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "check":
        return _check(args)
    if command == "rules":
        return _rules()
    if command == "explain":
        return _explain(args.rule)
    if command == "config-schema":
        from bot.config import json_schema

        print(json_schema())
        return EXIT_OK
    if command == "init":
        return _init(args)
    from bot.extras import require

    if command == "trace":
        require("trace", "`dbreview trace`")
        from bot.trace.cli import run_trace

        return run_trace(repo_dir(args.repo), args.base, args.head, args.database_url, args.rows, args.format,
                         diff=args.diff)
    if command == "stats":
        require("trace", "`dbreview stats`")
        from bot.trace.cli import run_stats

        return run_stats(args.database_url, Path(args.output))
    if command in ("feedback-stats", "learnings"):
        from bot.app import feedback_cli

        try:
            if command == "learnings":
                return feedback_cli.learnings(args.database_url, args.repo, args.remove,
                                              os.environ.get("USER", "cli"))
            return feedback_cli.feedback_stats(args.database_url, args.repo, args.format)
        except feedback_cli.StoreError as exc:
            raise CliError(str(exc)) from None
    if command == "action":
        require("github", "`dbreview action`")
        from bot.action import run_action

        return run_action(os.environ)
    if command == "serve":
        require("app", "`dbreview serve`")
        from bot.app.cli import serve

        return serve(args.host, args.port, args.workers)
    if command == "worker":
        require("app", "`dbreview worker`")
        from bot.app.cli import worker

        return worker(args.workers)
    raise CliError(f"unknown command {command}")


def repo_dir(given: str | None) -> Path:
    """`--repo` as given, or the repository the current directory is in (its top, like git and ruff find it),
    so `cd apps/api && dbreview check` reviews the whole change, not the part under apps/api."""
    if given is not None:
        return Path(given)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def load_change(repo: Path, base: str | None, head: str | None, diff: str | None) -> Change:
    from bot.gitrepo import diff_file_change, git_change

    if diff is not None:
        if head is not None:
            raise CliError("--diff and --head cannot be used together (the diff is the change)")
        if diff == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(diff).read_bytes().decode("utf-8", "replace")
            except OSError as exc:
                raise CliError(f"cannot read the diff file {diff}: {exc.strerror}") from None
        return diff_file_change(repo, text, base)
    return git_change(repo, base, head)


def load_repo_config(repo: Path) -> Config:
    from bot.config import load_config

    return load_config(repo_dir=repo)


def _check(args: argparse.Namespace) -> int:
    from bot.extras import installed, require
    from bot.pipeline import review as run_review

    repo = repo_dir(args.repo)
    if not repo.is_dir():
        raise CliError(f"no such directory: {repo}")
    config = load_repo_config(repo)
    change = load_change(repo, args.base, args.head, args.diff)
    wanted = not args.no_llm and _llm_wanted(config)
    llm_missing = wanted and not installed("llm")
    # Without a key (or with llm.enabled: false) there is no reviewer to build: the LLM stack is not even loaded.
    llm = _llm_from_env(config) if wanted and not llm_missing else None
    from bot.trace import TRACE_URL_ENV, tracer_for

    if args.trace_database_url or os.environ.get(TRACE_URL_ENV) or config.trace.database_url:
        require("trace", "measuring the migrations on PostgreSQL (--trace-database-url, trace.database_url)")
    tracer = tracer_for(config, os.environ, args.trace_database_url)
    import gc

    # One review per process: what is loaded so far (modules, config, the change's files) lives until exit, so the
    # collector need not rescan it in every full collection the review triggers (~10 % of a typical review's CPU).
    # Only here: the App and the Action call the pipeline in long-lived processes and keep the default.
    gc.freeze()
    # And no cycle collection during the review: the parsed files, statements and trees it builds are acyclic or
    # die with the process, and rescanning them was ~40 % of the CPU of a 26,000-statement migration
    # (bench/scaling_bench.py --targets). Reference counting still frees everything that is not a cycle.
    gc.disable()
    result = run_review(change, config, llm=llm, report_all=args.all,
                        extra_analyzers=[("trace", tracer)] if tracer else None)
    if tracer is not None:
        from bot.trace.stats import load_stats

        # The measurement wins over the static guess, then sizes re-grade what is left.
        tracer.finish(result, stats=load_stats(change.base))
    if llm_missing and result.has_database_surface:
        result.notes.append("LLM review off: ANTHROPIC_API_KEY is set but the [llm] extra is not installed "
                            "(pip install 'dbreview[llm]'); this review is deterministic only")
    elif llm is None and not args.no_llm and result.has_database_surface:
        from bot.llm_note import llm_off_note

        note = llm_off_note(config)
        if note:
            result.notes.append(note)
    fail_on = args.fail_on or config.fail_on
    output = render(result, change, args.format, colour=_use_colour(args), fail_on=fail_on)
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return EXIT_FINDINGS if result.fails(fail_on) else EXIT_OK


def _llm_wanted(config: Config) -> bool:
    return config.llm.enabled and bool(os.environ.get("ANTHROPIC_API_KEY", "").strip())


def _llm_from_env(config: Config):  # type: ignore[no-untyped-def]
    from bot.llm import reviewer_from_env

    return reviewer_from_env(config)


def _use_colour(args: argparse.Namespace) -> bool:
    if args.color == "always":
        return True
    if args.color == "never" or args.output or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def render(result: Review, change: Change | None, fmt: str, *, colour: bool = False, fail_on: str = "error") -> str:
    if fmt == "json":
        import json

        return json.dumps(result.to_dict(), indent=2) + "\n"
    if fmt == "sarif":
        from bot.report.sarif import render_sarif

        return render_sarif(result) + "\n"
    if fmt == "github":
        from bot.report.annotations import render_annotations

        return render_annotations(result)
    if fmt == "concise":
        from bot.report.concise import render_concise

        return render_concise(result)
    if fmt == "markdown":
        from bot.report.markdown import render_markdown

        return render_markdown(result, change, fail_on)
    from bot.report.text import render_text

    return render_text(result, change, colour=colour)


def _init(args: argparse.Namespace) -> int:
    from bot.init import InitError, run_init

    try:
        written = run_init(Path(args.repo), workflow=not args.no_workflow, force=args.force)
    except InitError as exc:
        raise CliError(str(exc)) from None
    for rel in written:
        print(f"wrote {rel}")
    print("next: review it, commit it, then `dbreview check` runs on your changes"
          + (" and pull requests get reviewed (the workflow needs no secret; add ANTHROPIC_API_KEY for the AI review)"
             if not args.no_workflow else ""))
    return EXIT_OK


def _rules() -> int:
    from bot.registry import all_rules

    rules = all_rules()
    width = max(len(r) for r in rules) if rules else 10
    for rule in sorted(rules.values(), key=lambda r: r.id):
        flag = "" if rule.enabled_by_default else f"  (opt-in{': ' + rule.pack if rule.pack else ''})"
        print(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.summary}{flag}")
    return EXIT_OK


def _explain(rule_id: str) -> int:
    from bot.registry import all_rules
    from bot.rulebook import page_text

    rules = all_rules()
    if rule_id not in rules:
        matches = [r for r in rules if r.endswith("/" + rule_id)]
        if len(matches) != 1:
            raise CliError(f"unknown rule {rule_id!r} (see `dbreview rules`)")
        rule_id = matches[0]
    text = page_text(rule_id)
    if text is None:
        rule = rules[rule_id]
        text = f"# {rule.id}\n\n{rule.summary}\n"
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
