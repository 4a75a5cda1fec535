"""Build a Change from two in-memory trees, for tests and benchmarks (no git needed)."""

from __future__ import annotations

import difflib

from bot.change import Change, MemorySnapshot, parse_diff, split_lines_keepends


def diff_trees(base: dict[str, str], head: dict[str, str]) -> str:
    """A git-style unified diff between two {path: text} trees (additions, deletions and edits; no renames)."""
    chunks: list[str] = []
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        old_lines = split_lines_keepends(old or "")
        new_lines = split_lines_keepends(new or "")
        old_lines = [ln if ln.endswith("\n") else ln + "\n" for ln in old_lines]
        new_lines = [ln if ln.endswith("\n") else ln + "\n" for ln in new_lines]
        chunks.append(f"diff --git a/{path} b/{path}\n")
        if old is None:
            chunks.append("new file mode 100644\n")
        elif new is None:
            chunks.append("deleted file mode 100644\n")
        from_name = "/dev/null" if old is None else f"a/{path}"
        to_name = "/dev/null" if new is None else f"b/{path}"
        body = list(difflib.unified_diff(old_lines, new_lines, from_name, to_name, n=3))
        if body:
            body[0], body[1] = f"--- {from_name}\n", f"+++ {to_name}\n"
        chunks.extend(body)
    return "".join(chunks)


def change_from_trees(base: dict[str, str], head: dict[str, str], *, title: str = "", body: str = "") -> Change:
    """The Change that turns `base` into `head`; every file of both trees is readable through the snapshots."""
    return Change(
        files=parse_diff(diff_trees(base, head)),
        base=MemorySnapshot(base, label="base"),
        head=MemorySnapshot(head, label="head"),
        base_label="base",
        head_label="head",
        title=title,
        body=body,
    )


def context_for(base: dict[str, str], head: dict[str, str], config_text: str | None = None):  # type: ignore[no-untyped-def]
    """A ReviewContext for analyzer tests: classify the change the way the pipeline does."""
    from bot.config import Config, parse_config
    from bot.context import ReviewContext
    from bot.surfaces import classify

    config = parse_config(config_text) if config_text else Config()
    change = change_from_trees(base, head)
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))
