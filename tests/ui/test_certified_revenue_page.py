"""The certified-revenue page in headless Chromium, inside a real Airflow api-server: log in, open it
from the navigation, check the KPIs and the waterfall of the month chosen against the published
totals, each chart's table against the warehouse, text contrast in both themes and the layout at
390 px, keep screenshots at 1440 and 390 px and in dark mode; and a business unit carrying markup is
shown as text, never run."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from revcert.standins.salesforce.server import SalesforceOrg
from tests.airflow_harness import ADMIN_PASSWORD, PROJECT_ROOT, ApiServer, load_certified_mrr_dag, run_dag
from tests.ui.exports import read_csv

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
STEPS = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr", "net_new_mrr",
         "recognized_revenue")
KPIS = ("ending_mrr", "recognized_revenue", "net_new_mrr", "active_customers")
XSS_UNIT = 'EMEA"><img src=x onerror="window.xssFired = true"><script>window.xssFired = true</script>'
XSS_SHOP = 'Shop {}"><img src=x onerror="window.xssFired = true"><svg onload="window.xssFired = true">'
WCAG_AA = 4.5
# Every visible text of the page with its colour and the backgrounds under it (nearest first, up to the first
# opaque one), the form controls' own text, and the text colours each chart draws on its canvas.
TEXT_COLOURS = """() => {
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
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const node = text.parentElement;
        if (!text.textContent.trim() || node.closest("option, script, style")) continue;
        if (!node.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
        seen.push([text.textContent.trim().slice(0, 60), getComputedStyle(node).color, backgrounds(node)]);
    }
    for (const control of document.querySelectorAll("select, input")) {
        if (control.checkVisibility()) seen.push([control.id, getComputedStyle(control).color, backgrounds(control)]);
    }
    for (const element of document.querySelectorAll(".chart")) {
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
    """Every text the page shows (its tables opened) at 4.5:1 or more; returns the page's background."""
    for details in frame.locator("details").all():
        details.evaluate("(d) => { d.open = true; }")
    seen = frame.locator("body").evaluate(TEXT_COLOURS)
    assert len(seen) > 200
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
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def open_in(browser, api: ApiServer, **context):
    """A new browser context (`viewport`, `color_scheme`, …) logged into Airflow, with the page opened from the
    navigation; returns (page, the page's frame)."""
    from playwright.sync_api import expect

    page = browser.new_page(**{"viewport": {"width": 1440, "height": 1500}, **context})
    page.goto(f"{api.base_url}/")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("button[type=submit]").click()
    page.get_by_role("link", name="Certified revenue").click()
    page.wait_for_url("**/plugin/certified-revenue")
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
    return page, frame


def open_page(playwright, api: ApiServer, viewport: dict | None = None):
    """Log into Airflow and open the page from the navigation; returns (browser, page, the page's frame)."""
    browser = launch(playwright)
    return (browser, *open_in(browser, api, **({"viewport": viewport} if viewport else {})))


def published_bridge(url: str) -> tuple[dict[date, dict], dict[tuple[date, str], Decimal], dict]:
    """The published totals by month, each unit's ending MRR by (month, unit), and the totals' cohort retention."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f"select month, snapshot_date, {', '.join(STEPS)}, active_customers "
                              "from viz.mrr_bridge_total")
        names = [c.name for c in cursor.description]
        totals = {row[0]: dict(zip(names, row)) for row in cursor}
        units = {(month, unit): mrr for month, unit, mrr in conn.execute(
            "select month, business_unit, ending_mrr from viz.mrr_bridge")}
        cohorts = {(cohort, month): pct for cohort, month, pct in conn.execute(
            "select cohort_month, month, mrr_retention_pct from viz.cohort_retention_total")}
    return totals, units, cohorts


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


def test_the_page_shows_the_certified_waterfall(certified_warehouse_url, tmp_path):
    """A controller's first view at 1440 px: KPIs of the latest month, marked partial, with their change on the
    month before; the waterfall's axis from zero with its break drawn and said; every chart's table the
    warehouse's figures; text at WCAG AA; CSVs; then an earlier month chosen, and a reversed range clearing the
    figures. The same page at 390 px (no page overflow, tables scroll) and in Airflow's dark theme."""
    from playwright.sync_api import expect, sync_playwright

    totals, units, cohorts = published_bridge(certified_warehouse_url)
    month = max(totals)
    expected, snapshot = {step: totals[month][step] for step in STEPS}, totals[month]["snapshot_date"]
    assert snapshot.month == month.month and snapshot.day < 28  # the fixture's latest month is a partial one

    ARTIFACTS.mkdir(exist_ok=True)
    with ApiServer(certified_warehouse_url, tmp_path / "api-server.log") as api, sync_playwright() as playwright:
        browser, page, frame = open_page(playwright, api)
        expect(frame.locator("html")).to_have_attribute("data-theme", "light")
        expect(frame.locator("#waterfall-title")).to_have_text(
            f"MRR bridge, {month:%Y-%m} (partial, through {snapshot}), all business units (USD)")
        for step in STEPS:
            cell = frame.locator(f"#waterfall-table tr[data-step={step}] td").nth(1)
            assert shown_amount(cell.inner_text()) == expected[step], step
        assert_kpis_show(frame, totals, month)
        expect(frame.locator("#waterfall canvas").first).to_be_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue.png"), full_page=True)

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
        for table in ("mrr-table", "revenue-table", "movements-table", "cohort-table"):
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
        ages = [int(h.removeprefix("Month ")) for h in frame.locator("#cohort-table th").all_inner_texts()[2:]]
        partial_cells = 0
        for cells in table_rows(frame, "cohort-table"):
            cohort = date.fromisoformat(cells[0] + "-01")
            for age, text in zip(ages, cells[2:]):
                month_of_cell = months_after(cohort, age)
                if text:
                    assert Decimal(text.removesuffix(" (partial)").removesuffix("%")) == \
                        cohorts[(cohort, month_of_cell)], (cells[0], age)
                    assert text.endswith(" (partial)") == (month_of_cell == month), (cells[0], age)
                    partial_cells += month_of_cell == month
        assert partial_cells > 0

        expect(frame.locator("#history")).to_contain_text("certified")
        expect(frame.locator("#attempt")).to_be_hidden()
        name, preamble, rows = downloaded_csv(page, frame, "csv-waterfall")
        [total] = [row for row in rows if row["is_total"] == "true"]
        assert name.startswith("revcert-mrr-bridge-") and name.endswith(".csv")
        assert total["month"] == month.isoformat() and preamble[1] == "currency: USD"
        assert {step: Decimal(total[step]) for step in STEPS} == expected
        assert preamble[2] == f"certification: {total['certification_id']}"
        assert total["is_partial"] == "true"
        for link in ("csv-mrr", "csv-revenue", "csv-movements", "csv-cohorts", "csv-history"):
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

        frame.locator("#to-month").fill("2024-01")
        frame.locator("#to-month").dispatch_event("change")
        frame.locator("#from-month").fill("2025-01")
        frame.locator("#from-month").dispatch_event("change")
        expect(frame.locator("#error")).to_contain_text("is after to_month")
        expect(frame.locator("#waterfall-table tr")).to_have_count(0)
        expect(frame.locator("#kpis .kpi")).to_have_count(0)
        expect(frame.locator("#mrr-table tr")).to_have_count(0)
        expect(frame.locator("#movements-table tr")).to_have_count(0)
        expect(frame.locator("#csv-waterfall")).to_be_hidden()

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
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue-dark.png"), full_page=True)
        dark = assert_text_meets_wcag_aa(frame)
        assert luminance(dark) < 0.05
        page.evaluate("() => document.documentElement.classList.replace('dark', 'light')")
        expect(frame.locator("html")).to_have_attribute("data-theme", "light")
        assert frame.locator("#waterfall").evaluate(
            "(e) => echarts.getInstanceByDom(e).getOption().textStyle.color") == "#1d2733"
        browser.close()
    for name in ("certified-revenue.png", "certified-revenue-390.png", "certified-revenue-dark.png"):
        assert (ARTIFACTS / name).stat().st_size > 50_000, name


@pytest.fixture
def warehouse_with_markup_in_published_text(airflow_db, warehouse_url, small_org, small_shops, slack,
                                            tmp_path) -> str:
    """Certified, published runs of an org whose EMEA accounts carry markup in their business unit, and of
    shops whose names are markup: every text field people can type that the page shows."""
    from revcert.standins.shopify.server import ShopifyStore
    from tests.airflow_harness import load_dag, run_shop_dag

    org = SalesforceOrg.from_snapshot(small_org)
    org.apply_edits("Account", changes={account_id: {"Business_Unit__c": XSS_UNIT}
                                        for account_id, account in org.objects["Account"].items()
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


def test_published_markup_is_shown_as_text_and_never_runs(warehouse_with_markup_in_published_text, tmp_path):
    """Issue 17, defect 1: a stored XSS through a business unit, and the same through shop names."""
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
        frame.locator("#mrr-chart canvas").first.hover()
        page.wait_for_timeout(500)
        fired = [f.evaluate("() => window.xssFired === true") for f in page.frames]
        assert fired and not any(fired)
        assert frame.locator("#business-unit img, #waterfall-title img, #kpis img, script:not([src])").count() == 0
        expect(frame.locator("#error")).to_be_hidden()
        expect(frame.locator("body[data-shop-ready]")).to_be_attached(timeout=30_000)
        shop_names = frame.locator("#shop-revenue td", has_text="onerror")
        expect(shop_names.first).to_be_visible()
        assert shop_names.first.text_content().startswith('Shop 0"><img')
        frame.locator("#shop-revenue").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        fired = [f.evaluate("() => window.xssFired === true") for f in page.frames]
        assert fired and not any(fired)
        assert frame.locator("#shop-revenue img, script:not([src])").count() == 0
        browser.close()


@pytest.fixture
def warehouse_with_mrr_and_shops(postgres_server, certified_warehouse_url, small_org, small_shops, airflow_db, slack,
                                 tmp_path) -> tuple[str, str]:
    """The certified MRR warehouse, then an MRR run that fails completeness (a Contract count one higher at the
    source), and a shop run in which one shop's token is revoked: (url, that shop)."""
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
        state, tasks = run_dag(load_certified_mrr_dag(), monkeypatch, url, SalesforceOrg.from_snapshot(small_org),
                               slack, tmp_path=tmp_path / "mrr", count_offsets={"Contract": 1})
        assert state == "failed" and tasks["certify"] == "failed"
    finally:
        monkeypatch.undo()
    record_a_reconciliation_with_one_discrepancy(url)
    return url, revoked.rsplit("/", 1)[1]


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

    url, failing = warehouse_with_mrr_and_shops
    with psycopg.connect(url) as conn:
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
        browser.close()
