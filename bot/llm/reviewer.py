"""The LLM review: the pipeline's LlmReviewer, on the Anthropic Messages API.

review(ctx, rule_findings): collect the database-relevant hunks, reuse cached results for hunks whose review inputs
are unchanged, plan the remaining hunks into calls that fit the context and the budget, call the model with a
forced tool at temperature 0, validate, anchor, deduplicate and sanitise what it says. Any API failure that
survives the SDK's own retries, or the step's deadline (`llm.deadline_s`), ends the LLM part with `usage.error`:
the deterministic review is produced whatever happens here.

What is cached, per hunk, is the model's findings on it, under a key made of everything the answer depends on
(see `_key`). An answer that is cut off or breaks the output contract is never cached.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import anthropic

from bot.context import ReviewContext
from bot.findings import Finding, Side
from bot.llm.anchoring import Shown, finalize
from bot.llm.budget import plan_calls
from bot.llm.cache import ResultCache, cache_key
from bot.llm.facts import dropped_uses, project_facts
from bot.llm.output import (
    TOOL_NAME,
    LlmFindingOut,
    OutputError,
    ParsedOutput,
    TruncatedOutput,
    parse_tool_input,
    tool_definition,
)
from bot.llm.pricing import cost_usd, fallback_context_window, price_for
from bot.llm.prompts import PromptSet, load_prompts
from bot.llm.request import (
    CallContext,
    Earlier,
    PrText,
    comments_on,
    compact,
    lock_rows,
    relevant_rule_findings,
    repo_context,
    rule_catalogue,
    system_blocks,
    user_message,
)
from bot.llm.sanitize import sanitize_line, sanitize_markdown
from bot.llm.schema_context import schema_context, touched_and_related, unit_schema_digest
from bot.llm.units import Unit, collect_units
from bot.pipeline import LlmResult
from bot.review import LlmUsage

log = logging.getLogger("dbreview.llm")

MAX_ASSESSMENT_CHARS = 1500
# A local token estimate (characters / 2) overestimates Claude's tokenizer on code and English (3-4 characters a
# token); text of one token per character (CJK) is at most twice the estimate. Under 40% of the limit, even that
# stays within it, so asking the API to count is a round trip (and a rate-limit hit) that cannot change the plan.
LOCAL_CHARS_PER_TOKEN = 2.0
LOCAL_ESTIMATE_MARGIN = 0.4
# A cut-off answer for a single hunk is retried once with this much more room.
TRUNCATION_OUTPUT_FACTOR = 2
MAX_OUTPUT_TOKENS_CAP = 32_000


class LlmUnavailable(Exception):
    """The API failed after the SDK's retries (rate limit, overload, 5xx, timeout, connection)."""


class DeadlinePassed(Exception):
    """The LLM step ran out of its time (llm.deadline_s)."""


def bounded_client(*, max_retry_wait_s: float, **kwargs: Any) -> anthropic.Anthropic:
    """An Anthropic client whose retry waits are capped (the SDK otherwise sleeps as long as retry-after asks) and
    that never waits or retries past `client.deadline` (a time.monotonic() value, set per review)."""

    class _BoundedAnthropic(anthropic.Anthropic):
        deadline: float | None = None

        def _calculate_retry_timeout(self, *args: Any, **kw: Any) -> float:
            wait = min(super()._calculate_retry_timeout(*args, **kw), max_retry_wait_s)
            if self.deadline is not None:
                wait = min(wait, max(0.0, self.deadline - time.monotonic()))
            return wait

        def _sleep_for_retry(self, *, retries_taken: int, max_retries: int, options: Any, response: Any) -> None:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                wait = self._calculate_retry_timeout(max_retries - retries_taken, options,
                                                     response.headers if response is not None else None)
                if left - wait < 1.0:
                    raise DeadlinePassed()
                # The next attempt may use only what is left of the step's time.
                current = options.timeout if isinstance(options.timeout, int | float) else None
                options.timeout = min(current or left, left - wait)
            super()._sleep_for_retry(retries_taken=retries_taken, max_retries=max_retries, options=options,
                                     response=response)

    return _BoundedAnthropic(**kwargs)


class AnthropicReviewer:
    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        cache: ResultCache | None = None,
        prompts: PromptSet | None = None,
        clock: Callable[[], float] = time.perf_counter,
        request_timeout_s: float = 120.0,
    ) -> None:
        self.client = client
        self.cache = cache
        self.prompts = prompts or load_prompts()
        self._clock = clock
        self._request_timeout = request_timeout_s
        self._deadline: float | None = None
        self._windows: dict[str, int] = {}
        # Models that think on every turn refuse a forced tool; for those we fall back to `auto` (the prompt still
        # says to answer only through the tool, and an answer without it is retried, then reported).
        self._auto_tool_models: set[str] = set()

    # -- the LlmReviewer protocol ------------------------------------------------------------------------------

    def review(self, ctx: ReviewContext, rule_findings: list[Finding]) -> LlmResult:
        started = self._clock()
        llm = ctx.config.llm
        usage = LlmUsage(model=llm.model, prompt_version=self.prompts.version)
        result = LlmResult(usage=usage)
        self._deadline = time.monotonic() + llm.deadline_s
        if hasattr(self.client, "deadline"):
            self.client.deadline = self._deadline
        try:
            self._review(ctx, rule_findings, result)
        finally:
            usage.latency_s = self._clock() - started
            if hasattr(self.client, "deadline"):
                self.client.deadline = None
        return result

    # -- steps ---------------------------------------------------------------------------------------------------

    def _review(self, ctx: ReviewContext, rule_findings: list[Finding], result: LlmResult) -> None:
        llm = ctx.config.llm
        usage = result.usage
        units = collect_units(ctx)
        if not units:
            return
        schema = schema_context(ctx, units)
        facts = project_facts(ctx, schema.tables)
        project = facts.render()
        context = CallContext(
            rule_findings=rule_findings,
            locks=_locks(ctx.facts),
            pr_text=_pr_text(ctx),
            comments=list(ctx.change.review_comments),
            dropped_uses=dropped_uses(rule_findings, ctx),
            subjects=_subjects(ctx, units),
        )
        keys = {u.content_hash: self._key(ctx, u, units, context, facts.key_for(_tables_of(ctx, u, context)))
                for u in units}
        raw: list[LlmFindingOut] = []
        reviewed: list[Unit] = []
        pending: list[Unit] = []
        for unit in units:
            cached = self.cache.get(keys[unit.content_hash]) if self.cache is not None else None
            if cached is None or not isinstance(cached.get("findings"), list):
                pending.append(unit)
                continue
            found = _rebase(cached["findings"], unit)
            raw.extend(found)
            context.earlier.append(Earlier(unit.label, tuple(f"{f.severity}: {sanitize_line(f.title)}"
                                                             for f in found)))
            reviewed.append(unit)
        assessments: list[str] = []
        invalid = 0
        if pending:
            system = system_blocks(self.prompts, repo_context(ctx.config, sorted({u.path for u in units}),
                                                              schema.text, schema.left_out, ctx.learnings,
                                                              project=project),
                                   rule_catalogue())
            invalid = self._call_model(ctx, system, context, pending, keys, raw, assessments, reviewed, result)
        if not price_for(llm.model)[1] and usage.calls:
            result.notes.append(f"LLM cost is an estimate: no price on file for model {llm.model}")
        shown: dict[str, Shown] = {}
        for unit in reviewed:
            lines = Shown(unit.shown_lines, unit.added_lines, unit.removed_lines)
            shown[unit.path] = shown[unit.path].merged(lines) if unit.path in shown else lines
        outcome = finalize(raw, ctx.change, shown, rule_findings, llm, self.prompts.version)
        result.findings = outcome.findings
        result.notes.extend(outcome.notes)
        dropped = outcome.dropped_note(llm.min_confidence)
        if dropped:
            result.notes.append(dropped)
        if outcome.over_limit:
            result.notes.append(f"{outcome.over_limit} more LLM findings not shown (llm.max_findings = "
                                f"{llm.max_findings})")
        if invalid:
            result.notes.append(f"{invalid} LLM findings did not match the output contract and were dropped")
        result.assessment = self._assessment(assessments, bool(pending), reviewed, units, keys, outcome.findings,
                                             usage)
        # usage.not_reviewed and usage.error are rendered by every reporter; no note repeats them.

    def _call_model(self, ctx: ReviewContext, system: list[dict[str, Any]], context: CallContext,
                    pending: list[Unit], keys: dict[str, str], raw: list[LlmFindingOut], assessments: list[str],
                    reviewed: list[Unit], result: LlmResult) -> int:
        llm = ctx.config.llm
        usage = result.usage
        tools = [tool_definition()]

        def message(batch: list[Unit], others: list[Unit]) -> str:
            in_batch = {u.content_hash for u in batch}
            call = CallContext(**{**context.__dict__, "earlier": [
                *context.earlier,
                *(Earlier(u.label, in_this_review=True) for u in others if u.content_hash not in in_batch)]})
            return user_message(batch, call)

        try:
            window = self._context_window(llm.model)
        except LlmUnavailable as exc:
            usage.error = str(exc)
            usage.not_reviewed.extend(u.label for u in pending)
            return 0
        except DeadlinePassed:
            self._deadline_passed(ctx, usage, pending)
            return 0
        per_call = min(int(window * 0.98) - llm.max_output_tokens, llm.max_input_tokens_per_review)

        def measure(batch: list[Unit]) -> int:
            return self._count(llm.model, system, tools, message(batch, pending), per_call)

        try:
            plan = plan_calls(
                pending,
                measure,
                per_call_limit=per_call,
                review_token_budget=llm.max_input_tokens_per_review,
                review_cost_budget=llm.max_cost_usd_per_review,
                call_cost=lambda tokens: _worst_cost(llm.model, tokens, llm.max_output_tokens),
            )
        except LlmUnavailable as exc:
            usage.error = str(exc)
            usage.not_reviewed.extend(u.label for u in pending)
            return 0
        except DeadlinePassed:
            self._deadline_passed(ctx, usage, pending)
            return 0
        usage.not_reviewed.extend(f"{u.label} (too large for one call)" for u in plan.too_big)
        usage.not_reviewed.extend(f"{u.label} (over the review budget)" for u in plan.over_budget)
        invalid = 0
        spent_tokens = sum(plan.batch_tokens)
        spent_cost = sum(_worst_cost(llm.model, t, llm.max_output_tokens) for t in plan.batch_tokens)
        # (batch, its tokens, output allowance, may it be retried after a cut-off answer)
        work: deque[tuple[list[Unit], int, int, bool]] = deque(
            (batch, tokens, llm.max_output_tokens, True) for batch, tokens in zip(plan.batches, plan.batch_tokens,
                                                                                    strict=True))
        truncated_hunks = 0
        lost_to_truncation = 0
        planned = [u for b in plan.batches for u in b]
        while work:
            batch, tokens, max_tokens, may_retry = work.popleft()
            in_batch = {u.content_hash for u in batch}
            others = [u for u in planned if u.content_hash not in in_batch]

            def retry_fits(tokens: int = tokens, max_tokens: int = max_tokens, spent: int = spent_tokens,
                           cost: float = spent_cost) -> bool:
                """A repeat call for a broken answer must still fit the review budget (retries count)."""
                return (spent + tokens <= llm.max_input_tokens_per_review
                        and cost + _worst_cost(llm.model, tokens, max_tokens) <= llm.max_cost_usd_per_review)

            calls_before = usage.calls
            text = message(batch, others)
            try:
                parsed = self._create(llm.model, max_tokens, system, tools, text, usage, retry_fits)
            except LlmUnavailable as exc:
                usage.error = str(exc)
                usage.not_reviewed.extend(u.label for u in batch)
                for rest, *_ in work:
                    usage.not_reviewed.extend(u.label for u in rest)
                break
            except DeadlinePassed:
                self._deadline_passed(ctx, usage, [*batch, *(u for rest, *_ in work for u in rest)])
                break
            except TruncatedOutput:
                truncated_hunks += len(batch)
                retry = self._after_truncation(batch, tokens, max_tokens, may_retry, llm.model)
                fits = (spent_tokens + sum(t for _, t, _, _ in retry) <= llm.max_input_tokens_per_review
                        and spent_cost + sum(_worst_cost(llm.model, t, out) for _, t, out, _ in retry)
                        <= llm.max_cost_usd_per_review)
                if retry and fits:
                    for item in reversed(retry):
                        work.appendleft(item)
                        spent_tokens += item[1]
                        spent_cost += _worst_cost(llm.model, item[1], item[2])
                else:
                    lost_to_truncation += len(batch)
                    usage.not_reviewed.extend(f"{u.label} (the model's answer was cut off at the output limit)"
                                              for u in batch)
                continue
            except OutputError as exc:
                log.warning("LLM output unusable: %s", exc)
                usage.not_reviewed.extend(f"{u.label} (the model's answer did not follow the output contract)"
                                          for u in batch)
                continue
            finally:
                for _repeat in range(usage.calls - calls_before - 1):  # repeats spend budget too
                    spent_tokens += tokens
                    spent_cost += _worst_cost(llm.model, tokens, max_tokens)
            invalid += parsed.invalid
            raw.extend(parsed.findings)
            if parsed.assessment:
                assessments.append(parsed.assessment)
            reviewed.extend(batch)
            self._store(batch, parsed, keys)
        if truncated_hunks:
            outcome = (f"{lost_to_truncation} of them not reviewed" if lost_to_truncation
                       else "retried in smaller calls or with more room, nothing was lost")
            result.notes.append(
                f"The AI review's answer was cut off at the output limit (llm.max_output_tokens = "
                f"{llm.max_output_tokens}) for {truncated_hunks} hunk{'s' if truncated_hunks != 1 else ''}: "
                f"{outcome}; cut-off answers are never cached")
        return invalid

    def _after_truncation(self, batch: list[Unit], tokens: int, max_tokens: int, may_retry: bool,
                          model: str) -> list[tuple[list[Unit], int, int, bool]]:
        """What to send again after an answer was cut off: the batch in two halves, or a single hunk with more
        output room. Only once: a second cut-off answer means the hunks are listed as not reviewed."""
        if not may_retry:
            return []
        if len(batch) > 1:
            middle = len(batch) // 2
            halves = [batch[:middle], batch[middle:]]
            total = sum(len(u.render()) for u in batch) or 1
            return [(half, math.ceil(tokens * sum(len(u.render()) for u in half) / total) + 1, max_tokens, False)
                    for half in halves]
        more = min(max_tokens * TRUNCATION_OUTPUT_FACTOR, MAX_OUTPUT_TOKENS_CAP)
        return [(batch, tokens, more, False)] if more > max_tokens else []

    def _deadline_passed(self, ctx: ReviewContext, usage: LlmUsage, left: list[Unit]) -> None:
        usage.error = (f"AI review stopped at its time limit (llm.deadline_s = {ctx.config.llm.deadline_s:g} s); "
                       "the rule-based review is complete")
        usage.not_reviewed.extend(u.label for u in left)

    # -- API calls -----------------------------------------------------------------------------------------------

    def _remaining(self) -> float:
        if self._deadline is None:
            return self._request_timeout
        left = self._deadline - time.monotonic()
        if left <= 1.0:
            raise DeadlinePassed()
        return min(self._request_timeout, left)

    def _count(self, model: str, system: list[dict[str, Any]], tools: list[dict[str, Any]], text: str,
               limit: int) -> int:
        estimate = local_estimate(system, tools, text)
        if estimate <= limit * LOCAL_ESTIMATE_MARGIN:
            return estimate
        for _attempt in range(2):
            try:
                with _quiet_deprecations():
                    counted = self.client.messages.count_tokens(
                        model=model, system=system, tools=tools,  # type: ignore[arg-type]
                        tool_choice=self._tool_choice(model),  # type: ignore[arg-type]
                        messages=[{"role": "user", "content": text}],
                        timeout=self._remaining(),
                    )
                return int(counted.input_tokens)
            except anthropic.BadRequestError as exc:
                if not self._refuses_forced_tool(model, exc):
                    raise LlmUnavailable(_describe(exc)) from exc
            except anthropic.APIStatusError as exc:
                if exc.status_code == 429 or exc.status_code >= 500:
                    # Counting is an optimisation: a rate-limited or overloaded count falls back to the (high)
                    # local estimate, and the call itself gets its own retries.
                    return estimate
                raise LlmUnavailable(_describe(exc)) from exc
            except anthropic.APIConnectionError as exc:
                raise LlmUnavailable(_describe(exc)) from exc
        raise LlmUnavailable("Anthropic API refused the request (HTTP 400)")

    def _create(self, model: str, max_tokens: int, system: list[dict[str, Any]], tools: list[dict[str, Any]],
                text: str, usage: LlmUsage, retry_fits: Callable[[], bool] = lambda: True) -> ParsedOutput:
        last_error: OutputError | None = None
        attempts = 0
        # One more try when the answer breaks the output contract, if the budget has room for it.
        while attempts < 1 or (attempts < 2 and retry_fits()):
            try:
                with _quiet_deprecations():
                    message = self.client.messages.create(
                        model=model, max_tokens=max_tokens, system=system, tools=tools,  # type: ignore[arg-type]
                        tool_choice=self._tool_choice(model),  # type: ignore[arg-type]
                        messages=[{"role": "user", "content": text}],
                        # No temperature: API version 2026-10-21 (SDK 2.x) refuses every sampling parameter, even
                        # its default. A reworded remark on a re-reviewed hunk is recognised by its identity (file,
                        # line text, category) and by the earlier comments shown to the model instead.
                        timeout=self._remaining(),
                    )
            except anthropic.BadRequestError as exc:
                if self._refuses_forced_tool(model, exc):
                    continue
                raise LlmUnavailable(_describe(exc)) from exc
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                if isinstance(exc, anthropic.APITimeoutError) and self._deadline is not None \
                        and self._deadline - time.monotonic() <= 1.0:
                    raise DeadlinePassed() from exc
                raise LlmUnavailable(_describe(exc)) from exc
            attempts += 1
            _account(usage, model, message)
            if message.stop_reason == "max_tokens":
                # Whatever the tool input holds is a prefix of the review: using it would pass the rest as clean.
                raise TruncatedOutput(f"answer cut off at max_tokens = {max_tokens}")
            block = next((b for b in message.content if getattr(b, "type", None) == "tool_use"
                          and getattr(b, "name", None) == TOOL_NAME), None)
            try:
                if block is None:
                    raise OutputError(f"no {TOOL_NAME} call in the answer (stop_reason {message.stop_reason})")
                return parse_tool_input(block.input)
            except OutputError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def _tool_choice(self, model: str) -> dict[str, str]:
        if model in self._auto_tool_models:
            return {"type": "auto"}
        return {"type": "tool", "name": TOOL_NAME}

    def _refuses_forced_tool(self, model: str, exc: anthropic.BadRequestError) -> bool:
        """True (and remember it) when the API refused the forced tool choice for this model."""
        if model in self._auto_tool_models or "tool_choice" not in str(exc):
            return False
        self._auto_tool_models.add(model)
        return True

    def _context_window(self, model: str) -> int:
        if model not in self._windows:
            window = None
            try:
                info = self.client.models.retrieve(model, timeout=self._remaining())
                window = info.max_input_tokens
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                transient = isinstance(exc, anthropic.APIConnectionError) or exc.status_code in (429, 529)
                if transient:
                    raise LlmUnavailable(_describe(exc)) from exc
                log.info("model info unavailable for %s: %s", model, exc)
            self._windows[model] = int(window) if window else fallback_context_window(model)
        return self._windows[model]

    # -- result cache --------------------------------------------------------------------------------------------

    def _key(self, ctx: ReviewContext, unit: Unit, units: list[Unit], context: CallContext, facts: str) -> str:
        """Everything this hunk's answer depends on: the prompts and model, the maintainers' instructions, the hunk
        and the hunks near it (same function or schema block), the schema of the models it touches, the rule
        findings and lock rows about it, the replies to the earlier AI comments on it, the code still using what it
        drops, the project facts about its own tables, and the PR's title and description. Line numbers are
        relative to the hunk, so a hunk that only moved still hits. Commit messages and PR comments are left out:
        they grow with every push, and a cache that missed on every push would make each push pay for the whole
        change again."""
        config = ctx.config
        parts = [config.context, *(f"{pi.path}\x1d{pi.instructions}" for pi in config.path_instructions),
                 "neighbours", *sorted(u.content_hash for u in units if _neighbours(u, unit)),
                 "schema", unit_schema_digest(ctx, unit), "facts", facts]
        relevant, _ = relevant_rule_findings([unit], context)
        parts += ["rules", *sorted(_relative(compact(f), f, unit) for f in relevant)]
        locks, _ = lock_rows(context.locks, [unit])
        parts += ["locks", *(_strip_numbers(row, unit) for row in locks)]
        # Our own earlier comments came from this very cache; only what people replied to them is new input.
        parts += ["replies", *(f"{c.side}{c.line - unit.first_line}\x1d{c.rule}\x1d{c.replies}"
                               for c in comments_on([unit], context.comments) if c.replies)]
        if unit.kind in ("schema", "migration"):
            parts += ["dropped", *(f"{f.path}\x1d{f.message}" for f in context.dropped_uses)]
        parts += ["pr", context.pr_text.title.strip(), context.pr_text.body.strip()]
        # Reviewers' learnings are in the model's context: a new or removed one is a different question.
        parts += ["learnings", *(f"{item.author}\x1d{item.text}" for item in ctx.learnings)]
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return cache_key(self.prompts.version, config.llm.model, unit.content_hash, digest)

    def _store(self, batch: list[Unit], parsed: ParsedOutput, keys: dict[str, str]) -> None:
        if self.cache is None:
            return
        per_unit: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(batch))}
        for item in parsed.findings:
            for i, unit in enumerate(batch):
                old = item.side == "old"
                if unit.path != item.path or item.line not in (unit.removed_lines if old else unit.shown_lines):
                    continue
                base = unit.first_old_line if old else unit.first_line
                data = item.to_json()
                data["line"] = item.line - base
                if item.end_line is not None:
                    data["end_line"] = item.end_line - base
                per_unit[i].append(data)
                break
        for i, unit in enumerate(batch):
            self.cache.put(keys[unit.content_hash], {"findings": per_unit[i]})

    # -- assessment ----------------------------------------------------------------------------------------------

    def _assessment(self, assessments: list[str], called: bool, reviewed: list[Unit], units: list[Unit],
                    keys: dict[str, str], findings: list[Finding], usage: LlmUsage) -> str:
        """The model's assessment from this review's calls; with no call, the one stored for exactly this set of
        hunk inputs, or a plain account of the remarks that stand. Never an assessment of hunks since changed."""
        whole = "assessment:" + hashlib.sha256("\x1f".join(sorted(keys.values())).encode()).hexdigest()
        if called:
            text = _assessment(assessments)
            if text and self.cache is not None and len(reviewed) == len(units) and not usage.not_reviewed:
                self.cache.put(whole, {"assessment": text})
            return text
        if not reviewed:
            return ""
        stored = self.cache.get(whole) if self.cache is not None else None
        if stored and isinstance(stored.get("assessment"), str):
            return stored["assessment"]
        new = [f for f in findings if not f.preexisting]
        if not new:
            return "The AI review has no remarks on the database hunks of this change (unchanged since its last look)."
        titles = "; ".join(f.title for f in new[:5])
        return sanitize_markdown(f"The AI review's remarks on unchanged hunks stand: {titles}.")


NEIGHBOUR_LINES = 10


def _neighbours(other: Unit, unit: Unit) -> bool:
    """Another hunk the model reads together with `unit`: in the same function or schema block, or close by."""
    if other.path != unit.path or other.content_hash == unit.content_hash:
        return False
    if unit.scope or other.scope:
        return other.scope == unit.scope
    return (min(other.shown_lines) <= max(unit.shown_lines) + NEIGHBOUR_LINES
            and min(unit.shown_lines) <= max(other.shown_lines) + NEIGHBOUR_LINES)


def local_estimate(system: list[dict[str, Any]], tools: list[dict[str, Any]], text: str) -> int:
    """A deliberately high token estimate of a request, from its characters."""
    import json

    chars = sum(len(b.get("text", "")) for b in system) + len(json.dumps(tools)) + len(text)
    return math.ceil(chars / LOCAL_CHARS_PER_TOKEN) + 400


def _relative(line: str, finding: Finding, unit: Unit) -> str:
    """A rule finding in the unit's own file, placed relative to the unit (it moves with it)."""
    if finding.path != unit.path:
        return line
    base = unit.first_old_line if finding.side is Side.OLD else unit.first_line
    return line.replace(f":{finding.line}", f":+{finding.line - base}", 1)


def _strip_numbers(row: str, unit: Unit) -> str:
    head, _, rest = row.partition(" `")
    path, _, number = head.rpartition(":")
    return f"{path}:+{int(number) - unit.first_line if number.isdigit() else number} `{rest}"


def _subjects(ctx: ReviewContext, units: list[Unit]) -> dict[str, set[str]]:
    """Per unit, the model and table names it touches (for rule findings about them elsewhere)."""
    from bot.llm.schema_context import head_blocks

    blocks = ctx.memo(("llm", "head-blocks"), lambda: head_blocks(ctx))
    out: dict[str, set[str]] = {}
    for unit in units:
        touched, _ = touched_and_related(ctx, [unit], blocks) if blocks else ([], [])
        out[unit.content_hash] = {n for b in touched for n in (b.name, b.table)}
    return out


def _tables_of(ctx: ReviewContext, unit: Unit, context: CallContext) -> set[str]:
    """The models and tables one unit touches, with the tables its migration SQL names."""
    from bot.llm.schema_context import _SQL_TABLE

    names = set(context.subjects.get(unit.content_hash, set()))
    if unit.kind == "migration":
        names.update(_SQL_TABLE.findall(unit.body))
    return names


def _locks(facts: dict[str, Any]) -> list[Any]:
    locks = facts.get("locks")
    if not locks:
        return []
    return locks if isinstance(locks, list) else [locks]


def _worst_cost(model: str, input_tokens: int, max_output_tokens: int) -> float:
    """The most a call can cost: every input token billed as a cache write (the dearest input rate) and the full
    output allowance. Budgets are checked against this, so the real cost never exceeds them."""
    return cost_usd(model, input_tokens=0, cache_write=input_tokens, output_tokens=max_output_tokens)


def _rebase(items: list[dict[str, Any]], unit: Unit) -> list[LlmFindingOut]:
    out: list[LlmFindingOut] = []
    for data in items:
        try:
            moved = dict(data)
            base = unit.first_old_line if data.get("side") == "old" else unit.first_line
            moved["line"] = int(data["line"]) + base
            if data.get("end_line") is not None:
                moved["end_line"] = int(data["end_line"]) + base
            out.append(LlmFindingOut.model_validate(moved))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _account(usage: LlmUsage, model: str, message: Any) -> None:
    used = message.usage
    write = int(getattr(used, "cache_creation_input_tokens", 0) or 0)
    read = int(getattr(used, "cache_read_input_tokens", 0) or 0)
    usage.calls += 1
    usage.input_tokens += int(used.input_tokens or 0)
    usage.output_tokens += int(used.output_tokens or 0)
    usage.cache_write_tokens += write
    usage.cache_read_tokens += read
    usage.cost_usd += cost_usd(model, input_tokens=int(used.input_tokens or 0), output_tokens=int(used.output_tokens
                               or 0), cache_write=write, cache_read=read)


def _describe(exc: Exception) -> str:
    if isinstance(exc, anthropic.APIStatusError):
        kind = {401: "rejected the API key", 403: "denied access", 429: "rate limited",
                529: "overloaded"}.get(exc.status_code)
        kind = kind or ("server error" if exc.status_code >= 500 else "refused the request")
        retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        return f"Anthropic API {kind} (HTTP {exc.status_code})" + (" after retries" if retried else "")
    if isinstance(exc, anthropic.APITimeoutError):
        return "Anthropic API timed out after retries"
    return f"Anthropic API unreachable ({type(exc).__name__})"


def _assessment(parts: list[str]) -> str:
    unique: list[str] = []
    for part in parts:
        text = sanitize_markdown(part)
        if text and text not in unique:
            unique.append(text)
    joined = "\n\n".join(unique)
    return joined if len(joined) <= MAX_ASSESSMENT_CHARS else joined[: MAX_ASSESSMENT_CHARS - 3].rstrip() + "..."


def _pr_text(ctx: ReviewContext) -> PrText:
    change = ctx.change
    commits = change.commit_messages or ctx.facts.get("commit_messages") or []
    comments = change.comments or ctx.facts.get("pr_comments") or []
    return PrText(title=change.title or "", body=change.body or "",
                  commit_messages=[str(c) for c in commits], comments=[str(c) for c in comments])


class _quiet_deprecations(warnings.catch_warnings):
    """The SDK warns on deprecated model ids at every call; the model is the repo's choice, so stay quiet."""

    def __enter__(self) -> Any:
        entered = super().__enter__()
        warnings.simplefilter("ignore", DeprecationWarning)
        return entered
