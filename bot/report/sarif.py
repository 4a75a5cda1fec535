"""SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`)."""

from __future__ import annotations

import json
from typing import Any

from bot import __version__
from bot.findings import Finding, Severity, Side
from bot.registry import all_rules
from bot.review import Review

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULES_URL = "https://github.com/dbreview/dbreview/blob/main/rules/{id}.md"


def render_sarif(review: Review) -> str:
    rules = all_rules()
    used = sorted({f.rule for f in [*review.findings, *review.suppressed]})
    rule_index = {rule_id: i for i, rule_id in enumerate(used)}
    descriptors: list[dict[str, Any]] = []
    for rule_id in used:
        rule = rules.get(rule_id)
        descriptor: dict[str, Any] = {"id": rule_id, "name": rule_id.replace("/", "-")}
        if rule is not None:
            descriptor["shortDescription"] = {"text": rule.summary}
            descriptor["helpUri"] = RULES_URL.format(id=rule_id)
            descriptor["defaultConfiguration"] = {"level": _LEVEL[rule.severity]}
        else:
            descriptor["shortDescription"] = {"text": "LLM review finding"}
        descriptors.append(descriptor)
    results = [_result(f, rule_index) for f in review.findings]
    results += [_result(f, rule_index, suppressed=True) for f in review.suppressed]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dbreview",
                        "version": __version__,
                        "informationUri": "https://github.com/dbreview/dbreview",
                        "rules": descriptors,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2)


def _result(f: Finding, rule_index: dict[str, int], *, suppressed: bool = False) -> dict[str, Any]:
    message = f.message
    line, end_line = f.line, f.last_line
    if f.side is Side.OLD:
        # Code scanning locates results in the head commit; a deleted line has no place there.
        message = f"{message} (about line {f.line} of the previous version of this file)"
        line, end_line = 1, 1
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": _LEVEL[f.severity],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(line, 1), "endLine": max(end_line, line, 1)},
                }
            }
        ],
        "partialFingerprints": {"dbreviewFingerprint/v1": f.fingerprint},
        "properties": {"source": f.source.value},
    }
    if suppressed:
        result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed_reason or ""}]
    return result
