"""Prices (USD per million tokens) and context windows per model, for the per-review cost and budget.

Prices are Anthropic's published list prices (platform.claude.com "Pricing", 5-minute cache writes). A model that is
not in the table is priced like the most expensive Sonnet tier and the review notes that the cost is an estimate.
The context window is asked from the API (`models.retrieve(...).max_input_tokens`) when it can be; this table is
the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input: float
    cache_write: float
    cache_read: float
    output: float


_OPUS_NEW = Price(5.0, 6.25, 0.50, 25.0)
_OPUS_OLD = Price(15.0, 18.75, 1.50, 75.0)
_SONNET_4 = Price(3.0, 3.75, 0.30, 15.0)
_SONNET_5 = Price(2.0, 2.50, 0.20, 10.0)

PRICES: dict[str, Price] = {
    "claude-fable-5-1": Price(10.0, 12.5, 0.25, 50.0),
    "claude-mythos-5-1": Price(10.0, 12.5, 0.25, 50.0),
    "claude-fable-5": Price(10.0, 12.5, 1.0, 50.0),
    "claude-mythos-5": Price(10.0, 12.5, 1.0, 50.0),
    "claude-opus-5-5": Price(4.0, 5.0, 0.20, 20.0),
    "claude-opus-5": _OPUS_NEW,
    "claude-opus-4-8": _OPUS_NEW,
    "claude-opus-4-7": _OPUS_NEW,
    "claude-opus-4-6": _OPUS_NEW,
    "claude-opus-4-5": _OPUS_NEW,
    "claude-opus-4-1": _OPUS_OLD,
    "claude-opus-4-0": _OPUS_OLD,
    "claude-sonnet-5-5": Price(2.0, 2.50, 0.10, 10.0),
    "claude-sonnet-5": _SONNET_5,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-haiku-5-5": Price(0.10, 0.125, 0.01, 0.50),
    "claude-haiku-4-5": Price(1.0, 1.25, 0.10, 5.0),
}
FALLBACK_PRICE = _SONNET_4

# Input context per model family when the API cannot tell us (Claude 5 models have 1M, Claude 4.x 200k).
DEFAULT_CONTEXT = 200_000
_CONTEXT_1M_PREFIXES = ("claude-fable-5", "claude-mythos-5", "claude-opus-5", "claude-sonnet-5", "claude-haiku-5")


def _base_id(model: str) -> str:
    """`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`: dated snapshots share their alias's price."""
    parts = model.split("-")
    if parts and parts[-1].isdigit() and len(parts[-1]) == 8:
        parts = parts[:-1]
    return "-".join(parts)


def price_for(model: str) -> tuple[Price, bool]:
    """The model's price and whether it is known (False: priced as a fallback)."""
    price = PRICES.get(_base_id(model))
    return (price, True) if price is not None else (FALLBACK_PRICE, False)


def cost_usd(model: str, *, input_tokens: int, output_tokens: int, cache_write: int = 0, cache_read: int = 0) -> float:
    price, _ = price_for(model)
    return (
        input_tokens * price.input
        + cache_write * price.cache_write
        + cache_read * price.cache_read
        + output_tokens * price.output
    ) / 1_000_000


def fallback_context_window(model: str) -> int:
    base = _base_id(model)
    if base.startswith(_CONTEXT_1M_PREFIXES):
        return 1_000_000
    return DEFAULT_CONTEXT
