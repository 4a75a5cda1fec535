"""What the plan step works with: statements translated from Prisma calls, their plans, and index candidates.

Plain data, no I/O: `translate` builds Statements, `explain` fills Plans, `advise` compares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Param kinds: how a representative value is chosen when the code computes it.
EQ = "eq"  # `col = $n`, `col IN (...)`: a value of typical frequency in the seeded data
LOW = "low"  # `col > $n` / `col >= $n`: a value near the top, so the range keeps ~10 % of the rows
HIGH = "high"  # `col < $n` / `col <= $n`: a value near the bottom
LIKE = "like"  # `col ILIKE $n`: a fragment of a typical value, wrapped in the pattern
LIMIT = "limit"
OFFSET = "offset"
SET = "set"  # `UPDATE ... SET col = $n`: any value of the column's type


@dataclass(frozen=True)
class Param:
    kind: str
    table: str = ""  # qualified table name ("public.payouts") whose column supplies representative values
    column: str = ""
    known: bool = False  # the code gives the value (a literal)
    value: Any = None  # the literal, when known
    pattern: str = "{}"  # LIKE patterns: "%{}%", "{}%", "%{}"; "{}" otherwise
    lower: bool = False  # compared with LOWER(...) (case-insensitive `in`)


@dataclass
class Access:
    """How one statement reads one table, in the terms an index would serve: what the static advisor compares
    with the model's indexes, for every table the SQL touches (subqueries and follow-up queries included)."""

    model: str  # Prisma model name
    table: str  # qualified: "public.payouts"
    alias: str = ""  # the table's alias in the statement ("t1", "j2"); "" for the statement's own table
    equality: list[str] = field(default_factory=list)  # Prisma field names
    weak: list[str] = field(default_factory=list)  # equality on booleans / enums / null: rarely selective alone
    range: list[str] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    limited: bool = False

    def add(self, kind: str, name: str) -> None:
        target: list[str] = getattr(self, kind)
        if name not in target:
            target.append(name)


@dataclass
class Statement:
    """One SQL statement Prisma Client sends for a call: the main query or a relation's follow-up query."""

    label: str  # "findMany on payouts", "include vendor (follow-up query)"
    sql: str  # with $1..$n placeholders, as Prisma's query log shows it
    params: list[Param]
    table: str  # the statement's main table (qualified)
    accesses: list[Access] = field(default_factory=list)
    in_memory: str = ""  # why Prisma applies take/skip in memory (no LIMIT in the SQL), when it does
    values_from: int | None = None  # a follow-up query: the index of the statement whose rows it loads for
    list_param: bool = False  # `IN ($1)` stands for one parameter per parent row (see translate.expand_list)


@dataclass
class CallRef:
    """The Prisma call a translation comes from, as the findings need it (kept apart from bot.ts's model)."""

    path: str
    line: int
    end_line: int
    target: str  # "prisma.payout.findMany"
    key: str  # the call's stable key (function and target)
    scope: tuple[int, int] | None
    model: str  # Prisma model name
    operation: str
    confidence: float = 1.0


@dataclass
class Translation:
    call: CallRef
    statements: list[Statement]
    variant: str = ""  # "where: `{ categoryId }`" when the call's arguments branch on a condition
    notes: list[str] = field(default_factory=list)
    arguments: dict[str, Any] = field(default_factory=dict)  # this variant's arguments (bot.ts.values objects)


@dataclass
class Untranslated:
    call: CallRef
    reason: str


# -- plans -----------------------------------------------------------------------------------------------------------


@dataclass
class PlanNode:
    node_type: str  # "Seq Scan", "Index Scan", "Sort", ...
    relation: str = ""  # table name for scans
    alias: str = ""
    index: str = ""  # index name for index scans
    rows: float = 0.0  # planner's estimate
    total_cost: float = 0.0
    startup_cost: float = 0.0
    filter: str = ""
    sort_key: str = ""
    depth: int = 0

    def describe(self) -> str:
        what = self.node_type
        if self.index:
            # HypoPG names its indexes `<oid>btree_table_cols`; our real fallback `dbreview_plan_idx_*`.
            suggested = self.index.startswith("<") or self.index.startswith("dbreview_plan_idx_")
            what += " using the suggested index" if suggested else f" using {self.index}"
        if self.relation:
            what += f" on {self.relation}"
        return what


@dataclass
class Plan:
    total_cost: float
    rows: float
    nodes: list[PlanNode]  # depth-first, root first

    def scans_of(self, relation: str) -> list[PlanNode]:
        return [n for n in self.nodes if n.relation == relation]

    def seq_scans(self) -> list[PlanNode]:
        return [n for n in self.nodes if n.node_type in ("Seq Scan", "Parallel Seq Scan")]

    def index_scans(self) -> list[PlanNode]:
        return [n for n in self.nodes if n.index]

    def sorts(self) -> list[PlanNode]:
        return [n for n in self.nodes if n.node_type in ("Sort", "Incremental Sort")]

    def uses_index(self, name: str) -> bool:
        return any(name in n.index for n in self.nodes)

    def excerpt(self, limit: int = 6) -> str:
        """The plan's top nodes, indented, one line each: what a reviewer reads first."""
        lines = []
        for node in self.nodes[:limit]:
            extra = f" (rows={node.rows:,.0f}, cost={node.total_cost:,.1f})"
            lines.append("  " * node.depth + "-> " * (node.depth > 0) + node.describe() + extra)
        if len(self.nodes) > limit:
            lines.append("  " * self.nodes[limit].depth + "...")
        return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    """An index to try: Prisma field names for the `@@index`, column names for the SQL."""

    model: str
    table: str  # qualified
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    origin: str  # "query/missing-index", "prisma/fk-missing-index", "plan", "llm"

    @property
    def prisma(self) -> str:
        return "@@index([" + ", ".join(self.fields) + "])"

    @property
    def same_index(self) -> tuple[str, tuple[str, ...]]:
        return (self.table, self.columns)


@dataclass
class Trial:
    """One candidate index tried on one statement: the plan with it (hypothetical or real) and the cost cut."""

    candidate: Candidate
    plan: Plan | None
    used: bool  # the planner chose the index
    error: str | None = None

    def cut(self, before: Plan) -> float:
        if self.plan is None or before.total_cost <= 0:
            return 0.0
        return max(0.0, 1.0 - self.plan.total_cost / before.total_cost)


@dataclass
class Measured:
    """A statement's measurement: its plan on the seeded data and each candidate tried on it."""

    statement: Statement
    plan: Plan | None = None
    error: str | None = None
    trials: list[Trial] = field(default_factory=list)
    params: list[str] = field(default_factory=list)  # the values EXPLAIN EXECUTE used
    elapsed_ms: float = 0.0

    def best(self) -> Trial | None:
        if self.plan is None:
            return None
        useful = [t for t in self.trials if t.plan is not None and t.used]
        return max(useful, key=lambda t: t.cut(self.plan), default=None)  # type: ignore[arg-type]


@dataclass
class CallMeasurement:
    translation: Translation
    statements: list[Measured] = field(default_factory=list)

    @property
    def call(self) -> CallRef:
        return self.translation.call
