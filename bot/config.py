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

import json
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
    """An invalid config file; the message names the file, the key and what is wrong, on one line."""


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


class TraceConfig(_Strict):
    database_url: str | None = None
    rows: int = Field(default=0, ge=0)


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
    from bot.registry import all_rules

    rules = all_rules()
    packs = {r.pack for r in rules.values() if r.pack}
    for rule_id, value in config.rules.items():
        if rule_id not in rules:
            raise ConfigError(f"{where}: rules.{rule_id}: unknown rule id (see `dbreview rules`)")
        if isinstance(value, RuleSettings) and value.model_extra:
            for option, option_value in value.model_extra.items():
                declared = rules[rule_id].options
                if option not in declared:
                    known = ", ".join(sorted(declared)) or "none"
                    raise ConfigError(
                        f"{where}: rules.{rule_id}.{option}: unknown option for this rule (options: {known})"
                    )
                default = declared[option]
                if default is not None and not _same_kind(default, option_value):
                    raise ConfigError(
                        f"{where}: rules.{rule_id}.{option}: expected {type(default).__name__}, "
                        f"got {type(option_value).__name__}"
                    )
    for name in config.enable:
        if name not in rules and name not in packs:
            raise ConfigError(f"{where}: enable: unknown rule or pack {name!r} (packs: {', '.join(sorted(packs))})")


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def parse_config(text: str, where: str = ".dbreview.yml") -> Config:
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
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{where}: {loc}: unknown key") from None
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None
    config.source = where
    validate_against_rules(config, where)
    return config


def load_config(snapshot: Snapshot | None = None, repo_dir: Path | None = None) -> Config:
    """The first config file found at the snapshot (a PR's base branch) or in a directory; defaults otherwise."""
    from bot.change import decode_text

    for rel in CONFIG_PATHS:
        text: str | None = None
        if snapshot is not None:
            text = decode_text(snapshot.read_bytes(rel))
        elif repo_dir is not None and (repo_dir / rel).is_file():
            text = (repo_dir / rel).read_text("utf-8", errors="replace")
        if text is not None:
            return parse_config(text, rel)
    return Config()


def json_schema() -> str:
    """The JSON schema of `.dbreview.yml`, for editors and for the docs."""
    schema = Config.model_json_schema(by_alias=True)
    schema.get("properties", {}).pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dbreview configuration (.dbreview.yml)"
    return json.dumps(schema, indent=2, sort_keys=True)
