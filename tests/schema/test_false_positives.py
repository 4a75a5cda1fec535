"""Findings from reviewing the schema rules on real-world schemas (fixtures written for these tests).

Most tests pin one false positive that was fixed: the finding a reviewer would have rejected no longer appears,
while the nearby true positive still does. The last ones pin problems the review showed the rules missed.
"""

from __future__ import annotations

from schema_helpers import MYSQL, PG, findings

SQLITE = '''datasource db {
  provider = "sqlite"
  url      = env("DATABASE_URL")
}
'''


def test_composite_fk_led_by_the_parents_id_is_covered_even_when_named_like_a_tenant() -> None:
    # (accountId, userId) → Account(id, userId): `accountId` picks one account, so @@index([accountId]) serves the
    # foreign key check although "account" is also a common tenant name.
    text = PG + '''
model User {
  id       String    @id @default(uuid()) @db.Uuid
  accounts Account[]
}

model Account {
  id       String    @default(uuid()) @db.Uuid
  userId   String    @db.Uuid
  user     User      @relation(fields: [userId], references: [id])
  balances Balance[]

  @@id([id, userId])
  @@index([userId])
}

model Balance {
  id        String  @id @default(uuid()) @db.Uuid
  accountId String  @db.Uuid
  userId    String  @db.Uuid
  account   Account @relation(fields: [accountId, userId], references: [id, userId])

  @@index([accountId])
}
'''
    assert findings(text, "prisma/fk-missing-index") == []


def test_composite_fk_led_only_by_its_tenant_column_is_still_reported_with_an_accurate_reason() -> None:
    text = PG + '''
model Project {
  id       String    @id @db.Uuid
  datasets Dataset[]
  items    Item[]
}

model Dataset {
  id        String  @db.Uuid
  projectId String  @db.Uuid
  project   Project @relation(fields: [projectId], references: [id])
  items     Item[]

  @@id([id, projectId])
}

model Item {
  id        String  @id @db.Uuid
  datasetId String  @db.Uuid
  projectId String  @db.Uuid
  project   Project @relation(fields: [projectId], references: [id])
  dataset   Dataset @relation(fields: [datasetId, projectId], references: [id, projectId])

  @@index([projectId, id])
}
'''
    [f] = [f for f in findings(text, "prisma/fk-missing-index") if f.key == "Item.datasetId+projectId"]
    assert "starts with only `projectId`" in f.message
    assert "does not start with it" not in f.message


def test_autoincrement_int_on_sqlite_is_not_a_32_bit_serial() -> None:
    text = SQLITE + '''
model Tag {
  id   Int    @id @default(autoincrement())
  name String @unique
}
'''
    assert findings(text, "prisma/autoincrement-int-id") == []
    [f] = findings(PG + text[len(SQLITE):], "prisma/autoincrement-int-id")
    assert "32-bit `serial`" in f.message and "@default(uuid(7)) @db.Uuid`" in f.message


def test_autoincrement_int_on_mysql_names_mysqls_column_type() -> None:
    text = MYSQL + '''
model Tag {
  id   Int    @id @default(autoincrement())
  name String @unique
}
'''
    [f] = findings(text, "prisma/autoincrement-int-id")
    assert "`INT AUTO_INCREMENT`" in f.message and "serial" not in f.message
    assert "@db.Uuid" not in f.message  # MySQL has no uuid native type


def test_index_messages_name_the_schemas_database() -> None:
    body = '''
model User {
  id    Int    @id
  notes Note[]
}

model Note {
  id      Int      @id
  ownerId Int
  at      DateTime
  owner   User     @relation(fields: [ownerId], references: [id])

  @@index([id])
}

model Post {
  id       Int @id
  authorId Int

  @@index([authorId])
  @@index([authorId, id])
}
'''
    sqlite = findings(SQLITE + body)
    [fk] = [f for f in sqlite if f.rule == "prisma/fk-missing-index"]
    assert fk.message.count("SQLite does not index") == 1 and "PostgreSQL" not in fk.message
    redundant = [f for f in sqlite if f.rule == "prisma/redundant-index"]
    assert redundant and all("SQLite can use" in f.message and "PostgreSQL" not in f.message for f in redundant)
    pg = findings(PG + body)
    assert any("PostgreSQL does not index" in f.message for f in pg if f.rule == "prisma/fk-missing-index")


def test_too_many_indexes_on_mysql_points_at_mysqls_usage_view() -> None:
    fields = "\n".join(f"  c{i} Int" for i in range(12))
    indexes = "\n".join(f"  @@index([c{i}])" for i in range(12))
    text = MYSQL + f"\nmodel Wide {{\n  id Int @id\n{fields}\n\n{indexes}\n}}\n"
    [f] = findings(text, "prisma/too-many-indexes")
    assert "sys.schema_unused_indexes" in f.message and "pg_stat" not in f.message


def test_date_created_and_date_modified_count_as_timestamps() -> None:
    text = SQLITE + '''
model Album {
  id            Int       @id @default(autoincrement())
  name          String?
  date_created  DateTime?
  date_modified DateTime?
}

model Label {
  id           Int       @id @default(autoincrement())
  name         String    @unique
  creationDate DateTime  @default(now())
}

model Folder {
  id   Int    @id @default(autoincrement())
  name String
  createdBy String
  updatedBy String
}
'''
    got = {f.key: f.message for f in findings(text, "prisma/missing-timestamps", new_schema=True)}
    assert "Album:timestamps" not in got
    assert "no updatedAt column" in got["Label:timestamps"]  # has a creation time, lacks a modification time
    # `createdBy`/`updatedBy` are who, not when: Folder still lacks both timestamps.
    assert "no createdAt or updatedAt column" in got["Folder:timestamps"]


def test_authjs_verification_token_is_hashed_by_the_library_but_a_home_made_one_is_not() -> None:
    # Auth.js writes sha256(token + secret) into VerificationToken.token; its adapter model has exactly this shape.
    authjs = PG + '''
model VerificationToken {
  identifier String
  token      String   @unique
  expires    DateTime

  @@unique([identifier, token])
}
'''
    assert findings(authjs, "prisma/sensitive-plaintext") == []
    # Same names, written by the app itself (no compound key of the adapter schema): the app stores what it emails.
    own = PG + '''
model VerificationToken {
  id         Int      @id @default(autoincrement())
  identifier String
  token      String   @unique
  expires    DateTime
  userId     Int
}
'''
    [f] = findings(own, "prisma/sensitive-plaintext")
    assert f.key == "VerificationToken.token"


def test_oauth1_credentials_of_an_auth_library_account_are_info_like_oauth2_tokens() -> None:
    text = PG + '''
model Account {
  id                 String  @id @default(cuid())
  userId             String
  provider           String
  access_token       String?
  oauth_token        String?
  oauth_token_secret String?
  webhookSecret      String?

  @@index([userId])
}
'''
    got = {f.key: f.severity.value for f in findings(text, "prisma/sensitive-plaintext")}
    assert got["Account.oauth_token"] == got["Account.oauth_token_secret"] == got["Account.access_token"] == "info"
    assert got["Account.webhookSecret"] == "warning"  # the app's own secret keeps its severity


def test_a_default_now_column_under_another_name_is_the_creation_time() -> None:
    text = PG + '''
model PageView {
  id       String   @id @default(cuid())
  path     String
  viewedAt DateTime @default(now()) @db.Timestamptz(3)
}

model Reminder {
  id     String   @id @default(cuid())
  dueAt  DateTime @db.Timestamptz(3)
  note   String
}
'''
    got = {f.key: f.message for f in findings(text, "prisma/missing-timestamps", new_schema=True)}
    assert "no updatedAt column" in got["PageView:timestamps"]  # viewedAt is when it appeared; nothing says changed
    # A DateTime without default(now()) is a business date, not the row's creation time.
    assert "no createdAt or updatedAt column" in got["Reminder:timestamps"]


def test_authjs_adapter_models_are_not_asked_for_timestamps_but_look_alikes_are() -> None:
    text = PG + '''
model User {
  id        String    @id @default(cuid())
  createdAt DateTime  @default(now()) @db.Timestamptz(3)
  updatedAt DateTime  @updatedAt @db.Timestamptz(3)
  accounts  Account[]
  sessions  Session[]
}

model Account {
  id                String  @id @default(cuid())
  userId            String
  type              String
  provider          String
  providerAccountId String
  refresh_token     String?
  user              User    @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@unique([provider, providerAccountId])
  @@index([userId])
}

model Session {
  id           String   @id @default(cuid())
  sessionToken String   @unique
  userId       String
  expires      DateTime @db.Timestamptz(3)
  user         User     @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@index([userId])
}

model BankAccount {
  id       String @id @default(cuid())
  provider String
  iban     String @unique
}
'''
    got = {f.key for f in findings(text, "prisma/missing-timestamps", new_schema=True)}
    assert got == {"BankAccount:timestamps"}  # the app's own model named like a provider account still counts


def test_float_money_fix_only_offers_what_the_connector_supports() -> None:
    body = '''
model Listing {
  id    String @id
  price Float
}
'''
    mongo = '''datasource db {
  provider = "mongodb"
  url      = env("DATABASE_URL")
}
'''
    [m] = findings(mongo + body, "prisma/float-money")
    assert "priceCents Int" in m.message and "Decimal" not in m.message  # MongoDB has no Decimal type
    [s] = findings(SQLITE + body, "prisma/float-money")
    assert "`price Decimal`" in s.message and "@db.Decimal" not in s.message  # SQLite takes no native types
    [p] = findings(PG + body, "prisma/float-money")
    assert "`price Decimal @db.Decimal(12, 2)`" in p.message


def test_mixed_id_strategies_ignores_shared_primary_keys_and_natural_keys() -> None:
    models = "".join(f'''
model Thing{i} {{
  id   String @id @default(uuid()) @db.Uuid
  name String
}}
''' for i in range(5))
    base = PG + '''
model User {
  id       String    @id @default(uuid()) @db.Uuid
  settings Settings?
}
''' + models
    head = base + '''
model Settings {
  userId String @id @db.Uuid
  theme  String
  user   User   @relation(fields: [userId], references: [id])
}

model Property {
  key   String @id
  value String
}

model Counter {
  id    Int    @id @default(autoincrement())
  value Int
}
'''
    got = {f.key for f in findings(head, "prisma/mixed-id-strategies", base=base)}
    # Settings reuses the user's id and Property is keyed by its own name; Counter really breaks the convention.
    assert got == {"Counter:id-strategy"}


def test_unique_that_repeats_the_primary_key_is_redundant_but_a_reordered_or_other_unique_is_not() -> None:
    text = PG + '''
model ApiKey {
  id        String @id @unique @default(cuid())
  hashedKey String @unique
}

model Pair {
  a Int
  b Int

  @@id([a, b])
  @@unique([a, b])
  @@unique([b, a])
}
'''
    got = {(f.key, f.line) for f in findings(text, "prisma/redundant-index")}
    assert got == {("ApiKey:unique-repeats-pk", 11), ("Pair:unique-repeats-pk", 20)}
    [f] = [f for f in findings(text, "prisma/redundant-index") if f.key.startswith("ApiKey")]
    assert f.message.endswith("Remove `@unique` on `id`.")


def test_anti_csrf_token_is_info_but_a_session_handle_token_is_not() -> None:
    text = SQLITE + '''
model Session {
  id            Int     @id @default(autoincrement())
  antiCSRFToken String?
  resetToken    String?
}
'''
    got = {f.key: f.severity.value for f in findings(text, "prisma/sensitive-plaintext")}
    assert got == {"Session.antiCSRFToken": "info", "Session.resetToken": "warning"}
