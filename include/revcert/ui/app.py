"""The certified-revenue page and API v1, mounted inside the Airflow API server by the plugin.

Every route, the page and its assets included, requires a user logged into
Airflow (the Airflow auth manager decides). Data comes from `viz` only, through
a connection that switches to the read-only role `revcert_viz_reader`: the API
could not read staging or mart even if it tried. Amounts are decimal strings.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from pydantic import BaseModel

from revcert.money import loads_exact
from revcert.settings import PROJECT_ROOT
from revcert.sqlfiles import load_sql

VIZ_READER_ROLE = "revcert_viz_reader"
PAGE_DIR = Path(__file__).parent / "page"
ECHARTS = PROJECT_ROOT / "node_modules" / "echarts" / "dist" / "echarts.min.js"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

MonthParam = Annotated[str | None, Query(description="A month, YYYY-MM", examples=["2026-03"])]
UnitParam = Annotated[str | None, Query(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9 _.&-]+$",
                                        description="A business unit; all of them when absent")]


class BridgeRow(BaseModel):
    month: date
    business_unit: str
    starting_mrr: str
    new: str
    expansion: str
    contraction: str
    churn: str
    winback: str
    ending_mrr: str
    recognized_revenue: str
    net_new_mrr: str
    active_customers: int
    snapshot_date: date
    certification_id: int | None = None


class Bridge(BaseModel):
    rows: list[BridgeRow]
    totals: list[BridgeRow]


class CertifiedMonth(BaseModel):
    month: date
    snapshot_date: date
    business_units: list[str]
    certification_id: int


class CohortRow(BaseModel):
    cohort_month: date
    business_unit: str
    month: date
    months_since_cohort: int
    cohort_customers: int
    active_customers: int
    cohort_starting_mrr: str
    ending_mrr: str
    certification_id: int


class CertificationCheck(BaseModel):
    check_name: str
    passed: bool | None
    summary: str
    discrepancies: list[dict[str, Any]]


class CertificationRecord(BaseModel):
    certification_id: int
    run_id: str
    as_of_date: date
    status: str
    started_at: str
    certified_at: str | None
    published_at: str | None
    figures_hash: str | None
    overrides_used: list[dict[str, Any]]
    failure_summary: str | None
    checks: list[CertificationCheck]


AMOUNTS = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr", "recognized_revenue")
MOVEMENTS = ("new", "expansion", "contraction", "churn", "winback")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _first_of(month: str | None, name: str) -> date | None:
    if month is None:
        return None
    if not MONTH.match(month):
        raise HTTPException(422, detail=[{"loc": ["query", name], "msg": f"{name} must be a month as YYYY-MM, "
                                                                          f"got {month!r}", "type": "value_error"}])
    return date(int(month[:4]), int(month[5:]), 1)


def _month_range(from_month: str | None, to_month: str | None) -> tuple[date | None, date | None]:
    start, end = _first_of(from_month, "from_month"), _first_of(to_month, "to_month")
    if start and end and start > end:
        raise HTTPException(422, detail=[{"loc": ["query", "from_month"], "msg": f"from_month {from_month} is after "
                                          f"to_month {to_month}", "type": "value_error"}])
    return start, end


def _bridge_row(row: dict[str, Any]) -> BridgeRow:
    """A bridge row for the wire: amounts as exact strings, net new MRR summed exactly."""
    values = {k: _amount(v) if k in AMOUNTS else v for k, v in row.items() if k != "certified_at"}
    return BridgeRow(**values, net_new_mrr=_amount(sum(row[m] for m in MOVEMENTS)))


def _totals(rows: list[dict[str, Any]]) -> list[BridgeRow]:
    by_month: dict[date, dict[str, Any]] = {}
    for row in rows:
        total = by_month.setdefault(row["month"], {"month": row["month"], "business_unit": "TOTAL",
                                                   "snapshot_date": row["snapshot_date"], "active_customers": 0,
                                                   **{a: Decimal(0) for a in AMOUNTS}})
        for name in AMOUNTS:
            total[name] += row[name]
        total["active_customers"] += row["active_customers"]
    return [_bridge_row(total) for total in by_month.values()]


def create_app(viz_url: Callable[[], str], auth: Callable[..., Any] | None = None) -> FastAPI:
    """The app; `viz_url` gives the warehouse URL, `auth` is the dependency every route requires."""
    dependencies = [Depends(auth)] if auth else []
    app = FastAPI(title="Certified revenue", version="1.0.0", openapi_url=None, docs_url=None, redoc_url=None,
                  dependencies=dependencies,
                  description="Certified MRR bridge, cohorts and certification history, read from viz only. "
                              "Amounts are decimal strings.")

    @contextmanager
    def viz() -> Iterator[psycopg.Connection]:
        with psycopg.connect(viz_url(), row_factory=dict_row) as conn:
            set_json_loads(loads_exact, conn)
            conn.execute(f"set role {VIZ_READER_ROLE}")
            yield conn

    @app.get("/api/v1/bridge", response_model=Bridge, summary="The certified MRR bridge, with totals per month")
    def bridge(from_month: MonthParam = None, to_month: MonthParam = None, business_unit: UnitParam = None) -> Bridge:
        start, end = _month_range(from_month, to_month)
        with viz() as conn:
            rows = conn.execute(load_sql("viz", "api_bridge"), {"from_month": start, "to_month": end,
                                                                "business_unit": business_unit}).fetchall()
        return Bridge(rows=[_bridge_row(row) for row in rows], totals=_totals(rows))

    @app.get("/api/v1/months", response_model=list[CertifiedMonth], summary="Every certified month shown")
    def months() -> list[CertifiedMonth]:
        with viz() as conn:
            rows = conn.execute(load_sql("viz", "api_certified_months")).fetchall()
        return [CertifiedMonth(**{k: v for k, v in row.items() if k != "certified_at"}) for row in rows]

    @app.get("/api/v1/cohorts", response_model=list[CohortRow], summary="Certified cohort retention")
    def cohorts(from_month: MonthParam = None, to_month: MonthParam = None,
                business_unit: UnitParam = None) -> list[CohortRow]:
        start, end = _month_range(from_month, to_month)
        with viz() as conn:
            rows = conn.execute(load_sql("viz", "api_cohort_retention"), {"from_month": start, "to_month": end,
                                                                          "business_unit": business_unit}).fetchall()
        return [CohortRow(**{k: _amount(v) if k in ("cohort_starting_mrr", "ending_mrr") else v
                             for k, v in row.items()}) for row in rows]

    @app.get("/api/v1/certifications", response_model=list[CertificationRecord],
             summary="Certification history, newest first, with each record's checks")
    def certifications(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[CertificationRecord]:
        with viz() as conn:
            rows = conn.execute(load_sql("viz", "api_certification_history"), {"limit": limit}).fetchall()
        return [CertificationRecord(**{k: (v.isoformat() if hasattr(v, "isoformat") and k.endswith("_at") else v)
                                       for k, v in row.items() if k != "dag_id"}) for row in rows]

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((PAGE_DIR / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name == "echarts.min.js":
            if not ECHARTS.exists():
                raise HTTPException(503, detail="ECharts is not installed: run `make install` (npm ci)")
            return FileResponse(ECHARTS, media_type="text/javascript")
        media = {"app.js": "text/javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"}.get(name)
        if media is None:
            raise HTTPException(404, detail="no such asset")
        return FileResponse(PAGE_DIR / name, media_type=media)

    return app
