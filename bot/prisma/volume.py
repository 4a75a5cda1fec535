"""How many rows a model holds by its nature, guessed from the schema alone (pure: a model in, a reason out).

A lock, a scan or a missing index matters in proportion to the table. Without dbreview-stats.json the schema is
the only evidence, and it says something: a table named for configuration (`Setting`, `ApiKey`, `Invitation`, the
tenants themselves) holds a few rows per tenant, and a table whose unique key is one such small parent plus a
constant (an enum, a boolean) cannot hold more rows than that parent times the constant. Such a guess only ever
lowers a finding to advice, says so in the message, and yields to measured sizes. The other way round, a name of a
stream of happenings (`Message`, `AuditLog`) is evidence for keeping a warning a rule would otherwise soften.
"""

from __future__ import annotations

import re

from bot.prisma.model import Model

# Head nouns (the last word of the model's name) of tables that hold a handful of rows per tenant: settings and
# their kin, access grants, the tenants themselves, definitions. Words that often name large tables in one app and
# small ones in another (member, session, node, package, category, tag) are left out on purpose.
_SMALL_NOUNS = frozenset({
    "setting", "settings", "config", "configs", "configuration", "configurations", "preference", "preferences",
    "option", "options", "integration", "integrations", "provider", "providers", "credential", "credentials",
    "apikey", "apikeys", "invitation", "invitations", "invite", "invites", "feature", "features", "flag", "flags",
    "plan", "plans", "role", "roles", "permission", "permissions", "template", "templates", "definition",
    "definitions", "environment", "environments", "webhook", "webhooks", "organization", "organizations",
    "organisation", "organisations", "org", "orgs", "workspace", "workspaces", "team", "teams", "project",
    "projects", "tenant", "tenants", "registry", "registries", "currency", "currencies", "country", "countries",
    "locale", "locales", "language", "languages", "framework", "frameworks",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


# Head nouns of tables that record things happening: they grow with every use, whatever the app.
_STREAM_NOUNS = frozenset({
    "event", "events", "log", "logs", "message", "messages", "snapshot", "snapshots", "request", "requests",
    "call", "calls", "answer", "answers", "response", "responses", "result", "results", "visit", "visits",
    "click", "clicks", "view", "views", "notification", "notifications", "activity", "activities", "history",
    "histories", "metric", "metrics", "span", "spans", "trace", "traces", "execution", "executions", "run", "runs",
    "delivery", "deliveries", "audit", "audits", "usage", "usages", "transaction", "transactions",
})


def large_by_name(name: str) -> bool:
    """A table or model named for a stream of happenings (`Message`, `ai_sessions_snapshots`, `AuditLog`): large in
    any app that is used. Evidence for keeping a warning, never for raising one."""
    ws = words(name)
    return bool(ws) and ws[-1] in _STREAM_NOUNS


def words(name: str) -> list[str]:
    """`ProviderApiKey` -> ["provider", "api", "key"]; `app_runtime_settings` -> ["app", "runtime", "settings"]."""
    return [w.lower() for w in _WORD.findall(name)]


def _small_name(model: Model) -> str | None:
    for name in dict.fromkeys((model.name, model.db_name or model.name)):
        ws = words(name)
        if not ws:
            continue
        head = ws[-1]
        if len(ws) >= 2 and ws[-2] == "api" and head in ("key", "keys", "token", "tokens"):
            head = "apikey"
        if head in _SMALL_NOUNS:
            return f"`{model.name}` is named for configuration or for a tenant, which holds a few rows per tenant"
    return None


def _small_key(model: Model, schema_models: dict[str, Model]) -> str | None:
    """A unique key made of foreign keys to small-by-name parents plus enum or boolean columns."""
    parents: dict[str, str] = {}
    for f in model.relation_fields:
        rel = f.relation
        if rel is None or rel.model is not model:
            continue
        for col in rel.fields:
            parents[col] = rel.target.name
    for key in model.uniques:
        cols = key.columns
        fk = [c for c in cols if c in parents]
        if not fk:
            continue
        rest = [c for c in cols if c not in parents]
        constant = all((fld := model.by_name.get(c)) is not None and (fld.kind == "enum" or fld.type == "Boolean")
                       for c in rest)
        small_parents = [parents[c] for c in fk]
        if constant and all((p := schema_models.get(n)) is not None and _small_name(p) for n in small_parents):
            what = " and ".join(f"`{n}`" for n in dict.fromkeys(small_parents))
            extra = f" and {', '.join(f'`{c}`' for c in rest)}" if rest else ""
            return f"its unique key ({', '.join(cols)}) allows one row per {what}{extra}"
    return None


def small_by_nature(model: Model, schema_models: dict[str, Model]) -> str | None:
    """Why `model` holds few rows by its nature, or None when the schema does not say so."""
    return _small_name(model) or _small_key(model, schema_models)
