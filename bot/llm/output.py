"""The output contract as a tool: the JSON schema the model must fill, and its validation with pydantic.

The model answers through a forced tool call, so its answer is JSON, never prose we would have to parse. Each
finding is validated on its own: one malformed item is dropped and counted, the rest are kept. There is no field
for a review verdict: the LLM cannot approve or block anything.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TOOL_NAME = "report_review"

CATEGORIES = (
    "schema-design",
    "data-types",
    "indexing",
    "migration-safety",
    "data-integrity",
    "transactions",
    "query-performance",
    "security",
    "audit",
    "other",
)

MAX_TITLE = 120
# A finding's body is read in a review thread: a few sentences. The cap also bounds the answer's size, so a call with
# MAX_FINDINGS_PER_CALL findings fits the default output allowance (config llm.max_output_tokens).
MAX_BODY = 600
MAX_ASSESSMENT = 1200
MAX_SUGGESTION = 1500
MAX_FINDINGS_PER_CALL = 20


def tool_definition() -> dict[str, Any]:
    finding = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path exactly as printed in the hunk header."},
            "side": {"type": "string", "enum": ["new", "old"],
                     "description": "`new` (default): line numbers printed before + and unchanged lines; `old`: the "
                                    "number in parentheses before a removed (-) line."},
            "line": {"type": "integer", "minimum": 1, "description": "First line number of the problem."},
            "end_line": {"type": "integer", "minimum": 1, "description": "Last line number (>= line), same side."},
            "severity": {"type": "string", "enum": ["error", "warning", "info"]},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "title": {"type": "string", "maxLength": MAX_TITLE},
            "body": {"type": "string", "maxLength": MAX_BODY},
            "suggestion": {"type": "string", "description": "Exact replacement text for lines line..end_line."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "same_as_rule": {"type": "string",
                             "description": "Rule id of a deterministic finding on these lines that this one extends."},
            "preexisting": {"type": "boolean",
                            "description": "True when the problem lies in unchanged lines: it was there before."},
        },
        "required": ["path", "line", "severity", "category", "title", "body", "confidence"],
        "additionalProperties": False,
    }
    return {
        "name": TOOL_NAME,
        "description": "Report the database review of the hunks shown: an overall assessment and the findings.",
        "input_schema": {
            "type": "object",
            "properties": {
                "assessment": {"type": "string", "maxLength": MAX_ASSESSMENT},
                "findings": {"type": "array", "items": finding, "maxItems": MAX_FINDINGS_PER_CALL},
            },
            "required": ["assessment", "findings"],
            "additionalProperties": False,
        },
    }


class LlmFindingOut(BaseModel):
    """One finding as the model reported it, before anchoring and sanitising."""

    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1, max_length=500)
    side: Literal["new", "old"] = "new"
    line: int = Field(ge=1)
    end_line: int | None = Field(default=None, ge=1)
    severity: Literal["error", "warning", "info"] = "info"
    category: str = "other"
    title: str = Field(min_length=1)
    body: str = ""
    suggestion: str | None = None
    confidence: float = Field(ge=0, le=1)
    same_as_rule: str | None = None
    preexisting: bool = False

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: Any) -> Any:
        return "old" if isinstance(value, str) and value.lower() in ("old", "left", "base") else "new"

    @field_validator("category", mode="before")
    @classmethod
    def _known_category(cls, value: Any) -> str:
        return value if isinstance(value, str) and value in CATEGORIES else "other"

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return " ".join(value.split())[:MAX_TITLE]

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return value.strip()[:MAX_BODY]

    @field_validator("suggestion")
    @classmethod
    def _suggestion(cls, value: str | None) -> str | None:
        if value is None or len(value) > MAX_SUGGESTION:
            return None
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return value.strip().removeprefix("./").removeprefix("b/")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


class ParsedOutput(BaseModel):
    assessment: str = ""
    findings: list[LlmFindingOut] = Field(default_factory=list)
    invalid: int = 0


class OutputError(Exception):
    """The model's answer has no usable tool call (no tool_use block, its input is not an object, or a required field
    is missing)."""


class TruncatedOutput(OutputError):
    """The answer was cut by the output limit (stop_reason `max_tokens`): what it holds is not the whole review."""


def parse_tool_input(raw: Any) -> ParsedOutput:
    if not isinstance(raw, dict):
        raise OutputError(f"tool input is {type(raw).__name__}, not an object")
    # Both fields are required: an answer without `findings` is not "no findings", it is an answer we did not get
    # (a cut-off reply, a model that wandered off the contract). Caching it would hide the hunks for a month.
    missing = [name for name in ("assessment", "findings") if name not in raw]
    if missing:
        raise OutputError(f"required field {missing[0]!r} is missing from the answer")
    assessment = raw.get("assessment")
    items = raw["findings"]
    if not isinstance(items, list):
        raise OutputError("`findings` is not a list")
    parsed: list[LlmFindingOut] = []
    invalid = 0
    for item in items[: MAX_FINDINGS_PER_CALL * 2]:
        try:
            parsed.append(LlmFindingOut.model_validate(item))
        except ValidationError:
            invalid += 1
    invalid += max(0, len(items) - MAX_FINDINGS_PER_CALL * 2)
    text = assessment.strip()[:MAX_ASSESSMENT] if isinstance(assessment, str) else ""
    return ParsedOutput(assessment=text, findings=parsed, invalid=invalid)
