from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_testkit import SCHEMA

from bot.checks.query import file_checks
from bot.checks.query.common import QueryInput
from bot.checks.query.schema_view import view_of
from bot.prisma.load import load_texts
from bot.ts.extract import analyze_file

HERE = Path(__file__).parent
SOURCES = [
    text.split('"""', 2)[1]
    for name in ("test_n_plus_one.py", "test_transactions.py", "test_schema_joined.py")
    for text in (HERE / name).read_text().split(' = """\\\n')[1:]
]
VIEW = view_of([load_texts({"schema.prisma": SCHEMA}).schema])


def _run_all(path: str, data: bytes) -> None:
    analysis = analyze_file(path, data, model_accessors=frozenset(VIEW.accessors))
    inp = QueryInput(analysis, VIEW, lambda rule: rule.options)
    for check in file_checks():
        check(inp)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(SOURCES) - 1), st.integers(min_value=0, max_value=4000),
       st.text(alphabet="{}()[]`'\";$<>=.,:/\\ \nawait prisma tx", max_size=12),
       st.sampled_from(["a.ts", "a.tsx", "a.js", "a.mjs"]))
def test_mutated_sources_never_raise(index, cut, noise, path):
    source = SOURCES[index]
    cut = cut % (len(source) + 1)
    _run_all(path, (source[:cut] + noise + source[cut:]).encode())
    _run_all(path, source[:cut].encode())


def test_binary_file_is_skipped_not_parsed():
    from bot.testing import context_for
    from bot.ts import file_analysis

    ctx = context_for({}, {"src/a.ts": "export const a = 1;\n"})
    ctx.change.head._files["src/bin.ts"] = b"\x00\x01\x02prisma.user.findMany()"  # type: ignore[attr-defined]
    assert file_analysis(ctx, "src/bin.ts").skipped == "binary"
    assert file_analysis(ctx, "src/missing.ts").skipped == "not readable"


def test_deeply_nested_code_does_not_crash():
    code = "export const f = () => " + "[" * 3000 + "prisma.user.findMany()" + "]" * 3000 + ";\n"
    analysis = analyze_file("deep.ts", code.encode())
    assert analysis.skipped is None or "nested" in analysis.skipped
