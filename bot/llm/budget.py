"""Pack the units of a review into calls that fit the model's context and the review's token and dollar budget.

Tokens are measured on the exact request that would be sent (the reviewer's `measure`: a deliberately high local
estimate when the request is far below the limit, else the API's `messages.count_tokens`): once for the whole change
(most changes fit in one call), and when it does not fit, once for the fixed part and once per planned call.
Between counts, unit sizes are estimated from the measured tokens-per-character ratio of this very request.
Whatever cannot be sent (a single hunk bigger than a call, or calls beyond the review budget) is returned so the
summary can list it: a review is never silently partial.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.llm.units import Unit

Measure = Callable[[list[Unit]], int]


@dataclass
class Plan:
    batches: list[list[Unit]] = field(default_factory=list)
    batch_tokens: list[int] = field(default_factory=list)
    too_big: list[Unit] = field(default_factory=list)
    over_budget: list[Unit] = field(default_factory=list)
    counts: int = 0  # count_tokens requests made while planning


def plan_calls(
    units: list[Unit],
    measure: Measure,
    *,
    per_call_limit: int,
    review_token_budget: int,
    review_cost_budget: float,
    call_cost: Callable[[int], float],
) -> Plan:
    plan = Plan()

    def counted(batch: list[Unit]) -> int:
        plan.counts += 1
        return measure(batch)

    if not units:
        return plan
    total = counted(units)
    if total <= per_call_limit:
        candidates = [(list(units), total)]
    else:
        candidates = _split(units, total, counted, per_call_limit, plan)
    spent_tokens = 0
    spent_cost = 0.0
    for batch, tokens in candidates:
        cost = call_cost(tokens)
        if spent_tokens + tokens > review_token_budget or spent_cost + cost > review_cost_budget:
            plan.over_budget.extend(batch)
            continue
        spent_tokens += tokens
        spent_cost += cost
        plan.batches.append(batch)
        plan.batch_tokens.append(tokens)
    return plan


def _split(units: list[Unit], total: int, counted: Measure, limit: int, plan: Plan) -> list[tuple[list[Unit], int]]:
    base = counted([])
    available = limit - base
    if available <= 0:
        plan.too_big.extend(units)
        return []
    chars = sum(len(u.render()) + 2 for u in units) or 1
    ratio = max((total - base) / chars, 1e-6)

    def estimate(group: list[Unit]) -> int:
        return math.ceil(sum(len(u.render()) + 2 for u in group) * ratio * 1.02) + 4

    files: dict[str, list[Unit]] = {}
    for unit in units:
        files.setdefault(unit.path, []).append(unit)
    packed: list[list[Unit]] = []
    current: list[Unit] = []
    current_size = 0

    def push(group: list[Unit], size: int) -> None:
        nonlocal current, current_size
        if current and current_size + size > available:
            packed.append(current)
            current, current_size = [], 0
        current.extend(group)
        current_size += size

    for file_units in files.values():
        size = estimate(file_units)
        if size <= available:
            push(file_units, size)
            continue
        for unit in file_units:  # a file too big for one call goes hunk by hunk
            unit_size = estimate([unit])
            if unit_size > available:
                plan.too_big.append(unit)
            else:
                push([unit], unit_size)
    if current:
        packed.append(current)

    out: list[tuple[list[Unit], int]] = []
    for batch in packed:
        out.extend(_verified(batch, counted, limit, plan))
    return out


def _verified(batch: list[Unit], counted: Measure, limit: int, plan: Plan) -> list[tuple[list[Unit], int]]:
    tokens = counted(batch)
    if tokens <= limit:
        return [(batch, tokens)]
    if len(batch) == 1:
        plan.too_big.append(batch[0])
        return []
    middle = len(batch) // 2
    return _verified(batch[:middle], counted, limit, plan) + _verified(batch[middle:], counted, limit, plan)
