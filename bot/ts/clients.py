"""Which receivers are a Prisma Client: the names real projects use, what the file imports, what it constructs.

`prisma.order.findMany()`, `db.order…`, `ctx.prisma…`, `this.prisma…`, `this.prismaService…`, a transaction client
`tx…`, any name imported from a module that builds or re-exports a PrismaClient, fields and parameters typed
`PrismaClient` / `PrismaService` / `Prisma.TransactionClient`. Anything else with a model accessor and a Prisma-only
operation name still counts, with lower confidence.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_CLIENT_NAMES = frozenset({"prisma", "db", "prismaClient", "prismaService", "prismaDb", "database",
                                  "dbClient", "prismaRead", "prismaWrite", "readReplica", "primary"})
TX_NAMES = frozenset({"tx", "trx", "txn", "transaction", "txClient", "prismaTx", "tx_", "transactionClient", "t"})

IMPORT_LINE = _IMPORT = re.compile(r"""^[ \t]*import\s+(?:type\s+)?([\w${},\s*]+?)\s+from\s+['"]([^'"]+)['"]""", re.M)
_REQUIRE = re.compile(r"""(?:const|let|var)\s+(\{[^}]*\}|\w+)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)""")
_NEW_CLIENT_BINDING = re.compile(r"""(?:const|let|var)\s+(\w+)\s*(?::[^=\n]+)?=[^;\n]{0,200}?\bnew\s+PrismaClient\b""")
_EXTENDS_BINDING = re.compile(r"""(?:const|let|var)\s+(\w+)\s*(?::[^=\n]+)?=\s*(\w+)\s*\.\s*\$extends\b""")
_FACTORY_BINDING = re.compile(r"""(?:const|let|var)\s+(\w+)\s*(?::[^=\n]+)?=\s*(?:await\s+)?(\w+)\s*\(""")
# Both typed-name patterns start at a word boundary: their name must end where the word does (a space, `?`, `!` or `:`
# follows), so a match never starts inside a word, and without the `\b` the engine tries every character of every
# word and backtracks over the rest of it (3x the time; collect_client_names was 5 % of a typical review).
_TYPED_NAME = re.compile(
    r"""\b(\w+)\s*[?!]?\s*:\s*(?:typeof\s+)?([\w.]*(?:Prisma|TransactionClient|DbClient)[\w.<>]*)""")
# `class PrismaService extends PrismaClient` (NestJS), `class Db extends PrismaClient<...>`: instances are clients.
_CLIENT_CLASS = re.compile(r"\bclass\s+(\w+)(?:<[^>{]*>)?\s+extends\s+(?:Prisma\.)?(\w*PrismaClient|PrismaService)\b")
# `constructor(private readonly store: DatabaseService)`, `db!: DatabaseService`: a name typed by a class.
_CLASS_TYPED_NAME = re.compile(r"\b(\w+)\s*[?!]?\s*:\s*([A-Z]\w*)\b(?!\s*[.<])")
_CLIENT_CLASS_NAME = re.compile(r"^[A-Z]\w*(Service|Client|Db|DB|Database|Prisma|Repository)$")
_DB_MODULE = re.compile(r"(^|[/@~])(prisma|db|database|lib/db|server/db)(/|$|\.)|prisma|(^|/)db(\.\w+)?$", re.I)
# Modules whose functions talk to the outside world: `import { updateSubscription } from "@/ee/stripe/update"`.
_IO_MODULE = re.compile(r"stripe|(^|[/@-])(e?-?mail\w*|nodemailer|sms|twilio|webhooks?|slack|resend|sendgrid|postmark|"
                        r"s3|sqs|sns|pusher|inngest|trigger\.dev|qstash|bullmq)([/.-]|$)", re.I)
_RESOLVE_EXTS = (".ts", ".tsx", ".js", ".mjs", ".cjs", ".mts", "/index.ts", "/index.js", "/index.tsx")


@dataclass
class ClientNames:
    clients: set[str] = field(default_factory=set)
    transactions: set[str] = field(default_factory=set)
    imports_prisma: bool = False  # the file imports @prisma/client (or a Prisma adapter) directly
    io_imports: set[str] = field(default_factory=set)  # names imported from payment / mail / queue modules

    def kind_of(self, segments: list[str]) -> str | None:
        """"transaction", "client" or None for the receiver's name segments (`this.prisma` -> [this, prisma])."""
        for seg in reversed(segments):
            if seg in self.transactions or seg in TX_NAMES:
                return "transaction"
            if seg in self.clients or seg in DEFAULT_CLIENT_NAMES:
                return "client"
        return None


def _import_names(clause: str) -> list[str]:
    clause = clause.strip()
    names: list[str] = []
    for part in re.split(r"[{},]", clause):
        part = part.strip()
        if not part or part == "type":
            continue
        if part.startswith("* as "):
            names.append(part[5:].strip())
        elif " as " in part:
            names.append(part.split(" as ", 1)[1].strip())
        else:
            names.append(part.removeprefix("type ").strip())
    return [n for n in names if n]


def resolve_module(importer: str, spec: str, exists: Callable[[str], bool]) -> str | None:
    """A relative or `@/`-aliased import to a path in the tree, trying the usual extensions."""
    if spec.startswith("."):
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
        bases = [base]
    elif spec.startswith(("@/", "~/")):
        rest = spec[2:]
        bases = [f"src/{rest}", rest]
        # monorepos: apps/web/src/... -> alias relative to the package root holding the importer
        parts = importer.split("/")
        for i in range(len(parts) - 1, 0, -1):
            if parts[i] == "src":
                bases.insert(0, "/".join(parts[: i + 1]) + "/" + rest)
                break
    else:
        return None
    for b in bases:
        for candidate in (b, *(b + ext for ext in _RESOLVE_EXTS)):
            if exists(candidate):
                return candidate
    return None


_FACTORY_NAME = re.compile(r"prisma|db|database|client|conn|pool|orm", re.IGNORECASE)


def collect_client_names(path: str, text: str,
                         module_is_client: Callable[[str, str], bool] | None = None) -> ClientNames:
    """Scan a file's text once for the names that hold a Prisma Client.

    `module_is_client(importer, specifier)` says whether an imported module builds or re-exports a PrismaClient
    (the caller resolves it in the repository); module names such as `@/lib/prisma` or `~/server/db` count anyway.
    """
    names = ClientNames()
    client_types = set(_CLIENT_CLASS.findall(text)) if "extends" in text else set()
    client_types = {cls for cls, _base in client_types}
    # Regexes run on the few lines that can match, not on the whole file (most lines are plain code).
    typed_text = "\n".join(line for line in text.split("\n")
                           if "Prisma" in line or "TransactionClient" in line or "DbClient" in line)
    requires = _REQUIRE.findall(text) if "require(" in text else []
    for clause, spec in [*_IMPORT.findall(text), *requires]:
        imported = _import_names(clause)
        if spec == "@prisma/client" or spec.startswith(("@prisma/client/", "@prisma/adapter")):
            names.imports_prisma = True
            continue
        if _DB_MODULE.search(spec) or (module_is_client is not None and module_is_client(path, spec)):
            names.clients.update(n for n in imported if n and n[0].islower())
            # a class imported from a module that builds a client: `DatabaseService extends PrismaClient`
            # (named like one: the same module often re-exports the model types `User`, `Order`)
            client_types.update(n for n in imported if _CLIENT_CLASS_NAME.search(n) and n != "PrismaClient")
        elif _IO_MODULE.search(spec):
            names.io_imports.update(n for n in imported if n)
    names.clients.update(_NEW_CLIENT_BINDING.findall(typed_text))
    for new_name, base in _EXTENDS_BINDING.findall(text) if "$extends" in text else ():
        if base in names.clients or base in DEFAULT_CLIENT_NAMES:
            names.clients.add(new_name)
    # `const client = getPrisma()` / `= await createDb(url)` with the factory imported from a client module
    # (named like a client factory: a module's `getDocument` helper returns a row, not a client)
    factories = {n for n in names.clients if n not in DEFAULT_CLIENT_NAMES and _FACTORY_NAME.search(n)}
    if factories:
        for new_name, factory in _FACTORY_BINDING.findall(text):
            if factory in factories:
                names.clients.add(new_name)
    if client_types:
        for name, type_name in _CLASS_TYPED_NAME.findall(text):
            if type_name in client_types:
                names.clients.add(name)
    for name, type_text in _TYPED_NAME.findall(typed_text):
        if "TransactionClient" in type_text:
            names.transactions.add(name)
        elif re.search(r"PrismaClient|PrismaService|Prisma\w*Client|DbClient|ExtendedPrisma", type_text):
            names.clients.add(name)
    return names
