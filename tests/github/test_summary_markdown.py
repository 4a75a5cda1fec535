"""The summary's markdown never renders broken: fuzzed finding text through a real CommonMark/GFM parser.

What a reader sees (text and code, after parsing) must be exactly the message, or the message cut between words or
between whole code spans with "…"; never a stray backtick, never half a code span, never a swallowed line.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.findings import Finding, Severity, Side, Source
from bot.github.comments import sanitize
from bot.report import md
from bot.report.summary import SummaryContext, render_summary
from bot.review import Review

PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
TRICKY = "`|*_[]<>&\\#~!()$:{}\"' .,;-/@\n\t"
FRAGMENTS = ["`", "``", "*", "**", "_", "__", "a", "bc", "Order.total", " ", " ", "|", "<b>", "</b>", "[x](y)",
             "[", "]", "(", ")", "\\", "&amp;", "&", "#", "~~", "${id}", "\n", "é", "漢", "…", ":", ". ", ", ",
             "<!--", "-->", "@octo", "http://x.io", "<code>", "!", "-", "1."]
WORDS = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + TRICKY + "éß→…漢", max_size=160),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _visible(inline_tokens: list) -> str:
    """The text a reader sees in a paragraph's inline tokens (code spans and <code> elements as their content)."""
    out = []
    for tok in inline_tokens:
        if tok.type in ("text", "code_inline"):
            out.append(tok.content)
        elif tok.type == "softbreak":
            out.append(" ")
        elif tok.type == "html_inline":
            assert tok.content in ("<code>", "</code>"), f"unexpected HTML {tok.content!r}"
        elif tok.type.endswith("_open") or tok.type.endswith("_close"):
            raise AssertionError(f"markup appeared from plain text: {tok.type}")
    return "".join(out)


def _paragraph(markdown: str) -> list:
    tokens = PARSER.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], markdown
    return tokens[1].children or []


@SETTINGS
@given(WORDS, st.one_of(st.none(), st.integers(min_value=1, max_value=200)))
def test_inline_message_renders_exactly_its_text(message: str, limit: int | None) -> None:
    parts = md.segments(message)
    expected = md.plain(md.cut(parts, limit) if limit is not None else parts)
    rendered = md.inline(message, limit)
    if not expected.strip():
        return
    # Leading/trailing spaces of a paragraph are not shown; a leading "-", "+", "1." or ">" would need a list
    # marker context, which the summary never gives (a message always follows an icon or a link).
    seen = _visible(_paragraph("x " + rendered))
    assert seen == ("x " + expected).rstrip(), (message, rendered)
    if limit is not None:
        assert len(expected) <= max(limit, 1) or sum(p.code for p in md.cut(parts, limit)) == 1


@SETTINGS
@given(WORDS)
def test_titles_cut_between_segments_never_inside_code(message: str) -> None:
    parts = md.segments(message)
    title = md.title_segments(message, 60)
    codes_in = [p.text for p in parts if p.code]
    for i, seg in enumerate(title):
        if seg.code:
            assert seg.text in codes_in or (len(title) <= 2 and i == 0), (message, title)
    assert len(md.plain(title)) <= 61 or len(title) == 1


def test_nested_backticks_of_a_tagged_template_become_one_code_element() -> None:
    message = ("Use the tagged template `prisma.$queryRaw`SELECT ... WHERE id = ${id}`` so values are sent as "
               "parameters (`Prisma.sql`).")
    rendered = md.inline(message)
    assert "<code>prisma.$queryRaw&#96;SELECT ... WHERE id = ${id}&#96;</code>" in rendered
    seen = _visible(_paragraph(rendered))
    assert seen == "Use the tagged template prisma.$queryRaw`SELECT ... WHERE id = ${id}` so values are sent as " \
                   "parameters (Prisma.sql)."


def test_a_cut_never_leaves_a_code_span_open() -> None:
    message = "`" + "a" * 50 + "` then `" + "b" * 80 + "` and more"
    for limit in range(5, 150, 7):
        rendered = md.inline(message, limit)
        assert rendered.count("`") % 2 == 0
        _visible(_paragraph("x " + rendered))


def test_pipes_in_code_are_escaped_only_in_table_cells() -> None:
    assert md.code("a|b") == "`a|b`"
    assert md.code("a|b", table=True) == "`a\\|b`"
    table = PARSER.parse("| h |\n|---|\n| " + md.code("a|b", table=True) + " |\n")
    cells = [t for t in table if t.type == "inline"]
    assert cells[-1].children[0].content == "a|b"


def _finding(i: int, message: str, path: str, severity: Severity, **kw: object) -> Finding:
    return Finding(f"r/rule-{i % 3}", severity, path, i + 1, message, key=str(i), fingerprint=f"fp{i:06d}",
                   **kw)  # type: ignore[arg-type]


@SETTINGS
@given(st.lists(st.tuples(WORDS, st.sampled_from(["a.sql", "src/x|y.ts", "p/[id]/page.tsx", "s*h_e.prisma"]),
                          st.sampled_from(list(Severity)), st.booleans(), st.booleans()), min_size=1, max_size=12),
       st.booleans())
def test_summary_structure_survives_any_finding_text(rows: list, in_pr: bool) -> None:
    findings, preexisting, inline = [], [], set()
    for i, (message, path, severity, pre, inl) in enumerate(rows):
        f = _finding(i, message or "m", path, severity, preexisting=pre, side=Side.OLD if i % 5 == 4 else Side.NEW,
                     source=Source.LLM if i % 7 == 6 else Source.RULE)
        (preexisting if pre else findings).append(f)
        if inl and severity is not Severity.INFO:
            inline.add(f.fingerprint)
    review = Review(findings=findings, preexisting=preexisting, has_database_surface=True,
                    files={"schema": ["s*h_e.prisma"]}, notes=["a `note` with | and <b>"])
    not_inlined = [(f, "over the limit of 1 inline comments per review" if f.line % 2 else "outside the diff")
                   for f in findings if f.fingerprint not in inline]
    ctx = SummaryContext(not_inlined=not_inlined, inline=inline if in_pr else None,
                         pr_url="https://github.com/o/r/pull/1", max_inline=1)
    text = render_summary(review, ctx)
    for body in (text, sanitize(text)):
        tokens = PARSER.parse(body)
        opens = sum(t.content.count("<details>") for t in tokens if t.type == "html_block")
        closes = sum(t.content.count("</details>") for t in tokens if t.type == "html_block")
        assert opens == closes
        assert not [t for t in tokens if t.type == "fence" and t.info != "mermaid"]
        for tok in tokens:
            if tok.type == "inline":
                for child in tok.children or []:
                    assert child.type != "html_inline" or child.content in (
                        "<code>", "</code>", "<br>", "<sub>", "</sub>"), child.content
    if preexisting:
        assert ("were already there" in text) or ("was already there" in text)
