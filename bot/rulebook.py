"""Where the rule pages live: `rules/<id>.md` in a checkout, or the copy installed with the package."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def rules_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("DBREVIEW_RULES_DIR"):
        dirs.append(Path(os.environ["DBREVIEW_RULES_DIR"]))
    dirs.append(Path(__file__).resolve().parent.parent / "rules")  # a source checkout or editable install
    dirs.append(Path(sys.prefix) / "share" / "dbreview" / "rules")  # `pip install .` (data-files)
    return dirs


def page_path(rule_id: str) -> Path | None:
    for base in rules_dirs():
        candidate = base / f"{rule_id}.md"
        if candidate.is_file():
            return candidate
    return None


def page_text(rule_id: str) -> str | None:
    path = page_path(rule_id)
    return path.read_text(encoding="utf-8") if path else None
