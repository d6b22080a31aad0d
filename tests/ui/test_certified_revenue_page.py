"""The certified-revenue page in headless Chromium, inside a real Airflow api-server: log in, open it
from the navigation, check the KPIs, the waterfall and the revenue metrics of the month chosen against
the published totals and the analytics layer, each chart's table against the warehouse, the cohorts'
percentages and customer counts, the shadow metrics against the certification record, text contrast in
both themes and the layout at 390 px, keep screenshots at 1440 and 390 px and in dark mode; click from a
figure to the customers behind it, a customer's lines and contracts and a record's raw versions, each
against the warehouse; and a business unit or customer name carrying markup is shown as text, never run."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from revcert.standins.salesforce.server import SalesforceOrg
from tests.airflow_harness import ADMIN_PASSWORD, PROJECT_ROOT, ApiServer, load_certified_mrr_dag, run_dag
from tests.ui.exports import read_csv

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
STEPS = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr", "net_new_mrr",
         "recognized_revenue")
KPIS = ("ending_mrr", "recognized_revenue", "net_new_mrr", "active_customers")
# The revenue metrics card: each metric's column and how the page shows it.
METRICS = {"arr": "amount", "nrr_pct": "percent", "grr_pct": "percent", "nrr_12m_pct": "percent",
           "grr_12m_pct": "percent", "logo_churn_pct": "percent", "average_mrr_per_customer": "amount",
           "active_customers": "count", "starting_customers": "count"}
MOVEMENT_COUNTS = ("new_customers", "expansion_customers", "contraction_customers", "churned_customers",
                   "winback_customers")
# The README's name of each metric the card defines: the page's definition is the README's.
DEFINED_IN_README = {"arr": "ARR", "active_customers": "active customers", "starting_customers": "starting customers",
                     "customers_by_movement": "customers by movement", "logo_churn_pct": "logo churn %",
                     "average_mrr_per_customer": "average MRR per customer", "nrr_pct": "NRR % (monthly)",
                     "grr_pct": "GRR % (monthly)", "nrr_12m_pct": "NRR % (trailing 12 months)",
                     "grr_12m_pct": "GRR % (trailing 12 months)"}
FIGURE_LABELS = {"starting_mrr": "Starting MRR", "new": "New", "expansion": "Expansion", "contraction": "Contraction",
                 "churn": "Churn", "winback": "Winback", "ending_mrr": "Ending MRR"}
COHORT_CELL = re.compile(r"^(—|[\d.]+%) · (\d+) of (\d+)( \(partial\))?$")
XSS_UNIT = 'EMEA"><img src=x onerror="window.xssFired = true"><script>window.xssFired = true</script>'
XSS_SHOP = 'Shop {}"><img src=x onerror="window.xssFired = true"><svg onload="window.xssFired = true">'
XSS_NAME = 'Customer {}"><img src=x onerror="window.xssFired = true"><b>bold</b>'
# The org's domain, as the Salesforce connection names it: the page links each record into it.
ORG = "https://acme.my.salesforce.com"
WCAG_AA = 4.5
# Every visible text under `root` with its colour and the backgrounds under it (nearest first, up to the first
# opaque one), the form controls' own text, and the text colours each chart draws on its canvas.
TEXT_COLOURS = """(root) => {
    const backgrounds = (node) => {
        const layers = [];
        for (let n = node; n; n = n.parentElement) {
            const colour = getComputedStyle(n).backgroundColor;
            if (colour === "transparent" || colour === "rgba(0, 0, 0, 0)") continue;
            layers.push(colour);
            if (!colour.startsWith("rgba")) break;
        }
        return layers;
    };
    const seen = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const node = text.parentElement;
        if (!text.textContent.trim() || node.closest("option, script, style")) continue;
        if (!node.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
        seen.push([text.textContent.trim().slice(0, 60), getComputedStyle(node).color, backgrounds(node)]);
    }
    for (const control of root.querySelectorAll("select, input")) {
        if (control.checkVisibility()) seen.push([control.id, getComputedStyle(control).color, backgrounds(control)]);
    }
    for (const element of root.querySelectorAll(".chart")) {
        const chart = echarts.getInstanceByDom(element);
        if (!chart || !element.checkVisibility()) continue;
        const option = chart.getOption();
        const drawn = [option.textStyle.color, ...option.xAxis.map((a) => a.axisLabel.color),
                       ...option.yAxis.map((a) => a.axisLabel.color), ...option.legend.map((l) => l.textStyle.color)];
        for (const colour of drawn) seen.push([`${element.id} canvas`, colour, backgrounds(element)]);
    }
    return seen;
}"""
AXIS = """(element) => {
    const chart = echarts.getInstanceByDom(element);
    const axis = chart.getOption().yAxis[0];
    const lowest = chart.getModel().getComponent("yAxis").axis.scale.getExtent()[0];
    return { min: axis.min, breaks: axis.breaks, lowest, labels: chart.getOption().xAxis[0].data };
}"""


def shown_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def rgba(colour: str) -> tuple[float, ...]:
    """A CSS colour as the browser computes it (`rgb(…)`, `rgba(…)`) or as a chart holds it (`#rrggbb`)."""
    if colour.startswith("#"):
        return (*(int(colour[i:i + 2], 16) for i in (1, 3, 5)), 1.0)
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)


def flatten(colour: str, backgrounds: list[str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The colour and the background a reader sees: each layer composited over the ones beneath it."""
    seen = (255.0, 255.0, 255.0)
    for layer in reversed(backgrounds):
        *rgb, alpha = rgba(layer)
        seen = tuple(c * alpha + s * (1 - alpha) for c, s in zip(rgb, seen))
    *rgb, alpha = rgba(colour)
    return tuple(c * alpha + s * (1 - alpha) for c, s in zip(rgb, seen)), seen


def luminance(rgb: tuple[float, ...]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_text_meets_wcag_aa(frame) -> tuple[float, ...]:
    """Every text the page shows (its tables opened) at 4.5:1 or more; returns the page's background. With the
    drill-down panel open, the panel's text: the page under its backdrop is inert, not read."""
    panel = frame.locator("dialog[open]")
    root = panel if panel.count() else frame.locator("body")
    for details in root.locator("details").all():
        details.evaluate("(d) => { d.open = true; }")
    seen = root.evaluate(TEXT_COLOURS)
    assert len(seen) > (40 if panel.count() else 200)
    failing = []
    for text, colour, backgrounds in seen:
        foreground, background = flatten(colour, backgrounds)
        if contrast(foreground, background) < WCAG_AA:
            failing.append((text, colour, backgrounds, round(contrast(foreground, background), 2)))
    assert not failing, failing
    return flatten("rgba(0, 0, 0, 0)", frame.locator("body").evaluate(
        "(b) => [getComputedStyle(b).backgroundColor]"))[1]


def table_rows(frame, table: str) -> list[list[str]]:
    return [row.locator("td").all_inner_texts() for row in frame.locator(f"#{table} tr:has(td)").all()]


def downloaded_csv(page, frame, link: str) -> tuple[str, list[str], list[dict[str, str]]]:
    """Click a card's "Download CSV" as a user does; the file's name, preamble and rows."""
    with page.expect_download() as download:
        frame.locator(f"#{link}").click()
    return (download.value.suggested_filename, *read_csv(Path(download.value.path()).read_text(encoding="utf-8")))


def fetched_csv_rows(frame, link: str) -> int:
    """How many rows the file behind a card's link holds, fetched by the page itself (the user's login)."""
    text = frame.locator(f"#{link}").evaluate(
        "async (a) => { const r = await fetch(a.href); return r.ok ? r.text() : `HTTP ${r.status}`; }")
    assert text.startswith("# "), text[:200]
    return len(read_csv(text)[1])


def launch(playwright):
    from playwright.sync_api import expect

    # Each expectation waits for the page's API calls: 5 s (Playwright's default) is short on a loaded CI machine,
    # where one failed once under a full suite. Waiting longer weakens no assertion: each must still come true.
    expect.set_options(timeout=20_000)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def open_in(browser, api: ApiServer, **context):
    """A new browser context (`viewport`, `color_scheme`, …) logged into Airflow, with the page opened from the
    navigation; returns (page, the page's frame)."""
    from playwright.sync_api import expect

    page = browser.new_page(**{"viewport": {"width": 1440, "height": 1500}, **context})
    # Logging in loads Airflow's own UI before the navigation: under a full suite on a loaded machine the wait for
    # the page's address once ran past Playwright's 30 s. A longer wait weakens nothing: each step must still happen.
    page.set_default_timeout(90_000)
    page.goto(f"{api.base_url}/")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("button[type=submit]").click()
    page.get_by_role("link", name="Certified revenue").click()
    page.wait_for_url("**/plugin/certified-revenue")
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
    return page, frame


def open_link(browser, api: ApiServer, drill: str, **context):
    """A link to a drill-down panel (Airflow's address with the panel's hash) opened in a new browser context;
    returns (page, the page's frame) once the panel has drawn."""
    from playwright.sync_api import expect

    page, frame = open_in(browser, api, **context)
    page.goto(f"{page.url.split('#')[0]}#{drill}")
    page.reload()
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-drill]")).to_be_attached(timeout=30_000)
    return page, frame


def screenshot_whole_page(page, frame, name: str) -> None:
    """A screenshot of the whole page: Airflow's frame keeps to the window's height, so the window is made as tall
    as the page for it (every card is in it), then given back its size."""
    size = page.viewport_size
    chrome = size["height"] - page.locator("iframe").evaluate("(f) => f.getBoundingClientRect().height")
    height = frame.locator("html").evaluate("(root) => root.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": int(height + chrome)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(size)


def open_page(playwright, api: ApiServer, viewport: dict | None = None):
    """Log into Airflow and open the page from the navigation; returns (browser, page, the page's frame)."""
    browser = launch(playwright)
    return (browser, *open_in(browser, api, **({"viewport": viewport} if viewport else {})))


def published_bridge(url: str) -> tuple[dict[date, dict], dict[tuple[date, str], Decimal], dict]:
    """The published totals by month, each unit's ending MRR by (month, unit), and the totals' cohort retention
    by (cohort, month)."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f"select month, snapshot_date, {', '.join(STEPS)}, active_customers "
                              "from viz.mrr_bridge_total")
        names = [c.name for c in cursor.description]
        totals = {row[0]: dict(zip(names, row)) for row in cursor}
        units = {(month, unit): mrr for month, unit, mrr in conn.execute(
            "select month, business_unit, ending_mrr from viz.mrr_bridge")}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        cohorts = {(row["cohort_month"], row["month"]): row for row in conn.execute(
            "select cohort_month, month, mrr_retention_pct, logo_retention_pct, active_customers, cohort_customers "
            "from viz.cohort_retention_total")}
    return totals, units, cohorts


def metrics_in_warehouse(url: str) -> dict[date, dict]:
    """analytics.mrr_metrics_total by month: the metrics over all business units."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {row["month"]: row for row in conn.execute("select * from analytics.mrr_metrics_total")}


def readme_definitions() -> dict[str, str]:
    """The README's table of metric definitions, its code spans left out (the page shows the words)."""
    section = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split("### Metrics (the `analytics` layer)")[1]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section.split("\n\n| metric |")[1].split("\n\n")[0], re.M)
    return {name: re.sub(r" \(`[^`]+`\)", "", definition) for name, definition in rows}


def metric_text(kind: str, value, currency: str) -> str:
    """A metric as the card shows it: the warehouse's exact value, `—` when a percentage has no base."""
    if value is None:
        return "— no base"
    return {"amount": f"{value:,} {currency}", "percent": f"{value}%", "count": str(value)}[kind]


def assert_metrics_show(frame, row: dict, unit: str = "all business units") -> None:
    """The revenue metrics card shows the analytics layer's `row` (a month of one business unit, or of all), each
    metric exactly as the warehouse holds it, with its definition (the README's) visible beside it."""
    from playwright.sync_api import expect

    definitions = readme_definitions()
    expect(frame.locator("#metrics-title")).to_contain_text(f"Revenue metrics, {row['month']:%Y-%m}")
    expect(frame.locator("#metrics-title")).to_contain_text(f", {unit}")
    for key, kind in METRICS.items():
        tile = frame.locator(f"#metrics > .metric[data-metric={key}]")
        assert tile.locator(".value").inner_text() == metric_text(kind, row[key], row["currency"]), key
        expect(tile.locator(".definition")).to_be_visible()
        if key in DEFINED_IN_README:
            expect(tile.locator(".definition")).to_have_text(definitions[DEFINED_IN_README[key]])
    counts = frame.locator("#metrics .metric[data-metric=customers_by_movement]")
    assert [counts.locator(f"li[data-metric={key}] button").inner_text() for key in MOVEMENT_COUNTS] == [
        str(row[key]) for key in MOVEMENT_COUNTS]
    expect(counts.locator(".definition")).to_have_text(definitions["customers by movement"])


def latest_shadow_check(url: str) -> tuple[int, str, list[dict]]:
    """The latest certified_mrr record's check 5 as certification.check_result holds it."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select result.certification_id, result.summary, result.discrepancies from certification.check_result "
            "as result inner join certification.certification_run as run using (certification_id) "
            "where run.dag_id = 'certified_mrr' and result.check_name = 'shadow_views' and result.passed "
            "order by result.certification_id desc limit 1").fetchone()


def assert_cohort_cells_show(frame, cohorts: dict, measure: str, partial_month: date) -> None:
    """Each cohort cell: the retention percentage of `measure` and its customers still with MRR of the cohort's
    customers, all as viz.cohort_retention_total holds them; the partial month's cells named so."""
    ages = [int(h.removeprefix("Month ")) for h in frame.locator("#cohort-table th").all_inner_texts()[2:]]
    partial_cells = 0
    for cells in table_rows(frame, "cohort-table"):
        cohort = date.fromisoformat(cells[0] + "-01")
        for age, text in zip(ages, cells[2:]):
            if not text:
                continue
            month_of_cell = months_after(cohort, age)
            published = cohorts[(cohort, month_of_cell)]
            pct, active, customers, partial = COHORT_CELL.fullmatch(text).groups()
            assert (None if pct == "—" else Decimal(pct.removesuffix("%"))) == published[f"{measure}_retention_pct"]
            assert (int(active), int(customers)) == (published["active_customers"], published["cohort_customers"])
            assert bool(partial) == (month_of_cell == partial_month), (cells[0], age)
            partial_cells += bool(partial)
    assert partial_cells > 0


def month_before(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def months_after(month: date, months: int) -> date:
    return date(month.year + (month.month - 1 + months) // 12, (month.month - 1 + months) % 12 + 1, 1)


def assert_kpis_show(frame, totals: dict[date, dict], month: date) -> None:
    """The KPI cards show `month` and its exact change on the month before, named partial when it is."""
    from playwright.sync_api import expect

    this, before = totals[month], totals[month_before(month)]
    partial = this["snapshot_date"] < months_after(month, 1) - timedelta(days=1)
    expect(frame.locator("#kpi-month")).to_contain_text(f"{month:%Y-%m}, all business units")
    if partial:
        expect(frame.locator("#kpi-month .badge")).to_have_text(f"partial: through {this['snapshot_date']}")
    else:
        expect(frame.locator("#kpi-month .badge")).to_have_count(0)
    for figure in KPIS:
        card = frame.locator(f"#kpis .kpi[data-figure={figure}]")
        assert shown_amount(card.locator(".value").inner_text()) == this[figure], figure
        assert Decimal(card.locator("[data-change]").get_attribute("data-change")) == \
            this[figure] - before[figure], figure
        expect(card.locator("[data-change]")).to_contain_text(f"on {month_before(month):%Y-%m}")
        assert ("(partial)" in card.locator(".label").first.inner_text()) == partial


@pytest.fixture(scope="module")
def certified_api(certified_warehouse_url, tmp_path_factory) -> Iterator[ApiServer]:
    """The api-server over the certified warehouse, its Salesforce connection naming the org's domain; shared
    by the tests that only read that warehouse."""
    api = ApiServer(certified_warehouse_url, tmp_path_factory.mktemp("api-server") / "api-server.log")
    api.env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = f"http://client-id:client-secret@{ORG.removeprefix('https://')}"
    with api:
        yield api


def test_the_page_shows_the_certified_waterfall(certified_warehouse_url, certified_api):
    """A controller's first view at 1440 px: KPIs of the latest month, marked partial, with their change on the
    month before; the waterfall's axis from zero with its break drawn and said; the month's revenue metrics with
    their definitions; every chart's table the warehouse's figures; cohort cells with percentage and customer
    count, of MRR and of logos; check 5's shadows as recorded; text at WCAG AA; CSVs; then an earlier month
    chosen, and a reversed range clearing the figures. The same page at 390 px (no page overflow, tables scroll)
    and in Airflow's dark theme."""
    from playwright.sync_api import expect, sync_playwright

    totals, units, cohorts = published_bridge(certified_warehouse_url)
    metrics = metrics_in_warehouse(certified_warehouse_url)
    shadow_certification, shadow_summary, shadow_differences = latest_shadow_check(certified_warehouse_url)
    assert shadow_differences  # the small org renews some contracts after a gap: check 5 finds differences
    month = max(totals)
    expected, snapshot = {step: totals[month][step] for step in STEPS}, totals[month]["snapshot_date"]
    assert snapshot.month == month.month and snapshot.day < 28  # the fixture's latest month is a partial one

    ARTIFACTS.mkdir(exist_ok=True)
    api = certified_api
    with sync_playwright() as playwright:
        browser, page, frame = open_page(playwright, api)
        expect(frame.locator("html")).to_have_attribute("data-theme", "light")
        expect(frame.locator("#waterfall-title")).to_have_text(
            f"MRR bridge, {month:%Y-%m} (partial, through {snapshot}), all business units (USD)")
        for step in STEPS:
            cell = frame.locator(f"#waterfall-table tr[data-step={step}] td").nth(1)
            assert shown_amount(cell.inner_text()) == expected[step], step
        assert_kpis_show(frame, totals, month)
        assert_metrics_show(frame, metrics[month])
        expect(frame.locator("#waterfall canvas").first).to_be_visible()
        screenshot_whole_page(page, frame, "certified-revenue.png")

        # The waterfall's axis starts at zero; the movements are small beside the MRR, so it shows its break,
        # below the lowest level the bridge reaches, and says where it is.
        axis = frame.locator("#waterfall").evaluate(AXIS)
        assert axis["min"] == 0 and axis["lowest"] == 0
        [axis_break] = axis["breaks"]
        levels, level = [], Decimal(0)
        for step in STEPS[:7]:
            level = expected[step] if step in ("starting_mrr", "ending_mrr") else level + expected[step]
            levels.append(level)
        assert axis_break["start"] == 0 and 0 < Decimal(axis_break["end"]) < min(levels)
        expect(frame.locator("#waterfall-break")).to_have_text(re.compile(
            rf"^The axis starts at 0 and is broken from 0 to {int(axis_break['end']):,} USD"))

        # Each chart's text alternative is its table, with the warehouse's figures; the partial month is named.
        for table in ("mrr-table", "revenue-table", "movements-table", "retention-table", "cohort-table",
                      "shadow-table"):
            frame.locator(f"details:has(#{table}) summary").click()
            expect(frame.locator(f"#{table}")).to_be_visible()
        for chart in frame.locator(".chart[aria-describedby]").all():
            if chart.is_visible():
                table = chart.get_attribute("aria-describedby")
                assert table_rows(frame, table), table
        assert frame.locator("#mrr-chart").evaluate(AXIS)["labels"][-1] == f"{month:%Y-%m} (partial)"
        expect(frame.locator("#bridge-month option:checked")).to_have_text(f"{month:%Y-%m} (partial)")
        head = frame.locator("#mrr-table th").all_inner_texts()
        shown_units = [h.removesuffix(" (USD)") for h in head[1:-1]]
        assert head[-1] == "All business units (USD)" and len(shown_units) >= 2
        mrr_rows = table_rows(frame, "mrr-table")
        assert mrr_rows[0][0] == f"{month:%Y-%m} (partial)" and len(mrr_rows) == 24
        for cells in mrr_rows:
            shown = date.fromisoformat(cells[0][:7] + "-01")
            assert [shown_amount(c) for c in cells[1:-1]] == [units[(shown, u)] for u in shown_units], cells[0]
            assert shown_amount(cells[-1]) == totals[shown]["ending_mrr"]
        for cells in table_rows(frame, "revenue-table"):
            shown = date.fromisoformat(cells[0][:7] + "-01")
            assert [shown_amount(c) for c in cells[1:]] == [totals[shown]["recognized_revenue"],
                                                            totals[shown]["ending_mrr"]], cells[0]
        movements = table_rows(frame, "movements-table")
        assert frame.locator("#movements-table th").all_inner_texts() == [
            "Month", "New (USD)", "Expansion (USD)", "Contraction (USD)", "Churn (USD)", "Winback (USD)",
            "Net new MRR (USD)"]
        assert movements[0][0] == f"{month:%Y-%m} (partial)" and len(movements) == len(mrr_rows)
        for cells in movements:
            shown = date.fromisoformat(cells[0][:7] + "-01")
            assert [shown_amount(c) for c in cells[1:]] == [totals[shown][step] for step in (
                "new", "expansion", "contraction", "churn", "winback", "net_new_mrr")], cells[0]
        # NRR and GRR over 12 months, month by month, with their bases: the analytics layer's.
        assert frame.locator("#retention-table th").all_inner_texts() == [
            "Month", "NRR, 12 months", "GRR, 12 months", "MRR 12 months earlier (USD)", "Their MRR now (USD)",
            "Capped at their MRR then (USD)"]
        retention = table_rows(frame, "retention-table")
        assert len(retention) == len(mrr_rows) and retention[0][0] == f"{month:%Y-%m} (partial)"
        for cells in retention:
            row = metrics[date.fromisoformat(cells[0][:7] + "-01")]
            assert cells[1:] == [
                *("—" if row[key] is None else f"{row[key]}%" for key in ("nrr_12m_pct", "grr_12m_pct")),
                *("—" if row[key] is None else f"{row[key]:,}" for key in (
                    "trailing_base_mrr", "trailing_net_mrr", "trailing_gross_mrr"))], cells[0]

        # Each cohort cell: the percentage and the customers behind it, of MRR, then of logos.
        expect(frame.locator("#cohort-measure-note")).to_contain_text("ending MRR as a share")
        assert_cohort_cells_show(frame, cohorts, "mrr", month)
        frame.get_by_label("Logos (customers)").check()
        expect(frame.locator("#cohort-measure-note")).to_contain_text("customers still with MRR")
        assert_cohort_cells_show(frame, cohorts, "logo", month)

        # Check 5: each shadow's summary and every difference the latest certification recorded, to the cent,
        # and check 5 in each of the latest records; it says that it never blocks publishing.
        shadow = frame.locator("#shadow-card")
        expect(shadow).to_contain_text("it never blocks publishing")
        expect(frame.locator("#shadow-status")).to_contain_text(f"Check 5 of certification #{shadow_certification}")
        assert frame.locator("#shadow-summaries li strong").all_inner_texts() == shadow_summary.split("; ")
        shown = [(cells[0], cells[1], cells[2], *map(shown_amount, cells[3:]))
                 for cells in table_rows(frame, "shadow-table")]
        assert sorted(shown) == sorted((d["month"][:7], d["shadow"], FIGURE_LABELS[d["figure"]], Decimal(
            d["production"]), Decimal(d["shadow_value"]), Decimal(d["difference"])) for d in shadow_differences)
        assert [cells[4] for cells in table_rows(frame, "shadow-history")] == [shadow_summary]

        expect(frame.locator("#history")).to_contain_text("certified")
        # One column per check of the certification record, the customer detail's sums (issue 13) among them.
        assert frame.locator("#history th").all_inner_texts()[3:8] == [
            "Completeness", "Integrity", "Identity", "Detail sums", "Derivation"]
        assert frame.locator("#history tr[data-certification] td").all_inner_texts()[3:8] == ["pass"] * 5
        expect(frame.locator("#attempt")).to_be_hidden()
        name, preamble, rows = downloaded_csv(page, frame, "csv-waterfall")
        [total] = [row for row in rows if row["is_total"] == "true"]
        assert name.startswith("revcert-mrr-bridge-") and name.endswith(".csv")
        assert total["month"] == month.isoformat() and preamble[1] == "currency: USD"
        assert {step: Decimal(total[step]) for step in STEPS} == expected
        assert preamble[2] == f"certification: {total['certification_id']}"
        assert total["is_partial"] == "true"
        for link in ("csv-mrr", "csv-revenue", "csv-movements", "csv-metrics", "csv-cohorts", "csv-history",
                     "csv-shadows"):
            assert fetched_csv_rows(frame, link) > 0, link
        light = assert_text_meets_wcag_aa(frame)
        assert luminance(light) > 0.8

        # A month's bar clicked: the KPIs and the waterfall show that month.
        clicked = date.fromisoformat(movements[3][0][:7] + "-01")
        frame.locator("#movements-chart").evaluate(
            "(node, index) => echarts.getInstanceByDom(node).trigger('click', { dataIndex: index })",
            len(movements) - 4)
        expect(frame.locator("#waterfall-title")).to_have_text(
            f"MRR bridge, {clicked:%Y-%m}, all business units (USD)")
        assert_kpis_show(frame, totals, clicked)

        # An earlier month chosen: the KPIs and the waterfall follow it, and it is not partial.
        earlier = month_before(month_before(month))
        frame.locator("#bridge-month").select_option(value=earlier.isoformat())
        expect(frame.locator("#waterfall-title")).to_have_text(f"MRR bridge, {earlier:%Y-%m}, all business units (USD)")
        assert_kpis_show(frame, totals, earlier)
        assert_metrics_show(frame, metrics[earlier])

        frame.locator("#to-month").fill("2024-01")
        frame.locator("#to-month").dispatch_event("change")
        frame.locator("#from-month").fill("2025-01")
        frame.locator("#from-month").dispatch_event("change")
        expect(frame.locator("#error")).to_contain_text("is after to_month")
        expect(frame.locator("#waterfall-table tr")).to_have_count(0)
        expect(frame.locator("#kpis .kpi")).to_have_count(0)
        expect(frame.locator("#mrr-table tr")).to_have_count(0)
        expect(frame.locator("#movements-table tr")).to_have_count(0)
        expect(frame.locator("#metrics .metric")).to_have_count(0)
        expect(frame.locator("#retention-table tr")).to_have_count(0)
        expect(frame.locator("#csv-waterfall")).to_be_hidden()
        expect(frame.locator("#csv-metrics")).to_be_hidden()

        # Opened on its own (not in Airflow's frame), the page follows the colour mode Airflow stored.
        page.evaluate("() => localStorage.setItem('theme', 'dark')")
        page.goto(f"{api.base_url}/revcert/")
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")

        # A phone, 390 px wide: nothing wider than the screen; wide tables scroll inside their cards.
        page, frame = open_in(browser, api, viewport={"width": 390, "height": 844}, device_scale_factor=2)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-390.png"))
        overflow = """(root) => [root.scrollWidth, root.clientWidth]"""
        width, client = frame.locator("html").evaluate(overflow)
        assert width <= client, (width, client)
        history = frame.locator("#history").locator("xpath=..")
        width, client = history.evaluate("(box) => [box.scrollWidth, box.clientWidth]")
        assert width > client, "the history table should scroll inside its card"
        frame.locator("#mrr-table").locator("xpath=ancestor::details").evaluate("(d) => { d.open = true; }")
        width, client = frame.locator("html").evaluate(overflow)
        assert width <= client, (width, client)

        # Airflow's dark theme: the page follows it, at AA, and follows Airflow back to light.
        page, frame = open_in(browser, api, color_scheme="dark")
        expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
        assert page.evaluate("() => document.documentElement.classList.contains('dark')")
        screenshot_whole_page(page, frame, "certified-revenue-dark.png")
        dark = assert_text_meets_wcag_aa(frame)
        assert luminance(dark) < 0.05
        page.evaluate("() => document.documentElement.classList.replace('dark', 'light')")
        expect(frame.locator("html")).to_have_attribute("data-theme", "light")
        assert frame.locator("#waterfall").evaluate(
            "(e) => echarts.getInstanceByDom(e).getOption().textStyle.color") == "#1d2733"
        browser.close()
    for name in ("certified-revenue.png", "certified-revenue-390.png", "certified-revenue-dark.png"):
        assert (ARTIFACTS / name).stat().st_size > 50_000, name


def customers_in_warehouse(url: str, month: date, unit: str, movement: str | None = None) -> list[dict]:
    """viz.customer_month of a month and business unit (of one movement, or all), the largest movement first."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "select customer_id, customer_name, business_unit, movement_type, movement_amount, starting_mrr, "
            "ending_mrr, recognized_revenue from viz.customer_month where month = %s and business_unit = %s "
            "and (%s::text is null or movement_type = %s) order by abs(movement_amount) desc, ending_mrr desc, "
            "customer_id", [month, unit, movement, movement]).fetchall()


def as_listed(customer: dict) -> list[str]:
    """A customer as the panel lists it: id, name, unit, movement and the exact amounts, digits grouped."""
    return [customer["customer_id"], customer["customer_name"] or customer["customer_id"], customer["business_unit"],
            customer["movement_type"], *(f"{customer[amount]:,}" for amount in (
                "movement_amount", "starting_mrr", "ending_mrr", "recognized_revenue"))]


def listed_customers(frame) -> list[list[str]]:
    return [[row.get_attribute("data-customer"), *row.locator("td").all_inner_texts()]
            for row in frame.locator("#drill-customers-table tbody tr").all()]


def bar_centre(frame, chart: str, series: int, index: int) -> dict[str, float]:
    """Where a chart draws one bar, for a real click on it: once the bar is drawn in full, since a chart drawn
    again grows its bars in, and a click where a bar is not yet drawn hits nothing."""
    return frame.owner.element_handle().content_frame().wait_for_function("""([id, series, index]) => {
        const data = echarts.getInstanceByDom(document.getElementById(id)).getModel().getSeriesByIndex(series)
            .getData();
        const bar = data.getItemLayout(index), drawn = data.getItemGraphicEl(index);
        const whole = drawn && ["x", "y", "width", "height"].every((key) => Math.abs(drawn.shape[key] - bar[key])
            < 0.5);
        return whole && { x: bar.x + bar.width / 2, y: bar.y + bar.height / 2 };
    }""", arg=[chart, series, index]).json_value()


def test_a_figure_opens_the_customers_behind_it_their_lines_contracts_and_raw_records(certified_warehouse_url,
                                                                                      certified_api):
    """Issue 13's drill-down, as a controller audits a figure: a month's churn bar and expansion amount of one
    business unit open the customers behind them (the warehouse's rows, to the cent), sortable and as CSV; a
    customer opens its lines and contracts, a line its raw versions; Back, Escape, a reload and a shared link
    keep the panel; at 390 px and in dark mode too, at WCAG AA."""
    from playwright.sync_api import expect, sync_playwright

    url, api = certified_warehouse_url, certified_api
    with psycopg.connect(url, row_factory=dict_row) as conn:
        # A complete month in which one business unit both expanded and churned.
        published = conn.execute(
            "select * from viz.mrr_bridge where expansion <> 0 and churn <> 0 and month < (select max(month) "
            "from viz.mrr_bridge) order by month desc, business_unit limit 1").fetchone()
        metrics = conn.execute("select * from analytics.mrr_metrics where month = %s and business_unit = %s",
                               [published["month"], published["business_unit"]]).fetchone()
    month, unit = published["month"], published["business_unit"]
    churned = customers_in_warehouse(url, month, unit, "churn")
    expanded = customers_in_warehouse(url, month, unit, "expansion")
    everyone = customers_in_warehouse(url, month, unit)
    assert churned and expanded and len(everyone) > len(churned) + len(expanded)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        # The expanded customer whose renewals chained the most contracts into it.
        customer_id = max(expanded, key=lambda c: (conn.execute(
            "select count(*) as n from viz.customer_contract where customer_id = %s", [c["customer_id"]]
        ).fetchone()["n"], c["customer_id"]))["customer_id"]
        lines = conn.execute("select * from viz.customer_line where customer_id = %s order by service_start_date, "
                             "contract_id, subscription_line_id", [customer_id]).fetchall()
        contracts = conn.execute("select * from viz.customer_contract where customer_id = %s order by start_date "
                                 "nulls last, contract_id", [customer_id]).fetchall()
        months = {m["month"]: m for m in conn.execute(
            "select month, snapshot_date from viz.customer_month where customer_id = %s", [customer_id])}
        line_id = lines[0]["subscription_line_id"]
        versions = conn.execute("select batch_id, record->>'SBQQ__NetPrice__c' as net_price from raw.salesforce_record "
                                "where record_id = %s order by received_at, batch_id", [line_id]).fetchall()
    assert len(contracts) > 1 and any(c["renews_contract_ids"] for c in contracts)

    with sync_playwright() as playwright:
        browser, page, frame = open_page(playwright, api)
        frame.locator("#business-unit").select_option(value=unit)
        expect(frame.locator("#waterfall-title")).to_contain_text(f", {unit} (USD)")
        frame.locator("#bridge-month").select_option(value=month.isoformat())
        expect(frame.locator("#waterfall-title")).to_have_text(f"MRR bridge, {month:%Y-%m}, {unit} (USD)")
        drill = frame.locator("#drill")
        title = frame.locator("#drill-title")

        # The churn bar of the waterfall, clicked where it is drawn: the customers who churned.
        frame.locator("#waterfall").click(position=bar_centre(frame, "waterfall", 1, STEPS.index("churn")))
        expect(frame.locator("body[data-drill=customers]")).to_be_attached()
        expect(title).to_have_text(f"Customers behind Churn — {month:%Y-%m}, {unit}")
        assert listed_customers(frame) == [as_listed(c) for c in churned]
        page.keyboard.press("Escape")
        expect(drill).to_be_hidden()
        expect(frame.locator("body[data-drill]")).to_have_count(0)
        assert "figure=" not in page.frames[1].url and "figure=" not in page.url

        # The unit's revenue metrics of the month; its count of churned customers opens the same customers.
        assert_metrics_show(frame, metrics, unit)
        frame.locator("#metrics li[data-metric=churned_customers] button").click()
        expect(title).to_have_text(f"Customers behind Churn — {month:%Y-%m}, {unit}")
        assert listed_customers(frame) == [as_listed(c) for c in churned]
        assert metrics["churned_customers"] == len(churned)
        page.keyboard.press("Escape")
        expect(drill).to_be_hidden()

        # The KPI of active customers: the month's customers with MRR at its end, as many as published.
        frame.locator("#kpis .kpi[data-figure=active_customers]").click()
        expect(title).to_have_text(f"Customers behind Active customers — {month:%Y-%m}, {unit}")
        expect(frame.locator("#drill-figure strong")).to_have_text(str(published["active_customers"]))
        assert listed_customers(frame) == [as_listed(c) for c in everyone if c["ending_mrr"] > 0]
        frame.locator("#drill-close").click()
        expect(drill).to_be_hidden()

        # The expansion amount of the waterfall's table: the figure as published, then the customers behind it.
        frame.locator("#waterfall-table tr[data-step=expansion] button").click()
        expect(title).to_have_text(f"Customers behind Expansion — {month:%Y-%m}, {unit}")
        figure = frame.locator("#drill-figure")
        expect(figure.locator("strong")).to_have_attribute("data-published", str(published["expansion"]))
        expect(figure).to_contain_text(f"{published['expansion']:,} USD, certification "
                                       f"#{published['certification_id']}, certified ")
        assert "+00:00" in figure.inner_text()
        assert listed_customers(frame) == [as_listed(c) for c in expanded]
        assert frame.locator("#drill-customers-table th").all_inner_texts() == [
            "Customer", "Business unit", "Movement", "Movement amount (USD)", "Starting MRR (USD)",
            "Ending MRR (USD)", "Recognised revenue (USD)"]
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-customers.png"))
        for header, field in (("Movement amount (USD)", "movement_amount"), ("Ending MRR (USD)", "ending_mrr")):
            column = frame.locator("#drill-customers-table th", has_text=header)
            for direction in ("ascending", "descending"):
                column.locator("button").click()
                expect(column).to_have_attribute("aria-sort", direction)
                shown = [Decimal(row[4 + 2 * (field == "ending_mrr")].replace(",", ""))
                         for row in listed_customers(frame)]
                assert shown == sorted((c[field] for c in expanded), reverse=direction == "descending"), header
            expect(frame.locator("#drill-customers-table th[aria-sort]")).to_have_count(1)
        name, preamble, rows = downloaded_csv(page, frame, "csv-drill")
        assert name.startswith(f"revcert-customers-{month:%Y-%m}") and preamble[1:3] == [
            "currency: USD", f"certification: {published['certification_id']}"]
        assert [(r["customer_id"], r["movement_type"], r["movement_amount"], r["ending_mrr"]) for r in rows] == [
            (c["customer_id"], "expansion", str(c["movement_amount"]), str(c["ending_mrr"])) for c in expanded]

        # A customer: its months, the lines carrying its MRR (marked on the month's snapshot day) and the
        # contracts whose renewals made it one customer, each record linked into the org.
        frame.locator(f"#drill-customers-table button[data-customer='{customer_id}']").click()
        expect(frame.locator("body[data-drill=customer]")).to_be_attached()
        assert f"customer={customer_id}" in page.frames[1].url and f"customer={customer_id}" in page.url
        expect(frame.locator("#customer-facts")).to_contain_text(f"Business unit {unit}; account {customer_id}")
        expect(frame.locator("#customer-facts a")).to_have_attribute("href", f"{ORG}/{customer_id}")
        expect(frame.locator("#customer-chart canvas").first).to_be_visible()
        assert frame.locator("#customer-months tr[data-month]").count() == len(months)
        expect(frame.locator("#customer-months tr[data-selected=true]")).to_have_attribute(
            "data-month", f"{month:%Y-%m}")

        def carried_on(day: date) -> list[str]:
            return [str(line["service_start_date"] <= day <= line["mrr_end_date"]).lower() for line in lines]

        shown_lines = frame.locator("#customer-lines tr[data-line]")
        assert [[row.get_attribute("data-line"), *row.locator("td").all_inner_texts()[:-1]]
                for row in shown_lines.all()] == [
            [line["subscription_line_id"], f"{line['subscription_line_id']} in Salesforce", line["contract_id"],
             line["product_name"], line["currency_iso_code"], str(line["conversion_rate"]), f"{line['line_mrr']:,}",
             line["service_start_date"].isoformat(), line["service_end_date"].isoformat(),
             line["mrr_end_date"].isoformat()] for line in lines]
        assert [row.get_attribute("data-carries") for row in shown_lines.all()] == carried_on(
            months[month]["snapshot_date"])
        expect(shown_lines.first.locator("a")).to_have_attribute("href", f"{ORG}/{line_id}")
        first = min(months)
        frame.locator("#customer-month").select_option(value=f"{first:%Y-%m}")
        assert [row.get_attribute("data-carries") for row in shown_lines.all()] == carried_on(
            months[first]["snapshot_date"])
        assert f"customer_month={first:%Y-%m}" in page.url
        frame.locator("#customer-month").select_option(value=f"{month:%Y-%m}")
        assert [[row.get_attribute("data-contract"), *row.locator("td").all_inner_texts()]
                for row in frame.locator("#customer-contracts tr[data-contract]").all()] == [
            [c["contract_id"], f"{c['contract_id']} in Salesforce",
             c["account_id"] + (" (another account)" if c["account_id"] != customer_id else ""),
             c["start_date"].isoformat(), c["end_date"].isoformat(),
             f"renews {', '.join(c['renews_contract_ids'])}" if c["renews_contract_ids"] else "first of its chain",
             ""] for c in contracts]
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-customer.png"))
        assert_text_meets_wcag_aa(frame)

        # A reload of Airflow's page (its address carries the panel's hash) reopens the customer.
        page.reload()
        frame = page.frame_locator("iframe")
        expect(frame.locator("body[data-drill=customer]")).to_be_attached(timeout=30_000)
        expect(frame.locator("#drill-title")).to_have_text(as_listed(
            next(c for c in expanded if c["customer_id"] == customer_id))[1])

        # A line's id: every version the raw layer holds of it, with its extraction batch.
        frame.locator(f"#customer-lines tr[data-line='{line_id}'] button[data-record='{line_id}']").click()
        expect(frame.locator("body[data-drill=record]")).to_be_attached()
        expect(frame.locator("#drill-title")).to_have_text(f"SBQQ__Subscription__c {line_id}")
        assert [row.get_attribute("data-batch") for row in frame.locator("#record-versions tr[data-batch]").all()] \
            == [str(v["batch_id"]) for v in versions]
        assert frame.locator("#record-fields tr[data-field=SBQQ__NetPrice__c] td").all_inner_texts() == [
            "SBQQ__NetPrice__c", *(v["net_price"] for v in versions)]
        expect(frame.locator("#record-facts a")).to_have_attribute("href", f"{ORG}/{line_id}")

        # Back: the customer, then the customers behind the figure; Escape closes the panel.
        frame.locator("#drill-back").click()
        expect(frame.locator("body[data-drill=customer]")).to_be_attached()
        frame.locator("#drill-back").click()
        expect(frame.locator("body[data-drill=customers]")).to_be_attached()
        expect(frame.locator("#drill-title")).to_have_text(f"Customers behind Expansion — {month:%Y-%m}, {unit}")
        expect(frame.locator("#drill-back")).to_be_hidden()
        page.keyboard.press("Escape")
        expect(frame.locator("#drill")).to_be_hidden()

        # A shared link, in Airflow's dark theme: the customer, at AA.
        link = f"figure=expansion&month={month:%Y-%m}&business_unit={unit}&customer={customer_id}"
        page, frame = open_link(browser, api, link, color_scheme="dark")
        expect(frame.locator("body[data-drill=customer]")).to_be_attached()
        expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-customer-dark.png"))
        assert luminance(assert_text_meets_wcag_aa(frame)) < 0.05

        # A phone: the panel takes the screen, its tables scroll inside it, nothing overflows the page.
        page, frame = open_link(browser, api, link.split("&customer=")[0], viewport={"width": 390, "height": 844},
                                device_scale_factor=2)
        expect(frame.locator("body[data-drill=customers]")).to_be_attached()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-customers-390.png"))
        for box in (frame.locator("html"), frame.locator("#drill")):
            width, client = box.evaluate("(node) => [node.scrollWidth, node.clientWidth]")
            assert width <= client, (width, client)
        width, client = frame.locator("#drill-customers-table").locator("xpath=..").evaluate(
            "(box) => [box.scrollWidth, box.clientWidth]")
        assert width > client, "the customers table should scroll inside the panel"
        browser.close()
    for name in ("customers", "customer", "customer-dark", "customers-390"):
        assert (ARTIFACTS / f"certified-revenue-{name}.png").stat().st_size > 30_000, name


@pytest.fixture
def warehouse_with_markup_in_published_text(airflow_db, warehouse_url, small_org, small_shops, slack,
                                            tmp_path) -> str:
    """Certified, published runs of an org whose EMEA accounts carry markup in their business unit and name, and
    of shops whose names are markup: every text field people can type that the page shows."""
    from revcert.standins.shopify.server import ShopifyStore
    from tests.airflow_harness import load_dag, run_shop_dag

    org = SalesforceOrg.from_snapshot(small_org)
    org.apply_edits("Account", changes={account_id: {"Business_Unit__c": XSS_UNIT, "Name": XSS_NAME.format(number)}
                                        for number, (account_id, account) in enumerate(org.objects["Account"].items())
                                        if account.get("Business_Unit__c") == "EMEA"})
    store = ShopifyStore.from_snapshot(small_shops)
    for number, shop in enumerate(store.shops.values()):
        shop["name"] = XSS_SHOP.format(number)
    with pytest.MonkeyPatch.context() as monkeypatch:
        state, tasks = run_dag(load_certified_mrr_dag(), monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path)
        assert state == "success", tasks
        state, tasks = run_shop_dag(load_dag("shop_daily_revenue"), monkeypatch, warehouse_url, store, slack,
                                    tmp_path=tmp_path / "shops")
        assert state == "success", tasks
    return warehouse_url


def assert_markup_never_ran(page, frame, chart: str, shown_in: str) -> None:
    """With a chart's tooltip shown (hovered), no handler of the markup ran in any frame and none of it became
    elements in the places that show the text."""
    frame.locator(f"#{chart} canvas").first.hover()
    page.wait_for_timeout(500)
    fired = [f.evaluate("() => window.xssFired === true") for f in page.frames]
    assert fired and not any(fired)
    assert frame.locator(f"{shown_in}, script:not([src])").count() == 0


def test_published_markup_is_shown_as_text_and_never_runs(warehouse_with_markup_in_published_text, tmp_path):
    """Issue 17, defect 1: a stored XSS through a business unit, and the same through shop names; issue 13: and
    through customer names, in the drill-down's list, its title and its chart."""
    from playwright.sync_api import expect, sync_playwright

    url = warehouse_with_markup_in_published_text
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from viz.mrr_bridge where business_unit = %s", [XSS_UNIT]).fetchone()[0]
    with ApiServer(url, tmp_path / "api-server.log") as api, sync_playwright() as playwright:
        browser, page, frame = open_page(playwright, api)
        option = frame.locator("#business-unit option", has_text="onerror")
        expect(option).to_have_count(1)
        assert option.text_content() == XSS_UNIT
        frame.locator("#business-unit").select_option(value=XSS_UNIT)
        expect(frame.locator("#waterfall-title")).to_contain_text(XSS_UNIT)
        assert_markup_never_ran(page, frame, "mrr-chart", "#business-unit img, #waterfall-title img, #kpis img")
        expect(frame.locator("#error")).to_be_hidden()
        frame.locator("#kpis .kpi[data-figure=ending_mrr]").click()
        expect(frame.locator("body[data-drill=customers]")).to_be_attached()
        expect(frame.locator("#drill-title")).to_contain_text(XSS_UNIT)
        customer = frame.locator("#drill-customers-table button[data-customer]").first
        assert re.fullmatch(re.escape(XSS_NAME).replace(r"\{\}", r"\d+"), customer.text_content())
        name = customer.text_content()
        customer.click()
        expect(frame.locator("body[data-drill=customer]")).to_be_attached()
        expect(frame.locator("#drill-title")).to_have_text(name)
        assert_markup_never_ran(page, frame, "customer-chart", "#drill img, #drill b")
        page.keyboard.press("Escape")
        expect(frame.locator("#drill")).to_be_hidden()
        expect(frame.locator("body[data-shop-ready]")).to_be_attached(timeout=30_000)
        shop_names = frame.locator("#shop-revenue td", has_text="onerror")
        expect(shop_names.first).to_be_visible()
        assert shop_names.first.text_content().startswith('Shop 0"><img')
        assert_markup_never_ran(page, frame, "shop-chart", "#shop-revenue img")
        browser.close()


@pytest.fixture
def warehouse_with_mrr_and_shops(postgres_server, certified_warehouse_url, small_org, small_shops, airflow_db, slack,
                                 tmp_path) -> tuple[str, str, str]:
    """The certified MRR warehouse, then an MRR run that fails completeness (a Contract count one higher at the
    source) after reading a published line whose quantity was edited in Salesforce since, and a shop run in which
    one shop's token is revoked: (url, that shop, that line)."""
    from revcert.standins.shopify.server import ShopifyStore
    from tests.airflow_harness import load_dag, run_shop_dag
    from tests.conftest import copy_database

    url = copy_database(postgres_server, certified_warehouse_url)
    store = ShopifyStore.from_snapshot(small_shops)
    monkeypatch = pytest.MonkeyPatch()
    try:
        state, _ = run_shop_dag(load_dag("shop_daily_revenue"), monkeypatch, url, store, slack,
                                tmp_path=tmp_path / "first")
        assert state == "success"
        revoked = list(store.shops)[1]
        state, _ = run_shop_dag(load_dag("shop_daily_revenue"), monkeypatch, url, store, slack,
                                tmp_path=tmp_path / "second", revoked=(revoked,))
        assert state == "failed"
        org = SalesforceOrg.from_snapshot(small_org)
        with psycopg.connect(url) as conn:
            edited = conn.execute("select min(subscription_line_id) from viz.customer_line").fetchone()[0]
        quantity = org.objects["SBQQ__Subscription__c"][edited]["SBQQ__Quantity__c"]
        org.apply_edits("SBQQ__Subscription__c", changes={edited: {"SBQQ__Quantity__c": quantity + 1}})
        state, tasks = run_dag(load_certified_mrr_dag(), monkeypatch, url, org, slack, tmp_path=tmp_path / "mrr",
                               count_offsets={"Contract": 1})
        assert state == "failed" and tasks["certify"] == "failed"
    finally:
        monkeypatch.undo()
    record_a_reconciliation_with_one_discrepancy(url)
    return url, revoked.rsplit("/", 1)[1], edited


def record_a_reconciliation_with_one_discrepancy(url: str) -> None:
    """As the reconciliation DAG records one: shop 1001's 2026-11-19 apart from the source by a refund."""
    from revcert.reconciliation.ledger import close_reconciliation, open_reconciliation, record_shop
    from revcert.reconciliation.shop_comparison import Comparison

    with psycopg.connect(url) as conn:
        stored = conn.execute("select net_revenue, currency from viz.shop_daily_revenue where shop_id = '1001' "
                              "and day = '2026-11-19'").fetchone()
        run = open_reconciliation(conn, "shop_revenue_reconciliation", "scheduled__page", as_of_date=None, days=1,
                                  fraction=Decimal("0.05"), all_shops=False, seed=7, shops_active=5,
                                  shops_sampled=["1001"])
        record_shop(conn, run, "1001", [Comparison("1001", date(2026, 11, 19), stored[1], stored[0] - 40,
                                                   stored[0], None, ("5600000029964",))],
                    orders_read=1, source_requests=2, source_cost=40)
        close_reconciliation(conn, run)


def test_the_shop_view_shows_each_shops_certified_days_and_a_failed_attempt(warehouse_with_mrr_and_shops, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, failing, edited = warehouse_with_mrr_and_shops
    with psycopg.connect(url) as conn:
        quantities = [q for q, in conn.execute("select record->>'SBQQ__Quantity__c' from raw.salesforce_record "
                                               "where record_id = %s order by received_at, batch_id", [edited])]
        shops = dict(conn.execute("select shop_id, currency from viz.shop").fetchall())
        last_days = dict(conn.execute("select shop_id, max(day) from viz.shop_daily_revenue group by shop_id"))
        stored = {(row[0], row[1].isoformat()): row[2:] for row in conn.execute(
            "select shop_id, day, gross_revenue, refunds, net_revenue, order_count, refund_count "
            "from viz.shop_daily_revenue")}
        certified = conn.execute("select certification_id, snapshot_date from viz.mrr_bridge_total "
                                 "order by month desc limit 1").fetchone()
        attempt = conn.execute("select certification_id from certification.certification_run where dag_id = "
                               "'certified_mrr' order by certification_id desc limit 1").fetchone()[0]
    first = sorted(shops)[0]
    with psycopg.connect(url) as conn:
        shop_shadow = conn.execute(
            "select result.certification_id, result.discrepancies from certification.check_result as result "
            "inner join certification.certification_run as run using (certification_id) where run.scope = %s "
            "and result.check_name = 'shadow_views' and result.passed order by result.certification_id desc "
            "limit 1", [first]).fetchone()
    with ApiServer(url, tmp_path / "api-server.log") as api, sync_playwright() as playwright:
        browser, page, frame = open_page(playwright, api)
        banner = frame.locator("#attempt")
        expect(banner).to_contain_text(f"The latest certification attempt #{attempt} failed")
        expect(banner).to_contain_text("failed checks: completeness")
        expect(banner).to_contain_text(f"The figures shown are those of certification #{certified[0]} of "
                                       f"{certified[1].isoformat()}.")
        assert "+00:00" in banner.inner_text()
        failed_row = frame.locator(f"#history tr[data-certification='{attempt}']")
        expect(failed_row.locator("a")).to_have_attribute("href", re.compile(r"^\.\./dags/certified_mrr/runs/"))
        expect(failed_row).to_contain_text("failed")
        expect(frame.locator(f"#history tr[data-certification='{certified[0]}']")).to_contain_text("published 20")
        # Check 5 ran in the failed attempt too (it reports whatever the others find): the latest record's is shown.
        expect(frame.locator("#shadow-status")).to_contain_text(f"Check 5 of certification #{attempt} ")
        expect(frame.locator("#shadow-status")).to_contain_text(", failed):")
        expect(frame.locator("#shadow-history tr[data-certification]")).to_have_count(2)
        expect(frame.locator("body[data-shop-ready]")).to_be_attached(timeout=30_000)
        expect(frame.locator("#shops tr[data-shop]")).to_have_count(len(shops))
        expect(frame.locator("#shop-status")).to_contain_text(f"in {shops[first]}")
        rows = frame.locator("#shop-days tr[data-day]")
        expect(rows).to_have_count(30)
        assert rows.first.get_attribute("data-day") == last_days[first].isoformat()
        for index in (0, 7, 29):
            cells = rows.nth(index).locator("td").all_inner_texts()
            gross, refunds, net, orders, refund_count = stored[(first, cells[0])]
            assert [shown_amount(c) for c in cells[1:4]] == [gross, refunds, net]
            assert (int(cells[4]), int(cells[5])) == (orders, refund_count)
        expect(frame.locator("#shop-chart canvas").first).to_be_visible()
        expect(frame.locator("#history")).not_to_contain_text("shop_daily_revenue")
        # The shop's check 5: each day's figure that refunds on their own dates would move, as recorded.
        frame.locator("#shop-shadow summary").click()
        expect(frame.locator("#shop-shadow-status")).to_contain_text(f"Check 5 of certification #{shop_shadow[0]} ")
        shadow_rows = frame.locator("#shop-shadow-table tr[data-day]")
        expect(shadow_rows).to_have_count(len(shop_shadow[1]))
        assert shop_shadow[1], "the generated shop refunds on days other than its orders'"
        assert [(r.get_attribute("data-day"), r.get_attribute("data-figure")) for r in shadow_rows.all()] == [
            (d["day"], d["figure"]) for d in shop_shadow[1]]
        amount = next(i for i, d in enumerate(shop_shadow[1]) if d["figure"] != "refund_count")
        assert [shown_amount(c) for c in shadow_rows.nth(amount).locator("td").all_inner_texts()[2:]] == [
            Decimal(shop_shadow[1][amount][k]) for k in ("production", "shadow_value", "difference")]

        expect(frame.locator("body[data-reconciliation-ready]")).to_be_attached()
        expect(frame.locator("#reconciliation-status")).to_contain_text("1 apart (100.00%)")
        frame.locator("details:has(#reconciliation-table) summary").click()
        [run] = table_rows(frame, "reconciliation-table")
        assert run[3:] == ["1", "1", "100.00%"], run
        expect(frame.locator("#shop-chart")).to_have_attribute("aria-describedby", "shop-days")
        [discrepancy] = frame.locator("#discrepancies tr[data-shop]").all()
        net, currency = stored[("1001", "2026-11-19")][2], shops["1001"]
        assert discrepancy.locator("td").all_inner_texts()[:6] == [
            "1001", "2026-11-19", f"{net - 40:,} {currency}", f"{net:,} {currency}", "-40.00", "5600000029964"]
        frame.locator(f"#shops tr[data-shop='{failing}']").click()
        expect(frame.locator("body")).to_have_attribute("data-shop-ready", failing)
        expect(frame.locator(f"#shops tr[data-shop='{failing}'] .badge")).to_have_text("latest attempt failed")
        status = frame.locator("#shop-status")
        expect(status).to_contain_text("Invalid API key or access token")
        expect(status).to_contain_text("The figures shown are still those of certification #")
        _, preamble, rows = downloaded_csv(page, frame, "csv-shop-days")
        assert len(rows) == 30 and preamble[1] == f"currency: {shops[failing]}"
        assert [Decimal(r["net_revenue"]) for r in rows] == [stored[(failing, r["day"])][2] for r in rows]
        assert fetched_csv_rows(frame, "csv-shops") == len(shops)
        assert fetched_csv_rows(frame, "csv-discrepancies") == 1
        page.wait_for_timeout(500)
        frame.locator("#shop-revenue").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "shop-revenue.png"), full_page=True)

        # The answer to the first edit arrives last: it must not draw over the answer to the second.
        page.frames[1].evaluate("""() => {
            const original = window.fetch;
            window.fetch = async (url, options) => {
                const response = await original(url, options);
                if (String(url).includes("from=2026-11-10") && !String(url).includes("to=2026-11-01")) {
                    await new Promise((resolve) => setTimeout(resolve, 1500));
                    document.body.dataset.slowAnswered = "true";
                }
                return response;
            };
        }""")
        frame.locator("#from-day").fill("2026-11-10")
        frame.locator("#from-day").dispatch_event("change")
        frame.locator("#to-day").fill("2026-11-01")
        frame.locator("#to-day").dispatch_event("change")
        expect(frame.locator("#shop-error")).to_contain_text("is after to")
        expect(frame.locator("body[data-slow-answered]")).to_be_attached()
        page.wait_for_timeout(200)
        expect(frame.locator("#shop-error")).to_contain_text("is after to")
        expect(frame.locator("#shop-days tr[data-day]")).to_have_count(0)
        expect(frame.locator("#csv-shop-days")).to_be_hidden()

        # The incidents the failed runs opened, as the ledger holds them, unresolved first, each with the runs it
        # affected linked to Airflow; an operator (admin) resolves one from the page, and the note is text.
        with psycopg.connect(url) as conn:
            ledger = conn.execute("select incident_id, status from monitoring.incident order by case status when "
                                  "'open' then 0 when 'acknowledged' then 1 else 2 end, last_seen_at desc, "
                                  "incident_id desc").fetchall()
            [first, dag_id] = conn.execute("select incident_id, dag_id from monitoring.incident where status = "
                                           "'open' order by last_seen_at desc, incident_id desc limit 1").fetchone()
            runs = [run for run, in conn.execute("select run_id from monitoring.incident_run where incident_id = %s "
                                                 "order by seen_at desc, run_id desc", [first])]
        expect(frame.locator("body[data-incidents-ready]")).to_be_attached()
        items = frame.locator("#incidents li[data-incident]")
        expect(items).to_have_count(len(ledger))
        assert [(int(i.get_attribute("data-incident")), i.get_attribute("data-status")) for i in items.all()] == ledger
        incident = frame.locator(f"#incidents li[data-incident='{first}']")
        incident.locator("details summary").click()
        links = incident.locator("ul.runs a")
        expect(links).to_have_count(len(runs))
        assert links.all_inner_texts() == runs
        expect(links.first).to_have_attribute("href", re.compile(rf"^\.\./dags/{dag_id}/runs/"))
        note = "known <b>source</b> outage"
        incident.locator("input[name=note]").fill(note)
        incident.locator("form.decide button[type=submit]").click()
        expect(incident).to_have_attribute("data-status", "resolved")
        expect(incident.locator(".decided")).to_contain_text("Resolved by admin at 20")
        expect(incident.locator(".decided")).to_contain_text(note)
        expect(incident.locator(".decided b")).to_have_count(0)
        with psycopg.connect(url) as conn:
            assert conn.execute("select status, resolved_by, resolution_note from monitoring.incident where "
                                "incident_id = %s", [first]).fetchone() == ("resolved", "admin", note)

        # The line edited in Salesforce since its figures were certified, from a shared link: both versions the
        # raw layer holds, the failed attempt's with its changed fields marked; no org domain, so no link.
        page, frame = open_link(browser, api, f"record={edited}")
        expect(frame.locator("body[data-drill=record]")).to_be_attached()
        assert len(quantities) == 2 and quantities[0] != quantities[1]
        expect(frame.locator("#record-versions tr[data-batch]")).to_have_count(2)
        quantity = frame.locator("#record-fields tr[data-field=SBQQ__Quantity__c] td")
        assert quantity.all_inner_texts() == ["SBQQ__Quantity__c", *quantities]
        expect(quantity.nth(2)).to_have_class("changed")
        expect(frame.locator("#record-fields tr[data-field=Id] td.changed")).to_have_count(0)
        expect(frame.locator("#record-facts")).to_contain_text("the connection does not name the org's domain")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-record.png"))
        browser.close()
