"""Helpers for the plan tests: translate a call from source text, normalise SQL for comparison."""

from __future__ import annotations

import re

from bot.plans.model import Translation, Untranslated
from bot.plans.translate import SchemaLookup, translate
from bot.prisma.load import load_texts
from bot.ts.extract import analysis_from_text

DATASOURCE = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n\n'


def lookup_for(schema: str) -> SchemaLookup:
    load = load_texts({"prisma/schema.prisma": schema if "datasource" in schema else DATASOURCE + schema})
    assert load.schema is not None, load.errors
    return SchemaLookup([load.schema])


def translate_code(schema: str, code: str, path: str = "src/app/api/items/route.ts"
                   ) -> list[Translation] | Untranslated:
    """The translation of the first Prisma call in `code` (wrapped in an async function)."""
    lookup = lookup_for(schema)
    source = "import { prisma } from '@/lib/prisma';\nexport async function GET(search: string, ids: string[]) {\n" \
             f"  {code}\n}}\n"
    analysis = analysis_from_text(path, source, model_accessors=frozenset(lookup.by_accessor))
    assert analysis.calls, f"no Prisma call found in {code!r}"
    result = translate(analysis.calls[0], lookup)
    assert result is not None, "the call is not one the plans translate"
    return result


def only(result: list[Translation] | Untranslated) -> Translation:
    assert isinstance(result, list), f"not translated: {getattr(result, 'reason', result)}"
    assert len(result) == 1, [t.variant for t in result]
    return result[0]


_ALIAS = re.compile(r'"([tj])(\d+)"')


def normalise(text: str) -> str:
    """Whitespace collapsed, no space inside parentheses, table aliases renumbered in order of appearance (the log
    of an older Prisma counts from 0, the current builder from 1)."""
    text = " ".join(text.split())
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    numbers: dict[tuple[str, str], int] = {}

    def renumber(match: re.Match[str]) -> str:
        key = (match.group(1), match.group(2))
        if key not in numbers:
            numbers[key] = len({k for k in numbers if k[0] == match.group(1)})
        return f'"{match.group(1)}{numbers[key]}"'

    return _ALIAS.sub(renumber, text)
