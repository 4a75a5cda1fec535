"""The one summary line a review shows when the LLM review does not run.

Outside bot.llm so that `dbreview check` without an API key says why without loading the LLM stack (prompts, cache,
SDK); bot.llm re-exports these names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config

DETERMINISTIC_ONLY_NOTE = "LLM review off (no ANTHROPIC_API_KEY): this review is deterministic only"
DISABLED_NOTE = "LLM review off (llm.enabled: false in the config): this review is deterministic only"


def llm_off_note(config: Config, env: Mapping[str, str] | None = None) -> str | None:
    """The one summary line to show when the LLM review does not run (None when it does)."""
    env = os.environ if env is None else env
    if not config.llm.enabled:
        return DISABLED_NOTE
    if not env.get("ANTHROPIC_API_KEY", "").strip():
        return DETERMINISTIC_ONLY_NOTE
    return None
