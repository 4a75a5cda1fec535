"""Money columns: `Float` amounts, `@db.Money`, and `Decimal` left at Prisma's decimal(65,30) default.

A binary float cannot hold 0.10 exactly; sums drift by cents and comparisons fail. PostgreSQL's `money` type depends
on the server's `lc_monetary` and has a fixed 2-digit scale. A bare Prisma `Decimal` is `decimal(65,30)`: 30 digits
after the point for every value, far from any currency's precision.
"""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput, entity_models, field_finding, words
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Field, Model
from bot.registry import define

FLOAT_MONEY = define(
    "prisma/float-money",
    Severity.WARNING,
    Surface.SCHEMA,
    "Monetary amount stored as Float (binary floating point)",
    options={
        "money_words": ["price", "amount", "total", "subtotal", "cost", "balance", "fee", "fees", "salary", "wage",
                        "revenue", "tax", "vat", "discount", "payout", "refund", "charge", "payment", "budget",
                        "spend", "income", "earnings", "commission", "tip", "deposit", "withdrawal", "debit",
                        "credit", "mrr", "arr", "invoice", "money", "cash", "usd", "eur", "cents", "msrp"],
        "money_models": ["order", "invoice", "payment", "transaction", "ledger", "payout", "refund", "charge",
                         "wallet", "billing", "subscription", "price", "product", "cart", "checkout", "quote"],
    },
)
MONEY_TYPE = define(
    "prisma/money-type",
    Severity.WARNING,
    Surface.SCHEMA,
    "PostgreSQL money type (@db.Money): locale-dependent and fixed to 2 decimals",
)
DECIMAL_DEFAULT = define(
    "prisma/decimal-default-precision",
    Severity.INFO,
    Surface.SCHEMA,
    "Decimal without @db.Decimal(p, s): Prisma creates decimal(65,30)",
)

# Words that turn a money-sounding name into a count, ratio or measurement (`totalTokens`, `costPercent`).
_NOT_MONEY = {"count", "counts", "tokens", "token", "percent", "percentage", "pct", "ratio", "rate", "rates",
              "score", "weight", "duration", "ms", "seconds", "secs", "time", "latency", "size", "bytes", "quantity",
              "qty", "usage", "points", "views", "clicks", "tries", "attempts", "limit", "limits",
              "id", "ids", "type", "currency", "code", "at", "date", "name", "status", "version", "lines", "items",
              "days", "hours", "minutes", "factor", "multiplier", "steps", "pages", "rows", "calls", "requests",
              "credits", "level", "rank", "index", "position"}
_CONTEXT_FIELDS = {"value", "net", "gross", "sum", "unit", "base", "list", "sale", "retail", "paid", "due",
                   "owed", "remaining", "outstanding"}


def is_money_name(f: Field, model: Model, opts: dict) -> bool:
    ws = words(f.name)
    if not ws or set(ws) & _NOT_MONEY:
        return False
    money_words = set(opts.get("money_words", []))
    if set(ws) & money_words:
        return True
    model_words = set(words(model.name)) | set(words(model.db_name))
    return bool(model_words & set(opts.get("money_models", []))) and ws[-1] in _CONTEXT_FIELDS


def _decimal_option(provider: str | None, f: Field) -> str:
    """The Decimal alternative the schema's connector accepts: MongoDB has no Decimal at all, SQLite no `@db.*`."""
    opt = "?" if f.optional else ""
    if provider == "mongodb":
        return ""
    if provider == "sqlite":
        return f" or use `{f.name} Decimal{opt}` (exact decimal arithmetic in Prisma Client)"
    return f" or use `{f.name} Decimal{opt} @db.Decimal(12, 2)` (scale = the currency's decimals)"


def check(inp: SchemaInput) -> list[Finding]:
    schema = inp.schema
    findings: list[Finding] = []
    opts = inp.options(FLOAT_MONEY)
    for m in entity_models(schema):
        for f in m.fields:
            if f.kind != "scalar":
                continue
            if f.type == "Float" and is_money_name(f, m, opts):
                findings.append(field_finding(
                    FLOAT_MONEY, f,
                    f"`{f.key}` looks like a monetary amount but is `Float` (double precision): binary floating "
                    "point cannot store 0.10 exactly, so sums and comparisons drift by fractions of a cent. Store "
                    f"integer minor units (`{f.name}Cents Int` or `BigInt`){_decimal_option(schema.provider, f)}.",
                ))
            if not schema.is_postgres or f.native is None:
                continue
            if f.native.explicit and f.native.name == "Money":
                findings.append(field_finding(
                    MONEY_TYPE, f, f"`{f.key}` uses `@db.Money`: PostgreSQL's money type formats and parses by the "
                    "server's `lc_monetary` locale, has a fixed scale of 2, and cannot hold a currency code. Use "
                    "`@db.Decimal(19, 4)` (or integer minor units) plus a currency column.",
                    line=f.attr_line("db.Money")))
            elif f.type == "Decimal" and not f.native.explicit:
                findings.append(field_finding(
                    DECIMAL_DEFAULT, f, f"`{f.key}` is a bare `Decimal`, which Prisma creates as `decimal(65,30)`: "
                    "30 fractional digits on every value, wider rows and slower arithmetic, and no statement of the "
                    "intended precision. Declare it, e.g. `@db.Decimal(12, 2)` for an amount or "
                    "`@db.Decimal(18, 6)` for a rate."))
    return findings
