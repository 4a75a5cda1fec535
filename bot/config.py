"""The repository's `.dbreview.yml` (or `.github/dbreview.yml`): validated with pydantic, published as JSON schema.

    fail_on: error                  # error | warning | never
    enable: [naming]                # opt-in packs or rule ids
    rules:
      prisma/float-money: error     # off | info | warning | error
      prisma/too-many-indexes: {severity: info, max_indexes: 8}
    paths:
      schema: ["packages/db/prisma/**/*.prisma"]
      migrations: ["packages/db/migrations/**"]
      query: ["apps/**/*.ts"]
      ignore: ["**/generated/**"]
    context: "Marketplace; orders and payouts tables hold 50M rows."
"""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.findings import Severity

if TYPE_CHECKING:
    from bot.change import Snapshot
    from bot.registry import Rule

CONFIG_PATHS = (".dbreview.yml", ".dbreview.yaml", ".github/dbreview.yml", ".github/dbreview.yaml")

FailOn = Literal["error", "warning", "info", "never"]
RuleLevel = Literal["off", "info", "warning", "error"]


class ConfigError(Exception):
    """An invalid config file. The message names the file and, for each problem, the key and what is wrong, on one
    line; `problems` holds them one by one (the CLI prints one per line)."""

    def __init__(self, message: str, problems: list[str] | None = None, where: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.problems = problems if problems is not None else [message]

    @classmethod
    def of(cls, where: str, problems: list[str]) -> ConfigError:
        if len(problems) == 1:
            return cls(f"{where}: {problems[0]}", problems, where)
        return cls(f"{where}: {len(problems)} problems: " + "; ".join(problems), problems, where)


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

    # -- queries the pipeline and the checks make -------------------------------------------------------------

    def _settings(self, rule_id: str) -> RuleSettings | None:
        value = self.rules.get(rule_id)
        if value is None:
            return None
        if isinstance(value, str):
            return RuleSettings(severity=value)
        return value

    def is_enabled(self, rule: Rule) -> bool:
        settings = self._settings(rule.id)
        if settings is not None:
            if settings.severity == "off" or settings.enabled is False:
                return False
            if settings.enabled or settings.severity is not None:
                return True
        if rule.id in self.enable or (rule.pack and rule.pack in self.enable):
            return True
        return rule.enabled_by_default

    def severity_for(self, rule: Rule, default: Severity) -> Severity:
        settings = self._settings(rule.id)
        if settings is not None and settings.severity not in (None, "off"):
            return Severity(settings.severity)
        return default

    def has_severity_override(self, rule_id: str) -> bool:
        settings = self._settings(rule_id)
        return settings is not None and settings.severity not in (None, "off")

    def rule_options(self, rule: Rule) -> dict[str, Any]:
        options = dict(rule.options)
        settings = self._settings(rule.id)
        if settings is not None and settings.model_extra:
            options.update(settings.model_extra)
        return options


def validate_against_rules(config: Config, where: str) -> None:
    """Unknown rule ids, packs and options are errors that name the key, so typos never silently disable a rule."""
    problems = rule_problems(config)
    if problems:
        raise ConfigError.of(where, problems)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rule_problems(config: Config) -> list[str]:
    from bot.registry import all_rules

    rules = all_rules()
    packs = {r.pack for r in rules.values() if r.pack}
    problems: list[str] = []
    for rule_id, value in config.rules.items():
        if rule_id not in rules:
            short = {r.split("/", 1)[-1]: r for r in rules}
            hint = f" (did you mean {short[rule_id]!r}?)" if rule_id in short else _did_you_mean(rule_id, rules)
            problems.append(f"rules.{rule_id}: unknown rule id{hint or ' (see `dbreview rules`)'}")
            continue
        if isinstance(value, RuleSettings) and value.model_extra:
            for option, option_value in value.model_extra.items():
                declared = rules[rule_id].options
                if option not in declared:
                    known = ", ".join(sorted(declared)) or "none"
                    problems.append(f"rules.{rule_id}.{option}: unknown option for this rule"
                                    f"{_did_you_mean(option, [*declared, 'severity', 'enabled'])} (options: {known})")
                    continue
                default = declared[option]
                if default is not None and not _same_kind(default, option_value):
                    problems.append(f"rules.{rule_id}.{option}: expected {_kind_name(default)}, "
                                    f"got {option_value!r}")
    for rule_id in config.feedback.keep_inline:
        if rule_id not in rules:
            problems.append(f"feedback.keep_inline: unknown rule id {rule_id!r}{_did_you_mean(rule_id, rules)}")
    for name in config.enable:
        if name not in rules and name not in packs:
            problems.append(f"enable: unknown rule or pack {name!r}{_did_you_mean(name, [*packs, *rules])} "
                            f"(packs: {', '.join(sorted(packs))})")
    return problems


def _kind_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, list):
        return "a list"
    if isinstance(default, dict):
        return "a mapping"
    return "text"


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


# A dbreview config is a few hundred bytes nested three or four levels deep. Past these limits it is not one, and
# PyYAML would spend seconds (deep flow collections) before failing.
MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NESTING = 32


def _flow_nesting(text: str) -> int:
    """The deepest `[`/`{` nesting outside quotes and comments (a cheap scan, before YAML parses anything)."""
    depth = deepest = 0
    quote = ""
    comment = False
    for i, ch in enumerate(text):
        if comment:
            comment = ch != "\n"
        elif quote:
            if ch == quote and not (quote == '"' and text[i - 1] == "\\"):
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_CONFIG_NESTING:
                    return deepest
        elif ch in "]}" and depth:
            depth -= 1
    return deepest


def parse_config(text: str, where: str = ".dbreview.yml") -> Config:
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: {len(text) // 1024} KB is too large to be a dbreview config")
    if _flow_nesting(text) > MAX_CONFIG_NESTING:
        raise ConfigError(f"{where}: nested too deeply to be a dbreview config")
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a dbreview config") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{at}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a dbreview config") from None
    except ValidationError as exc:
        problems = validation_problems(exc)
        try:  # the rule ids and packs are checked too, so one run lists every problem
            partial = Config.model_validate({k: data[k] for k in ("rules", "enable") if k in data})
        except (ValidationError, RecursionError):
            partial = None
        if partial is not None:
            problems += rule_problems(partial)
        raise ConfigError.of(where, problems) from None
    config.source = where
    validate_against_rules(config, where)
    return config


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
            hint = _did_you_mean(str(loc[-1]), keys)
            listed = f" (known keys: {', '.join(keys)})" if keys and not hint else ""
            problem = f"unknown key{hint}{listed}"
        elif kind == "literal_error":
            choices = _literal_choices(loc) or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            hint = _did_you_mean(str(got), choices) if isinstance(got, str) else ""
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


# Set by the GitHub Action from its inputs (`config`, `working-directory`, `fail-on`); honoured by every front door.
CONFIG_ENV, WORKDIR_ENV, FAIL_ON_ENV = "DBREVIEW_CONFIG", "DBREVIEW_WORKING_DIRECTORY", "DBREVIEW_FAIL_ON"


def config_candidates(env: Mapping[str, str] | None = None) -> list[str]:
    """Where the config is looked for, first match wins: an explicit path, then the working directory's, then the
    repository root's."""
    env = os.environ if env is None else env
    out: list[str] = []
    explicit = (env.get(CONFIG_ENV) or "").strip().strip("/")
    if explicit:
        out.append(posixpath.normpath(explicit))
    workdir = (env.get(WORKDIR_ENV) or "").strip().strip("/")
    if workdir and workdir != ".":
        out += [posixpath.normpath(f"{workdir}/{rel}") for rel in CONFIG_PATHS]
    out += list(CONFIG_PATHS)
    return [p for p in dict.fromkeys(out) if not p.startswith("..")]


def load_config(snapshot: Snapshot | None = None, repo_dir: Path | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """The first config file found at the snapshot (a PR's base branch) or in a directory; defaults otherwise.
    `DBREVIEW_FAIL_ON` (the Action's `fail-on` input) overrides the file's `fail_on`."""
    from bot.change import decode_text

    env = os.environ if env is None else env
    config: Config | None = None
    explicit = (env.get(CONFIG_ENV) or "").strip()
    candidates = config_candidates(env)
    if explicit and posixpath.normpath(explicit.strip("/")) != candidates[0]:
        raise ConfigError(f"{explicit}: the config path must be inside the repository")
    for rel in candidates:
        text: str | None = None
        if snapshot is not None:
            text = decode_text(snapshot.read_bytes(rel))
        elif repo_dir is not None and (repo_dir / rel).is_file():
            text = (repo_dir / rel).read_text("utf-8", errors="replace")
        if text is not None:
            config = parse_config(text, rel)
            break
        if explicit and rel == candidates[0]:
            raise ConfigError(f"{rel}: no such config file (named by the `config` input / ${CONFIG_ENV})")
    config = config or Config()
    fail_on = (env.get(FAIL_ON_ENV) or "").strip()
    if fail_on:
        if fail_on not in ("error", "warning", "info", "never"):
            raise ConfigError(f"fail-on: expected one of error, warning, info, never; got {fail_on!r}"
                              f"{_did_you_mean(fail_on, ['error', 'warning', 'info', 'never'])}")
        config.fail_on = fail_on  # type: ignore[assignment]
    return config


def json_schema() -> str:
    """The JSON schema of `.dbreview.yml`, for editors and for the docs."""
    schema = Config.model_json_schema(by_alias=True)
    schema.get("properties", {}).pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dbreview configuration (.dbreview.yml)"
    return json.dumps(schema, indent=2, sort_keys=True)
