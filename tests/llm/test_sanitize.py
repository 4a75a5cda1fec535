"""Output safety rules for model-written text."""

from __future__ import annotations

import pytest

from bot.llm.sanitize import escape_invisible, is_allowed_url, safe_suggestion, sanitize_line, sanitize_markdown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/approve", "`/approve`"),
        ("ok\n   /merge now", "ok\n   `/merge` now"),
        ("a path /usr/bin in the middle", "a path /usr/bin in the middle"),
        ("cc @octocat please", "cc `@octocat` please"),
        ("team @org/admins.", "team `@org/admins`."),
        ("add `@@index([userId])` here", "add `@@index([userId])` here"),
        ("add @@index([userId, createdAt]) here", "add `@@index([userId, createdAt])` here"),
        ("use @db.Uuid", "use `@db.Uuid`"),
        ("mail ops@example.com", "mail (address removed)"),
        ("see [docs](https://www.postgresql.org/docs/)", "see docs"),
        ("see [issue](https://github.com/prisma/prisma/issues/1)", "see [issue](https://github.com/prisma/prisma/issues/1)"),
        ("see https://evil.example.com/x?y=1.", "see (link removed)."),
        ("see www.evil.example.com", "see (link removed)"),
        ("![pixel](https://evil.example.com/p.png)", "pixel"),
        ("hidden <!-- dbreview:{\"a\":1} --> text", "hidden  text"),
        ("<details><summary>x</summary>", "&lt;details>&lt;summary>x&lt;/summary>"),
        ("a\u202eb\u200bc", "abc"),
        ("unterminated <!-- forged", "unterminated"),
    ],
)
def test_sanitize_markdown(raw: str, expected: str) -> None:
    assert sanitize_markdown(raw) == expected


def test_code_keeps_its_text_but_cannot_forge_markers_or_start_a_command() -> None:
    text = "Fix:\n```sql\n/approve\n-- <!-- dbreview -->\nCREATE INDEX CONCURRENTLY \"a\" ON \"b\" (\"c\");\n```\n" \
           "and `@relation(fields: [a])`"
    out = sanitize_markdown(text)
    assert "<!--" not in out
    assert "\n∕approve\n" in out
    assert 'CREATE INDEX CONCURRENTLY "a" ON "b" ("c");' in out
    assert "`@relation(fields: [a])`" in out


def test_sanitizing_is_idempotent() -> None:
    raw = "/x @a https://evil.example.com <!-- c --> [l](http://e.x) `@@id` a@b.co"
    once = sanitize_markdown(raw)
    assert sanitize_markdown(once) == once


def test_titles_are_one_line() -> None:
    assert sanitize_line("Missing\nindex  on @userId") == "Missing index on `@userId`"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://github.com/a/b", True),
        ("https://docs.github.com/en", True),
        ("https://github.com.evil.example/a", False),
        ("https://evilgithub.com/", False),
        ("http://user@github.com@evil.example/", False),
        ("javascript:alert(1)", False),
        ("https://example.github.io/", False),
    ],
)
def test_allowed_hosts(url: str, allowed: bool) -> None:
    assert is_allowed_url(url) is allowed


def test_suggestions_are_refused_not_rewritten() -> None:
    assert safe_suggestion("  @@index([vendorId])") == "  @@index([vendorId])"
    assert safe_suggestion("/approve") is None
    assert safe_suggestion("x <!-- y -->") is None
    assert safe_suggestion("a\u202eb") is None


def test_hidden_characters_are_made_visible_for_the_model() -> None:
    assert escape_invisible("a\u202eb\U000e0041") == "a<U+202E>b<U+E0041>"
    assert escape_invisible("plain ascii") == "plain ascii"
    assert escape_invisible("café 👍") == "café 👍"
