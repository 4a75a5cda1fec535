from __future__ import annotations

from pathlib import Path

from schema_helpers import MYSQL, PG, PG_EMULATED, findings, line_of

from bot.findings import Severity

RULE = "prisma/fk-missing-index"

USER = '''
model User {
  id     String  @id @default(uuid()) @db.Uuid
  email  String  @unique
  orders Order[]
}
'''


def test_unindexed_fk_is_reported_on_the_relation_line_with_the_exact_index() -> None:
    text = PG + USER + '''
model Order {
  id        Int      @id @default(autoincrement())
  userId    String   @db.Uuid
  createdAt DateTime @default(now()) @db.Timestamptz(3)
  user      User     @relation(fields: [userId], references: [id])
}
'''
    [f] = findings(text, RULE)
    assert f.severity is Severity.WARNING
    assert f.line == line_of(text, "userId    String   @db.Uuid")  # the FK field, where prisma-lint reports
    assert f.key == "Order.userId"
    assert f.scope == (line_of(text, "model Order"), line_of(text, "model Order") + 5)
    assert "`@@index([userId])`" in f.message and "model Order" in f.message


def test_error_under_relation_mode_prisma() -> None:
    text = PG_EMULATED + USER + '''
model Order {
  id     Int    @id
  userId String @db.Uuid
  user   User   @relation(fields: [userId], references: [id])
}
'''
    [f] = findings(text, RULE)
    assert f.severity is Severity.ERROR
    assert 'relationMode = "prisma"' in f.message


def test_covered_by_index_unique_or_leading_column_of_composite() -> None:
    text = PG + USER + '''
model Order {
  id     Int    @id
  userId String @db.Uuid
  user   User   @relation(fields: [userId], references: [id])

  @@index([userId, id(sort: Desc)])
}

model Profile {
  id     Int    @id
  userId String @unique @db.Uuid
  user   User   @relation(fields: [userId], references: [id])
}
'''
    assert findings(text.replace("orders Order[]", "orders Order[]\n  profile Profile?"), RULE) == []


def test_index_that_contains_but_does_not_start_with_the_fk_is_not_enough() -> None:
    text = PG + USER + '''
model Team {
  id      Int     @id
  members Member[]
}

model Member {
  id     Int    @id
  teamId Int
  userId String @db.Uuid
  team   Team   @relation(fields: [teamId], references: [id])
  user   User   @relation(fields: [userId], references: [id])

  @@unique([teamId, userId])
}
'''
    text = text.replace("orders Order[]", "members Member[]")
    [f] = findings(text, RULE)
    assert f.key == "Member.userId"
    assert "`@@unique([teamId, userId])` contains it but does not start with it" in f.message


def test_composite_id_join_table_is_not_a_false_positive() -> None:
    # prisma-lint's require-field-index ignores @@id and reports postId here.
    text = PG + '''
model Post {
  id   Int       @id
  tags PostTag[]
}

model Tag {
  id    Int       @id
  posts PostTag[]
}

model PostTag {
  postId Int
  tagId  Int
  post   Post @relation(fields: [postId], references: [id], onDelete: Cascade)
  tag    Tag  @relation(fields: [tagId], references: [id], onDelete: Cascade)

  @@id([postId, tagId])
  @@index([tagId])
}
'''
    assert findings(text, RULE) == []
    # ...but without the second index the tagId side really is unindexed.
    [f] = findings(text.replace("  @@index([tagId])\n", ""), RULE)
    assert f.key == "PostTag.tagId"


def test_composite_fk_is_checked_as_a_unit() -> None:
    text = PG + '''
model Dataset {
  id        String
  projectId String
  items     DatasetItem[]

  @@id([id, projectId])
}

model DatasetItem {
  id        String @id
  datasetId String
  projectId String
  dataset   Dataset @relation(fields: [datasetId, projectId], references: [id, projectId])

  @@index([projectId, createdBy])
  @@index([createdBy])
  createdBy String
}
'''
    [f] = findings(text, RULE)
    assert f.key == "DatasetItem.datasetId+projectId"
    assert "`@@index([datasetId, projectId])`" in f.message
    # Separate indexes on each column do not make a unit (prisma-lint accepts this).
    covered_in_order = text.replace("@@index([createdBy])", "@@index([projectId, datasetId])")
    assert findings(covered_in_order, RULE) == []
    # A leading selective column with the tenant column elsewhere is accepted.
    selective = text.replace("@@index([createdBy])", "@@index([datasetId], type: Hash)")
    assert findings(selective, RULE) == []


def test_tenant_column_alone_does_not_cover_a_composite_fk() -> None:
    text = PG + '''
model Queue {
  id        String
  projectId String
  items     Item[]

  @@id([id, projectId])
}

model Item {
  id        String @id
  queueId   String
  projectId String
  queue     Queue  @relation(fields: [queueId, projectId], references: [id, projectId])

  @@index([projectId])
}
'''
    [f] = findings(text, RULE)
    assert f.key == "Item.queueId+projectId"


def test_mysql_with_foreign_keys_indexes_automatically_but_not_in_prisma_mode() -> None:
    body = '''
model User {
  id     Int     @id
  orders Order[]
}

model Order {
  id     Int  @id
  userId Int
  user   User @relation(fields: [userId], references: [id])
}
'''
    assert findings(MYSQL + body, RULE) == []
    url = 'url      = env("DATABASE_URL")'
    emulated = MYSQL.replace(url, url + '\n  relationMode = "prisma"')
    [f] = findings(emulated + body, RULE)
    assert f.severity is Severity.ERROR


def test_views_and_implicit_many_to_many_are_skipped() -> None:
    text = PG + '''
model Post {
  id   Int   @id
  tags Tag[]
}

model Tag {
  id    Int    @id
  posts Post[]
}

view PostStats {
  postId Int  @unique
}
'''
    assert findings(text, RULE) == []


def test_gin_index_does_not_cover() -> None:
    text = PG + USER + '''
model Order {
  id     Int    @id
  userId String @db.Uuid
  user   User   @relation(fields: [userId], references: [id])

  @@index([userId], type: Gin)
}
'''
    assert len(findings(text, RULE)) == 1


def test_corpus_counts(corpus_dir: Path) -> None:
    """Hand-checked: every finding is an FK with no index starting with it (see the README accuracy section)."""
    from bot.prisma.load import load_texts

    expected = {
        "umami/prisma/schema.prisma": 0,
        "hoppscotch/packages/hoppscotch-backend/prisma/schema.prisma": 13,
        "langfuse/packages/shared/prisma/schema.prisma": 36,
    }
    for rel, count in expected.items():
        text = (corpus_dir / rel).read_text("utf-8")
        assert load_texts({rel: text}).schema is not None
        got = findings(text, RULE)
        assert len(got) == count, (rel, [f.key for f in got])
