"""
### shop_revenue_reconciliation: published shop-days against the live source (METHODOLOGY.md B5)

Runs after every publish of `viz.shop_daily_revenue` (its asset) and at least
daily. `open_reconciliation_run` draws a seeded sample of the shops with
published figures (5% by default; the seed is recorded); `reconcile_shop`, one
mapped task per sampled shop, reads that shop's orders **from Shopify, not
from staging**, recomputes its last local days with the same pure revenue
function the certification uses, and stores every comparison in
`monitoring.reconciliation_result`. A shop-day more than 0.1% of the source
figure apart (any difference when the source figure is zero) is a
discrepancy: `summarize` sends one Slack message naming them with their
order ids, and `repair` triggers `shop_daily_revenue` for exactly those shops
and days, which recomputes and certifies them. The next reconciliation closes
what the source agrees with again. This DAG never writes to viz.

A shop whose API is down or whose token is revoked fails its own task (named,
recorded); every other shop is still compared, and the run ends failed.

Params: `fraction` of shops, `all_shops`, `days` (local days per shop, ending
with its last complete day or `as_of`), `seed` (empty: the run's own).
"""
import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, chain, dag

from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import NOT_FUTURE, register_not_future_format
from revcert.orchestration.runs import migrate
from revcert.orchestration.shop_daily_revenue import SHOP_DAILY_REVENUE_ASSET
from revcert.orchestration.shop_revenue_reconciliation import (
    finish,
    open_reconciliation_run,
    reconcile_shop,
    repair,
    summarize,
)
from revcert.settings import Settings

BUSINESS_TIMEZONE = Settings().business_timezone
register_not_future_format(BUSINESS_TIMEZONE)


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("30 7 * * *", timezone=BUSINESS_TIMEZONE),
                                 assets=[SHOP_DAILY_REVENUE_ASSET]),
    start_date=pendulum.datetime(2026, 1, 1, tz=BUSINESS_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=dag_settings.default_args(),
    tags=[*dag_settings.TAGS, "shopify", "reconciliation"],
    doc_md=__doc__,
    params={
        "fraction": Param(0.05, type="number", exclusiveMinimum=0, maximum=1, title="Share of shops",
                          description="The share of shops with published figures to compare (at least one)."),
        "all_shops": Param(False, type="boolean", title="All shops", description="Compare every shop."),
        "days": Param(7, type="integer", minimum=1, maximum=400, title="Days per shop",
                      description="Local days compared per shop, ending with its last complete day."),
        "seed": Param(None, type=["null", "integer"], title="Sample seed",
                      description="Empty: the run's own seed (recorded with the run)."),
        "as_of": Param(None, type=["null", "string"], format="date", allOf=[{"format": NOT_FUTURE}],
                       title="Last day", description="Compare days up to this local date (YYYY-MM-DD) instead "
                                                     "of each shop's last complete day."),
    },
)
def shop_revenue_reconciliation():
    shops = open_reconciliation_run()
    compared = reconcile_shop.expand(shop_gid=shops)
    repairs = summarize()
    chain(migrate(), shops, compared, repairs, repair(repairs), finish())


shop_revenue_reconciliation()
