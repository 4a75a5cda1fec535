"""The summary comment, the ER diagram, comment bodies and anchors, without a server."""

from __future__ import annotations

import re
from pathlib import Path

import gh_trees as trees
import pytest

from bot.change import ChangedFile, FileStatus, parse_diff
from bot.findings import Finding, Severity, Side, Source, Suggestion
from bot.github.anchors import Anchor, anchor_for, valid_against
from bot.github.comments import comment_body, fingerprint_of, sanitize
from bot.prisma.load import load_texts
from bot.report.mermaid import er_diagram
from bot.report.summary import SummaryContext, lock_table, render_summary, verdict
from bot.review import LlmUsage, Review
from bot.testing import change_from_trees

CORPUS_SCHEMAS = [
    "langfuse/packages/shared/prisma/schema.prisma",
    "hoppscotch/packages/hoppscotch-backend/prisma/schema.prisma",
    "umami/prisma/schema.prisma",
]
_MERMAID_LINE = re.compile(
    r'^(erDiagram|    \w+ \{|        \w+ \w+( (PK|FK|UK)(, (PK|FK|UK))*)?|        more fields "\d+ not shown"|    \}|'
    r'    \w+ (\|\||\|o|\}o)--(o\{|o\||\|\|) \w+ : "\w+")$'
)
MAX_ER_MODELS = 24


def _f(severity: Severity, source: Source = Source.RULE, **kw: object) -> Finding:
    return Finding("r/x", severity, "a.sql", 1, "m", source=source, **kw)  # type: ignore[arg-type]


def test_verdict_follows_fail_on_and_ignores_llm_for_failing() -> None:
    assert "1 error to fix" in verdict(Review(findings=[_f(Severity.ERROR)]), "error")
    assert "Worth a look" in verdict(Review(findings=[_f(Severity.ERROR, Source.LLM)]), "error")
    assert "to fix before merging" in verdict(Review(findings=[_f(Severity.WARNING)]), "warning")
    assert "No database problems" in verdict(Review(), "error")


@pytest.mark.parametrize("rel", CORPUS_SCHEMAS)
def test_er_diagram_of_every_corpus_model_is_valid_mermaid(corpus_dir: Path, rel: str) -> None:
    text = (corpus_dir / rel).read_text()
    schema = load_texts({rel: text}).schema
    assert schema is not None, "the schema parser should read the corpus schema"
    models = list(schema.models.values())
    diagram = er_diagram(schema, [m.name for m in models])
    bad = [ln for ln in diagram.splitlines() if not _MERMAID_LINE.match(ln)]
    assert not bad
    assert diagram.count(" {") == min(len(models), MAX_ER_MODELS)


def test_er_diagram_cardinalities() -> None:
    schema = """model User {
  id      Int      @id
  profile Profile?
  posts   Post[]
  tags    Tag[]
}
model Profile {
  id     Int  @id
  userId Int  @unique
  user   User @relation(fields: [userId], references: [id])
}
model Post {
  id       Int   @id
  authorId Int?
  author   User? @relation(fields: [authorId], references: [id])
}
model Tag {
  id    Int    @id
  users User[]
}
"""
    parsed = load_texts({"schema.prisma": schema}).schema
    assert parsed is not None
    diagram = er_diagram(parsed, ["User", "Profile", "Post", "Tag"])
    assert 'User ||--o| Profile : "user"' in diagram
    assert 'User |o--o{ Post : "author"' in diagram
    assert 'Tag }o--o{ User : "tags"' in diagram or 'Tag }o--o{ User : "users"' in diagram
    assert "Int userId FK, UK" in diagram


def test_summary_with_real_pipeline_findings_locks_and_diagram() -> None:
    from bot.pipeline import review

    change = change_from_trees(trees.BASE, trees.PUSH1)
    result = review(change)
    text = render_summary(result, SummaryContext(change=change, not_inlined=[(f, "test") for f in result.findings],
                                                 inline=set()))
    assert text.startswith("<!-- dbreview:summary -->")
    assert "### Migration lock impact" in text and "ACCESS EXCLUSIVE on `Order`" in text
    assert "```mermaid\nerDiagram" in text and 'Order["Order (changed)"]' in text and "User ||--o{ Order" in text
    listed = [f for f in result.findings if f.severity is not Severity.INFO]
    assert text.count("\n- ") >= len(result.findings)  # one line each, then the full text (collapsed)
    assert f"Full text of the {len(listed)} findings without an inline comment" in text


def test_lock_table_shapes() -> None:
    rows = [{"path": "prisma/migrations/20260101_x/migration.sql", "line": 3, "statement": "CREATE INDEX a|b ON t",
             "lock": "SHARE", "blocks": ("INSERT", "UPDATE"), "table": "t", "held_until": "end of file"}]
    table = lock_table(rows)
    assert table.startswith("Migration `20260101_x`; each lock is held until end of file")
    assert "| 3 | `CREATE INDEX a\\|b ON t` | SHARE on `t` | INSERT, UPDATE |" in table
    two = lock_table([*rows, {**rows[0], "path": "prisma/migrations/20260102_y/migration.sql", "held_until": "now"}])
    assert "| Migration | Statement | Lock | Blocks | Held until |" in two
    assert "| `20260102_y`:3 | `CREATE INDEX a\\|b ON t` | SHARE on `t` | INSERT, UPDATE | now |" in two


def test_summary_footer_and_partial_llm_review_are_visible() -> None:
    usage = LlmUsage(model="claude-sonnet-4-5", calls=2, input_tokens=12000, output_tokens=800, cost_usd=0.048,
                     not_reviewed=["src/big.ts"])
    text = render_summary(Review(findings=[], has_database_surface=True, llm=usage, files={"query": ["src/a.ts"]}))
    assert "`claude-sonnet-4-5` · 2 calls · 12,000 in / 800 out tokens · $0.0480" in text
    assert "**Not seen by the AI review (budget):** `src/big.ts`" in text
    failed = render_summary(Review(has_database_surface=True, llm=LlmUsage(error="APITimeoutError: timed out")),
                            SummaryContext(bot_errors=["the AI review failed: APITimeoutError"]))
    assert "AI review: failed (APITimeoutError: timed out)" in failed and "[!NOTE]" in failed


def test_summary_is_summarised_to_fit() -> None:
    findings = [Finding("r/x", Severity.WARNING, f"src/f{i}.ts", i + 1, "y" * 390, key=str(i)) for i in range(2000)]
    locks = [{"path": "m/migration.sql", "line": i, "statement": "ALTER TABLE x " * 10, "lock": "ACCESS EXCLUSIVE",
              "blocks": "everything", "table": "x"} for i in range(2000)]
    review = Review(findings=findings, facts={"locks": locks}, has_database_surface=True)
    text = render_summary(review, SummaryContext(not_inlined=[(f, "limit") for f in findings], inline=set()))
    assert len(text) <= 65_000
    assert "… and 1900 more" in text and "… and 1950 more statements." in text
    assert text.count("<details>") == text.count("</details>")


def test_sanitize_neutralises_mentions_markers_and_commands() -> None:
    text = sanitize("Add @@index([userId]) and @relation(fields: [a]) cc @octocat <!-- dbreview:fp=abcd1234 -->\n"
                    "/dbreview full\nuse `@unique` here, mail a@b.io")
    assert "`@@index([userId])`" in text and "`@relation(fields: [a])`" in text and "`@octocat`" in text
    assert "<!--" not in text and fingerprint_of(text) is None
    assert "\n\u200b/dbreview full" in text
    assert "`@unique`" in text and "a@b.io" in text


def test_comment_body_suggestion_only_when_it_matches_the_anchor() -> None:
    f = Finding("prisma/float-money", Severity.WARNING, "prisma/schema.prisma", 23, "Use Decimal.", key="Order.tax",
                fingerprint="0123456789abcdef", suggestion=Suggestion(23, 23, "  tax Decimal @db.Decimal(12, 2)"))
    body = comment_body(f, anchored_lines=(23, 23))
    assert "```suggestion\n  tax Decimal @db.Decimal(12, 2)\n```" in body
    assert fingerprint_of(body) == "0123456789abcdef"
    assert "```suggestion" not in comment_body(f, anchored_lines=(22, 23))
    llm = f.with_(source=Source.LLM, confidence=0.8, suggestion=None)
    assert "AI review (confidence 80%)" in comment_body(llm)
    huge = comment_body(f.with_(message="z" * 70_000))
    assert len(huge) <= 65_000 and fingerprint_of(huge) == "0123456789abcdef"


def test_anchors_respect_hunks_sides_and_ranges() -> None:
    change = change_from_trees(trees.BASE, trees.PUSH1)
    schema = "prisma/schema.prisma"
    lines = trees.SCHEMA_PUSH1.splitlines()
    discount = lines.index("  discount   Float") + 1
    anchor, _ = anchor_for(Finding("r", Severity.INFO, schema, discount - 2, "m", end_line=discount + 1), change)
    assert anchor == Anchor(schema, discount + 1, "RIGHT", discount - 2)
    assert valid_against(anchor, change)
    # A range that starts outside the hunk is trimmed to the part inside it.
    anchor, _ = anchor_for(Finding("r", Severity.INFO, schema, 1, "m", end_line=discount), change)
    assert anchor is not None and anchor.start_line is not None and anchor.start_line > 1
    old_line = trees.SCHEMA_BASE.splitlines().index("  legacyCode String") + 1
    anchor, _ = anchor_for(Finding("r", Severity.INFO, schema, old_line, "m", side=Side.OLD), change)
    assert anchor == Anchor(schema, old_line, "LEFT")
    assert anchor.to_api() == {"path": schema, "line": old_line, "side": "LEFT"}
    none, reason = anchor_for(Finding("r", Severity.INFO, schema, 2, "m"), change)
    assert none is None and "outside the diff" in reason
    assert not valid_against(Anchor(schema, discount, "RIGHT", discount), change)


def test_anchor_on_renamed_file_uses_the_new_path_and_old_side_base_path() -> None:
    diff = ("diff --git a/src/old.ts b/src/new.ts\nsimilarity index 90%\nrename from src/old.ts\nrename to src/new.ts\n"
            "--- a/src/old.ts\n+++ b/src/new.ts\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n")
    files = parse_diff(diff)
    assert files[0].status is FileStatus.RENAMED
    from bot.change import Change

    change = Change(files=files)
    anchor, _ = anchor_for(Finding("r", Severity.INFO, "src/new.ts", 2, "m"), change)
    assert anchor == Anchor("src/new.ts", 2, "RIGHT")
    anchor, _ = anchor_for(Finding("r", Severity.INFO, "src/old.ts", 2, "m", side=Side.OLD), change)
    assert anchor == Anchor("src/new.ts", 2, "LEFT")
    binary = Change(files=[ChangedFile("logo.png", FileStatus.MODIFIED, is_binary=True)])
    assert anchor_for(Finding("r", Severity.INFO, "logo.png", 1, "m"), binary)[0] is None


def test_cli_markdown_has_no_inline_reason_column() -> None:
    review = Review(findings=[_f(Severity.WARNING)], has_database_surface=True)
    text = render_summary(review, SummaryContext(not_inlined=[(f, "") for f in review.findings], marker=False))
    assert "### Findings\n" in text and "not inline" not in text and SUMMARY_MARKER_TEXT not in text
    assert "Full text of each finding" in text


SUMMARY_MARKER_TEXT = "<!-- dbreview:summary -->"


def test_measured_locks_from_the_trace_get_their_own_table() -> None:
    from bot.report.summary import render_summary
    from bot.review import Review

    review = Review(has_database_surface=True, facts={"measured_locks": [
        {"path": "prisma/migrations/20240601000000_idx/migration.sql", "line": 2, "table": "orders",
         "statement": 'CREATE INDEX "orders_status_idx" ON "orders"("status")', "lock": "SHARE",
         "blocks": "inserts, updates and deletes", "held_ms": 1234.4, "rewrite": False},
    ]})
    text = render_summary(review)
    assert "### Locks measured on a scratch PostgreSQL" in text
    assert "| SHARE on `orders` | inserts, updates and deletes | 1,234 ms |" in text and "| Held |" in text


def _hub_schemas() -> tuple[str, str]:
    others = "\n".join(f"model M{i} {{\n  id Int @id\n  userId Int\n  user User @relation(fields: [userId], "
                       f"references: [id])\n  @@index([userId])\n}}" for i in range(15))
    back = "\n".join(f"  m{i} M{i}[]" for i in range(15))
    base = (f"model User {{\n  id Int @id\n  email String\n  legacy Int\n{back}\n}}\n{others}\n"
            "model Gone {\n  id Int @id\n}\n")
    head = (f"model User {{\n  id Int @id\n  email String?\n  name String\n{back}\n  payouts Payout[]\n}}\n{others}\n"
            "model Payout {\n  id Int @id\n  userId Int\n  user User @relation(fields: [userId], references: [id])\n"
            "  @@index([userId])\n}\n")
    return base, head


def test_change_diagram_marks_what_changed_and_collapses_hubs() -> None:
    from bot.report.mermaid import MAX_NEIGHBOURS_PER_MODEL, change_diagram

    base_text, head_text = _hub_schemas()
    base = load_texts({"schema.prisma": base_text}).schema
    head = load_texts({"schema.prisma": head_text}).schema
    assert base is not None and head is not None
    diagram = change_diagram(base, head)
    src = diagram.source
    assert 'Payout["Payout (added)"] {' in src and 'Gone["Gone (removed)"] {' in src
    assert 'User["User (changed)"] {' in src
    assert 'String name "+ added"' in src and 'Int legacy "- removed"' in src
    assert 'String email "~ changed: String → String?"' in src
    assert "User ||--o{ Payout" in src
    # The hub's 15 neighbours: a few drawn as bare names, the rest counted in a note, never drawn.
    drawn = {f"M{i}" for i in range(15) if f" M{i} :" in src or f"User ||--o{{ M{i}" in src}
    assert len(drawn) == MAX_NEIGHBOURS_PER_MODEL
    assert not any(f"    M{i} {{" in src for i in range(15))  # neighbours have no attribute block
    assert any("`User` also relates to 11 models not drawn" in n for n in diagram.notes)
    bad = [ln for ln in src.splitlines() if not re.match(
        r'^(erDiagram|    \w+\["[^"]+"\] \{|        \w+ \w+( (PK|FK|UK)(, (PK|FK|UK))*)?( "[^"]*")?|'
        r'        (more|other) fields "[^"]*"|    \}|    \w+ (\|\||\|o|\}o)--(o\{|o\||\|\|) \w+ : "[^"]+")$', ln)]
    assert not bad


def test_no_schema_change_no_diagram_and_unparsable_base_no_guess() -> None:
    from bot.report.mermaid import change_diagram, er_diagram_for_change

    base_text, _ = _hub_schemas()
    same = load_texts({"schema.prisma": base_text}).schema
    assert same is not None and change_diagram(same, same).source == ""
    change = change_from_trees({"prisma/schema.prisma": "model {{{ broken"},
                               {"prisma/schema.prisma": "model A {\n  id Int @id\n}\n"})
    assert er_diagram_for_change(change, ["prisma/schema.prisma"]).source == ""


def test_summary_sections_in_a_pull_request() -> None:
    fs = [Finding("r/a", Severity.ERROR, "a.sql", 3, "`t`.`c` is dropped: data loss. Use a rename.", key="1",
                  fingerprint="f1"),
          Finding("r/b", Severity.WARNING, "a.sql", 9, "Lock on `orders`: wait.", key="2", fingerprint="f2"),
          Finding("r/c", Severity.INFO, "s.prisma", 4, "Note about `x`.", key="3", fingerprint="f3")]
    pre = Finding("r/d", Severity.WARNING, "s.prisma", 8, "Old problem.", key="4", fingerprint="f4", preexisting=True)
    review = Review(findings=fs, preexisting=[pre], has_database_surface=True)
    ctx = SummaryContext(inline={"f1"}, not_inlined=[(fs[1], "over the limit of 1 inline comments per review"),
                                                     (fs[2], "info: summary only")],
                         comment_urls={"f1": "https://github.com/o/r/pull/1#discussion_r1"},
                         pr_url="https://github.com/o/r/pull/1", max_inline=1)
    text = render_summary(review, ctx)
    findings = text.split("### Findings\n", 1)[1].split("<details>", 1)[0]
    assert findings.strip().splitlines() == [
        "**`a.sql`**", "", "- 🛑 `t`.`c` is dropped · [line 3](https://github.com/o/r/pull/1#discussion_r1)"]
    assert "<details><summary>1 more finding over the inline budget (1 per review)</summary>" in text
    anchor = "https://github.com/o/r/pull/1/files#diff-" + __import__("hashlib").sha256(b"a.sql").hexdigest() + "R9"
    assert f"[`a.sql:9`]({anchor})" in text
    assert "<details><summary>ℹ️ 1 info note</summary>" in text
    assert "<details><summary>1 problem was already there; this change did not add it</summary>" in text
    assert text.index("### Findings") < text.index("over the inline budget") < text.index("info note")


def test_open_list_keeps_the_most_severe_and_folds_the_rest() -> None:
    warnings = [Finding("r/w", Severity.WARNING, f"src/w{i}.ts", 1, f"warning {i}", key=str(i)) for i in range(10)]
    errors = [Finding("r/e", Severity.ERROR, f"src/e{i}.ts", 1, f"error {i}", key=str(i)) for i in range(2)]
    review = Review(findings=[*warnings, *errors], has_database_surface=True)
    text = render_summary(review, SummaryContext(inline={f.fingerprint for f in review.findings}))
    open_part, folded = text.split("<summary>Show 4 more findings</summary>", 1)
    assert "error 0" in open_part and "error 1" in open_part
    assert sum(f"warning {i}" in open_part for i in range(10)) == 6
    assert sum(f"warning {i}" in folded for i in range(10)) == 4
