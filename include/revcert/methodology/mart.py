"""Build the mart from staging: the SQL models in order, then the methodology's checks.

Models are `sql/mart/<model>.sql`, each a query named for its table (declared
in revcert.warehouse.schema, with the model's grain as primary key). Rows go in
by column name: `insert into mart.m (columns) select columns from (model)`, so
neither side depends on the other's column order. A build happens in one
transaction: the caller's transaction holds either the whole new mart or, after
a failure, the previous one. The tables are unlogged (migration 0022): a crash
of the server empties them, and the next build is then whole.

A build is incremental. Staged rows carry the batch that wrote them, and the
mart keeps the batches it was built from (`mart_staged_batch`): the lines a
newer batch staged, or whose contract or product it staged, or that start
within a dated rate's period that changed, have their line rows recomputed. The
contracts in scope, those these lines belong to (before and after), those a
newer batch staged, those any of these renew, both ends of a link that came or
went and those whose account, customer or override changed, have their renewal
grace and their lines' service intervals recomputed. The renewal links, the
contracts' customers and the accounts are rebuilt whole: a change reaches
across their graph, and they are cheap. Each customer's inputs are digested
again (`mart_customer_input`, a digest of everything the customer-grain models
read about a customer) only for the customers of the contracts in scope, before
and after, and each customer whose account changed; the others keep the last
build's digest. Then only the customers whose digest changed have their
customer-grain rows recomputed. The others keep theirs, which the same inputs
would reproduce row for row. The sums over all customers (bridge, cohorts) are
then rebuilt from that detail. Staging is written by staged batches alone; a
row changed in place, under an old batch, would be seen by the next whole build
(and meanwhile by the certification, which derives from staging).

When the as-of date moved on within its month and week (the day's first run),
every customer's rows of the as-of month are rebuilt as well: no earlier
month's row depends on the as-of date (each of them ends before it), and
neither do segments and cohorts. A customer with no published month before the
as-of month may gain or lose its only ones, so its lines and contracts are
rebuilt too.

A build is whole, every customer recomputed, when there is no earlier build
(the first, or a crash emptied the mart's unlogged tables), when what every
customer's rows depend on changed (the renewal grace, the reporting currency,
the models' SQL or the mart's functions after an upgrade), when the as-of date
moved back or into another month or week (the weekly full recompute), when more
than a quarter of the customers changed (a whole build is then cheaper), or
when the caller asks. The lines, graces, intervals and digests are rebuilt
whole in a whole build, except one made so because many customers changed; when
more than a quarter of the lines changed; and when a full extraction was staged
since the last build (records purged from the org then left staging with no
batch to show it).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from revcert.methodology.errors import MethodologyError, Offence, RuleFailure
from revcert.methodology.overrides import ClassificationOverride
from revcert.settings import Settings
from revcert.sqlfiles import load_sql
from revcert.warehouse.bulk_writes import indexes_built_after
from revcert.warehouse.schema import column_names, metadata

# Rebuilt whole by every build: small, or a graph a change reaches across.
WHOLE_INPUT_MODELS = (
    "mart_reporting_currency",
    "mart_dated_conversion_rate",
    "mart_renewal_link",
    "mart_contract_customer",
    "mart_customer",
)
# Recomputed for the lines of mart_line_scope and the contracts of mart_contract_scope (every line when the lines
# are rebuilt whole).
LINE_MODELS = (
    "mart_subscription_line",
    "mart_renewal_grace",
    "mart_service_interval",
)
# Every model up to the digest of each customer's inputs (mart_customer_input: recomputed for the customers of
# mart_customer_input_scope, every customer when the lines are rebuilt whole).
INPUT_MODELS = (*WHOLE_INPUT_MODELS, *LINE_MODELS, "mart_customer_input")
# Recomputed for the customers of mart_customer_scope (every customer in a whole build) and, when the as-of date
# moved on within its month, in the rows AS_OF_MONTH_ROWS names.
CUSTOMER_MODELS = (
    "mart_customer_mrr_segment",
    "mart_customer_cohort",
    "mart_customer_snapshot",
    "mart_customer_movement",
    "mart_customer_revenue",
    "mart_customer_month",
    "mart_customer_line",
    "mart_customer_contract",
)
# Sums over every customer, rebuilt whole from the customer detail.
SUMMARY_MODELS = (
    "mart_mrr_bridge",
    "mart_mrr_bridge_total",
    "mart_cohort_retention",
    "mart_cohort_retention_total",
)
MODELS = INPUT_MODELS + CUSTOMER_MODELS + SUMMARY_MODELS
# The rows an incremental build replaces in each model it recomputes in part.
_CUSTOMERS_IN_SCOPE = "customer_id in (select customer_id from mart.mart_customer_scope)"
_LINES_IN_SCOPE = "subscription_line_id in (select subscription_line_id from mart.mart_line_scope)"
_CONTRACTS_IN_SCOPE = "contract_id in (select contract_id from mart.mart_contract_scope)"
REPLACED_ROWS = {
    "mart_subscription_line": _LINES_IN_SCOPE,
    "mart_renewal_grace": _CONTRACTS_IN_SCOPE,
    "mart_service_interval": f"{_LINES_IN_SCOPE} or {_CONTRACTS_IN_SCOPE}",
    "mart_customer_input": "customer_id in (select customer_id from mart.mart_customer_input_scope)",
    **dict.fromkeys(CUSTOMER_MODELS, _CUSTOMERS_IN_SCOPE),
}
# The queries that choose what an incremental build recomputes (sql/methodology).
SCOPE_QUERIES = ("full_extractions_since_last_build", "lines_with_changed_inputs", "contracts_of_changed_lines",
                 "contracts_reached_by_changes", "customers_reached_by_changes", "customers_with_changed_inputs",
                 "unpublished_before_as_of_month")
# What an incremental build compares with the last build's rows to find what changed.
KEPT_FOR_COMPARISON = {
    "mart_customer_input": ("customer_id", "input_digest"),
    "mart_dated_conversion_rate": ("iso_code", "conversion_rate", "start_date", "next_start_date"),
    "mart_renewal_link": ("predecessor_contract_id", "successor_contract_id"),
    "mart_contract_customer": ("contract_id", "account_id", "customer_id", "is_overridden", "override_reason",
                               "override_approver"),
    "mart_customer": ("customer_id", "customer_name", "business_unit", "is_account_live"),
}
# Besides their customers in scope, the rows a customer model replaces when the as-of month is rebuilt. Segments
# and cohorts do not depend on the as-of date.
AS_OF_MONTH_ROWS = {
    "mart_customer_snapshot": "month = %(rebuilt_month)s",
    "mart_customer_movement": "month = %(rebuilt_month)s",
    "mart_customer_revenue": "month = %(rebuilt_month)s",
    "mart_customer_month": "month = %(rebuilt_month)s",
    "mart_customer_line": "customer_id in (select customer_id from mart.mart_customer_as_of_month_only)",
    "mart_customer_contract": "customer_id in (select customer_id from mart.mart_customer_as_of_month_only)",
}

# Each check is sql/mart/checks/<rule>.sql returning (record_id, detail) for every offending record.
CHECKS = {
    "unknown_reporting_currency": "A2 the reporting currency cannot be determined",
    "line_without_product": "A2 a line's product is missing, so nothing says whether it recurs",
    "line_without_contract": "A2 a recurring line's contract is missing",
    "missing_service_dates": "A2 a recurring line has no start or end date, on itself or its contract",
    "line_end_before_start": "A2 a line's service ends before it starts (no termination caused it)",
    "missing_price_or_quantity": "A2 a recurring line has no net price or no quantity",
    "bad_prorate_multiplier": "A2 a prorate multiplier is zero or negative",
    "bad_subscription_term": "A2 a product's subscription term is zero or negative",
    "missing_conversion_rate": "A2 no dated conversion rate for the line's currency at its service start",
    "overlapping_conversion_rates": "A2 dated conversion rates of one currency overlap, so a line may have two",
    "renewal_cycle": "A3 contracts renew each other in a cycle",
    "unresolved_chain": "A3 the renewal chain passes through a cycle further up",
    "merged_customers": "A3 a contract's predecessors belong to different customers",
    "contract_without_account": "A3 the customer account of a contract is missing or deleted",
    "negative_customer_mrr": "A4 a customer's daily MRR is negative",
}


@dataclass(frozen=True)
class MartBuild:
    """What a build used and produced. `whole_because` is empty for an incremental build;
    `customers_recomputed` counts the customers whose rows were rebuilt or, gone since, removed, and
    `lines_recomputed` the lines (every live line when `lines_whole_because` says why they were rebuilt whole);
    `rebuilt_month` is the as-of month when it was rebuilt for every customer (the as-of date moved on within
    it)."""

    as_of_date: date
    renewal_grace_days: int
    reporting_currency: str
    overrides_used: tuple[ClassificationOverride, ...]
    row_counts: dict[str, int]
    model_seconds: dict[str, float]
    whole_because: str | None
    customers_recomputed: int
    customers: int
    rebuilt_month: date | None
    lines_recomputed: int
    lines_whole_because: str | None


@dataclass(frozen=True)
class BuildBasis:
    """What every customer's rows depend on, besides the customer's own inputs."""

    as_of_date: date
    renewal_grace_days: int
    reporting_currency: str | None
    models_digest: str


def models_digest(conn: psycopg.Connection) -> str:
    """A digest of every model's SQL, of the functions of the mart schema they call (half-even rounding), of the
    queries that choose what a build recomputes (SCOPE_QUERIES) and of which models are recomputed in part and
    which rows they replace: rows kept from a build made by other SQL, or chosen by other rules, would not be
    this code's. (Staging's rule that a record re-read unchanged keeps its batch is not in it.)"""
    functions = conn.execute("select coalesce(string_agg(pg_get_functiondef(functions.oid), E'\\n' "
                             "order by functions.oid::regprocedure::text), '') from pg_proc as functions "
                             "where functions.pronamespace = 'mart'::regnamespace").fetchone()[0]
    scope = [load_sql("methodology", query) for query in SCOPE_QUERIES]
    rules = repr((WHOLE_INPUT_MODELS, LINE_MODELS, REPLACED_ROWS, AS_OF_MONTH_ROWS, KEPT_FOR_COMPARISON))
    return hashlib.sha256("\0".join([*(load_sql("mart", model) for model in MODELS), *scope, rules,
                                      functions]).encode()).hexdigest()


def whole_build_reason(previous: BuildBasis | None, current: BuildBasis) -> str | None:
    """Why this build must recompute every customer, or None when the customers with changed inputs (and, if
    the as-of date moved on, every customer's as-of month) suffice."""
    if previous is None:
        return ("no earlier build kept its customers' inputs (the first build, one from before input digests, or "
                "a crash emptied the mart)")
    moved = f"the as-of date moved from {previous.as_of_date} to {current.as_of_date}"
    if current.as_of_date < previous.as_of_date:
        return f"{moved}, back"
    if current.as_of_date.replace(day=1) != previous.as_of_date.replace(day=1):
        return f"{moved}, into another month"
    if current.as_of_date.isocalendar()[:2] != previous.as_of_date.isocalendar()[:2]:
        return f"{moved}, into another week (the weekly full recompute)"
    if previous.renewal_grace_days != current.renewal_grace_days:
        return f"the renewal grace changed from {previous.renewal_grace_days} to {current.renewal_grace_days} days"
    if previous.reporting_currency != current.reporting_currency:
        return f"the reporting currency changed from {previous.reporting_currency} to {current.reporting_currency}"
    if previous.models_digest != current.models_digest:
        return "the models changed since the last build"
    return None


def rebuilt_month(previous: BuildBasis, current: BuildBasis) -> date | None:
    """The as-of month, which a build must rebuild for every customer when the as-of date moved (only ever on
    within its week and month: whole_build_reason makes any other move whole). None when it did not move."""
    if current.as_of_date == previous.as_of_date:
        return None
    return current.as_of_date.replace(day=1)


def too_many_changed(changed: int, total: int, what: str = "customers") -> str | None:
    """Why recomputing the changed customers (or lines) one by one would cost more than a whole build, or None.

    Above a quarter of them, deleting and re-inserting their rows (and reading the tables they sit in)
    costs more than emptying the tables and building them again (measured at 200,000 lines: the customer
    models took about 30% of a whole build's time for 6% of the customers). Lines take the same quarter,
    not measured on its own: their three models took 25 to 45% of their whole time for 2.75% of the lines.
    """
    if changed * 4 > total:
        return f"{changed:,} of {total:,} {what}' inputs changed (more than a quarter)"
    return None


def _previous_basis(conn: psycopg.Connection) -> BuildBasis | None:
    """The basis of the build the mart holds; None when there is none, or it predates customer input digests."""
    built = conn.execute("select as_of_date, renewal_grace_days, models_digest from mart.mart_build").fetchone()
    if built is None or built[2] is None:
        return None
    currency = conn.execute("select iso_code from mart.mart_reporting_currency").fetchone()
    return BuildBasis(built[0], built[1], currency[0] if currency else None, built[2])


def _load_overrides(conn: psycopg.Connection, overrides: list[ClassificationOverride]) -> None:
    conn.execute("delete from staging.classification_override")
    columns = ("contract_id", "customer_account_id", "reason", "approver")
    with conn.cursor().copy(sql.SQL("copy staging.classification_override ({}) from stdin").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
        for row in overrides:
            copy.write_row([getattr(row, column) for column in columns])


def model_statement(model: str) -> sql.Composed:
    """`insert into mart.<model> (its columns) select them from (the model's query)`."""
    columns = sql.SQL(", ").join(map(sql.Identifier, column_names(metadata.tables[f"mart.{model}"])))
    return sql.SQL("insert into {table} ({columns}) select {columns} from ({query}) as model").format(
        table=sql.Identifier("mart", model), columns=columns, query=sql.SQL(load_sql("mart", model)))


def model_failure(model: str, broken: psycopg.Error) -> RuleFailure:
    """A model the data broke in a way no check names (a check that should exist is missing): say which, and why."""
    diagnostic = broken.diag
    detail = "; ".join(filter(None, (diagnostic.message_primary, diagnostic.message_detail)))
    return RuleFailure("model_refused_data", f"the data breaks the model {model}", (Offence(model, detail),))


def check_methodology(conn: psycopg.Connection) -> list[RuleFailure]:
    """Every rule of CHECKS that some record breaks, with all of its records."""
    failures = []
    for rule, description in CHECKS.items():
        rows = conn.execute(load_sql("mart/checks", rule)).fetchall()
        if rows:
            failures.append(RuleFailure(rule, description, tuple(Offence(*row) for row in rows)))
    return failures


def _build_model(conn: psycopg.Connection, model: str, params: dict[str, object], *, whole: bool) -> int:
    """Build one model in a savepoint (what was built before a broken model stays, for the checks).

    Whole: the table is emptied and refilled, its key and indexes built after its rows, then analysed (later
    models and the certification plan their reads of it from its real size). Otherwise the rows of
    REPLACED_ROWS (the lines, contracts or customers in scope), and of the as-of month when it is rebuilt, are
    replaced and the rest kept. Returns the table's row count.
    """
    table = sql.Identifier("mart", model)
    try:
        with conn.transaction():
            if not whole:
                replaced = sql.SQL(REPLACED_ROWS[model])
                if params.get("rebuilt_month") and model in AS_OF_MONTH_ROWS:
                    replaced = sql.SQL("{} or {}").format(replaced, sql.SQL(AS_OF_MONTH_ROWS[model]))
                conn.execute(sql.SQL("delete from {} where {}").format(table, replaced), params, prepare=False)
                conn.execute(model_statement(model), params, prepare=False)
                return conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0]
            conn.execute(sql.SQL("truncate {}").format(table))
            with indexes_built_after(conn, "mart", model):
                # Never prepared: a generic plan could not fold `%(whole)s or ...` away (see build_mart).
                return conn.execute(model_statement(model), params, prepare=False).rowcount
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as broken:
        raise MethodologyError(check_methodology(conn) or [model_failure(model, broken)]) from broken


def _for_this_build(conn: psycopg.Connection, table: str, query: sql.Composable) -> None:
    """`pg_temp.<table>` holding what `query` returns, until the build's transaction ends."""
    conn.execute(sql.SQL("drop table if exists pg_temp.{}").format(sql.Identifier(table)))
    conn.execute(sql.SQL("create temp table {} on commit drop as {}").format(sql.Identifier(table), query))


def _keep_for_comparison(conn: psycopg.Connection) -> None:
    """Copy what KEPT_FOR_COMPARISON names of the last build into `pg_temp.previous_<model>`."""
    for model, columns in KEPT_FOR_COMPARISON.items():
        _for_this_build(conn, f"previous_{model}", sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("mart", model)))


def _note_staged_batches(conn: psycopg.Connection) -> None:
    """The batches staging holds now (`pg_temp.staged_batch`), and those of them the last build had not seen
    (`pg_temp.new_staged_batch`). Taken before anything is read: a batch staged while the build runs is new
    to the next."""
    _for_this_build(conn, "staged_batch", sql.SQL("select distinct batch_id from staging.extraction_audit"))
    _for_this_build(conn, "new_staged_batch", sql.SQL(
        "select batch_id from pg_temp.staged_batch except select batch_id from mart.mart_staged_batch"))


def full_extraction_reason(conn: psycopg.Connection) -> str | None:
    """Why the lines, graces, intervals and digests must be rebuilt whole though the build need not be: a full
    extraction staged since the last build (records purged from the org left staging with no batch to show it); or
    None."""
    batches = [str(row[0]) for row in conn.execute(load_sql("methodology", "full_extractions_since_last_build"))]
    if batches:
        return (f"batch {', '.join(batches)}, staged since the last build, read every object whole, so records "
                "purged from the org may have left staging")
    return None


def _fill_scope(conn: psycopg.Connection, table: str, column: str, chosen: str, params: dict | None = None, *,
                adding: bool = False) -> int:
    """Insert the rows of the query `chosen` into the scope table `table` (one `column`; `adding` to rows already
    there, which then stay once) and analyse it, so that the models joining it are planned for its size. Returns
    the rows inserted."""
    added = conn.execute(sql.SQL("insert into {} ({}) {}{}").format(
        sql.Identifier("mart", table), sql.Identifier(column), sql.SQL(chosen),
        sql.SQL(" on conflict do nothing" if adding else "")), params).rowcount
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier("mart", table)))
    return added


def _choose_lines(conn: psycopg.Connection, *, whole: bool) -> int:
    """Fill mart_line_scope with the lines whose inputs changed, and mart_contract_scope with the contracts they
    belong to before this build; empty both when the lines are rebuilt whole. Returns the lines chosen."""
    conn.execute("truncate mart.mart_line_scope, mart.mart_contract_scope")
    if whole:
        return 0
    chosen = _fill_scope(conn, "mart_line_scope", "subscription_line_id",
                         load_sql("methodology", "lines_with_changed_inputs"))
    _fill_scope(conn, "mart_contract_scope", "contract_id", load_sql("methodology", "contracts_of_changed_lines"))
    return chosen


def _choose_contracts(conn: psycopg.Connection) -> None:
    """Add to mart_contract_scope every other contract whose grace, lines' intervals or digested inputs the
    changed lines, contracts, links and customers may have changed."""
    _fill_scope(conn, "mart_contract_scope", "contract_id", load_sql("methodology", "contracts_reached_by_changes"),
                adding=True)


def _choose_input_customers(conn: psycopg.Connection, *, whole: bool) -> None:
    """Fill mart_customer_input_scope with the customers whose input digest the changes may have changed (the
    customers of the contracts in scope, before and after, and those whose account changed); empty it when every
    digest is recomputed."""
    conn.execute("truncate mart.mart_customer_input_scope")
    if not whole:
        _fill_scope(conn, "mart_customer_input_scope", "customer_id",
                    load_sql("methodology", "customers_reached_by_changes"))


def _choose_customers(conn: psycopg.Connection, *, whole: bool) -> int:
    """Fill mart_customer_scope with the customers to recompute: all, or those whose inputs changed (a
    customer gone since the last build too, so that its rows go)."""
    conn.execute("truncate mart.mart_customer_scope")
    return _fill_scope(conn, "mart_customer_scope", "customer_id",
                       "select customer_id from mart.mart_customer_input" if whole
                       else load_sql("methodology", "customers_with_changed_inputs"))


def _choose_as_of_month(conn: psycopg.Connection, previous: BuildBasis | None, current: BuildBasis, *,
                        whole: bool) -> date | None:
    """The as-of month when this build rebuilds it for every customer, after filling
    mart_customer_as_of_month_only with the customers whose lines and contracts it rebuilds too (read from
    months before the as-of month, which the build keeps); None for a whole build (always the case without an
    earlier build) or when the as-of date did not move."""
    conn.execute("truncate mart.mart_customer_as_of_month_only")
    if whole or previous is None:
        return None
    month = rebuilt_month(previous, current)
    if month:
        _fill_scope(conn, "mart_customer_as_of_month_only", "customer_id",
                    load_sql("methodology", "unpublished_before_as_of_month"), {"rebuilt_month": month})
    return month


def build_mart(conn: psycopg.Connection, as_of_date: date, overrides: list[ClassificationOverride],
               settings: Settings | None = None, certification_id: int | None = None, *,
               whole_because: str | None = None) -> MartBuild:
    """Build the mart as of `as_of_date` inside the caller's transaction, incrementally unless it must be whole.

    Args:
        conn: The warehouse, in the caller's transaction.
        as_of_date: The date the figures run to.
        overrides: The reviewed classification overrides.
        settings: The renewal grace and the rest; read from the environment when omitted.
        certification_id: The certification record this build is for, if any.
        whole_because: Recompute every customer, for this reason (a full extraction, a scheduled full run).

    Raises:
        MethodologyError: some records break a rule; it lists every rule and record.
            The caller rolls back, so the previous mart stays.
    """
    if conn.autocommit:
        raise ValueError("build_mart needs the caller's transaction: on an autocommit connection a failure would "
                         "leave half a mart")
    settings = settings or Settings()
    params: dict[str, object] = {"as_of_date": as_of_date, "renewal_grace_days": settings.renewal_grace_days}
    # Digests hash dates as text: the same text for the same date, whatever the session's settings.
    conn.execute("set local datestyle = 'ISO, YMD'")
    previous = _previous_basis(conn)
    _load_overrides(conn, overrides)
    _note_staged_batches(conn)
    _keep_for_comparison(conn)
    conn.execute("truncate mart.mart_build")
    row_counts, model_seconds = {}, {}

    def build(model: str, *, whole: bool) -> None:
        started = time.monotonic()
        row_counts[model] = _build_model(conn, model, params, whole=whole)
        model_seconds[model] = time.monotonic() - started

    for model in WHOLE_INPUT_MODELS:
        build(model, whole=True)
    reporting_currency = conn.execute("select iso_code from mart.mart_reporting_currency").fetchone()[0]
    current = BuildBasis(as_of_date, settings.renewal_grace_days, reporting_currency, models_digest(conn))
    reason = whole_because or whole_build_reason(previous, current)
    # The lines' scope is never filtered in a whole rebuild of them, whose size the planner cannot know.
    lines_whole_because = reason or full_extraction_reason(conn)
    lines_recomputed = _choose_lines(conn, whole=lines_whole_because is not None)
    if lines_whole_because is None:
        lines = conn.execute("select count(*) from mart.mart_subscription_line").fetchone()[0]
        lines_whole_because = too_many_changed(lines_recomputed, lines, "lines")
        if lines_whole_because:
            _choose_lines(conn, whole=True)
    params["whole"] = lines_whole_because is not None
    build("mart_subscription_line", whole=params["whole"])
    if not params["whole"]:
        _choose_contracts(conn)
    build("mart_renewal_grace", whole=params["whole"])
    build("mart_service_interval", whole=params["whole"])
    _choose_input_customers(conn, whole=params["whole"])
    build("mart_customer_input", whole=params["whole"])
    if params["whole"]:
        lines_recomputed = row_counts["mart_subscription_line"]
    recomputed = _choose_customers(conn, whole=reason is not None)
    if reason is None:
        reason = too_many_changed(recomputed, row_counts["mart_customer_input"])
        if reason:
            recomputed = _choose_customers(conn, whole=True)
    # A whole build's models read every customer: no filter on the scope, whose size the planner cannot know.
    params["whole"] = reason is not None
    params["rebuilt_month"] = _choose_as_of_month(conn, previous, current, whole=params["whole"])
    for model in CUSTOMER_MODELS:
        build(model, whole=params["whole"])
    for model in SUMMARY_MODELS:
        build(model, whole=True)
    failures = check_methodology(conn)
    if failures:
        raise MethodologyError(failures)
    conn.execute("truncate mart.mart_staged_batch")
    conn.execute("insert into mart.mart_staged_batch (batch_id) select batch_id from pg_temp.staged_batch")
    customers = row_counts["mart_customer_input"]
    conn.execute("insert into mart.mart_build (as_of_date, renewal_grace_days, certification_id, built_at, "
                 "whole_because, customers_recomputed, customers, rebuilt_month, models_digest) "
                 "values (%s, %s, %s, now(), %s, %s, %s, %s, %s)",
                 [as_of_date, settings.renewal_grace_days, certification_id, reason, recomputed, customers,
                  params["rebuilt_month"], current.models_digest])
    used = {row[0] for row in conn.execute(load_sql("methodology", "overrides_used"))}
    return MartBuild(as_of_date, settings.renewal_grace_days, reporting_currency,
                     tuple(o for o in overrides if o.contract_id in used), row_counts, model_seconds,
                     reason, recomputed, customers, params["rebuilt_month"], lines_recomputed, lines_whole_because)
