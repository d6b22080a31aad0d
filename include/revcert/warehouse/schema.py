"""The warehouse's tables, declared once (SQLAlchemy Core).

The migrations create these tables; `tests/warehouse/test_migrations.py` migrates
a database and has Alembic compare it with this metadata, so the two cannot
drift. Code that writes a table builds its column list from here (`insert into
t (columns) select columns from (model)`), and the published figures' names
come from here, so no column list is written out twice.

Amounts are numeric(18, 2): exact, in cents, never a float.
"""
from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import SchemaItem

metadata = MetaData()
LAYERS = ("raw", "staging", "mart", "certification", "viz", "analytics", "shadow", "monitoring")

# The bridge's figures, in the order people read them (SPEC.md, published contract).
MOVEMENTS = ("new", "expansion", "contraction", "churn", "winback")
BRIDGE_AMOUNTS = ("starting_mrr", *MOVEMENTS, "net_new_mrr", "ending_mrr", "recognized_revenue")
BRIDGE_FIGURES = (*BRIDGE_AMOUNTS, "active_customers")
COHORT_FIGURES = ("cohort_customers", "active_customers", "cohort_starting_mrr", "ending_mrr",
                  "mrr_retention_pct", "logo_retention_pct")


def _amount(name: str) -> Column:
    return Column(name, Numeric(18, 2), nullable=False)


def _timestamp(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True) -> Column:
    return Column(name, Text, nullable=nullable)


def _staging_metadata() -> list[Column]:
    return [Column("is_deleted", Boolean, nullable=False), _timestamp("system_modstamp", nullable=False),
            Column("batch_id", BigInteger, nullable=False)]


# -- raw: what the source said, append-only -------------------------------------------------

extraction_batch = Table(
    "extraction_batch", metadata,
    Column("batch_id", BigInteger, primary_key=True, autoincrement=True),
    _text("source", nullable=False),
    _text("shop_id"),
    _text("mode", nullable=False),
    _text("status", nullable=False),
    _timestamp("started_at", nullable=False),
    _timestamp("finished_at"),
    _text("error"),
    schema="raw",
)

salesforce_record = Table(
    "salesforce_record", metadata,
    # No foreign key (migration 0017): the batch's row is committed before its first record, and never deleted.
    Column("batch_id", BigInteger, nullable=False),
    _text("object_name", nullable=False),
    _text("record_id", nullable=False),
    _timestamp("system_modstamp"),
    Column("is_deleted", Boolean, nullable=False),
    Column("record", JSONB, nullable=False),
    _timestamp("received_at", nullable=False),
    Index("salesforce_record_batch_object", "batch_id", "object_name"),
    Index("salesforce_record_record_id", "record_id"),
    schema="raw",
)

shopify_record = Table(
    "shopify_record", metadata,
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), nullable=False),
    _text("shop_id", nullable=False),
    _text("object_name", nullable=False),
    _text("record_id", nullable=False),
    _timestamp("updated_at"),
    Column("record", JSONB, nullable=False),
    _timestamp("received_at", nullable=False),
    Index("shopify_record_batch_object", "batch_id", "object_name"),
    schema="raw",
)

shopify_batch = Table(
    "shopify_batch", metadata,
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), primary_key=True),
    _text("shop_id", nullable=False),
    _text("api", nullable=False),
    _text("search"),
    Column("orders_fetched", BigInteger, nullable=False),
    _timestamp("watermark_before"),
    _timestamp("max_updated_at"),
    Column("source_count", BigInteger, nullable=False),
    _timestamp("extracted_at", nullable=False),
    schema="raw",
)

extraction_batch_object = Table(
    "extraction_batch_object", metadata,
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), primary_key=True),
    Column("object_name", Text, primary_key=True),
    _text("replication", nullable=False),
    _text("api", nullable=False),
    _text("soql", nullable=False),
    Column("read_whole", Boolean, nullable=False),
    Column("records_fetched", BigInteger, nullable=False),
    Column("deleted_fetched", BigInteger, nullable=False),
    _timestamp("watermark_before"),
    _timestamp("max_modstamp"),
    Column("source_count", BigInteger, nullable=False),
    Column("source_sums", JSONB, nullable=False),
    _timestamp("extracted_at", nullable=False),
    schema="raw",
)

# -- staging: typed current state and the extraction audit ----------------------------------

extraction_audit = Table(
    "extraction_audit", metadata,
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), primary_key=True),
    Column("object_name", Text, primary_key=True),
    _text("replication", nullable=False),
    _text("api", nullable=False),
    _text("soql", nullable=False),
    Column("records_fetched", BigInteger, nullable=False),
    Column("deleted_fetched", BigInteger, nullable=False),
    _timestamp("watermark_before"),
    _timestamp("watermark_after"),
    Column("source_count", BigInteger, nullable=False),
    Column("staged_count", BigInteger, nullable=False),
    _timestamp("extracted_at", nullable=False),
    _timestamp("staged_at", nullable=False),
    schema="staging",
)

extraction_control_sum = Table(
    "extraction_control_sum", metadata,
    Column("batch_id", BigInteger, primary_key=True),
    Column("object_name", Text, primary_key=True),
    Column("field_name", Text, primary_key=True),
    Column("source_sum", Numeric, nullable=False),
    Column("staged_sum", Numeric, nullable=False),
    ForeignKeyConstraint(["batch_id", "object_name"],
                         ["staging.extraction_audit.batch_id", "staging.extraction_audit.object_name"]),
    schema="staging",
)

extraction_watermark = Table(
    "extraction_watermark", metadata,
    Column("object_name", Text, primary_key=True),
    _timestamp("watermark", nullable=False),
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), nullable=False),
    _timestamp("updated_at", nullable=False),
    schema="staging",
)

stg_account = Table(
    "stg_account", metadata,
    Column("account_id", Text, primary_key=True),
    _text("parent_account_id"), _text("account_name"), _text("business_unit"), _text("currency_iso_code"),
    *_staging_metadata(),
    schema="staging",
)

stg_contract = Table(
    "stg_contract", metadata,
    Column("contract_id", Text, primary_key=True),
    _text("account_id"), _text("opportunity_id"), _text("renewal_opportunity_id"), _text("status"),
    Column("start_date", Date), Column("end_date", Date),
    *_staging_metadata(),
    schema="staging",
)

stg_opportunity = Table(
    "stg_opportunity", metadata,
    Column("opportunity_id", Text, primary_key=True),
    _text("account_id"), _text("renewed_contract_id"), _text("amended_contract_id"),
    *_staging_metadata(),
    schema="staging",
)

stg_subscription_line = Table(
    "stg_subscription_line", metadata,
    Column("subscription_line_id", Text, primary_key=True),
    _text("account_id"), _text("contract_id"), _text("product_id"), _text("revised_subscription_line_id"),
    _text("currency_iso_code"),
    Column("quantity", Numeric), Column("net_price", Numeric), Column("prorate_multiplier", Numeric),
    Column("start_date", Date), Column("end_date", Date), Column("terminated_date", Date),
    *_staging_metadata(),
    schema="staging",
)

stg_product = Table(
    "stg_product", metadata,
    Column("product_id", Text, primary_key=True),
    _text("product_name"), _text("product_family"), _text("charge_type"),
    Column("subscription_term_months", Numeric),
    *_staging_metadata(),
    schema="staging",
)

stg_dated_conversion_rate = Table(
    "stg_dated_conversion_rate", metadata,
    Column("dated_conversion_rate_id", Text, primary_key=True),
    _text("iso_code", nullable=False),
    Column("conversion_rate", Numeric),
    Column("start_date", Date), Column("next_start_date", Date),
    _timestamp("system_modstamp"),
    Column("batch_id", BigInteger, nullable=False),
    schema="staging",
)

stg_currency_type = Table(
    "stg_currency_type", metadata,
    Column("currency_type_id", Text, primary_key=True),
    _text("iso_code", nullable=False),
    Column("conversion_rate", Numeric),
    Column("is_corporate", Boolean, nullable=False),
    _timestamp("system_modstamp"),
    Column("batch_id", BigInteger, nullable=False),
    schema="staging",
)

classification_override = Table(
    "classification_override", metadata,
    Column("contract_id", Text, primary_key=True),
    _text("customer_account_id", nullable=False),
    _text("reason", nullable=False),
    _text("approver", nullable=False),
    schema="staging",
)

stg_shop = Table(
    "stg_shop", metadata,
    Column("shop_id", Text, primary_key=True),
    _text("shop_gid", nullable=False),
    _text("shop_name"),
    _text("iana_timezone"),
    _text("currency_code"),
    Column("batch_id", BigInteger, nullable=False),
    schema="staging",
)

stg_order = Table(
    "stg_order", metadata,
    Column("order_id", Text, primary_key=True),
    _text("shop_id", nullable=False),
    _text("order_gid", nullable=False),
    _text("order_name"),
    Column("is_test", Boolean, nullable=False),
    _text("currency_code"),
    _text("presentment_currency_code"),
    Column("shop_total", Numeric), _text("shop_total_currency"),
    Column("presentment_total", Numeric), _text("presentment_total_currency"),
    _timestamp("created_at", nullable=False), _timestamp("processed_at"), _timestamp("cancelled_at"),
    _timestamp("updated_at", nullable=False),
    Column("batch_id", BigInteger, nullable=False),
    Index("stg_order_shop", "shop_id"),
    schema="staging",
)

stg_refund = Table(
    "stg_refund", metadata,
    Column("refund_id", Text, primary_key=True),
    _text("order_id", nullable=False),
    _text("shop_id", nullable=False),
    _timestamp("created_at"),
    Column("batch_id", BigInteger, nullable=False),
    Index("stg_refund_order", "order_id"),
    Index("stg_refund_shop", "shop_id"),
    schema="staging",
)

stg_refund_transaction = Table(
    "stg_refund_transaction", metadata,
    Column("transaction_id", Text, primary_key=True),
    _text("refund_id", nullable=False),
    _text("order_id", nullable=False),
    _text("shop_id", nullable=False),
    _text("kind"), _text("status"),
    Column("amount", Numeric), _text("currency_code"),
    Column("batch_id", BigInteger, nullable=False),
    Index("stg_refund_transaction_order", "order_id"),
    Index("stg_refund_transaction_shop", "shop_id"),
    schema="staging",
)

shopify_extraction_audit = Table(
    "shopify_extraction_audit", metadata,
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), primary_key=True),
    _text("shop_id", nullable=False),
    _text("api", nullable=False),
    _text("search"),
    Column("orders_fetched", BigInteger, nullable=False),
    _timestamp("watermark_before"),
    _timestamp("watermark_after"),
    Column("source_count", BigInteger, nullable=False),
    Column("staged_count", BigInteger, nullable=False),
    _timestamp("extracted_at", nullable=False),
    _timestamp("staged_at", nullable=False),
    schema="staging",
)

shopify_watermark = Table(
    "shopify_watermark", metadata,
    Column("shop_id", Text, primary_key=True),
    _timestamp("watermark", nullable=False),
    Column("batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id"), nullable=False),
    _timestamp("updated_at", nullable=False),
    schema="staging",
)

shop_setting = Table(
    "shop_setting", metadata,
    Column("shop_id", Text, primary_key=True),
    _text("refund_attribution", nullable=False),
    _text("reason", nullable=False),
    _text("approver", nullable=False),
    schema="staging",
)

# -- certification: one record per run and check; run state ---------------------------------

certification_run = Table(
    "certification_run", metadata,
    Column("certification_id", BigInteger, primary_key=True, autoincrement=True),
    _text("dag_id", nullable=False),
    _text("run_id", nullable=False),
    _text("scope", nullable=False),
    Column("as_of_date", Date, nullable=False),
    _text("status", nullable=False),
    _timestamp("started_at", nullable=False),
    _timestamp("certified_at"),
    _timestamp("published_at"),
    Column("extraction_batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id")),
    _text("figures_hash"),
    Column("row_counts", JSONB),
    Column("overrides_used", JSONB, nullable=False),
    _text("failure_summary"),
    Column("is_certify_only", Boolean, nullable=False),
    _timestamp("closed_at"),
    Column("is_restatement", Boolean, nullable=False),
    Column("published_months", JSONB),
    Column("withdrawn_months", JSONB),
    _text("mart_whole_because"),
    Column("mart_customers_recomputed", Integer),
    Column("mart_customers", Integer),
    Column("mart_rebuilt_month", Date),
    UniqueConstraint("dag_id", "run_id", "scope"),
    schema="certification",
)

check_definition = Table(
    "check_definition", metadata,
    Column("check_name", Text, primary_key=True),
    Column("part_c_number", Integer, nullable=False),
    Column("blocks_publishing", Boolean, nullable=False),
    _text("description", nullable=False),
    schema="certification",
)

check_result = Table(
    "check_result", metadata,
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           primary_key=True),
    Column("check_name", Text, ForeignKey("certification.check_definition.check_name"), primary_key=True),
    Column("passed", Boolean),
    _text("summary", nullable=False),
    Column("discrepancies", JSONB, nullable=False),
    _timestamp("checked_at", nullable=False),
    schema="certification",
)

warehouse_lease = Table(
    "warehouse_lease", metadata,
    Column("lease_name", Text, primary_key=True),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id")),
    _text("holder"),
    _text("holder_dag_id"),
    _text("holder_run_id"),
    _timestamp("acquired_at"),
    _timestamp("heartbeat_at"),
    schema="certification",
)

warehouse_lease_event = Table(
    "warehouse_lease_event", metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=True),
    _text("lease_name", nullable=False),
    _text("event", nullable=False),
    _text("holder"),
    _text("previous_holder"),
    _text("reason"),
    _timestamp("happened_at", nullable=False),
    schema="certification",
)

# Check 4's proof per customer: the inputs its detail was derived from and the mart rows that equalled it, by
# digest, under which basis (as-of date, grace, code), and the certification that compared them
# (revcert.certification.detail_proofs).
customer_detail_proof = Table(
    "customer_detail_proof", metadata,
    Column("customer_id", Text, primary_key=True),
    Column("inputs_digest", LargeBinary, nullable=False),
    Column("detail_digest", LargeBinary, nullable=False),
    Column("basis_digest", LargeBinary, nullable=False),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           nullable=False),
    Column("sums_contribution", Text, nullable=False),  # its part of the proven sums, as the derivation wrote it
    schema="certification",
)

# Per basis, the independent derivation's bridge and cohort sums over every customer with a proof, as the last
# passing check 4 summed them (revcert.certification.detail_proofs).
proven_sums = Table(
    "proven_sums", metadata,
    Column("basis_digest", LargeBinary, primary_key=True),
    Column("total", Text, nullable=False),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           nullable=False),
    schema="certification",
)

# -- mart: the methodology, rebuilt from staging on every run -------------------------------

# The MRR pipeline's tables are UNLOGGED: every row is rebuilt from staging, so PostgreSQL writes no WAL for them,
# and crash recovery empties them all, the build record with them (the next build is then whole). A shop build
# keeps the days outside its scope, so the shop tables stay logged (migration 0022).
UNLOGGED_MART: list[Table] = []


def _mrr_mart_table(name: str, *columns: SchemaItem) -> Table:
    """A table of the MRR pipeline's mart, created UNLOGGED and listed in UNLOGGED_MART."""
    table = Table(name, metadata, *columns, prefixes=["UNLOGGED"], schema="mart")
    UNLOGGED_MART.append(table)
    return table


mart_reporting_currency = _mrr_mart_table(
    "mart_reporting_currency",
    _text("iso_code"),
    _text("source", nullable=False),
)

mart_renewal_link = _mrr_mart_table(
    "mart_renewal_link",
    Column("predecessor_contract_id", Text, primary_key=True),
    Column("successor_contract_id", Text, primary_key=True),
    Column("is_linked_by_opportunity", Boolean, nullable=False),
    Column("is_linked_by_contract", Boolean, nullable=False),
)

mart_contract_customer = _mrr_mart_table(
    "mart_contract_customer",
    Column("contract_id", Text, primary_key=True),
    _text("account_id"),
    _text("customer_id"),
    Column("root_customer_count", Integer, nullable=False),
    Column("root_customer_ids", ARRAY(Text), nullable=False),
    Column("is_on_cycle", Boolean, nullable=False),
    Column("has_cycle_upstream", Boolean, nullable=False),
    Column("is_overridden", Boolean, nullable=False),
    _text("override_reason"),
    _text("override_approver"),
)

mart_dated_conversion_rate = _mrr_mart_table(
    "mart_dated_conversion_rate",
    Column("dated_conversion_rate_id", Text, primary_key=True),
    _text("iso_code", nullable=False),
    Column("conversion_rate", Numeric),
    Column("start_date", Date), Column("next_start_date", Date),
)

mart_customer = _mrr_mart_table(
    "mart_customer",
    Column("customer_id", Text, primary_key=True),
    _text("customer_name"),
    _text("business_unit", nullable=False),
    Column("is_account_live", Boolean, nullable=False),
)

mart_subscription_line = _mrr_mart_table(
    "mart_subscription_line",
    Column("subscription_line_id", Text, primary_key=True),
    _text("contract_id"), _text("product_id"), _text("currency_iso_code"),
    Column("is_recurring", Boolean),
    Column("has_contract", Boolean, nullable=False),
    Column("quantity", Numeric), Column("net_price", Numeric), Column("prorate_multiplier", Numeric),
    Column("subscription_term_months", Numeric), Column("conversion_rate", Numeric),
    Column("service_start_date", Date), Column("scheduled_end_date", Date), Column("service_end_date", Date),
    Column("terminated_date", Date),
    Column("is_zero_length", Boolean),
    Column("line_mrr", Numeric(18, 2)),
)

mart_renewal_grace = _mrr_mart_table(
    "mart_renewal_grace",
    Column("contract_id", Text, primary_key=True),
    Column("service_start_date", Date, nullable=False),
    Column("service_end_date", Date, nullable=False),
    _text("successor_contract_id"),
    Column("gap_days", Integer),
    Column("grace_days", Integer, nullable=False),
)

mart_service_interval = _mrr_mart_table(
    "mart_service_interval",
    Column("subscription_line_id", Text, primary_key=True),
    _text("contract_id", nullable=False),
    _text("customer_id", nullable=False),
    _amount("line_mrr"),
    Column("service_start_date", Date, nullable=False),
    Column("service_end_date", Date, nullable=False),
    Column("mrr_end_date", Date, nullable=False),
    Index("mart_service_interval_customer", "customer_id"),
)

mart_customer_mrr_segment = _mrr_mart_table(
    "mart_customer_mrr_segment",
    Column("customer_id", Text, primary_key=True),
    Column("segment_start_date", Date, primary_key=True),
    Column("segment_end_date", Date),
    _amount("daily_mrr"),
)

mart_customer_cohort = _mrr_mart_table(
    "mart_customer_cohort",
    Column("customer_id", Text, primary_key=True),
    Column("first_service_date", Date, nullable=False),
    Column("cohort_month", Date, nullable=False),
)

mart_customer_snapshot = _mrr_mart_table(
    "mart_customer_snapshot",
    Column("customer_id", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("snapshot_date", Date, nullable=False),
    _text("business_unit", nullable=False),
    _amount("starting_mrr"),
    _amount("ending_mrr"),
)

mart_customer_movement = _mrr_mart_table(
    "mart_customer_movement",
    Column("customer_id", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    _text("business_unit", nullable=False),
    _text("movement_type", nullable=False),
    _amount("movement_amount"),
)

mart_customer_revenue = _mrr_mart_table(
    "mart_customer_revenue",
    Column("customer_id", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    _text("business_unit", nullable=False),
    _amount("recognized_revenue"),
)


# -- the detail behind the bridge: customers, their lines and contracts ------------------------


def _customer_month_columns() -> list[Column]:
    return [_text("business_unit", nullable=False), _text("customer_name"), _text("currency", nullable=False),
            Column("snapshot_date", Date, nullable=False), _amount("starting_mrr"),
            _text("movement_type", nullable=False), _amount("movement_amount"), _amount("ending_mrr"),
            _amount("recognized_revenue")]


def _customer_line_columns() -> list[Column]:
    return [_text("customer_id", nullable=False), _text("contract_id", nullable=False), _text("product_id"),
            _text("product_name"), _text("currency_iso_code"), Column("conversion_rate", Numeric, nullable=False),
            _amount("line_mrr"), Column("service_start_date", Date, nullable=False),
            Column("service_end_date", Date, nullable=False), Column("mrr_end_date", Date, nullable=False)]


def _customer_contract_columns() -> list[Column]:
    return [_text("customer_id", nullable=False), _text("account_id"), Column("start_date", Date),
            Column("end_date", Date), Column("renews_contract_ids", ARRAY(Text), nullable=False),
            Column("is_overridden", Boolean, nullable=False), _text("override_reason"), _text("override_approver")]


mart_customer_month = _mrr_mart_table(
    "mart_customer_month",
    Column("month", Date, primary_key=True),
    Column("customer_id", Text, primary_key=True),
    *_customer_month_columns(),
)

mart_customer_line = _mrr_mart_table(
    "mart_customer_line",
    Column("subscription_line_id", Text, primary_key=True),
    *_customer_line_columns(),
)

mart_customer_contract = _mrr_mart_table(
    "mart_customer_contract",
    Column("contract_id", Text, primary_key=True),
    *_customer_contract_columns(),
)


def _bridge_columns() -> list[Column]:
    return [_text("currency", nullable=False), Column("snapshot_date", Date, nullable=False),
            *[_amount(name) for name in BRIDGE_AMOUNTS], Column("active_customers", Integer, nullable=False)]


def _cohort_columns() -> list[Column]:
    return [Column("months_since_cohort", Integer, nullable=False), _text("currency", nullable=False),
            Column("snapshot_date", Date, nullable=False),
            Column("cohort_customers", Integer, nullable=False), Column("active_customers", Integer, nullable=False),
            _amount("cohort_starting_mrr"), _amount("ending_mrr"),
            Column("mrr_retention_pct", Numeric(9, 1)), Column("logo_retention_pct", Numeric(9, 1))]


mart_mrr_bridge = _mrr_mart_table(
    "mart_mrr_bridge",
    Column("month", Date, primary_key=True),
    Column("business_unit", Text, primary_key=True),
    *_bridge_columns(),
)

mart_mrr_bridge_total = _mrr_mart_table(
    "mart_mrr_bridge_total",
    Column("month", Date, primary_key=True),
    *_bridge_columns(),
)

mart_cohort_retention = _mrr_mart_table(
    "mart_cohort_retention",
    Column("cohort_month", Date, primary_key=True),
    Column("business_unit", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    *_cohort_columns(),
)

mart_cohort_retention_total = _mrr_mart_table(
    "mart_cohort_retention_total",
    Column("cohort_month", Date, primary_key=True),
    Column("month", Date, primary_key=True),
    *_cohort_columns(),
)

mart_build = _mrr_mart_table(
    "mart_build",
    Column("mart_build_id", BigInteger, primary_key=True, autoincrement=True),
    Column("as_of_date", Date, nullable=False),
    Column("renewal_grace_days", Integer, nullable=False),
    _timestamp("built_at", nullable=False),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id")),
    _text("whole_because"),
    Column("customers_recomputed", Integer),
    Column("customers", Integer),
    _text("models_digest"),
    Column("rebuilt_month", Date),
)

# What an incremental build compares and what it recomputed (revcert.methodology.mart).
mart_customer_input = _mrr_mart_table(
    "mart_customer_input",
    Column("customer_id", Text, primary_key=True),
    Column("input_digest", LargeBinary, nullable=False),
)

mart_customer_scope = _mrr_mart_table(
    "mart_customer_scope",
    Column("customer_id", Text, primary_key=True),
)

# What an incremental build recomputes of the models before the customers' inputs: the lines whose inputs
# changed since the last build (a newer batch, or a dated rate), and the contracts whose renewal grace or whose
# lines' intervals those lines, the links and the customers may change.
mart_staged_batch = _mrr_mart_table(
    "mart_staged_batch",
    Column("batch_id", BigInteger, primary_key=True),
)

mart_line_scope = _mrr_mart_table(
    "mart_line_scope",
    Column("subscription_line_id", Text, primary_key=True),
)

mart_contract_scope = _mrr_mart_table(
    "mart_contract_scope",
    Column("contract_id", Text, primary_key=True),
)

# The customers whose input digest an incremental build recomputes: those of the contracts in scope, before and
# after, and those whose account changed.
mart_customer_input_scope = _mrr_mart_table(
    "mart_customer_input_scope",
    Column("customer_id", Text, primary_key=True),
)

# When a build rebuilds the as-of month: the customers whose lines and contracts it rebuilds too.
mart_customer_as_of_month_only = _mrr_mart_table(
    "mart_customer_as_of_month_only",
    Column("customer_id", Text, primary_key=True),
)

mart_shop = Table(
    "mart_shop", metadata,
    Column("shop_id", Text, primary_key=True),
    _text("shop_name"),
    _text("iana_timezone"),
    _text("currency", nullable=False),
    _text("refund_attribution", nullable=False),
    Column("is_timezone_known", Boolean, nullable=False),
    Column("first_order_day", Date),
    # This run recomputes every day and every order of the shop (asked, first publication, or a setting the
    # days depend on changed since the shop was published).
    Column("is_recomputed_whole", Boolean, nullable=False),
    schema="mart",
)

mart_shop_day_scope = Table(
    "mart_shop_day_scope", metadata,
    Column("shop_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    schema="mart",
)

mart_shop_order = Table(
    "mart_shop_order", metadata,
    Column("order_id", Text, primary_key=True),
    _text("shop_id", nullable=False),
    Column("order_day", Date, nullable=False),
    Column("is_counted", Boolean, nullable=False),
    Column("gross_revenue", Numeric(18, 2), nullable=False),
    Index("mart_shop_order_day", "shop_id", "order_day"),
    schema="mart",
)

mart_shop_refund = Table(
    "mart_shop_refund", metadata,
    Column("refund_id", Text, primary_key=True),
    _text("order_id", nullable=False),
    _text("shop_id", nullable=False),
    Column("attributed_day", Date, nullable=False),
    _amount("refund_amount"),
    Index("mart_shop_refund_day", "shop_id", "attributed_day"),
    schema="mart",
)

SHOP_DAY_AMOUNTS = ("gross_revenue", "refunds", "net_revenue")
SHOP_DAY_FIGURES = (*SHOP_DAY_AMOUNTS, "order_count", "refund_count")


def _shop_day_columns() -> list[Column]:
    return [_text("currency", nullable=False), _amount("gross_revenue"), _amount("refunds"), _amount("net_revenue"),
            Column("order_count", Integer, nullable=False), Column("refund_count", Integer, nullable=False)]


mart_shop_day = Table(
    "mart_shop_day", metadata,
    Column("shop_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    *_shop_day_columns(),
    schema="mart",
)

mart_shop_build = Table(
    "mart_shop_build", metadata,
    Column("shop_id", Text, primary_key=True),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           nullable=False),
    Column("as_of_date", Date, nullable=False),
    Column("days_in_scope", Integer, nullable=False),
    _timestamp("built_at", nullable=False),
    schema="mart",
)

# -- viz: only certified figures, what people and the API read ------------------------------


def _certified() -> list[Column]:
    return [Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
                   nullable=False),
            _timestamp("certified_at", nullable=False)]


viz_mrr_bridge = Table(
    "mrr_bridge", metadata,
    Column("month", Date, primary_key=True),
    Column("business_unit", Text, primary_key=True),
    *_bridge_columns(),
    *_certified(),
    schema="viz",
)

viz_mrr_bridge_total = Table(
    "mrr_bridge_total", metadata,
    Column("month", Date, primary_key=True),
    *_bridge_columns(),
    *_certified(),
    schema="viz",
)

viz_cohort_retention = Table(
    "cohort_retention", metadata,
    Column("cohort_month", Date, primary_key=True),
    Column("business_unit", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    *_cohort_columns(),
    *_certified(),
    schema="viz",
)

viz_cohort_retention_total = Table(
    "cohort_retention_total", metadata,
    Column("cohort_month", Date, primary_key=True),
    Column("month", Date, primary_key=True),
    *_cohort_columns(),
    *_certified(),
    schema="viz",
)

# The customer detail, published without a stamp in each row: a month's rows are those of the certification its
# bridge total carries, and the lines and contracts those of `viz_customer_detail_certification`, so a publication
# rewrites only the rows that changed. The views people read add the stamp back.
viz_customer_month_figures = Table(
    "customer_month_figures", metadata,
    Column("month", Date, primary_key=True),
    Column("customer_id", Text, primary_key=True),
    *_customer_month_columns(),
    Index("customer_month_movement", "month", "business_unit", "movement_type"),
    Index("customer_month_customer", "customer_id", "month"),
    schema="viz",
)

viz_customer_line_figures = Table(
    "customer_line_figures", metadata,
    Column("subscription_line_id", Text, primary_key=True),
    *_customer_line_columns(),
    Index("customer_line_customer", "customer_id"),
    schema="viz",
)

viz_customer_contract_figures = Table(
    "customer_contract_figures", metadata,
    Column("contract_id", Text, primary_key=True),
    *_customer_contract_columns(),
    Index("customer_contract_customer", "customer_id"),
    schema="viz",
)

viz_customer_detail_certification = Table(
    "customer_detail_certification", metadata,
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           primary_key=True),
    _timestamp("certified_at", nullable=False),
    schema="viz",
)

# Each customer's published detail (its months, lines and contracts in viz), as the digest of the mart rows it was
# copied from (fingerprint.customer_detail_digests). Publishing keeps it while viz shows exactly the mart's months,
# and a publication then compares only the customers whose certified digest differs from it
# (revcert.publishing.mrr_bridge); otherwise it is emptied. It describes viz only while publishing alone writes
# the detail there: a migration that changes what the viz detail tables hold must empty it. Not granted to
# readers: it is publishing's own record.
viz_customer_detail_digest = Table(
    "customer_detail_digest", metadata,
    Column("customer_id", Text, primary_key=True),
    Column("detail_digest", LargeBinary, nullable=False),
    schema="viz",
)

# The views over them (migration 0018), as people and the API read them: Alembic compares tables only.
views = MetaData()


def _stamped_view(name: str, figures: Table) -> Table:
    """A view over `figures` as people read it: every column, and the certification it was published under."""
    return Table(name, views,
                 *(Column(column.name, column.type, primary_key=column.primary_key, nullable=column.nullable)
                   for column in figures.columns),
                 Column("certification_id", BigInteger, nullable=False), _timestamp("certified_at", nullable=False),
                 schema=figures.schema)


viz_customer_month = _stamped_view("customer_month", viz_customer_month_figures)
viz_customer_line = _stamped_view("customer_line", viz_customer_line_figures)
viz_customer_contract = _stamped_view("customer_contract", viz_customer_contract_figures)

viz_shop = Table(
    "shop", metadata,
    Column("shop_id", Text, primary_key=True),
    _text("shop_name"),
    _text("iana_timezone", nullable=False),
    _text("currency", nullable=False),
    _text("refund_attribution", nullable=False),
    *_certified(),
    schema="viz",
)

viz_shop_daily_revenue = Table(
    "shop_daily_revenue", metadata,
    Column("shop_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    *_shop_day_columns(),
    *_certified(),
    schema="viz",
)

# -- monitoring: what the reconciliation compared (METHODOLOGY.md B5) --------------------------

reconciliation_run = Table(
    "reconciliation_run", metadata,
    Column("reconciliation_run_id", BigInteger, primary_key=True, autoincrement=True),
    _text("dag_id", nullable=False),
    _text("run_id", nullable=False),
    Column("as_of_date", Date),
    Column("days", Integer, nullable=False),
    Column("fraction", Numeric(5, 4), nullable=False),
    Column("all_shops", Boolean, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("shops_active", Integer, nullable=False),
    Column("shops_sampled", ARRAY(Text), nullable=False),
    _text("status", nullable=False),
    Column("shop_days_compared", Integer),
    Column("discrepancies", Integer),
    Column("shops_failed", Integer),
    # A share of shop-days (a ratio of counts), not money.
    Column("discrepancy_rate", Numeric(9, 6)),
    _timestamp("started_at", nullable=False),
    _timestamp("finished_at"),
    UniqueConstraint("dag_id", "run_id"),
    schema="monitoring",
)

reconciliation_shop = Table(
    "reconciliation_shop", metadata,
    Column("reconciliation_run_id", BigInteger, ForeignKey("monitoring.reconciliation_run.reconciliation_run_id"),
           primary_key=True),
    Column("shop_id", Text, primary_key=True),
    _text("status", nullable=False),
    Column("first_day", Date),
    Column("last_day", Date),
    Column("orders_read", Integer),
    Column("source_requests", Integer),
    Column("source_cost", Integer),
    _text("error"),
    _timestamp("compared_at", nullable=False),
    schema="monitoring",
)

reconciliation_result = Table(
    "reconciliation_result", metadata,
    Column("reconciliation_run_id", BigInteger, ForeignKey("monitoring.reconciliation_run.reconciliation_run_id"),
           primary_key=True),
    Column("shop_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    _text("currency", nullable=False),
    _amount("source_net_revenue"),
    Column("stored_net_revenue", Numeric(18, 2)),
    Column("stored_certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id")),
    _amount("difference"),
    Column("relative_difference", Numeric),
    _text("status", nullable=False),
    Column("differing_order_ids", ARRAY(Text), nullable=False),
    _text("repair_run_id"),
    _timestamp("repair_requested_at"),
    Column("closed_by_reconciliation_run_id", BigInteger,
           ForeignKey("monitoring.reconciliation_run.reconciliation_run_id")),
    Index("reconciliation_result_open", "shop_id", "day",
          postgresql_where="status = 'discrepancy' and closed_by_reconciliation_run_id is null"),
    schema="monitoring",
)

# -- monitoring: what each run observed, and the incident ledger (issue 14) -------------------

incident = Table(
    "incident", metadata,
    Column("incident_id", BigInteger, primary_key=True, autoincrement=True),
    _text("fingerprint", nullable=False),
    _text("kind", nullable=False),
    _text("dag_id", nullable=False),
    _text("scope", nullable=False),
    _text("rule", nullable=False),
    _text("subject", nullable=False),
    _text("severity", nullable=False),
    _text("summary", nullable=False),
    _text("status", nullable=False),
    Column("is_holding", Boolean, nullable=False),
    _timestamp("first_seen_at", nullable=False),
    _timestamp("last_seen_at", nullable=False),
    _timestamp("acknowledged_at"),
    _text("acknowledged_by"),
    _timestamp("resolved_at"),
    _text("resolved_by"),
    _text("resolution_note"),
    Column("expected_until", Date),
    Index("incident_unresolved", "fingerprint", unique=True, postgresql_where="status <> 'resolved'"),
    Index("incident_fingerprint", "fingerprint", "resolved_at"),
    schema="monitoring",
)

incident_run = Table(
    "incident_run", metadata,
    Column("incident_id", BigInteger, ForeignKey("monitoring.incident.incident_id"), primary_key=True),
    Column("dag_id", Text, primary_key=True),
    Column("run_id", Text, primary_key=True),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id")),
    _text("outcome", nullable=False),
    _timestamp("seen_at", nullable=False),
    Index("incident_run_certification", "certification_id"),
    schema="monitoring",
)

observation = Table(
    "observation", metadata,
    Column("observation_id", BigInteger, primary_key=True, autoincrement=True),
    Column("certification_id", BigInteger, ForeignKey("certification.certification_run.certification_id"),
           nullable=False),
    _text("dag_id", nullable=False),
    _text("run_id", nullable=False),
    Column("extraction_batch_id", BigInteger, ForeignKey("raw.extraction_batch.batch_id")),
    _text("batch_mode"),
    _text("point", nullable=False),
    _text("metric", nullable=False),
    _text("subject", nullable=False),
    Column("observed_day", Date),
    # A count or a ratio (a statistic), never an amount; baseline, spread and score are its statistics.
    Column("value", Numeric, nullable=False),
    Column("baseline", Numeric),
    Column("spread", Numeric),
    Column("score", Numeric),
    Column("history_size", Integer, nullable=False),
    _text("severity", nullable=False),
    Column("thresholds", JSONB, nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("incident_id", BigInteger, ForeignKey("monitoring.incident.incident_id")),
    Column("suppressed_by_incident_id", BigInteger, ForeignKey("monitoring.incident.incident_id")),
    _text("suppression_note"),
    _timestamp("observed_at", nullable=False),
    Index("observation_history", "dag_id", "metric", "subject", "observed_at"),
    Index("observation_certification", "certification_id", "point"),
    schema="monitoring",
)

# -- analytics: metrics computed from the published (certified) figures only ------------------

# Counts are of customers; percentages are rounded half to even to 0.1, averages to the cent.
METRIC_FIGURES = ("ending_mrr", "arr", "active_customers", "starting_customers", "new_customers",
                  "expansion_customers", "contraction_customers", "churned_customers", "winback_customers",
                  "logo_churn_pct", "average_mrr_per_customer", "nrr_pct", "grr_pct", "trailing_base_mrr",
                  "trailing_net_mrr", "trailing_gross_mrr", "nrr_12m_pct", "grr_12m_pct")


def _metric_columns() -> list[Column]:
    def count(name: str) -> Column:
        return Column(name, Integer, nullable=False)

    def pct(name: str) -> Column:
        return Column(name, Numeric(9, 1))

    return [_text("currency", nullable=False), Column("snapshot_date", Date, nullable=False),
            _amount("ending_mrr"), _amount("arr"),
            *[count(name) for name in METRIC_FIGURES[2:9]],
            pct("logo_churn_pct"), Column("average_mrr_per_customer", Numeric(18, 2)), pct("nrr_pct"),
            pct("grr_pct"), Column("trailing_base_mrr", Numeric(18, 2)), Column("trailing_net_mrr", Numeric(18, 2)),
            Column("trailing_gross_mrr", Numeric(18, 2)), pct("nrr_12m_pct"), pct("grr_12m_pct"),
            Column("certification_ids", ARRAY(BigInteger), nullable=False), _timestamp("computed_at", nullable=False)]


analytics_mrr_metrics = Table(
    "mrr_metrics", metadata,
    Column("month", Date, primary_key=True),
    Column("business_unit", Text, primary_key=True),
    *_metric_columns(),
    schema="analytics",
)

analytics_mrr_metrics_total = Table(
    "mrr_metrics_total", metadata,
    Column("month", Date, primary_key=True),
    *_metric_columns(),
    schema="analytics",
)

# Each published table and the mart model it is published from, in publishing order. Tables with a month
# are replaced month by month; the lineage (lines and contracts, which span months) is replaced whole.
PUBLISHED_BY_MONTH = {
    viz_mrr_bridge: mart_mrr_bridge,
    viz_mrr_bridge_total: mart_mrr_bridge_total,
    viz_cohort_retention: mart_cohort_retention,
    viz_cohort_retention_total: mart_cohort_retention_total,
    viz_customer_month_figures: mart_customer_month,
}
PUBLISHED_WHOLE = {
    viz_customer_line_figures: mart_customer_line,
    viz_customer_contract_figures: mart_customer_contract,
}
PUBLISHED_FROM_MART = {**PUBLISHED_BY_MONTH, **PUBLISHED_WHOLE}
# The detail behind the bridge: per customer, compared with the independent derivation one customer at a time.
CUSTOMER_DETAIL = (mart_customer_month, mart_customer_line, mart_customer_contract)


def column_names(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def key_names(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]
