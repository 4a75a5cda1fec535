"""Index, data-safety, list/@ignore, cascade, enum and naming rules."""

from __future__ import annotations

from schema_helpers import PG, findings, line_of

from bot.findings import Severity

# -- prisma/redundant-index, prisma/too-many-indexes ------------------------------------------------------------------

INDEXES = PG + '''
model Session {
  id        String   @id
  websiteId String
  createdAt DateTime @db.Timestamptz(3)
  browser   String?
  token     String   @unique
  slug      String   @unique

  @@index([websiteId])
  @@index([websiteId, createdAt])
  @@index([websiteId, createdAt, browser])
  @@index([token])
  @@index([createdAt(sort: Desc)])
  @@index([createdAt, browser(sort: Desc)])
  @@index([browser], type: Hash)
  @@index([browser, websiteId], type: Gin)
  @@index([slug(ops: raw("text_pattern_ops"))])
}
'''


def test_redundant_prefix_and_duplicate_of_unique() -> None:
    got = {f.key: f for f in findings(INDEXES, "prisma/redundant-index")}
    assert set(got) == {
        "Session:@@index([websiteId])",
        "Session:@@index([websiteId, createdAt])",
        "Session:@@index([token])",
        "Session:@@index([createdAt(sort: Desc)])",  # a single-column btree reads in both directions
    }
    f = got["Session:@@index([websiteId])"]
    assert f.line == line_of(INDEXES, "@@index([websiteId])") and f.scope is not None
    assert "leftmost prefix of the index `@@index([websiteId, createdAt])`" in f.message
    assert "`@unique` on token" in got["Session:@@index([token])"].message


def test_not_redundant_with_different_order_ops_or_type() -> None:
    text = PG + '''
model Post {
  id       Int    @id
  authorId Int
  status   String
  title    String

  @@index([status, authorId])
  @@index([authorId, status])
  @@index([title(ops: raw("gin_trgm_ops"))], type: Gin)
  @@index([title])
}
'''
    assert findings(text, "prisma/redundant-index") == []


def test_index_duplicating_composite_primary_key_prefix() -> None:
    text = PG + '''
model Membership {
  projectId String
  userId    String

  @@id([projectId, userId])
  @@index([projectId])
  @@index([userId])
}
'''
    [f] = findings(text, "prisma/redundant-index")
    assert f.key == "Membership:@@index([projectId])" and "primary key" in f.message


def test_identical_indexes_report_the_second() -> None:
    text = PG + "model A {\n  id Int @id\n  b Int\n\n  @@index([b])\n  @@index([b], map: \"a_b_2\")\n}\n"
    [f] = findings(text, "prisma/redundant-index")
    assert f.line == line_of(text, "a_b_2") and "duplicates the index" in f.message


def test_too_many_indexes_is_configurable() -> None:
    fields = "".join(f"  c{i} Int\n" for i in range(12))
    idx = "".join(f"  @@index([c{i}])\n" for i in range(11))
    text = PG + f"model Wide {{\n  id Int @id\n{fields}\n{idx}}}\n"
    [f] = findings(text, "prisma/too-many-indexes")
    assert f.key == "Wide:too-many-indexes" and "11 indexes" in f.message and f.severity is Severity.INFO
    assert findings(text, "prisma/too-many-indexes", options={"prisma/too-many-indexes": {"max_indexes": 11}}) == []


# -- prisma/sensitive-plaintext ---------------------------------------------------------------------------------------

SENSITIVE = PG + '''
model User {
  id                  String    @id @db.Uuid
  password            String
  apiKey              String?
  resetToken          String?
  ssn                 String?
  passwordHash        String
  hashedApiKey        String
  tokenType           String
  passwordUpdatedAt   DateTime?
  displaySecretKey    String
  publicKey           String
  /// bcrypt hash of the user's password
  legacyPassword      String?
  oauthRefreshToken   String? /// AES-GCM encrypted
  pin                 Int?
  tokens              String[]
}

model Account {
  id       String @id
  password String @db.VarChar(60)
}
'''


def test_sensitive_plaintext_names_and_signs_of_hashing() -> None:
    got = {f.key for f in findings(SENSITIVE, "prisma/sensitive-plaintext")}
    assert got == {"User.password", "User.apiKey", "User.resetToken", "User.ssn"}


def test_oauth_and_session_tokens_are_info() -> None:
    text = PG + '''
model Account {
  id            String  @id
  refresh_token String? @db.Text
  access_token  String? @db.Text
  sessionToken  String  @unique
  inviteToken   String  @unique
}
'''
    got = {f.key: f.severity for f in findings(text, "prisma/sensitive-plaintext")}
    assert got == {"Account.refresh_token": Severity.INFO, "Account.access_token": Severity.INFO,
                   "Account.sessionToken": Severity.INFO, "Account.inviteToken": Severity.WARNING}


def test_sensitive_patterns_are_configurable() -> None:
    opts = {"prisma/sensitive-plaintext": {"sensitive_words": ["password"], "sensitive_phrases": []}}
    got = {f.key for f in findings(SENSITIVE, "prisma/sensitive-plaintext", options=opts)}
    assert got == {"User.password"}


# -- prisma/list-without-default, prisma/required-ignored-field ------------------------------------------------------

def test_list_default_never_on_relation_lists() -> None:
    text = PG + '''
enum Role {
  USER
  ADMIN
}

model User {
  id    Int      @id
  tags  String[]
  roles Role[]
  flags Int[]    @default([])
  posts Post[]
}

model Post {
  id       Int  @id
  authorId Int
  author   User @relation(fields: [authorId], references: [id])

  @@index([authorId])
}
'''
    got = {f.key: f for f in findings(text, "prisma/list-without-default")}
    assert set(got) == {"User.tags", "User.roles"}
    assert "`tags String[] @default([])`" in got["User.tags"].message


def test_required_ignored_field_without_default() -> None:
    text = PG + '''
model User {
  id         Int      @id
  legacyCode String   @ignore
  oldFlag    Boolean  @default(false) @ignore
  oldNote    String?  @ignore
  touchedAt  DateTime @updatedAt @ignore
}
'''
    [f] = findings(text, "prisma/required-ignored-field")
    assert f.key == "User.legacyCode" and f.line == line_of(text, "legacyCode")


# -- prisma/cascade-into-critical -------------------------------------------------------------------------------------

CASCADE = PG + '''
model User {
  id       String    @id @db.Uuid
  payments Payment[]
  orders   Order[]
  posts    Post[]
}

model Payment {
  id     Int    @id
  userId String @db.Uuid
  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@index([userId])
}

model Order {
  id     Int         @id
  userId String      @db.Uuid
  user   User        @relation(fields: [userId], references: [id])
  lines  OrderLine[]

  @@index([userId])
}

model OrderLine {
  id      Int   @id
  orderId Int
  order   Order @relation(fields: [orderId], references: [id], onDelete: Cascade)

  @@index([orderId])
}

model Post {
  id     Int    @id
  userId String @db.Uuid
  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@index([userId])
}
'''


def test_cascade_into_financial_tables_only() -> None:
    [f] = findings(CASCADE, "prisma/cascade-into-critical")
    # Order uses the default (Restrict), OrderLine cascades from its own Order, Post is not financial.
    assert f.key == "Payment.user" and f.line == line_of(CASCADE, "onDelete: Cascade)")
    assert "onDelete: Restrict" in f.message


# -- prisma/enum-value-added ------------------------------------------------------------------------------------------

def test_enum_value_added_to_a_large_enum() -> None:
    values = "\n".join(f"  V{i}" for i in range(6))
    base = PG + f"enum Plan {{\n{values}\n}}\n\nenum Small {{\n  A\n  B\n}}\n"
    head = base.replace("  V5\n", "  V5\n  V6\n").replace("  B\n", "  B\n  C\n")
    [f] = findings(head, "prisma/enum-value-added", base=base)
    assert f.key == "Plan:enum-growth" and f.line == line_of(head, "V6") and f.caused_by_change
    assert findings(base, "prisma/enum-value-added", base=base) == []


# -- naming pack ------------------------------------------------------------------------------------------------------

def test_naming_pack() -> None:
    text = PG + '''
model user_profile {
  id            Int     @id
  refresh_token String
  createdAt     DateTime @map("created_at")
  displayName   String
}

model Post {
  id Int @id

  @@map("post")
}
'''
    keys = {(f.rule, f.key) for f in findings(text) if f.rule.endswith("case")}
    assert keys == {
        ("prisma/model-name-pascal-case", "user_profile:pascal"),
        ("prisma/field-name-camel-case", "user_profile.refresh_token"),
        ("prisma/column-name-snake-case", "user_profile.displayName"),
    }
