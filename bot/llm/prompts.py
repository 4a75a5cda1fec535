"""The versioned prompt files in `prompts/`: persona (system), review instructions, output contract.

The prompt version recorded with every review is the `VERSION` file plus a hash of the three texts, so an edit that
forgets to bump `VERSION` still changes the version (and so invalidates cached LLM results).
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROMPT_FILES = ("persona.md", "review.md", "output.md")


def prompts_dir() -> Path:
    configured = os.environ.get("DBREVIEW_PROMPTS_DIR")
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[2] / "prompts"
    if checkout.is_dir():
        return checkout
    # `pip install .`: pyproject installs prompts/ as data files under <prefix>/share/dbreview/prompts.
    return Path(sys.prefix) / "share" / "dbreview" / "prompts"


@dataclass(frozen=True)
class PromptSet:
    version: str
    persona: str
    instructions: str
    output_contract: str

    @property
    def system_text(self) -> str:
        return "\n\n".join((self.persona.strip(), self.instructions.strip(), self.output_contract.strip()))


@lru_cache(maxsize=4)
def load_prompts(directory: Path | None = None) -> PromptSet:
    where = directory or prompts_dir()
    texts = [(where / name).read_text("utf-8") for name in PROMPT_FILES]
    declared = (where / "VERSION").read_text("utf-8").strip()
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:8]
    return PromptSet(version=f"{declared}+{digest}", persona=texts[0], instructions=texts[1], output_contract=texts[2])


def prompt_version() -> str:
    return load_prompts().version
