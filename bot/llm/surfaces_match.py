"""Which of the config's `path_instructions` apply to the files under review."""

from __future__ import annotations

from bot.config import Config
from bot.surfaces import matches_any


def instructions_for(config: Config, paths: list[str]) -> list[tuple[str, str]]:
    return [(pi.path, pi.instructions.strip()) for pi in config.path_instructions
            if pi.instructions.strip() and any(matches_any(p, [pi.path]) for p in paths)]
