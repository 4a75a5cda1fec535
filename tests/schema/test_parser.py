from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.prisma.parser import (
    ArrayExpr,
    ConfigBlock,
    EnumBlock,
    FuncCall,
    ModelBlock,
    NumberLit,
    PathExpr,
    PrismaParseError,
    StringLit,
    TypeAlias,
    parse,
    render,
)

CORPUS_SCHEMAS = [
    "hoppscotch/packages/hoppscotch-backend/prisma/schema.prisma",
    "umami/prisma/schema.prisma",
    "langfuse/packages/shared/prisma/schema.prisma",
]


@pytest.mark.parametrize("rel", CORPUS_SCHEMAS)
def test_corpus_schemas_parse(corpus_dir: Path, rel: str) -> None:
    text = (corpus_dir / rel).read_text("utf-8")
    sf = parse(text, rel)
    models = [b for b in sf.blocks if isinstance(b, ModelBlock)]
    assert len(models) >= 17
    # Every field line really holds that field's name.
    lines = text.splitlines()
    for m in models:
        for f in m.fields:
            assert lines[f.line - 1][f.column - 1:].startswith(f.name)


GRAMMAR = r'''
// leading comment
generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["multiSchema", "fullTextSearchPostgres"] // trailing
  binaryTargets   = [
    "native",
    "debian-openssl-3.0.x"
  ]
}

/* a block comment
   spanning lines */
datasource db {
  provider   = "postgresql"
  url        = env("DATABASE_URL")
  extensions = [pg_trgm(schema: "public"), citext]
  schemas    = ["public", "audit"]
}

/// A user.
/// Two doc lines.
model User {
  id        String   @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  email     String   @unique(map: "user_email_key") @db.VarChar(255)
  name      String?  /// trailing doc
  score     Float    @default(1.5)
  neg       Int      @default(-3)
  tags      String[] @default([])
  bio       String   @default("say \"hi\"\n")
  search    Unsupported("tsvector")?
  legacy    Unsupported("circle")[]
  type      String   @map("user-type")
  posts     Post[]   @relation("author")
  kebab-ish Int      @ignore
  createdAt DateTime @default(now()) @db.Timestamptz(3)

  @@index([name, createdAt(sort: Desc)], map: "user_name_idx")
  @@index([search], type: Gin)
  @@index([email(ops: raw("gin_trgm_ops"))], type: Gin)
  @@index(
    fields: [name, email],
    name: "wrapped"
  )
  @@fulltext([name, bio])
  @@map("users") /* inline block comment */
  @@schema("public")
}

model Post {
  id       Int   @id @default(autoincrement())
  authorId String @db.Uuid
  author   User  @relation("author", fields: [authorId], references: [id], onDelete: Cascade, onUpdate: NoAction)

  @@unique([authorId, id], name: "author_post")
  @@ignore
}

view ActiveUser {
  id String @unique
}

type Address {
  street String
  zip    String?
}

enum Role {
  USER
  ADMIN @map("admin")
  model
  type

  @@map("role")
  @@schema("public")
}

type Legacy = String @default("x")
'''


def test_grammar_constructs() -> None:
    sf = parse(GRAMMAR, "g.prisma")
    kinds = [type(b).__name__ for b in sf.blocks]
    assert kinds == ["ConfigBlock", "ConfigBlock", "ModelBlock", "ModelBlock", "ModelBlock", "ModelBlock",
                     "EnumBlock", "TypeAlias"]
    gen, ds, user, post, view, addr, role, alias = sf.blocks
    assert isinstance(gen, ConfigBlock) and isinstance(ds, ConfigBlock)
    feats = gen.get("previewFeatures")
    assert isinstance(feats, ArrayExpr) and [i.value for i in feats.items if isinstance(i, StringLit)] == [
        "multiSchema", "fullTextSearchPostgres"]
    targets = gen.get("binaryTargets")
    assert isinstance(targets, ArrayExpr) and len(targets.items) == 2
    url = ds.get("url")
    assert isinstance(url, FuncCall) and url.name == "env"
    assert render(ds.get("extensions")) == '[pg_trgm(schema: "public"), citext]'
    assert ds.line == 14  # the block comment's lines are counted

    assert isinstance(user, ModelBlock) and user.kind == "model"
    assert user.doc == ["A user.", "Two doc lines."]
    f = {x.name: x for x in user.fields}
    assert f["id"].line == 24 and f["id"].column == 3
    assert [a.name for a in f["id"].attributes] == ["id", "default", "db.Uuid"]
    assert render(f["id"].attributes[1].args[0].value) == 'dbgenerated("gen_random_uuid()")'
    assert f["name"].type.optional and f["name"].doc == ["trailing doc"]
    assert isinstance(f["score"].attributes[0].args[0].value, NumberLit)
    assert render(f["neg"].attributes[0].args[0].value) == "-3"
    assert f["tags"].type.list and render(f["tags"].attributes[0].args[0].value) == "[]"
    bio = f["bio"].attributes[0].args[0].value
    assert isinstance(bio, StringLit) and bio.value == 'say "hi"\n'
    assert f["search"].type.unsupported == "tsvector" and f["search"].type.optional
    assert f["legacy"].type.unsupported == "circle" and f["legacy"].type.list
    assert "type" in f and "kebab-ish" in f
    assert f["email"].attributes[0].arg("map") is not None
    db_attr = f["createdAt"].attributes[1]
    assert db_attr.name == "db.Timestamptz" and render(db_attr.args[0].value) == "3"

    attrs = user.attributes
    assert [a.name for a in attrs] == ["index", "index", "index", "index", "fulltext", "map", "schema"]
    assert all(a.block for a in attrs)
    assert render(attrs[0].args[0].value) == "[name, createdAt(sort: Desc)]"
    assert isinstance(attrs[1].arg("type"), PathExpr)
    assert render(attrs[2].args[0].value) == '[email(ops: raw("gin_trgm_ops"))]'
    assert render(attrs[3].arg("fields")) == "[name, email]"
    assert attrs[3].line == 41
    assert user.end_line == 48

    rel = {x.name: x for x in post.fields}["author"].attributes[0]
    assert render(rel.arg(None, 0)) == '"author"'
    assert render(rel.arg("onDelete")) == "Cascade"
    assert [a.name for a in post.attributes] == ["unique", "ignore"]
    assert isinstance(view, ModelBlock) and view.kind == "view"
    assert isinstance(addr, ModelBlock) and addr.kind == "type"
    assert isinstance(role, EnumBlock)
    assert [v.name for v in role.values] == ["USER", "ADMIN", "model", "type"]
    assert [a.name for a in role.attributes] == ["map", "schema"]
    assert isinstance(alias, TypeAlias) and alias.base.name == "String"
    assert any("leading comment" in c for _, c in sf.comments)


def test_crlf_and_tabs_and_legacy_types() -> None:
    text = "model A {\r\n\tid Int @id\r\n\tb: String!\r\n\tc [String]\r\n}\r\n"
    sf = parse(text)
    m = sf.blocks[0]
    assert isinstance(m, ModelBlock)
    assert [(f.name, f.line) for f in m.fields] == [("id", 2), ("b", 3), ("c", 4)]
    assert m.fields[2].type.list and m.fields[2].type.legacy


def test_empty_args_and_trailing_comma() -> None:
    sf = parse("model A {\n  id Int @id\n  b Int @relation(fields: , references: [id],)\n}\n")
    m = sf.blocks[0]
    assert isinstance(m, ModelBlock)
    args = m.fields[1].attributes[0].args
    assert args[0].name == "fields" and args[0].value is None


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("model A {\n  id Int @id\n", 1, "never closed"),
        ("model A {\n  id Int @default(\"x\"\n  b Int\n}\n", 2, "unclosed `(`"),
        ("model A {\n  id Int @id\n  name\n}\n", 3, "has no type"),
        ("modle A {\n  id Int\n}\n", 1, "unknown block type `modle`"),
        ("model A {\n  id Int @id\n  bio String @default(\"open\n}\n", 3, "unterminated string"),
        ("model A {\n  id Int @id id2 Int\n}\n", 2, "one declaration per line"),
        ("model A {\n  id Int @id\n  @index([a])\n}\n", 3, "must follow a field"),
        ("/* never closed\nmodel A {}\n", 1, "block comment"),
        ("datasource db {\n  provider \"postgresql\"\n}\n", 2, "expected `=`"),
        ("model A {\n  id Int @id\n  # comment\n}\n", 3, "unexpected character"),
        ("enum E {\n  A\n  B,\n}\n", 3, "one declaration per line"),
    ],
)
def test_parse_errors_have_exact_lines(text: str, line: int, fragment: str) -> None:
    with pytest.raises(PrismaParseError) as exc:
        parse(text, "p.prisma")
    assert exc.value.line == line, exc.value
    assert fragment in exc.value.message
    assert exc.value.path == "p.prisma"


def test_deep_nesting_is_a_parse_error() -> None:
    text = "model A {\n  id Int @default(" + "[" * 5000 + "]" * 5000 + ")\n}\n"
    with pytest.raises(PrismaParseError):
        parse(text)


_ALPHABET = st.sampled_from([
    *'model enum {}()[]@@ ,:=?!."\\/*\n\tabcXYZ019-_',
    "model ", "enum ", "datasource ", "@@index(", "@db.", "///", "//", "/*", "*/", "Unsupported(", "\r\n",
    "String", "Int?", "[]", "@relation(fields: [a], references: [b])", '"x"', "\n}\n", "type ", " = ", "é",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_fuzz_parser_only_raises_its_own_error(text: str) -> None:
    try:
        parse(text)
    except PrismaParseError as exc:
        assert exc.line >= 1 and exc.column >= 1


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text(text: str) -> None:
    with contextlib.suppress(PrismaParseError):
        parse(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(GRAMMAR) - 1), st.integers(min_value=1, max_value=40))
def test_fuzz_truncated_and_spliced_real_schema(cut: int, width: int) -> None:
    mutated = GRAMMAR[:cut] + GRAMMAR[cut + width:]
    try:
        parse(mutated)
    except PrismaParseError as exc:
        assert 1 <= exc.line <= mutated.count("\n") + 2


def test_prisma_next_contract_type_constructors() -> None:
    # Prisma Next contract files type a column with a namespaced constructor call.
    text = (
        "model Note {\n"
        "  id        Int     @id @default(autoincrement())\n"
        "  touchedAt temporal.updatedAt()\n"
        "  stamp     temporal.at(precision: 3)?\n"
        "}\n"
    )
    m = parse(text).blocks[0]
    assert isinstance(m, ModelBlock)
    touched, stamp = m.fields[1].type, m.fields[2].type
    assert touched.name == "temporal.updatedAt" and touched.call_args == []
    assert stamp.name == "temporal.at" and stamp.optional
    assert stamp.call_args is not None and stamp.call_args[0].name == "precision"
    assert m.fields[0].type.call_args is None  # ordinary types carry no constructor arguments


def test_named_argument_before_the_field_list() -> None:
    sf = parse("model Chapter {\n  bookId Int\n  n      Int\n\n  @@id(name: \"bookChapter\", [bookId, n])\n}\n")
    m = sf.blocks[0]
    assert isinstance(m, ModelBlock)
    pk = m.attributes[0]
    assert render(pk.arg("name")) == '"bookChapter"' and render(pk.arg(None, 0)) == "[bookId, n]"
