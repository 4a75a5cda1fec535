"""Column-type rules: relation native types, money, timestamps, ids, varchar/char/json."""

from __future__ import annotations

from schema_helpers import MYSQL, PG, findings, line_of

from bot.findings import Severity

PRODUCT = '''
model Product {
  id        String     @id @default(uuid()) @db.Uuid
  cartItems CartItem[]
}
'''


# -- prisma/relation-type-mismatch -------------------------------------------------------------------------------------

def test_text_fk_to_uuid_key_is_an_error() -> None:
    text = PG + PRODUCT + '''
model CartItem {
  id        Int     @id @default(autoincrement())
  productId String
  product   Product @relation(fields: [productId], references: [id])

  @@index([productId])
}
'''
    [f] = findings(text, "prisma/relation-type-mismatch")
    assert f.severity is Severity.ERROR
    assert f.line == line_of(text, "productId String")
    assert "text and uuid" in f.message and "`productId String @db.Uuid`" in f.message


def test_matching_native_types_pass() -> None:
    text = PG + PRODUCT + '''
model CartItem {
  id        Int     @id @default(autoincrement())
  productId String  @db.Uuid
  product   Product @relation(fields: [productId], references: [id])
}
'''
    assert findings(text, "prisma/relation-type-mismatch") == []


def test_default_text_on_both_sides_and_explicit_text_match() -> None:
    text = PG + '''
model Team {
  id      String   @id @default(cuid())
  members Member[]
}

model Member {
  id     String @id @default(cuid())
  teamId String @db.Text
  team   Team   @relation(fields: [teamId], references: [id])
}
'''
    assert findings(text, "prisma/relation-type-mismatch") == []


def test_int_to_bigint_is_a_warning() -> None:
    text = PG + '''
model Account {
  id    BigInt @id @default(autoincrement()) @db.BigInt
  notes Note[]
}

model Note {
  id        Int     @id
  accountId BigInt  @db.Integer
  account   Account @relation(fields: [accountId], references: [id])
}
'''
    [f] = findings(text, "prisma/relation-type-mismatch")
    assert f.severity is Severity.WARNING and "integer" in f.message and "bigint" in f.message


def test_not_checked_on_mysql() -> None:
    text = MYSQL + PRODUCT.replace("@db.Uuid", "@db.Char(36)") + '''
model CartItem {
  id        Int     @id
  productId String
  product   Product @relation(fields: [productId], references: [id])
}
'''
    assert findings(text, "prisma/relation-type-mismatch") == []


# -- money -------------------------------------------------------------------------------------------------------------

MONEY = PG + '''
model Order {
  id          Int      @id @default(autoincrement())
  total       Float
  unitPrice   Float?
  value       Float
  totalTokens Float
  taxRate     Float
  score       Float
  costPercent Float
  amount      Decimal
  fee         Decimal  @db.Money
  shipping    Decimal  @db.Decimal(12, 2)
}

model Measurement {
  id    Int   @id
  value Float
}
'''


def test_float_money_by_name_and_model_context() -> None:
    got = {f.key for f in findings(MONEY, "prisma/float-money")}
    assert got == {"Order.total", "Order.unitPrice", "Order.value"}
    [f] = [f for f in findings(MONEY, "prisma/float-money") if f.key == "Order.unitPrice"]
    assert "`unitPrice Decimal? @db.Decimal(12, 2)`" in f.message and "unitPriceCents" in f.message


def test_money_type_and_bare_decimal() -> None:
    [money] = findings(MONEY, "prisma/money-type")
    assert money.key == "Order.fee" and money.line == line_of(MONEY, "@db.Money")
    decimals = findings(MONEY, "prisma/decimal-default-precision")
    assert [f.key for f in decimals] == ["Order.amount"] and decimals[0].severity is Severity.INFO
    assert "decimal(65,30)" in decimals[0].message


def test_bare_decimal_not_reported_on_mysql_style_provider_without_pg() -> None:
    text = MYSQL + "model P {\n  id Int @id\n  price Decimal\n}\n"
    assert findings(text, "prisma/decimal-default-precision") == []


# -- prisma/timestamp-without-timezone, prisma/missing-timestamps ----------------------------------------------------

TIMES = PG + '''
model Event {
  id          Int       @id
  createdAt   DateTime  @default(now())
  happenedAt  DateTime  @db.Timestamp(6)
  updatedAt   DateTime  @updatedAt @db.Timestamptz(3)
  day         DateTime  @db.Date
  opensAt     DateTime? @db.Time(0)
}
'''


def test_timestamp_without_timezone() -> None:
    got = {f.key: f for f in findings(TIMES, "prisma/timestamp-without-timezone")}
    assert set(got) == {"Event.createdAt", "Event.happenedAt"}
    assert "`createdAt DateTime @db.Timestamptz(3)`" in got["Event.createdAt"].message
    assert "`happenedAt DateTime @db.Timestamptz(6)`" in got["Event.happenedAt"].message
    assert got["Event.happenedAt"].line == line_of(TIMES, "@db.Timestamp(6)")
    # Field-level advice is scoped to the field itself, not the whole model.
    assert got["Event.createdAt"].scope is None


def test_timestamps_not_checked_on_mysql() -> None:
    assert findings(MYSQL + "model E {\n  id Int @id\n  at DateTime\n}\n", "prisma/timestamp-without-timezone") == []


def test_missing_timestamps_only_for_new_entity_models() -> None:
    base = PG + "model Legacy {\n  id Int @id\n}\n"
    head = base + '''
model Coupon {
  id   Int    @id @default(autoincrement())
  code String @unique
}

model AuditLog {
  id        Int      @id
  createdAt DateTime @default(now()) @db.Timestamptz(3)
}

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
  post   Post @relation(fields: [postId], references: [id])
  tag    Tag  @relation(fields: [tagId], references: [id])

  @@id([postId, tagId])
}
'''
    got = {f.key: f for f in findings(head, "prisma/missing-timestamps", base=base)}
    # Legacy is old, AuditLog is append-only and has createdAt, PostTag is a join table.
    assert set(got) == {"Coupon:timestamps", "Post:timestamps", "Tag:timestamps"}
    assert got["Coupon:timestamps"].line == line_of(head, "model Coupon")
    assert "`updatedAt DateTime @updatedAt @db.Timestamptz(3)`" in got["Coupon:timestamps"].message
    off = findings(head, "prisma/missing-timestamps", base=base,
                   options={"prisma/missing-timestamps": {"require_updated_at": False, "exempt_models": ["Tag"]}})
    assert {f.key for f in off} == {"Coupon:timestamps", "Post:timestamps"}


# -- ids ---------------------------------------------------------------------------------------------------------------

def test_autoincrement_int_id_but_not_bigint() -> None:
    text = PG + '''
model Event {
  id Int @id @default(autoincrement())
}

model Log {
  id BigInt @id @default(autoincrement())
}

model Counter {
  id Int @id
}
'''
    [f] = findings(text, "prisma/autoincrement-int-id")
    assert f.key == "Event.id" and f.severity is Severity.INFO and "BigInt" in f.message


def test_uuid_as_text() -> None:
    text = PG + '''
model Team {
  id String @id @default(uuid())
}

model Member {
  id String @id @default(dbgenerated("gen_random_uuid()"))
}

model Good {
  id String @id @default(uuid(7)) @db.Uuid
}

model Cuid {
  id String @id @default(cuid())
}
'''
    got = {f.key: f for f in findings(text, "prisma/uuid-as-text")}
    assert set(got) == {"Team.id", "Member.id"}
    assert "`id String @id @default(uuid()) @db.Uuid`" in got["Team.id"].message


def test_mixed_id_strategies_only_for_new_models_against_a_clear_majority() -> None:
    base = PG + "".join(f"model M{i} {{\n  id String @id @default(cuid())\n}}\n" for i in range(5))
    head = base + "model Webhook {\n  id Int @id @default(autoincrement())\n}\n" + \
        "model Note {\n  id String @id @default(cuid())\n}\n"
    [f] = findings(head, "prisma/mixed-id-strategies", base=base)
    assert f.key == "Webhook:id-strategy" and "`cuid`" in f.message and "5 of 5" in f.message
    # No clear majority: nothing to say.
    cuid = "  id String @id @default(cuid())"
    split = base.replace(f"model M0 {{\n{cuid}", "model M0 {\n  id Int @id @default(autoincrement())")
    split = split.replace(f"model M1 {{\n{cuid}", "model M1 {\n  id String @id @default(uuid())")
    assert findings(split + "model W {\n  id Int @id @default(autoincrement())\n}\n", "prisma/mixed-id-strategies",
                    base=split) == []


# -- column types ------------------------------------------------------------------------------------------------------

def test_varchar_char_json() -> None:
    text = PG + '''
model User {
  id       String  @id @db.Uuid
  name     String  @db.VarChar(255)
  country  String? @db.Char(2)
  settings Json    @db.Json
  profile  Json
  bio      String  @db.Text
}
'''
    [v] = findings(text, "prisma/varchar-length")
    assert v.key == "User.name" and v.severity is Severity.INFO
    [c] = findings(text, "prisma/char-type")
    assert c.key == "User.country" and "`country String?`" in c.message
    [j] = findings(text, "prisma/json-not-jsonb")
    assert j.key == "User.settings" and j.line == line_of(text, "@db.Json") and j.severity is Severity.INFO
    assert "`settings Json`" in j.message


# -- one-line fix suggestions ------------------------------------------------------------------------------------------

def test_suggestions_keep_alignment_and_trailing_comments() -> None:
    text = PG + '''
model Post {
  id        Int      @id
  tags      String[] // free-form labels
  createdAt DateTime @default(now()) // set by the app
  editedAt  DateTime? @db.Timestamp(6)
  meta      Json     @db.Json
  seenAt    DateTime @default(dbgenerated("'2020-01-01 // x'::timestamp")) // first seen
}
'''
    got = {f.key: f.suggestion for f in findings(text) if f.suggestion is not None}
    assert got["Post.tags"] is not None and got["Post.tags"].replacement == \
        "  tags      String[] @default([]) // free-form labels"
    assert got["Post.createdAt"].replacement == \
        "  createdAt DateTime @default(now()) @db.Timestamptz(3) // set by the app"  # type: ignore[union-attr]
    assert got["Post.editedAt"].replacement == "  editedAt  DateTime? @db.Timestamptz(6)"  # type: ignore[union-attr]
    assert got["Post.meta"].replacement == "  meta      Json"  # type: ignore[union-attr]
    assert got["Post.seenAt"].replacement == (  # type: ignore[union-attr]
        "  seenAt    DateTime @default(dbgenerated(\"'2020-01-01 // x'::timestamp\")) @db.Timestamptz(3) // first seen")
    line = line_of(text, "tags      String[]")
    assert got["Post.tags"].line == line and got["Post.tags"].end_line == line
    # Fixes that need edits elsewhere (uuid ids and their foreign keys) get no suggestion.
    assert all(f.suggestion is None for f in findings(PG + "model T {\n  id String @id @default(uuid())\n}\n",
                                                       "prisma/uuid-as-text"))
