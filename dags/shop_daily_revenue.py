"""
### shop_daily_revenue: certified daily order revenue per Shopify shop, twice a day

`migrate` brings the warehouse's schema up to date; `open_run` takes this
pipeline's lease and opens the run's certification record; `select_shops`
names the shops to read. Then each shop on its own (`shop.extract`,
`shop.stage`, one mapped task per shop): its changed orders into `raw`, then
`staging`. `observe_batch` measures each shop's batch against that shop's
batches before it and **holds** a shop (its days not recomputed) when a
measure trips its hold threshold. `transform` recomputes, whole, every
shop-day those changes touch (METHODOLOGY.md Part B: never a patch), each shop
in its own transaction; `observe_figures` measures each shop's complete days
(orders, net revenue) against the same weekday before them (it only warns);
`certify` (the certification gate) certifies each shop against an independent
derivation to the cent, and reports its shadow (refunds on their own dates,
check 5); `publish` writes each certified shop's days into
`viz.shop_daily_revenue` in one transaction per shop.

One shop's failure (its source down, an order breaking a rule) never holds
back the others: that shop keeps the figures published before, the gate pages
Slack once naming it, and the run ends failed. A backfill's runs send nothing
of their own: the last of them to end posts one summary of the backfill.

Params: `as_of` (the last local day covered), `shops` (empty: every shop of
the Shopify connection), `from` / `to` (re-extract and recompute a range of
order dates: the backfill and repair path), `full_extraction`, `release_hold`
(the incident ids a hold page names: those shops go on).
"""
import pendulum
from airflow.sdk import CronTriggerTimetable, Param, chain, dag

from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import NOT_FUTURE, register_not_future_format
from revcert.orchestration.runs import close_run, migrate, open_run
from revcert.orchestration.shop_daily_revenue import (
    certify,
    observe_batch,
    observe_figures,
    publish,
    select_shops,
    shop_source,
    transform,
)
from revcert.settings import Settings

BUSINESS_TIMEZONE = Settings().business_timezone
register_not_future_format(BUSINESS_TIMEZONE)


@dag(
    schedule=CronTriggerTimetable("0 6,18 * * *", timezone=BUSINESS_TIMEZONE),
    # The earliest day a backfill may ask for; with catchup off the scheduler only runs from now on.
    start_date=pendulum.datetime(2000, 1, 1, tz=BUSINESS_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=dag_settings.default_args(),
    tags=[*dag_settings.TAGS, "shopify"],
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", allOf=[{"format": NOT_FUTURE}],
                       title="As-of date",
                       description="Cover local days up to this date (YYYY-MM-DD), today or earlier. Empty: the "
                                   "run's logical date in the business timezone."),
        "shops": Param([], type="array", items={"type": "string"}, title="Shops",
                       description="Shop ids to read (the number in gid://shopify/Shop/<id>). Empty: all."),
        "from": Param(None, type=["null", "string"], format="date", title="From (order date)",
                      description="With `to`: re-extract the orders of these local days and recompute them."),
        "to": Param(None, type=["null", "string"], format="date", title="To (order date)",
                    description="The last local day of the range (inclusive)."),
        "full_extraction": Param(False, type="boolean", title="Full re-extraction",
                                 description="Ignore the watermarks: read every order of each shop whole and "
                                             "recompute all of its days."),
        "release_hold": Param([], type="array", items={"type": "integer"}, title="Release holds (operators)",
                              description="Incident ids a hold page names: their shops' days are recomputed and "
                                          "certified as usual, and they are resolved as released. Empty: a hold "
                                          "stays."),
    },
)
def shop_daily_revenue():
    shops = select_shops()
    chain(
        migrate(),
        open_run(),
        shops,
        shop_source.expand(shop_gid=shops),
        observe_batch(),
        transform(),
        observe_figures(),
        certify(),
        publish(),
        close_run(),
    )


shop_daily_revenue()
