"""The schema analyzer end to end: through the pipeline, with diff-awareness, suppressions and parse errors."""

from __future__ import annotations

from schema_helpers import PG, line_of

from bot.checks.schema import analyze
from bot.config import parse_config
from bot.pipeline import review
from bot.testing import change_from_trees, context_for

BASE = PG + '''
model User {
  id     String  @id @default(uuid()) @db.Uuid
  email  String  @unique
  orders Order[]
}

model Order {
  id        Int      @id @default(autoincrement())
  userId    String   @db.Uuid
  total     Int
  createdAt DateTime @default(now()) @db.Timestamptz(3)
  updatedAt DateTime @updatedAt @db.Timestamptz(3)
  user      User     @relation(fields: [userId], references: [id])

  @@index([userId])
}
'''


def _rules(result_findings: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(f.rule, f.key) for f in result_findings}


def test_new_relation_without_index_through_the_pipeline() -> None:
    head = BASE.replace("  orders Order[]\n", "  orders Order[]\n  invoices Invoice[]\n") + '''
model Invoice {
  id        Int      @id @default(autoincrement())
  userId    String   @db.Uuid
  amount    Float
  createdAt DateTime @default(now()) @db.Timestamptz(3)
  updatedAt DateTime @updatedAt @db.Timestamptz(3)
  user      User     @relation(fields: [userId], references: [id])
}
'''
    result = review(change_from_trees({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": head}))
    got = _rules(result.findings)
    assert ("prisma/fk-missing-index", "Invoice.userId") in got
    assert ("prisma/float-money", "Invoice.amount") in got
    # Unchanged pre-existing problems (Order.id autoincrement) are not re-reported.
    assert not any(f.key.startswith("Order") for f in result.findings)
    fk = next(f for f in result.findings if f.rule == "prisma/fk-missing-index")
    invoice_fk = max(i for i, ln in enumerate(head.splitlines(), 1) if "userId    String   @db.Uuid" in ln)
    assert fk.path == "prisma/schema.prisma" and fk.line == invoice_fk


def test_editing_a_model_lists_its_old_problems_as_already_there() -> None:
    base = BASE.replace("\n  @@index([userId])\n", "\n")
    head = base.replace("  total     Int\n", "  total     Int\n  note      String?\n")
    result = review(change_from_trees({"prisma/schema.prisma": base}, {"prisma/schema.prisma": head}))
    # The missing index was there before this change: not the author's finding, listed apart as already there.
    assert ("prisma/fk-missing-index", "Order.userId") not in _rules(result.findings)
    assert ("prisma/fk-missing-index", "Order.userId") in _rules(result.preexisting)
    assert all(f.preexisting for f in result.preexisting)
    assert ("prisma/autoincrement-int-id", "Order.id") not in _rules(result.findings + result.preexisting)


def test_prisma_lint_ignore_comment_suppresses_the_fk_rule() -> None:
    base = BASE.replace("\n  @@index([userId])\n", "\n")
    head = base.replace("model Order {", "/// prisma-lint-ignore-model require-field-index\nmodel Order {").replace(
        "  total     Int\n", "  total     Int\n  note      String?\n")
    result = review(change_from_trees({"prisma/schema.prisma": base}, {"prisma/schema.prisma": head}))
    assert ("prisma/fk-missing-index", "Order.userId") not in _rules(result.findings)
    assert any(f.rule == "prisma/fk-missing-index" for f in result.suppressed)


def test_prisma_lint_ignore_model_inside_the_model_as_prisma_lint_documents() -> None:
    base = BASE.replace("\n  @@index([userId])\n", "\n")
    inside = "model Order {\n  /// prisma-lint-ignore-model require-field-index\n"
    edit = ("  total     Int\n", "  total     Int\n  note      String?\n")
    head = base.replace("model Order {\n", inside).replace(*edit)
    result = review(change_from_trees({"prisma/schema.prisma": base}, {"prisma/schema.prisma": head}))
    assert ("prisma/fk-missing-index", "Order.userId") not in _rules(result.findings)
    assert any(f.rule == "prisma/fk-missing-index" for f in result.suppressed)
    # The same comment inside another model covers only that model.
    other = base.replace("model User {\n", "model User {\n  /// prisma-lint-ignore-model require-field-index\n")
    result = review(change_from_trees({"prisma/schema.prisma": base}, {"prisma/schema.prisma": other.replace(
        "  total     Int\n", "  total     Int\n  note      String?\n")}))
    assert ("prisma/fk-missing-index", "Order.userId") in _rules(result.preexisting)


def test_prisma_lint_ignore_field_above_the_fk_field() -> None:
    base = BASE.replace("\n  @@index([userId])\n", "\n")
    head = base.replace("  userId    String   @db.Uuid\n",
                        "  /// prisma-lint-ignore-field require-field-index\n  userId    String   @db.Uuid\n").replace(
        "  total     Int\n", "  total     Int\n  note      String?\n")
    result = review(change_from_trees({"prisma/schema.prisma": base}, {"prisma/schema.prisma": head}))
    assert ("prisma/fk-missing-index", "Order.userId") not in _rules(result.findings)
    assert [f.rule for f in result.suppressed] == ["prisma/fk-missing-index"]


def test_parse_error_is_one_finding_at_the_line_and_review_goes_on() -> None:
    head = BASE.replace("  total     Int\n", "  total     Int @default(0\n")
    ctx = context_for({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": head})
    found = analyze(ctx)
    assert [(f.rule, f.line) for f in found] == [("prisma/parse-error", line_of(head, "@default(0"))]
    assert "unclosed `(`" in found[0].message and found[0].caused_by_change
    result = review(change_from_trees({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": head}))
    assert [f.rule for f in result.findings] == ["prisma/parse-error"]


def test_multi_file_schema_relation_across_files() -> None:
    files = {
        "prisma/schema/schema.prisma": PG,
        "prisma/schema/user.prisma": "model User {\n  id String @id @db.Uuid\n  posts Post[]\n}\n",
    }
    head = dict(files)
    head["prisma/schema/post.prisma"] = (
        "model Post {\n  id Int @id\n  authorId String\n"
        "  author User @relation(fields: [authorId], references: [id])\n}\n")
    result = review(change_from_trees(files, head))
    got = {(f.rule, f.path, f.key) for f in result.findings}
    assert ("prisma/fk-missing-index", "prisma/schema/post.prisma", "Post.authorId") in got
    assert ("prisma/relation-type-mismatch", "prisma/schema/post.prisma", "Post.authorId->User.id") in got


def test_config_severity_and_naming_pack() -> None:
    head = BASE.replace("model Order {", "model order_item {").replace("orders Order[]", "orders order_item[]")
    config = parse_config("enable: [naming]\nrules:\n  prisma/fk-missing-index: error\n")
    result = review(change_from_trees({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": head}), config)
    assert any(f.rule == "prisma/model-name-pascal-case" for f in result.findings)
    default = review(change_from_trees({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": head}))
    assert not any(f.rule == "prisma/model-name-pascal-case" for f in default.findings)


def test_no_schema_in_change_means_no_schema_findings() -> None:
    ctx = context_for({"src/a.ts": "x\n", "prisma/schema.prisma": BASE}, {"src/a.ts": "y\n",
                                                                          "prisma/schema.prisma": BASE})
    assert analyze(ctx) == []
