from __future__ import annotations

from pathlib import Path

from bot.prisma.diff import diff_schemas
from bot.prisma.load import load_texts, schema_diff
from bot.prisma.model import Schema
from bot.testing import context_for

DS = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'

BASE = DS + '''
model User {
  id       String  @id @db.Uuid
  email    String  @unique
  nickname String?
  age      Int?
  legacy   String?
  posts    Post[]
}

model Post {
  id       Int    @id @default(autoincrement())
  authorId String @db.Uuid
  title    String
  author   User   @relation(fields: [authorId], references: [id])

  @@index([title])
}

model AuditEntry {
  id   Int    @id
  note String
}

enum Role {
  USER
  ADMIN
  GUEST
}
'''

HEAD = DS + '''
model User {
  id          String  @id @db.Uuid
  email       String  @unique
  displayName String?
  age         BigInt
  role        Role    @default(USER)
  posts       Post[]
}

model Post {
  id        Int      @id @default(autoincrement())
  authorId  String   @db.Uuid
  title     String   @db.VarChar(200)
  createdAt DateTime @default(now())
  author    User     @relation(fields: [authorId], references: [id], onDelete: Cascade)

  @@index([authorId, createdAt])
}

model AuditLog {
  id   Int    @id
  note String

  @@map("AuditEntry")
}

model Comment {
  id Int @id
}

enum Role {
  USER
  ADMIN
  OWNER
}

enum Plan {
  FREE
}
'''


def _schema(text: str) -> Schema:
    s = load_texts({"prisma/schema.prisma": text}).schema
    assert s is not None
    return s


def test_diff_reports_every_kind_with_lines() -> None:
    d = diff_schemas(_schema(BASE), _schema(HEAD))
    got = {(i.kind, i.model, i.name) for i in d.items}
    assert ("model_added", "Comment", "") in got
    assert ("model_renamed", "AuditLog", "") in got
    assert not d.models_removed
    assert ("field_added", "User", "role") in got
    assert ("field_added", "Post", "createdAt") in got
    assert ("field_removed", "User", "legacy") in got  # a second String? field was removed: no unique rename pair
    assert ("field_changed", "Post", "title") in got
    assert ("enum_value_added", "Role", "OWNER") in got and ("enum_value_removed", "Role", "GUEST") in got
    assert ("enum_added", "Plan", "") in got
    assert ("index_added", "Post", "@@index([authorId, createdAt])") in got
    assert ("index_removed", "Post", "@@index([title])") in got
    age = d.field_change("User", "age")
    assert age is not None and set(age.changes) >= {"type", "optional"} and age.detail.startswith("Int? → BigInt")
    title = d.field_change("Post", "title")
    assert title is not None and title.changes == ("native",) and title.detail == "text → varchar(200)"
    author = d.field_change("Post", "author")
    assert author is not None and author.changes == ("relation",)
    added = next(i for i in d.items if i.kind == "field_added" and i.name == "role")
    assert added.line == HEAD.splitlines().index("  role        Role    @default(USER)") + 1
    assert ("field_removed", "User", "nickname") in got and ("field_added", "User", "displayName") in got
    removed = next(i for i in d.items if i.kind == "field_removed" and i.name == "legacy")
    assert removed.base_line == BASE.splitlines().index("  legacy   String?") + 1 and removed.line is None


def test_renamed_looking_field() -> None:
    base = DS + "model A {\n  id Int @id\n  nickname String?\n}\n"
    head = DS + "model A {\n  id Int @id\n  displayName String?\n}\n"
    d = diff_schemas(_schema(base), _schema(head))
    assert [(i.kind, i.name, i.detail) for i in d.items] == [("field_renamed", "displayName",
                                                               "nickname → displayName")]


def test_different_types_are_not_a_rename() -> None:
    base = DS + "model A {\n  id Int @id\n  nickname String?\n}\n"
    head = DS + "model A {\n  id Int @id\n  visits Int?\n}\n"
    kinds = sorted(i.kind for i in diff_schemas(_schema(base), _schema(head)).items)
    assert kinds == ["field_added", "field_removed"]


def test_no_base_means_everything_added() -> None:
    d = diff_schemas(None, _schema(HEAD))
    assert {i.model for i in d.models_added} == {"User", "Post", "AuditLog", "Comment"}


def test_identical_schemas_have_no_diff(corpus_dir: Path) -> None:
    text = (corpus_dir / "langfuse/packages/shared/prisma/schema.prisma").read_text("utf-8")
    assert not diff_schemas(_schema(text), _schema(text))


def test_schema_diff_through_context() -> None:
    ctx = context_for({"prisma/schema.prisma": BASE}, {"prisma/schema.prisma": HEAD})
    d = schema_diff(ctx)
    assert d is not None and d.field_change("User", "role") is not None
    assert schema_diff(ctx) is d
