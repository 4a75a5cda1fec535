from __future__ import annotations

from pathlib import Path

from bot.prisma.load import load_texts, schema_at
from bot.testing import context_for

DS = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'

SHOP = DS + '''
model User {
  id        String   @id @default(uuid()) @db.Uuid
  email     String   @unique @map("email_address")
  balance   Decimal
  createdAt DateTime @default(now())
  orders    Order[]
  profile   Profile?

  @@map("users")
}

model Profile {
  id     Int    @id @default(autoincrement())
  userId String @unique @db.Uuid
  user   User   @relation(fields: [userId], references: [id])
}

model Order {
  id        Int      @id @default(autoincrement())
  userId    String?  @db.Uuid
  user      User?    @relation(fields: [userId], references: [id])
  items     Item[]
  tags      Tag[]

  @@index([userId, id(sort: Desc)])
}

model Item {
  orderId Int
  sku     String
  order   Order  @relation(fields: [orderId], references: [id], onDelete: Cascade)

  @@id([orderId, sku])
}

model Tag {
  id     Int     @id
  orders Order[]
}
'''


def test_model_facts() -> None:
    load = load_texts({"prisma/schema.prisma": SHOP})
    assert load.errors == []
    s = load.schema
    assert s is not None
    assert s.provider == "postgresql" and s.relation_mode == "foreignKeys"
    user = s.models["User"]
    assert user.db_name == "users" and user.line == 6 and user.end_line == 15 and user.scope == (6, 15)
    assert user.field("email").db_name == "email_address"  # type: ignore[union-attr]
    assert user.primary_key is not None and user.primary_key.columns == ("id",)
    assert [u.columns for u in user.uniques] == [("email",)]
    natives = {f.name: f.native.sql for f in user.fields if f.native}
    assert natives == {"id": "uuid", "email": "text", "balance": "decimal(65,30)", "createdAt": "timestamp(3)"}
    assert not user.field("createdAt").native.explicit  # type: ignore[union-attr]
    assert user.field("createdAt").default_text == "now()"  # type: ignore[union-attr]
    assert user.field("orders").kind == "relation"  # type: ignore[union-attr]

    order = s.models["Order"]
    assert order.indexes[0].columns == ("userId", "id") and order.indexes[0].fields[1].sort == "Desc"
    rels = {r.key: r for r in s.relations}
    r = rels["Order.user"]
    assert r.fields == ["userId"] and r.references == ["id"] and r.target is user
    assert r.back_field is user.field("orders")
    assert r.effective_on_delete == "SetNull" and r.effective_on_update == "Cascade"
    assert rels["Profile.user"].effective_on_delete == "Restrict" and rels["Profile.user"].is_one_to_one
    assert rels["Item.order"].effective_on_delete == "Cascade"
    assert s.models["Item"].primary_key.columns == ("orderId", "sku")  # type: ignore[union-attr]
    m2m = [r for r in s.relations if r.implicit_many_to_many]
    assert len(m2m) == 1 and {m2m[0].model.name, m2m[0].target.name} == {"Order", "Tag"}
    assert m2m[0].effective_on_delete == "Cascade"


def test_multi_file_schema_relations_cross_files() -> None:
    load = load_texts({
        "prisma/schema/base.prisma": DS,
        "prisma/schema/user.prisma": "model User {\n  id Int @id\n  posts Post[]\n}\n",
        "prisma/schema/post.prisma": "model Post {\n  id Int @id\n  authorId Int\n"
                                     "  author User @relation(fields: [authorId], references: [id])\n}\n",
    })
    s = load.schema
    assert s is not None and s.provider == "postgresql"
    rel = s.relations[0]
    assert rel.model.path == "prisma/schema/post.prisma" and rel.target.path == "prisma/schema/user.prisma"
    assert rel.back_field is s.models["User"].field("posts")


def test_parse_error_gives_no_schema_and_a_located_error() -> None:
    load = load_texts({"prisma/schema.prisma": DS + "model A {\n  id Int @id\n"})
    assert load.schema is None
    assert [(e.path, e.line) for e in load.errors] == [("prisma/schema.prisma", 5)]


def test_schema_at_uses_memo_and_both_sides() -> None:
    base = {"prisma/schema.prisma": SHOP}
    head = {"prisma/schema.prisma": SHOP.replace("  tags      Tag[]\n", "  tags      Tag[]\n  note String?\n")}
    ctx = context_for(base, head)
    h = schema_at(ctx, "head")
    b = schema_at(ctx, "base")
    assert h is not None and b is not None and h.schema is not None and b.schema is not None
    assert "note" in h.schema.models["Order"].by_name and "note" not in b.schema.models["Order"].by_name
    assert schema_at(ctx, "head") is h


def test_schema_added_by_change_has_no_base() -> None:
    ctx = context_for({}, {"prisma/schema.prisma": SHOP})
    assert schema_at(ctx, "base") is None
    assert schema_at(ctx, "head") is not None


def test_mysql_and_relation_mode_prisma() -> None:
    text = ('datasource db {\n  provider = "mysql"\n  relationMode = "prisma"\n}\n'
            "model A {\n  id Int @id\n  s String\n}\n")
    s = load_texts({"schema.prisma": text}).schema
    assert s is not None and s.emulated_relations and not s.is_postgres
    assert s.models["A"].field("s").native.sql == "varchar(191)"  # type: ignore[union-attr]


def test_corpus_models(corpus_dir: Path) -> None:
    text = (corpus_dir / "umami/prisma/schema.prisma").read_text("utf-8")
    s = load_texts({"prisma/schema.prisma": text}).schema
    assert s is not None and s.emulated_relations
    session = s.models["Session"]
    assert session.db_name == "session" and session.field("websiteId").db_name == "website_id"  # type: ignore
    assert ("websiteId", "createdAt") in [i.columns for i in session.indexes]


def test_prisma_next_time_constructor_is_a_datetime_without_an_assumed_column_type() -> None:
    from bot.prisma.load import load_texts

    text = "model Note {\n  id Int @id\n  updatedAt temporal.updatedAt()\n}\n"
    schema = load_texts({"prisma/contract.prisma": text}).schema
    assert schema is not None
    f = schema.models["Note"].by_name["updatedAt"]
    assert (f.type, f.kind, f.native) == ("DateTime", "scalar", None)
