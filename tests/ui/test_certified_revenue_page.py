"""The certified-revenue page in headless Chromium: log into Airflow, open it from the navigation,
check the waterfall of the latest month against viz.mrr_bridge, and keep a screenshot."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.airflow_harness import ADMIN_PASSWORD, PROJECT_ROOT, ApiServer

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
STEPS = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr", "recognized_revenue")


def shown_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
def test_the_page_shows_the_certified_waterfall(certified_warehouse_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with psycopg.connect(certified_warehouse_url) as conn:
        latest = conn.execute(f"select month, {', '.join(f'sum({s})' for s in STEPS)} from viz.mrr_bridge "
                              "group by month order by month desc limit 1").fetchone()
    month, expected = latest[0], dict(zip(STEPS, latest[1:]))

    ARTIFACTS.mkdir(exist_ok=True)
    with ApiServer(certified_warehouse_url, tmp_path / "api-server.log") as api, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1440, "height": 1500})
        page.goto(f"{api.base_url}/")
        page.locator("input[name=username]").fill("admin")
        page.locator("input[name=password]").fill(ADMIN_PASSWORD)
        page.locator("button[type=submit]").click()
        page.get_by_role("link", name="Certified revenue").click()
        page.wait_for_url("**/plugin/certified-revenue")
        frame = page.frame_locator("iframe")
        expect(frame.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
        expect(frame.locator("#waterfall-title")).to_have_text(f"MRR bridge, {month:%Y-%m}, all business units")
        for step in STEPS:
            cell = frame.locator(f"#waterfall-table tr[data-step={step}] td").nth(1)
            assert shown_amount(cell.inner_text()) == expected[step], step
        expect(frame.locator("#waterfall canvas").first).to_be_visible()
        expect(frame.locator("#history")).to_contain_text("certified")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "certified-revenue.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "certified-revenue.png").stat().st_size > 50_000
