"""The `/* Warnings: ... */` header `prisma migrate dev` writes at the top of a risky migration.sql.

Templates are prisma-engines' `warning_check.rs` and `unexecutable_step_check.rs` (sql_destructive_change_checker);
each bullet becomes a PrismaWarning with the table/column it names, so analyzers can tie it to a statement.
"""

from __future__ import annotations

import re

from bot.sql.model import PrismaWarning

_BLOCK = re.compile(r"/\*(.*?)\*/", re.S)
_T = r"`([^`]+)`"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("drop_column", re.compile(rf"You are about to drop the column {_T} on the {_T} table")),
    ("drop_table", re.compile(rf"You are about to drop the {_T} table")),
    ("add_required_prisma_default",
     re.compile(rf"The required column {_T} was added to the {_T} table with a prisma-level default")),
    ("add_required", re.compile(rf"Added the required column {_T} to the {_T} table without a default value")),
    ("made_required", re.compile(rf"Made the column {_T} on table {_T} required")),
    ("unique_added", re.compile(rf"A unique constraint covering the columns `\[?([^`\]]*)\]?` on the table {_T}")),
    ("enum_values_removed", re.compile(rf"The values? \[([^\]]*)\] on the enum {_T} will be removed")),
    ("primary_key_change", re.compile(rf"The primary key for the {_T} table will be changed")),
    ("not_castable", re.compile(rf"You are about to alter the column {_T} on the {_T} table.*?cast from {_T} to {_T}\."
                                r".*This cast may fail")),
    ("risky_cast", re.compile(rf"You are about to alter the column {_T} on the {_T} table.*?cast from {_T} to {_T}")),
    ("drop_recreate_column", re.compile(rf"The {_T} column on the {_T} table would be dropped and recreated")),
    ("drop_recreate_required", re.compile(rf"Changed the type of {_T} on the {_T} table\. No cast exists")),
    ("scalar_to_list", re.compile(rf"Changed the column {_T} on the {_T} table from a scalar field to a list")),
]


def parse_warnings(text: str) -> list[PrismaWarning]:
    """Every bullet of every `/* ... Warnings: ... */` block before the first statement-looking line."""
    out: list[PrismaWarning] = []
    for block in _BLOCK.finditer(text):
        body = block.group(1)
        if not re.match(r"\s*Warnings:", body):
            continue
        base_line = text.count("\n", 0, block.start(1)) + 1
        bullet: list[str] = []
        bullet_line = 0
        for i, raw in enumerate(body.split("\n")):
            stripped = raw.strip()
            if stripped.startswith("- "):
                if bullet:
                    out.append(_classify(" ".join(bullet), bullet_line))
                bullet, bullet_line = [stripped[2:].strip()], base_line + i
            elif stripped and bullet:  # a long bullet wrapped by hand
                bullet.append(stripped)
            elif not stripped and bullet:
                out.append(_classify(" ".join(bullet), bullet_line))
                bullet = []
        if bullet:
            out.append(_classify(" ".join(bullet), bullet_line))
    return out


def _classify(text: str, line: int) -> PrismaWarning:
    for kind, pattern in _PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        g = m.groups()
        if kind in ("drop_table", "primary_key_change"):
            return PrismaWarning(kind, text, line, table=g[0])
        if kind == "unique_added":
            cols = tuple(c.strip() for c in g[0].split(",") if c.strip())
            return PrismaWarning(kind, text, line, table=g[1], values=cols)
        if kind == "enum_values_removed":
            vals = tuple(v.strip() for v in g[0].split(",") if v.strip())
            return PrismaWarning(kind, text, line, table=g[1], values=vals)
        if kind in ("not_castable", "risky_cast"):
            return PrismaWarning(kind, text, line, table=g[1], column=g[0], from_type=g[2], to_type=g[3])
        return PrismaWarning(kind, text, line, table=g[1], column=g[0])
    return PrismaWarning("other", text, line)
