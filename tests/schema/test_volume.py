"""The schema's guess at how many rows a model holds (bot.prisma.volume)."""

from __future__ import annotations

import pytest

from bot.prisma.load import load_texts
from bot.prisma.volume import large_by_name, small_by_nature, words

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}
enum Kind {
  A
  B
}
model Workspace {
  id String @id
}
model ProviderApiKey {
  id String @id
}
model app_runtime_settings {
  id String @id
}
model Message {
  id String @id
}
model Member {
  id String @id
}
model WorkspaceQuota {
  id          String    @id
  workspaceId String
  kind        Kind
  workspace   Workspace @relation(fields: [workspaceId], references: [id])
  @@unique([workspaceId, kind])
}
model WorkspaceVisit {
  id          String    @id
  workspaceId String
  at          DateTime
  workspace   Workspace @relation(fields: [workspaceId], references: [id])
  @@unique([workspaceId, at])
}
"""


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    return load_texts({"schema.prisma": SCHEMA}).schema.models


def test_words_split_camel_and_snake_case() -> None:
    assert words("ProviderApiKey") == ["provider", "api", "key"]
    assert words("app_runtime_settings") == ["app", "runtime", "settings"]
    assert words("HTTPRequestLog") == ["http", "request", "log"]


@pytest.mark.parametrize("name", ["Workspace", "ProviderApiKey", "app_runtime_settings"])
def test_configuration_and_tenant_names_are_small(models, name: str) -> None:  # type: ignore[no-untyped-def]
    assert small_by_nature(models[name], models)


@pytest.mark.parametrize("name", ["Message", "Member", "WorkspaceVisit"])
def test_streams_and_ambiguous_names_are_not(models, name: str) -> None:  # type: ignore[no-untyped-def]
    # WorkspaceVisit's unique key pins a timestamp, not a constant: one row per visit.
    assert small_by_nature(models[name], models) is None


def test_one_row_per_small_parent_and_enum_value_is_small(models) -> None:  # type: ignore[no-untyped-def]
    reason = small_by_nature(models["WorkspaceQuota"], models)
    assert reason is not None and "`Workspace`" in reason and "`kind`" in reason


@pytest.mark.parametrize(("name", "large"), [("Message", True), ("ai_sessions_snapshots", True), ("AuditLog", True),
                                             ("Order", False), ("MessageTemplate", False)])
def test_tables_named_for_a_stream_of_happenings_are_large(name: str, large: bool) -> None:
    assert large_by_name(name) is large
