"""The LLM review: the pipeline's LlmReviewer, on the Anthropic Messages API.

review(ctx, rule_findings): collect the database-relevant hunks, reuse cached results for unchanged hunks, plan the
remaining hunks into calls that fit the context and the budget (tokens counted by the API), call the model with a
forced tool, validate, anchor, deduplicate and sanitise what it says. Any API failure that survives the SDK's own
retries ends the LLM part with `usage.error`: the deterministic review is produced whatever happens here.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import anthropic

from bot.context import ReviewContext
from bot.findings import Finding
from bot.llm.anchoring import finalize
from bot.llm.budget import plan_calls
from bot.llm.cache import ResultCache, cache_key
from bot.llm.output import TOOL_NAME, LlmFindingOut, OutputError, ParsedOutput, parse_tool_input, tool_definition
from bot.llm.pricing import cost_usd, fallback_context_window, price_for
from bot.llm.prompts import PromptSet, load_prompts
from bot.llm.request import PrText, migration_summary, repo_context, system_blocks, user_message
from bot.llm.sanitize import sanitize_markdown
from bot.llm.schema_context import schema_context
from bot.llm.units import Unit, collect_units
from bot.pipeline import LlmResult
from bot.review import LlmUsage

log = logging.getLogger("dbreview.llm")

MAX_ASSESSMENT_CHARS = 1500


def bounded_client(*, max_retry_wait_s: float, **kwargs: Any) -> anthropic.Anthropic:
    """An Anthropic client whose retry waits are capped: the SDK otherwise sleeps as long as retry-after asks."""

    class _BoundedAnthropic(anthropic.Anthropic):
        def _calculate_retry_timeout(self, *args: Any, **kw: Any) -> float:
            return min(super()._calculate_retry_timeout(*args, **kw), max_retry_wait_s)

    return _BoundedAnthropic(**kwargs)


class LlmUnavailable(Exception):
    """The API failed after the SDK's retries (rate limit, overload, 5xx, timeout, connection)."""


class AnthropicReviewer:
    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        cache: ResultCache | None = None,
        prompts: PromptSet | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.client = client
        self.cache = cache
        self.prompts = prompts or load_prompts()
        self._clock = clock
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
        try:
            self._review(ctx, rule_findings, result)
        finally:
            usage.latency_s = self._clock() - started
        return result

    # -- steps ---------------------------------------------------------------------------------------------------

    def _review(self, ctx: ReviewContext, rule_findings: list[Finding], result: LlmResult) -> None:
        llm = ctx.config.llm
        usage = result.usage
        units = collect_units(ctx)
        if not units:
            return
        raw: list[LlmFindingOut] = []
        assessments: list[str] = []
        reviewed: list[Unit] = []
        pending: list[Unit] = []
        for unit in units:
            cached = self.cache.get(self._key(ctx, unit)) if self.cache is not None else None
            if cached is None:
                pending.append(unit)
                continue
            raw.extend(_rebase(cached.get("findings", []), unit))
            if cached.get("assessment"):
                assessments.append(cached["assessment"])
            reviewed.append(unit)
        invalid = 0
        if pending:
            invalid = self._call_model(ctx, rule_findings, units, pending, raw, assessments, reviewed, usage)
        if not price_for(llm.model)[1] and usage.calls:
            result.notes.append(f"LLM cost is an estimate: no price on file for model {llm.model}")
        shown: dict[str, set[int]] = {}
        for unit in reviewed:
            shown.setdefault(unit.path, set()).update(unit.shown_lines)
        outcome = finalize(raw, ctx.change, shown, rule_findings, llm, self.prompts.version)
        result.findings = outcome.findings
        result.notes.extend(outcome.notes)
        if outcome.over_limit:
            result.notes.append(f"{outcome.over_limit} more LLM findings not shown (llm.max_findings = "
                                f"{llm.max_findings})")
        if invalid:
            result.notes.append(f"{invalid} LLM findings did not match the output contract and were dropped")
        result.assessment = _assessment(assessments)
        # usage.not_reviewed and usage.error are rendered by every reporter; no note repeats them.

    def _call_model(self, ctx: ReviewContext, rule_findings: list[Finding], units: list[Unit], pending: list[Unit],
                    raw: list[LlmFindingOut], assessments: list[str], reviewed: list[Unit], usage: LlmUsage) -> int:
        llm = ctx.config.llm
        # Context from the whole change, not only the uncached hunks: the system blocks stay identical between
        # calls and pushes, so they are read from the prompt cache.
        schema_text, left_out = schema_context(ctx, units)
        system = system_blocks(self.prompts, repo_context(ctx.config, sorted({u.path for u in units}), schema_text,
                                                          left_out, ctx.learnings))
        migrations = migration_summary(ctx.facts)
        pr_text = _pr_text(ctx)
        tools = [tool_definition()]

        def message(batch: list[Unit]) -> str:
            return user_message(batch, rule_findings, migrations, pr_text)

        def measure(batch: list[Unit]) -> int:
            return self._count(llm.model, system, tools, message(batch))

        try:
            window = self._context_window(llm.model)
            per_call = min(int(window * 0.98) - llm.max_output_tokens, llm.max_input_tokens_per_review)
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
        usage.not_reviewed.extend(f"{u.label} (too large for one call)" for u in plan.too_big)
        usage.not_reviewed.extend(f"{u.label} (over the review budget)" for u in plan.over_budget)
        invalid = 0
        planned_tokens = sum(plan.batch_tokens)
        worst_cost = sum(_worst_cost(llm.model, t, llm.max_output_tokens) for t in plan.batch_tokens)
        for index, batch in enumerate(plan.batches):
            tokens = plan.batch_tokens[index]

            def retry_fits(tokens: int = tokens, planned: int = planned_tokens, worst: float = worst_cost) -> bool:
                """A repeat call for a broken answer must still fit the review budget (retries count)."""
                extra_cost = _worst_cost(llm.model, tokens, llm.max_output_tokens)
                return (planned + tokens <= llm.max_input_tokens_per_review
                        and worst + extra_cost <= llm.max_cost_usd_per_review)

            calls_before = usage.calls
            try:
                parsed = self._create(llm.model, llm.max_output_tokens, system, tools, message(batch), usage,
                                      retry_fits)
            except LlmUnavailable as exc:
                usage.error = str(exc)
                for rest in plan.batches[index:]:
                    usage.not_reviewed.extend(u.label for u in rest)
                break
            except OutputError as exc:
                log.warning("LLM output unusable: %s", exc)
                usage.not_reviewed.extend(f"{u.label} (the model's answer did not follow the output contract)"
                                          for u in batch)
                continue
            finally:
                for _repeat in range(usage.calls - calls_before - 1):  # repeats spend budget too
                    planned_tokens += tokens
                    worst_cost += _worst_cost(llm.model, tokens, llm.max_output_tokens)
            invalid += parsed.invalid
            raw.extend(parsed.findings)
            if parsed.assessment:
                assessments.append(parsed.assessment)
            reviewed.extend(batch)
            self._store(ctx, batch, parsed)
        return invalid

    # -- API calls -----------------------------------------------------------------------------------------------

    def _count(self, model: str, system: list[dict[str, Any]], tools: list[dict[str, Any]], text: str) -> int:
        for _attempt in range(2):
            try:
                with _quiet_deprecations():
                    counted = self.client.messages.count_tokens(
                        model=model, system=system, tools=tools,  # type: ignore[arg-type]
                        tool_choice=self._tool_choice(model),  # type: ignore[arg-type]
                        messages=[{"role": "user", "content": text}],
                    )
                return int(counted.input_tokens)
            except anthropic.BadRequestError as exc:
                if not self._refuses_forced_tool(model, exc):
                    raise LlmUnavailable(_describe(exc)) from exc
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
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
                    )
            except anthropic.BadRequestError as exc:
                if self._refuses_forced_tool(model, exc):
                    continue
                raise LlmUnavailable(_describe(exc)) from exc
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                raise LlmUnavailable(_describe(exc)) from exc
            attempts += 1
            _account(usage, model, message)
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
                info = self.client.models.retrieve(model)
                window = info.max_input_tokens
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                transient = isinstance(exc, anthropic.APIConnectionError) or exc.status_code in (429, 529)
                if transient:
                    raise LlmUnavailable(_describe(exc)) from exc
                log.info("model info unavailable for %s: %s", model, exc)
            self._windows[model] = int(window) if window else fallback_context_window(model)
        return self._windows[model]

    # -- result cache --------------------------------------------------------------------------------------------

    def _key(self, ctx: ReviewContext, unit: Unit) -> str:
        config = ctx.config
        instructions = "\x1e".join([config.context, *(f"{pi.path}\x1d{pi.instructions}"
                                                       for pi in config.path_instructions)])
        return cache_key(self.prompts.version, config.llm.model, unit.content_hash, instructions)

    def _store(self, ctx: ReviewContext, batch: list[Unit], parsed: ParsedOutput) -> None:
        if self.cache is None:
            return
        per_unit: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(batch))}
        for item in parsed.findings:
            for i, unit in enumerate(batch):
                if unit.path == item.path and item.line in unit.shown_lines:
                    data = item.to_json()
                    data["line"] = item.line - unit.first_line
                    if item.end_line is not None:
                        data["end_line"] = item.end_line - unit.first_line
                    per_unit[i].append(data)
                    break
        for i, unit in enumerate(batch):
            self.cache.put(self._key(ctx, unit), {"findings": per_unit[i], "assessment": parsed.assessment})


def _worst_cost(model: str, input_tokens: int, max_output_tokens: int) -> float:
    """The most a call can cost: every input token billed as a cache write (the dearest input rate) and the full
    output allowance. Budgets are checked against this, so the real cost never exceeds them."""
    return cost_usd(model, input_tokens=0, cache_write=input_tokens, output_tokens=max_output_tokens)


def _rebase(items: list[dict[str, Any]], unit: Unit) -> list[LlmFindingOut]:
    out: list[LlmFindingOut] = []
    for data in items:
        try:
            moved = dict(data)
            moved["line"] = int(data["line"]) + unit.first_line
            if data.get("end_line") is not None:
                moved["end_line"] = int(data["end_line"]) + unit.first_line
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
