"""`.dbreview.yml`'s validation: the pydantic models of the file format, its JSON schema, and the errors in our words.

Only imported when a config file exists (or for `dbreview config-schema`): a review without one uses the plain
dataclasses of bot.config and never pays for building these models. `to_config` turns a validated model into those
dataclasses; a test keeps both sides' defaults equal.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot import config as runtime
from bot.config import FailOn, RuleLevel, did_you_mean


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RuleSettings(BaseModel):
    """`severity` or `enabled`, plus the rule's own options (validated against the rule's declared options)."""

    model_config = ConfigDict(extra="allow")
    severity: RuleLevel | None = None
    enabled: bool | None = None


class PathsConfig(_Strict):
    schema_: list[str] = Field(default_factory=list, alias="schema")
    migrations: list[str] = Field(default_factory=list)
    query: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)


class PathInstruction(_Strict):
    path: str
    instructions: str


class LlmConfig(_Strict):
    enabled: bool = True
    model: str = "claude-sonnet-4-6"
    # Room for a full answer: 20 findings of a 600-character body each, with titles and suggestions.
    max_output_tokens: int = Field(default=8192, ge=256, le=64000)
    max_input_tokens_per_review: int = Field(default=150_000, ge=1_000)
    max_cost_usd_per_review: float = Field(default=1.0, ge=0)
    max_findings: int = Field(default=10, ge=0, le=100)
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    # The whole LLM step, retries included; past it the deterministic review is posted with a note.
    deadline_s: float = Field(default=180.0, ge=1, le=3600)


class ReviewConfig(_Strict):
    request_changes: bool = False
    max_inline_comments: int = Field(default=10, ge=0, le=100)
    # Info findings are advice: summary only, unless a team wants them on the lines.
    inline_info: bool = False
    allow_pr_author_commands: bool = False


class LimitsConfig(_Strict):
    """How much one review may read and how long it may run; what goes past a limit is a finding, never silence."""

    review_seconds: float = Field(default=120.0, ge=1.0, le=3600.0)
    migration_bytes: int = Field(default=2_000_000, ge=1_000)
    query_bytes: int = Field(default=1_000_000, ge=1_000)
    schema_bytes: int = Field(default=5_000_000, ge=1_000)


class FeedbackConfig(_Strict):
    """What reviewers' answers to dbreview's comments do in this repository (the GitHub App and Action)."""

    # A rule dismissed at least this many times in the repository (0: never)...
    summary_only_after: int = Field(default=5, ge=0)
    # ...and at least this many times as often as it was fixed goes summary-only (no more inline comments).
    summary_only_ratio: float = Field(default=3.0, ge=1)
    # Rules that stay inline whatever their record (how a rule moved to summary-only is restored).
    keep_inline: list[str] = Field(default_factory=list)


class TraceConfig(_Strict):
    database_url: str | None = None
    rows: int = Field(default=0, ge=0)


class PlansConfig(_Strict):
    """Measured query plans (bot.plans), on the trace's scratch server when one is configured."""

    enabled: bool = True
    rows: int = Field(default=0, ge=0)  # rows per table read; 0 = dbreview-stats.json's sizes, else default_rows
    default_rows: int = Field(default=20_000, ge=1)
    max_rows: int = Field(default=200_000, ge=100)  # the largest table is scaled down to this, ratios kept
    min_cost_cut: float = Field(default=0.3, gt=0, le=1)  # an index is advised only when it cuts the cost this much
    min_table_rows: int = Field(default=10_000, ge=0)  # smaller tables get no measured seq-scan finding
    timeout_s: int = Field(default=180, ge=5)  # the whole step, scratch database included
    statement_timeout_s: int = Field(default=10, ge=1)  # one EXPLAIN (or one real index build without HypoPG)


class Config(_Strict):
    fail_on: FailOn = "error"
    enable: list[str] = Field(default_factory=list)
    rules: dict[str, RuleLevel | RuleSettings] = Field(default_factory=dict)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    context: str = ""
    path_instructions: list[PathInstruction] = Field(default_factory=list)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    trace: TraceConfig = Field(default_factory=TraceConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    plans: PlansConfig = Field(default_factory=PlansConfig)

    # Where the config came from, for messages; not part of the file format.
    source: str = Field(default="", exclude=True)

    @field_validator("rules", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `off` as false and `on` as true.
        if not isinstance(value, dict):
            return value
        fixed: dict[Any, Any] = {}
        for rule_id, setting in value.items():
            if setting is False:
                setting = "off"
            elif setting is True:
                setting = {"enabled": True}
            elif not isinstance(setting, (str, dict)):
                raise ValueError(f"{rule_id}: expected off, info, warning, error or a mapping of settings")
            elif isinstance(setting, str) and setting not in ("off", "info", "warning", "error"):
                raise ValueError(f"{rule_id}: expected off, info, warning or error, got {setting!r}")
            fixed[rule_id] = setting
        return fixed

    @field_validator("context")
    @classmethod
    def _context_size(cls, value: str) -> str:
        if len(value) > 8000:
            raise ValueError("context is longer than 8000 characters")
        return value


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The config section (a pydantic model) that `loc` points into, following aliases."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return None
        fields = {(f.alias or name): f for name, f in model.model_fields.items()}
        found = fields.get(str(part))
        if found is None:
            return None
        annotation = found.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items() if name != "source"]


def _literal_choices(loc: tuple[Any, ...]) -> list[str]:
    parent = _model_at(loc[:-1])
    if parent is None:
        return []
    fields = {(f.alias or name): f for name, f in parent.model_fields.items()}
    found = fields.get(str(loc[-1]))
    if found is None:
        return []
    args = typing.get_args(found.annotation)
    return [str(a) for a in args if isinstance(a, str)]


_TYPE_WORDS = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "text", "list_type": "a list (e.g. [a, b])",
    "dict_type": "a mapping of keys", "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
}


def validation_problems(exc: ValidationError) -> list[str]:
    """pydantic's errors in our words: the key, what is expected, what was found, and a guess for typos."""
    problems: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        kind = err["type"]
        got = err.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            keys = _keys_of(parent) if parent is not None else []
            hint = did_you_mean(str(loc[-1]), keys)
            listed = f" (known keys: {', '.join(keys)})" if keys and not hint else ""
            problem = f"unknown key{hint}{listed}"
        elif kind == "literal_error":
            choices = _literal_choices(loc) or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            hint = did_you_mean(str(got), choices) if isinstance(got, str) else ""
            problem = f"expected one of {', '.join(choices)}; got {shown}{hint}"
        elif kind in _TYPE_WORDS:
            problem = f"expected {_TYPE_WORDS[kind]}, got {shown}"
        elif kind in ("greater_than_equal", "greater_than"):
            problem = f"must be at least {ctx.get('ge', ctx.get('gt'))}, got {shown}"
        elif kind in ("less_than_equal", "less_than"):
            problem = f"must be at most {ctx.get('le', ctx.get('lt'))}, got {shown}"
        elif kind == "missing":
            problem = "required key is missing"
        elif kind == "value_error":
            problem = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
        else:
            problem = err["msg"]
        text = f"{key}: {problem}"
        if text not in problems:
            problems.append(text)
    return problems


def validate(data: dict[str, Any]) -> Config:
    """The validated model of a parsed YAML mapping (raises pydantic's ValidationError)."""
    return Config.model_validate(data)


def to_config(model: Config) -> runtime.Config:
    """The runtime dataclasses for a validated model: same field names, nested sections converted one by one."""
    converted = _to_runtime(model)
    assert isinstance(converted, runtime.Config)
    return converted


def _to_runtime(value: Any) -> Any:
    if isinstance(value, RuleSettings):
        return runtime.RuleSettings(severity=value.severity, enabled=value.enabled,
                                    options=dict(value.model_extra or {}))
    if isinstance(value, BaseModel):
        cls = getattr(runtime, type(value).__name__)
        return cls(**{name: _to_runtime(getattr(value, name)) for name in type(value).model_fields})
    if isinstance(value, list):
        return [_to_runtime(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_runtime(v) for k, v in value.items()}
    return value


def schema_dict() -> dict[str, Any]:
    return Config.model_json_schema(by_alias=True)


__all__ = ["ValidationError", "schema_dict", "to_config", "validate", "validation_problems"]
