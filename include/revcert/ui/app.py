"""The certified-revenue page and API v1, mounted inside the Airflow API server by the plugin.

Every route, the page and its assets included, requires a user logged into
Airflow (the Airflow auth manager decides). Data comes from `viz` only, through
the Airflow connection `revcert_viz`: a login that can read viz and the
analytics computed from it and nothing else (revcert.warehouse.roles), so the
API could not read staging or the mart even if it tried. Every figure is a published row, never request-time
arithmetic (a month's change on the month before is the difference of two
published rows, taken in SQL); amounts are decimal strings. Responses carry a
Content-Security-Policy that allows no inline script and no other origin.

The one exception to reading only: operators acknowledge and resolve incidents
of the monitoring ledger from the page. Those two routes (and the probe that
tells the page whether to offer them) also require the `operator` dependency
(an Airflow permission Finance viewers lack), and they write through the
warehouse login (`ledger_dsn`) with the ledger's own functions.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timezone
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from pydantic import BaseModel, Field, create_model
from sqlalchemy import Table

from revcert.money import amounts_as_text, loads_exact
from revcert.monitoring import ledger
from revcert.notifications.accounts import salesforce_record_url
from revcert.orchestration.as_of import business_today
from revcert.settings import from_environment
from revcert.sqlfiles import load_sql
from revcert.ui.export import as_csv
from revcert.warehouse.connection import connect
from revcert.warehouse.schema import (
    MOVEMENTS,
    analytics_mrr_metrics,
    analytics_mrr_metrics_total,
    viz_cohort_retention,
    viz_cohort_retention_total,
    viz_customer_contract,
    viz_customer_line,
    viz_customer_month,
    viz_mrr_bridge,
    viz_mrr_bridge_total,
    viz_shop_daily_revenue,
)

# Where the plugin mounts the app in the api-server, and the OpenAPI document's server when no request says.
URL_PREFIX = "/revcert"
PAGE_DIR = Path(str(files("revcert.ui").joinpath("page")))
ECHARTS_IN_PACKAGE = PAGE_DIR / "echarts.min.js"
ECHARTS_IN_CHECKOUT = Path(__file__).resolve().parents[3] / "node_modules" / "echarts" / "dist" / "echarts.min.js"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'self'; form-action 'none'")

MonthParam = Annotated[str | None, Query(description="A month, YYYY-MM", examples=["2026-03"])]
# Any published text is a business unit, except a NUL: PostgreSQL text cannot hold one, so it names nothing.
UnitParam = Annotated[str | None, Query(min_length=1, max_length=255, pattern=r"^[^\x00]+$",
                                        description="A business unit, as published; all of them when absent")]
ShopIdParam = Annotated[str, PathParam(pattern=r"^\d{1,20}$", description="The shop's numeric id",
                                       examples=["1001"])]
SalesforceIdParam = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{1,18}$", description="A Salesforce record id",
                                             examples=["001000000000001AAA"])]
IncidentIdParam = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The incident's id", examples=[12])]
# The default incident list: every unresolved incident, then this many of the latest resolved.
RESOLVED_SHOWN = 20
INCIDENTS_LISTED = 1000
# A movement, or `any`: every customer whose month had one (the customers behind net new MRR).
Movement = Literal[(*MOVEMENTS, "any")]  # type: ignore[valid-type]
Pipeline = Literal["certified_mrr", "shop_daily_revenue"]
# Every list route also answers `?format=csv`; the OpenAPI document says so.
CSV_ALSO: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
FormatParam = Annotated[Literal["json", "csv"], Query(
    description="csv: the same rows for a spreadsheet, exact decimal text, under a preamble naming currency, "
                "certification and snapshot date")]


def _wire_type(column: Any) -> Any:
    """How a published column travels: amounts and percentages as exact decimal strings."""
    python_type = column.type.python_type
    if python_type is Decimal:
        return (str | None, None) if column.nullable else (str, ...)
    if python_type is datetime:
        return (str | None, None) if column.nullable else (str, ...)
    return (python_type | None, None) if column.nullable else (python_type, ...)


def row_model(name: str, table: Table, **extra: Any) -> type[BaseModel]:
    """A response model with every column of a published table (the contract is the schema)."""
    return create_model(name, **{column.name: _wire_type(column) for column in table.columns}, **extra)


# Beside each published month of the bridge: its change on the month before and whether it is still partial,
# so the page's KPIs need no arithmetic on money.
MONTH_ON_MONTH: dict[str, Any] = {
    "previous_month": (date | None, Field(None, description="The month before, when it is published")),
    "ending_mrr_change": (str | None, Field(None, description="Ending MRR less the previous month's")),
    "ending_mrr_change_pct": (str | None, Field(
        None, description="That change as a percentage of the previous month's ending MRR, to one decimal")),
    "recognized_revenue_change": (str | None, Field(
        None, description="Recognised revenue less the previous month's")),
    "recognized_revenue_change_pct": (str | None, Field(
        None, description="That change as a percentage of the previous month's recognised revenue, to one decimal")),
    "net_new_mrr_change": (str | None, Field(None, description="Net new MRR less the previous month's")),
    "active_customers_change": (int | None, Field(None, description="Active customers less the previous month's")),
    "is_partial": (bool, Field(description="The month holds the snapshot date, before its last day: its figures "
                                           "are the month so far")),
}
BridgeRow = row_model("BridgeRow", viz_mrr_bridge, **MONTH_ON_MONTH)
BridgeTotal = row_model("BridgeTotal", viz_mrr_bridge_total, **MONTH_ON_MONTH)
CohortRow = row_model("CohortRow", viz_cohort_retention)
CohortTotal = row_model("CohortTotal", viz_cohort_retention_total)
ShopDayRow = row_model("ShopDayRow", viz_shop_daily_revenue)
CustomerMonthRow = row_model("CustomerMonthRow", viz_customer_month)
IS_PARTIAL: dict[str, Any] = {"is_partial": MONTH_ON_MONTH["is_partial"]}
MetricRow = row_model("MetricRow", analytics_mrr_metrics, **IS_PARTIAL)
MetricTotal = row_model("MetricTotal", analytics_mrr_metrics_total, **IS_PARTIAL)
SALESFORCE_URL: dict[str, Any] = {"salesforce_url": (str | None, Field(
    None, description="The record in the Salesforce org, when the org's domain is configured"))}
CustomerLineRow = row_model("CustomerLineRow", viz_customer_line, **SALESFORCE_URL)
CustomerContractRow = row_model("CustomerContractRow", viz_customer_contract, **SALESFORCE_URL)


class Customer(BaseModel):
    """One customer as certified: its months (the timeline), the lines carrying its MRR and the contracts whose
    renewal chain made it one customer. Lines and contracts are those of the latest publication."""

    customer_id: str
    customer_name: str | None
    business_unit: str
    currency: str
    salesforce_url: str | None
    months: list[CustomerMonthRow]  # type: ignore[valid-type]
    lines: list[CustomerLineRow]  # type: ignore[valid-type]
    contracts: list[CustomerContractRow]  # type: ignore[valid-type]


class RecordVersion(BaseModel):
    """One version of a Salesforce record as an extraction read it, its fields as the source sent them."""

    object_name: str
    record_id: str
    batch_id: int
    extraction_mode: str
    extraction_started_at: str
    system_modstamp: str | None
    is_deleted: bool
    received_at: str
    record: dict[str, Any]
    salesforce_url: str | None


class Bridge(BaseModel):
    rows: list[BridgeRow]  # type: ignore[valid-type]
    totals: list[BridgeTotal]  # type: ignore[valid-type]


class Metrics(BaseModel):
    """The analytics layer's metrics, computed from the published figures (definitions in the README)."""

    rows: list[MetricRow]  # type: ignore[valid-type]
    totals: list[MetricTotal]  # type: ignore[valid-type]


class CertifiedMonth(BaseModel):
    month: date
    currency: str
    snapshot_date: date
    business_units: list[str]
    certification_id: int


class Shop(BaseModel):
    """A shop as published, with its latest certification attempt (which may have failed: the figures
    shown are then still those of `certification_id`)."""

    shop_id: str
    shop_name: str | None
    iana_timezone: str | None
    currency: str | None
    refund_attribution: str | None
    first_day: date | None
    last_day: date | None
    certification_id: int | None
    certified_at: str | None
    latest_certification_id: int | None
    latest_status: str | None
    latest_started_at: str | None
    latest_failure_summary: str | None


class ShopDaily(BaseModel):
    shop: Shop
    days: list[ShopDayRow]  # type: ignore[valid-type]


class CertificationCheck(BaseModel):
    check_name: str
    passed: bool | None
    summary: str
    discrepancies: list[dict[str, Any]]


class CertificationRecord(BaseModel):
    certification_id: int
    dag_id: str
    scope: str
    run_id: str
    as_of_date: date
    status: str
    is_certify_only: bool
    is_restatement: bool
    started_at: str
    certified_at: str | None
    published_at: str | None
    closed_at: str | None
    figures_hash: str | None
    overrides_used: list[dict[str, Any]]
    published_months: list[str] | None
    withdrawn_months: list[str] | None
    failure_summary: str | None
    checks: list[CertificationCheck]


class ReconciliationRun(BaseModel):
    """A reconciliation of published shop-days against the source (or a `revcert shop audit`)."""

    reconciliation_run_id: int
    dag_id: str
    run_id: str
    as_of_date: date | None
    days: int
    fraction: str
    all_shops: bool
    seed: int
    shops_active: int
    shops_sampled: int
    status: str
    shop_days_compared: int | None
    discrepancies: int | None
    shops_failed: int | None
    discrepancy_rate: str | None
    started_at: str
    finished_at: str | None


class Discrepancy(BaseModel):
    """A shop-day found more than 0.1% apart from the source (METHODOLOGY.md B5), with the repair asked for it."""

    reconciliation_run_id: int
    run_id: str
    shop_id: str
    day: date
    currency: str
    source_net_revenue: str
    stored_net_revenue: str | None
    stored_certification_id: int | None
    difference: str
    relative_difference: str | None
    differing_order_ids: list[str]
    repair_run_id: str | None
    repair_requested_at: str | None
    closed_by_reconciliation_run_id: int | None
    is_open: bool
    found_at: str


class Incident(BaseModel):
    """An incident of the monitoring ledger: an anomaly, a failed certification check or a reconciliation
    discrepancy, with what people decided about it."""

    incident_id: int
    fingerprint: str
    kind: str
    pipeline: str
    scope: str
    rule: str
    subject: str
    severity: str
    summary: str
    status: str
    is_holding: bool
    first_seen_at: str
    last_seen_at: str
    runs_affected: int
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolution_note: str | None
    expected_until: date | None
    is_suppressing: bool = Field(description="Resolved as expected and still valid today (business timezone): "
                                             "the same anomaly is recorded against it, neither holding nor paging")
    suppression: str | None = Field(description="Why, while it suppresses: suppressed until D: note")


class IncidentRun(BaseModel):
    """A run an incident affected, with its certification record (none for a reconciliation's run)."""

    pipeline: str
    run_id: str
    certification_id: int | None
    outcome: str
    seen_at: str


class IncidentDetail(Incident):
    runs: list[IncidentRun]


class Resolution(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="Why: kept, and shown where it suppresses")
    expected_until: date | None = Field(None, description="The change was expected: the same anomaly is recorded, "
                                                          "not held or paged, through this date (today or later)")


def _incident(incident: ledger.Incident, today: date) -> dict[str, Any]:
    """A ledger incident for the wire, with whether its expected resolution suppresses its anomaly today."""
    row = asdict(incident)
    suppressing = (incident.kind == "anomaly" and incident.status == "resolved"
                   and incident.expected_until is not None and incident.expected_until >= today)
    return {**_wire(_without(row, "dag_id")), "pipeline": incident.dag_id,
            "fingerprint": ledger.fingerprint(incident.kind, incident.dag_id, incident.rule, incident.subject),
            "is_suppressing": suppressing,
            "suppression": (f"suppressed until {incident.expected_until}: {incident.resolution_note}"
                            if suppressing else None)}


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    """A row for the wire: Decimals as their exact text, timestamps in ISO 8601 with their zone."""
    return {k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime) else v)
            for k, v in row.items()}


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _first_of(month: str | None, name: str) -> date | None:
    if month is None:
        return None
    if not MONTH.match(month):
        raise HTTPException(422, detail=[{"loc": ["query", name], "msg": f"{name} must be a month as YYYY-MM, "
                                                                          f"got {month!r}", "type": "value_error"}])
    return date(int(month[:4]), int(month[5:]), 1)


def _month_range(from_month: str | None, to_month: str | None) -> dict[str, date | None]:
    start, end = _first_of(from_month, "from_month"), _first_of(to_month, "to_month")
    if start and end and start > end:
        raise HTTPException(422, detail=[{"loc": ["query", "from_month"], "msg": f"from_month {from_month} is after "
                                          f"to_month {to_month}", "type": "value_error"}])
    return {"from_month": start, "to_month": end}


def _day_range(from_day: date | None, to_day: date | None) -> dict[str, date | None]:
    if from_day and to_day and from_day > to_day:
        raise HTTPException(422, detail=[{"loc": ["query", "from"], "msg": f"from {from_day} is after to {to_day}",
                                          "type": "value_error"}])
    return {"from_day": from_day, "to_day": to_day}


def _no_operator() -> str:
    raise HTTPException(403, detail="resolving incidents from the page is not configured here")


def create_app(viz_dsn: Callable[[], str], auth: Callable[..., Any] | None = None,
               salesforce_org_url: Callable[[], str | None] = lambda: None,
               ledger_dsn: Callable[[], str] | None = None, operator: Callable[..., str] = _no_operator) -> FastAPI:
    """The app; `viz_dsn` gives the viz-only login's connection string, `auth` is required by every route, and
    `salesforce_org_url` the org's URL that record links open (None: ids without links). `ledger_dsn` gives the
    warehouse login that acknowledges and resolves incidents, and `operator` is a dependency that refuses
    anyone else (403) and returns the operator's name, kept as who did it."""
    dependencies = [Depends(auth)] if auth else []
    app = FastAPI(title="Certified revenue", version="1.0.0", openapi_url=None, docs_url=None, redoc_url=None,
                  dependencies=dependencies,
                  description="Certified MRR bridge, totals, cohorts, shops' daily revenue and certification "
                              "history, read from viz only. Amounts are decimal strings.")

    @app.middleware("http")
    async def content_security_policy(request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @contextmanager
    def viz() -> Iterator[psycopg.Connection]:
        with connect(viz_dsn(), row_factory=dict_row) as conn:
            set_json_loads(loads_exact, conn)
            yield conn

    def query(name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with viz() as conn:
            return conn.execute(load_sql("api", name), params or {}).fetchall()

    def published_unit(business_unit: str | None) -> None:
        """A business unit asked for must have published figures: any other is a mistake to name, never an empty
        answer that would read as no revenue."""
        if business_unit is None:
            return
        known = [row["business_unit"] for row in query("api_business_units")]
        if business_unit not in known:
            raise HTTPException(422, detail=[{
                "loc": ["query", "business_unit"], "type": "value_error",
                "msg": f"business_unit {business_unit!r} has no published figures; the business units are: "
                       f"{', '.join(known) or 'none yet'}"}])

    def csv_file(name: str, title: str, rows: list[dict[str, Any]], columns: list[str]) -> Response:
        now = datetime.now(timezone.utc)
        return Response(as_csv(title, rows, columns, now), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="revcert-{name}-{now:%Y%m%dT%H%M%SZ}.csv"'})

    @app.get("/api/v1/bridge", responses=CSV_ALSO, response_model=Bridge,
             summary="The certified MRR bridge, with its published totals")
    def bridge(from_month: MonthParam = None, to_month: MonthParam = None, business_unit: UnitParam = None,
               format: FormatParam = "json") -> Any:
        months = _month_range(from_month, to_month)
        published_unit(business_unit)
        published = query("api_bridge", {**months, "business_unit": business_unit})
        if format == "csv":
            # The totals follow the units they add up, each marked: a unit may be named anything.
            return csv_file("mrr-bridge", "Certified MRR bridge by business unit, then the published totals",
                            published, [*BridgeRow.model_fields, "is_total"])
        return Bridge(rows=[_wire(_without(r, "is_total")) for r in published if not r["is_total"]],
                      totals=[_wire(_without(r, "is_total", "business_unit")) for r in published if r["is_total"]])

    @app.get("/api/v1/metrics", responses=CSV_ALSO, response_model=Metrics,
             summary="ARR, net and gross revenue retention (monthly and trailing 12 months), logo churn, customer "
                     "counts by movement and average MRR per customer, from the certified figures")
    def metrics(from_month: MonthParam = None, to_month: MonthParam = None, business_unit: UnitParam = None,
                format: FormatParam = "json") -> Any:
        months = _month_range(from_month, to_month)
        published_unit(business_unit)
        rows = query("api_metrics", {**months, "business_unit": business_unit})
        if format == "csv":
            return csv_file("metrics", "Revenue metrics from the certified figures by business unit, then over all "
                            "business units", rows, [*MetricRow.model_fields, "is_total"])
        return Metrics(rows=[_wire(_without(r, "is_total")) for r in rows if not r["is_total"]],
                       totals=[_wire(_without(r, "is_total", "business_unit")) for r in rows if r["is_total"]])

    @app.get("/api/v1/movements", responses=CSV_ALSO, response_model=list[CustomerMonthRow],
             summary="The customers behind a figure of the bridge: a month, one business unit or all, one movement "
                     "or all")
    def movements(month: Annotated[str, Query(description="A month, YYYY-MM", examples=["2026-03"])],
                  business_unit: UnitParam = None,
                  movement: Annotated[Movement | None, Query(
                      description="Only customers with this movement (`any`: with a movement)")] = None,
                  active: Annotated[bool, Query(description="Only active customers (ending MRR > 0)")] = False,
                  format: FormatParam = "json") -> Any:
        first = _first_of(month, "month")
        published_unit(business_unit)
        rows = query("api_movement_customers", {"month": first, "business_unit": business_unit,
                                                "movement": movement, "active": active})
        if format == "csv":
            which = f"{movement or 'every'} movement" + (", active customers" if active else "")
            return csv_file(f"customers-{month}", f"Certified customer movements of {month}, "
                            f"{business_unit or 'all business units'}, {which}", rows,
                            list(CustomerMonthRow.model_fields))
        return [_wire(row) for row in rows]

    @app.get("/api/v1/customers/{customer_id}", response_model=Customer,
             summary="One customer's certified months, the lines carrying its MRR and its contracts")
    def customer(customer_id: SalesforceIdParam) -> Any:
        months = query("api_customer_months", {"customer_id": customer_id})
        if not months:
            raise HTTPException(404, detail=f"no customer {customer_id} has certified figures")
        org = salesforce_org_url()
        latest = months[-1]

        def linked(row: dict[str, Any], record_id: str) -> dict[str, Any]:
            return {**_wire(row), "salesforce_url": salesforce_record_url(org, record_id)}

        return Customer(
            customer_id=customer_id, customer_name=latest["customer_name"], business_unit=latest["business_unit"],
            currency=latest["currency"], salesforce_url=salesforce_record_url(org, customer_id),
            months=[_wire(row) for row in months],
            lines=[linked(row, row["subscription_line_id"])
                   for row in query("api_customer_lines", {"customer_id": customer_id})],
            contracts=[linked(row, row["contract_id"])
                       for row in query("api_customer_contracts", {"customer_id": customer_id})])

    @app.get("/api/v1/records/{record_id}/versions", response_model=list[RecordVersion],
             summary="Every extracted version of a Salesforce record behind a published figure, oldest first")
    def record_versions(record_id: SalesforceIdParam) -> Any:
        versions = query("api_record_versions", {"record_id": record_id})
        if not versions:
            raise HTTPException(404, detail=f"no published figure rests on a record {record_id}")
        org = salesforce_org_url()
        return [{**_wire(row), "record": amounts_as_text(row["record"]),
                 "salesforce_url": salesforce_record_url(org, record_id)} for row in versions]

    @app.get("/api/v1/months", responses=CSV_ALSO, response_model=list[CertifiedMonth],
             summary="Every certified month shown")
    def months(format: FormatParam = "json") -> Any:
        rows = query("api_certified_months")
        if format == "csv":
            return csv_file("months", "Certified months shown", rows, list(CertifiedMonth.model_fields))
        return [CertifiedMonth(**{k: v for k, v in row.items() if k != "certified_at"}) for row in rows]

    @app.get("/api/v1/cohorts", responses=CSV_ALSO,
             response_model=list[CohortRow | CohortTotal],  # type: ignore[valid-type]
             summary="Certified cohort retention: one business unit, or all of them (the published totals)")
    def cohorts(from_month: MonthParam = None, to_month: MonthParam = None,
                business_unit: UnitParam = None, format: FormatParam = "json") -> Any:
        months = _month_range(from_month, to_month)
        published_unit(business_unit)
        if business_unit is None:
            rows, model, title = query("api_cohort_retention_total", months), CohortTotal, "all business units"
        else:
            rows, model, title = (query("api_cohort_retention", {**months, "business_unit": business_unit}),
                                  CohortRow, f"business unit {business_unit}")
        if format == "csv":
            return csv_file("cohorts", f"Certified cohort retention, {title}", rows, list(model.model_fields))
        return [_wire(row) for row in rows]

    @app.get("/api/v1/certifications", responses=CSV_ALSO, response_model=list[CertificationRecord],
             summary="Certification history, newest first, with each record's checks")
    def certifications(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       pipeline: Annotated[Pipeline | None, Query(description="Only this DAG's records")] = None,
                       shop_id: Annotated[str | None, Query(pattern=r"^\d{1,20}$",
                                                            description="Only this shop's records")] = None,
                       format: FormatParam = "json") -> Any:
        rows = query("api_certification_history", {"limit": limit, "dag_id": pipeline, "scope": shop_id})
        if format == "csv":
            return csv_file("certifications", "Certification history, newest first", rows,
                            list(CertificationRecord.model_fields))
        return [CertificationRecord(**_wire(row)) for row in rows]

    @app.get("/api/v1/shops", responses=CSV_ALSO, response_model=list[Shop],
             summary="Every shop with certified daily revenue, or with a certification attempt")
    def shops(format: FormatParam = "json") -> Any:
        rows = query("api_shops", {"shop_id": None})
        if format == "csv":
            return csv_file("shops", "Shops with certified daily revenue or a certification attempt", rows,
                            list(Shop.model_fields))
        return [Shop(**_wire(row)) for row in rows]

    @app.get("/api/v1/shops/{shop_id}/daily", responses=CSV_ALSO, response_model=ShopDaily,
             summary="One shop's certified daily revenue, by local day, in the shop's currency")
    def shop_daily(shop_id: ShopIdParam,
                   from_day: Annotated[date | None, Query(alias="from", description="First local day, YYYY-MM-DD")]
                   = None,
                   to_day: Annotated[date | None, Query(alias="to", description="Last local day, YYYY-MM-DD")]
                   = None, format: FormatParam = "json") -> Any:
        days = _day_range(from_day, to_day)
        shop = query("api_shops", {"shop_id": shop_id})
        if not shop:
            raise HTTPException(404, detail=f"no shop {shop_id} has certified figures or a certification attempt")
        rows = query("api_shop_daily", {"shop_id": shop_id, **days})
        if format == "csv":
            return csv_file(f"shop-{shop_id}-daily", f"Certified daily revenue of shop {shop_id} "
                            f"({shop[0]['shop_name'] or 'unnamed'}), local days in {shop[0]['iana_timezone']}",
                            rows, list(ShopDayRow.model_fields))
        return ShopDaily(shop=Shop(**_wire(shop[0])), days=[_wire(row) for row in rows])

    @app.get("/api/v1/reconciliation/runs", responses=CSV_ALSO, response_model=list[ReconciliationRun],
             summary="Reconciliations of shop revenue against the source, newest first, with discrepancy rates")
    def reconciliation_runs(limit: Annotated[int, Query(ge=1, le=500)] = 60, format: FormatParam = "json") -> Any:
        rows = query("api_reconciliation_runs", {"limit": limit})
        if format == "csv":
            return csv_file("reconciliation-runs", "Reconciliations of shop revenue against the source", rows,
                            list(ReconciliationRun.model_fields))
        return [ReconciliationRun(**_wire(row)) for row in rows]

    @app.get("/api/v1/reconciliation/discrepancies", responses=CSV_ALSO, response_model=list[Discrepancy],
             summary="Shop-days found apart from the source: the open ones by default")
    def reconciliation_discrepancies(
            status: Annotated[Literal["open", "all"], Query(description="open: not yet found equal again")] = "open",
            shop_id: Annotated[str | None, Query(pattern=r"^\d{1,20}$", description="Only this shop")] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 200, format: FormatParam = "json") -> Any:
        rows = query("api_reconciliation_discrepancies", {"open_only": status == "open", "shop_id": shop_id,
                                                          "limit": limit})
        if format == "csv":
            return csv_file("discrepancies", f"Shop-days apart from the source ({status})", rows,
                            list(Discrepancy.model_fields))
        return [Discrepancy(**_wire(row)) for row in rows]

    def business_day() -> date:
        return business_today(from_environment().business_timezone)

    @app.get("/api/v1/incidents", responses=CSV_ALSO, response_model=list[Incident],
             summary="The incident ledger: open and acknowledged incidents first, then the latest resolved")
    def incidents(status: Annotated[Literal["open", "acknowledged", "resolved", "all"] | None, Query(
                      description="Only this status, or all; by default the open and acknowledged ones, then the "
                                  f"latest {RESOLVED_SHOWN} resolved")] = None,
                  format: FormatParam = "json") -> Any:
        with viz() as conn:
            if status is None:
                found = [*ledger.list_incidents(conn, "open"), *ledger.list_incidents(conn, "acknowledged"),
                         *ledger.list_incidents(conn, "resolved", limit=RESOLVED_SHOWN)]
            else:
                found = ledger.list_incidents(conn, None if status == "all" else status, limit=INCIDENTS_LISTED)
        today = business_day()
        rows = [_incident(incident, today) for incident in found]
        if format == "csv":
            which = status or "unresolved, then the latest resolved"
            return csv_file("incidents", f"Incidents of the monitoring ledger ({which})", rows,
                            list(Incident.model_fields))
        return rows

    @app.get("/api/v1/incidents/{incident_id}", response_model=IncidentDetail,
             summary="One incident with the runs it affected, their certification records and what it did to each")
    def incident(incident_id: IncidentIdParam) -> Any:
        with viz() as conn:
            try:
                found = ledger.read_incident(conn, incident_id)
            except ledger.IncidentRefused as unknown:
                raise HTTPException(404, detail=str(unknown)) from unknown
            runs = ledger.incident_runs(conn, incident_id)
        return {**_incident(found, business_day()),
                "runs": [{**_wire(_without(asdict(run), "incident_id", "dag_id")), "pipeline": run.dag_id}
                         for run in runs]}

    def decide(incident_id: int, decision: Callable[[psycopg.Connection], ledger.Incident]) -> Any:
        """Apply an operator's decision through the warehouse login: 404 unknown, 409 already resolved, 422 what
        else the ledger refuses (an empty note)."""
        if ledger_dsn is None:
            raise HTTPException(503, detail="no warehouse login is configured for the incident ledger")
        with connect(ledger_dsn()) as conn:
            try:
                current = ledger.read_incident(conn, incident_id)
            except ledger.IncidentRefused as unknown:
                raise HTTPException(404, detail=str(unknown)) from unknown
            if current.status == "resolved":
                raise HTTPException(409, detail=f"incident {incident_id} is already resolved by "
                                                f"{current.resolved_by}: {current.resolution_note}")
            try:
                decided = decision(conn)
            except ledger.IncidentRefused as refused:
                raise HTTPException(422, detail=str(refused)) from refused
        return _incident(decided, business_day())

    @app.get("/api/v1/permissions/incidents", status_code=204, response_class=Response,
             dependencies=[Depends(operator)],
             summary="204 when you may acknowledge and resolve incidents (an operator), else 403; changes nothing")
    def may_decide_incidents() -> Response:
        return Response(status_code=204)

    @app.post("/api/v1/incidents/{incident_id}/acknowledge", response_model=Incident,
              summary="Say someone is on an incident (operators only); a hold still holds until it is resolved")
    def acknowledge(incident_id: IncidentIdParam, by: str = Depends(operator)) -> Any:
        return decide(incident_id, lambda conn: ledger.acknowledge_incident(conn, incident_id, by))

    @app.post("/api/v1/incidents/{incident_id}/resolve", response_model=Incident,
              summary="Resolve an incident with a note, as expected until a date or not (operators only)")
    def resolve(incident_id: IncidentIdParam, resolution: Resolution, by: str = Depends(operator)) -> Any:
        today = business_day()
        if resolution.expected_until is not None and resolution.expected_until < today:
            raise HTTPException(422, detail=[{
                "loc": ["body", "expected_until"], "type": "value_error",
                "msg": f"expected_until {resolution.expected_until} has passed (today is {today}): it would "
                       "suppress nothing"}])
        return decide(incident_id, lambda conn: ledger.resolve_incident(
            conn, incident_id, resolution.note, by, resolution.expected_until))

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        # "Try it" sends requests to the first server: the path the api-server mounted this app at (Starlette's
        # root_path), so the document is right under whatever prefix Airflow serves it.
        prefix = request.scope.get("root_path", "").rstrip("/") or URL_PREFIX
        return JSONResponse({**app.openapi(), "servers": [{"url": prefix, "description": "inside the Airflow UI"}]})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((PAGE_DIR / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name == "echarts.min.js":
            for candidate in (ECHARTS_IN_PACKAGE, ECHARTS_IN_CHECKOUT):
                if candidate.exists():
                    return FileResponse(candidate, media_type="text/javascript")
            raise HTTPException(503, detail="ECharts is not installed: run `make install` (npm ci)")
        media = {"app.js": "text/javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"}.get(name)
        if media is None:
            raise HTTPException(404, detail="no such asset")
        return FileResponse(PAGE_DIR / name, media_type=media)

    return app
