"""query/dropped-column-used: the change drops or renames a field (or model) but code anywhere in the repository
still selects, filters, sorts or writes it. Reported on the code, as caused by the change."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.change import decode_text, prefetch
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.surfaces import calls_prisma, is_query_path
from bot.ts import file_analysis
from bot.ts.values import JsArray, JsLiteral, JsObject, JsValue

from .common import call_finding, is_test_path
from .gone import Gone, everything_gone
from .schema_view import accessor_of

if TYPE_CHECKING:
    from bot.ts.model import PrismaCall

RULE = define(
    "query/dropped-column-used", Severity.ERROR, Surface.QUERY,
    "Code still reads or writes a field (or model) the change drops or renames",
)

_MAX_FILES = 3000  # each file is read through the head snapshot (an API call per file on GitHub)
_FIELD_KEYS = ("where", "select", "omit", "data", "orderBy", "cursor", "create", "update", "having")
_NAME_LIST_KEYS = ("distinct", "by")


def _keys_used(args: JsObject | None) -> set[str]:
    """Field names a call's arguments name at the model's own level."""
    used: set[str] = set()
    if args is None:
        return used

    def scan(value: JsValue | None, logical: bool = False) -> None:
        if isinstance(value, JsArray):
            for item in value.items:
                scan(item, logical)
        elif isinstance(value, JsObject):
            for key, sub in value.entries.items():
                if key in ("AND", "OR", "NOT") and logical:
                    scan(sub, True)
                else:
                    used.add(key)

    for key in _FIELD_KEYS:
        scan(args.get(key), logical=(key in ("where", "having")))
    for key in _NAME_LIST_KEYS:
        value = args.get(key)
        items = value.items if isinstance(value, JsArray) else [value]
        used.update(str(v.value) for v in items if isinstance(v, JsLiteral) and isinstance(v.value, str))
    return used


def _usage(call: PrismaCall, gone: Gone) -> bool:
    if call.accessor not in gone.accessors:
        return False
    if gone.field is None:
        return call.accessor == gone.accessors[0]
    return gone.field in _keys_used(call.args)


def analyze(ctx: ReviewContext, items: list[Gone] | None = None) -> list[Finding]:
    """Calls anywhere in the head tree that use what the change removes (`items`: bot.checks.query.gone's list,
    computed here when not given)."""
    if items is None:
        items = everything_gone(ctx)
    if not items:
        return []
    words = {g.field or g.accessors[0] for g in items}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words)) + r")\b")
    try:
        listing = ctx.change.head.list_files()
    except Exception:
        return []
    out: list[Finding] = []
    candidates = [path for path in listing if is_query_path(path) and not is_test_path(path)]
    # Every candidate is read: from git in batches, not one round trip per file.
    prefetch(ctx.change.head, candidates[:_MAX_FILES])
    for scanned, path in enumerate(candidates, start=1):
        if scanned > _MAX_FILES:
            ctx.note(f"query/dropped-column-used: stopped after {_MAX_FILES} files")
            break
        text = decode_text(ctx.change.head.read_bytes(path))
        # A word the pattern matches is in the text as written: the plain substring test skips most files faster
        # than the pattern, whose leading `\b` keeps the engine from scanning ahead.
        if not text or not any(word in text for word in words) or not pattern.search(text) or not calls_prisma(text):
            continue
        analysis = file_analysis(ctx, path)
        for call in analysis.calls:
            for gone in items:
                if _usage(call, gone):
                    if gone.field is None and call.accessor in gone.accessors and call.resolved_by.startswith(
                            "client binding; member not a schema model"):
                        # The member is missing from the head schema because this change removed the model: the
                        # receiver is a bound client, so the call is certainly Prisma's and fails after deploy.
                        call = replace(call, confidence=1.0)
                    out.append(call_finding(RULE, call, _message(call, gone), caused_by_change=True,
                                            key_suffix=f"{gone.model}.{gone.field or ''}"))
    return out


def _message(call: PrismaCall, gone: Gone) -> str:
    where = f" ({gone.schema_path}" + (f":{gone.schema_line}" if gone.schema_line else "") + ")" \
        if gone.schema_path else ""
    if gone.field is None:
        subject = f"model `{gone.model}`"
        fix = f"switch to `{accessor_of(gone.replacement)}`" if gone.replacement else "remove or migrate the call"
    else:
        subject = f"`{gone.model}.{gone.field}`"
        fix = f"use `{gone.replacement}`" if gone.replacement else "remove it from the query"
    verb = "renames" if gone.replacement else "drops"
    return (f"This change {verb} {subject}{where}, but `{call.target}` in `{call.function.name}` still uses it: "
            f"after `prisma generate` this fails to compile, and deployed code fails at run time with an unknown "
            f"argument / missing column error. Update the call ({fix}) in the same change, or ship the schema "
            f"change after the code stops using it (expand, then contract).")
