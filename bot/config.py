"""The repository's `.dbreview.yml` (or `.github/dbreview.yml`): plain dataclasses at run time, validated with pydantic
(bot.config_models, imported only when a config file exists), published as JSON schema.

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

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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


# The runtime shape of the config. The file format (keys, types, bounds, defaults) is the pydantic models' in
# bot.config_models; these mirror their fields and defaults (a test keeps the two equal) so that a repository
# without a config file never imports pydantic or builds a model.


@dataclass
class RuleSettings:
    """`severity` or `enabled`, plus the rule's own options (validated against the rule's declared options)."""

    severity: RuleLevel | None = None
    enabled: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PathsConfig:
    """`paths:` where the schema, migrations and query code are, and what to ignore."""

    schema_: list[str] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)


@dataclass
class PathInstruction:
    """`path_instructions:` extra instructions for the LLM review on some paths."""

    path: str
    instructions: str


@dataclass
class LlmConfig:
    """`llm:` the optional AI review, its model and its budget."""

    enabled: bool = True
    model: str = "claude-sonnet-4-6"
    max_output_tokens: int = 8192
    max_input_tokens_per_review: int = 150_000
    max_cost_usd_per_review: float = 1.0
    max_findings: int = 10
    min_confidence: float = 0.6
    deadline_s: float = 180.0


@dataclass
class ReviewConfig:
    """`review:` how findings are posted on GitHub."""

    request_changes: bool = False
    max_inline_comments: int = 10
    inline_info: bool = False
    allow_pr_author_commands: bool = False


@dataclass
class LimitsConfig:
    """How much one review may read and how long it may run; what goes past a limit is a finding, never silence."""

    review_seconds: float = 120.0
    migration_bytes: int = 2_000_000
    query_bytes: int = 1_000_000
    schema_bytes: int = 5_000_000


@dataclass
class FeedbackConfig:
    """What reviewers' answers to dbreview's comments do in this repository (the GitHub App and Action)."""

    summary_only_after: int = 5
    summary_only_ratio: float = 3.0
    keep_inline: list[str] = field(default_factory=list)


@dataclass
class TraceConfig:
    """`trace:` the scratch PostgreSQL server for measured locks and rewrites."""

    database_url: str | None = None
    rows: int = 0


@dataclass
class PlansConfig:
    """Measured query plans (bot.plans), on the trace's scratch server when one is configured."""

    enabled: bool = True
    rows: int = 0
    default_rows: int = 20_000
    max_rows: int = 200_000
    min_cost_cut: float = 0.3
    min_table_rows: int = 10_000
    timeout_s: int = 180
    statement_timeout_s: int = 10


@dataclass
class Config:
    """The whole `.dbreview.yml` (defaults when there is none)."""

    fail_on: FailOn = "error"
    enable: list[str] = field(default_factory=list)
    rules: dict[str, RuleLevel | RuleSettings] = field(default_factory=dict)
    paths: PathsConfig = field(default_factory=PathsConfig)
    context: str = ""
    path_instructions: list[PathInstruction] = field(default_factory=list)
    llm: LlmConfig = field(default_factory=LlmConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    plans: PlansConfig = field(default_factory=PlansConfig)

    # Where the config came from, for messages; not part of the file format.
    source: str = ""

    @classmethod
    def model_validate(cls, data: Mapping[str, Any]) -> Config:
        """A config from a mapping in the file's format, validated (raises pydantic's ValidationError)."""
        from bot.config_models import to_config, validate

        return to_config(validate(dict(data)))

    # -- queries the pipeline and the checks make -------------------------------------------------------------

    def _settings(self, rule_id: str) -> RuleSettings | None:
        value = self.rules.get(rule_id)
        if value is None:
            return None
        if isinstance(value, str):
            return RuleSettings(severity=value)  # type: ignore[arg-type]
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
        if settings is not None and settings.options:
            options.update(settings.options)
        return options


def validate_against_rules(config: Config, where: str) -> None:
    """Unknown rule ids, packs and options are errors that name the key, so typos never silently disable a rule."""
    problems = rule_problems(config)
    if problems:
        raise ConfigError.of(where, problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib

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
            hint = f" (did you mean {short[rule_id]!r}?)" if rule_id in short else did_you_mean(rule_id, rules)
            problems.append(f"rules.{rule_id}: unknown rule id{hint or ' (see `dbreview rules`)'}")
            continue
        if isinstance(value, RuleSettings) and value.options:
            for option, option_value in value.options.items():
                declared = rules[rule_id].options
                if option not in declared:
                    known = ", ".join(sorted(declared)) or "none"
                    problems.append(f"rules.{rule_id}.{option}: unknown option for this rule"
                                    f"{did_you_mean(option, [*declared, 'severity', 'enabled'])} (options: {known})")
                    continue
                default = declared[option]
                if default is not None and not _same_kind(default, option_value):
                    problems.append(f"rules.{rule_id}.{option}: expected {_kind_name(default)}, "
                                    f"got {option_value!r}")
    for rule_id in config.feedback.keep_inline:
        if rule_id not in rules:
            problems.append(f"feedback.keep_inline: unknown rule id {rule_id!r}{did_you_mean(rule_id, rules)}")
    for name in config.enable:
        if name not in rules and name not in packs:
            problems.append(f"enable: unknown rule or pack {name!r}{did_you_mean(name, [*packs, *rules])} "
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
    import yaml

    from bot.config_models import ValidationError, to_config, validate, validation_problems

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
        config = to_config(validate(data))
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a dbreview config") from None
    except ValidationError as exc:
        problems = validation_problems(exc)
        try:  # the rule ids and packs are checked too, so one run lists every problem
            partial = to_config(validate({k: data[k] for k in ("rules", "enable") if k in data}))
        except (ValidationError, RecursionError):
            partial = None
        if partial is not None:
            problems += rule_problems(partial)
        raise ConfigError.of(where, problems) from None
    config.source = where
    validate_against_rules(config, where)
    return config


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
                              f"{did_you_mean(fail_on, ['error', 'warning', 'info', 'never'])}")
        config.fail_on = fail_on  # type: ignore[assignment]
    return config


def json_schema() -> str:
    """The JSON schema of `.dbreview.yml`, for editors and for the docs."""
    import json

    from bot.config_models import schema_dict

    schema = schema_dict()
    schema.get("properties", {}).pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dbreview configuration (.dbreview.yml)"
    return json.dumps(schema, indent=2, sort_keys=True)
