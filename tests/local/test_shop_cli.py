"""`revcert shop run`, as a person would type it: against a snapshot, and against a Shopify connection."""
from __future__ import annotations

import contextlib
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from revcert.cli import main
from revcert.extraction.shopify_client import legacy_id
from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore

pytestmark = pytest.mark.integration
AS_OF = "2026-11-20"


def shop_run(*argv: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["shop", "run", "--as-of", AS_OF, *argv])
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def snapshot_run(postgres_server, small_shops, tmp_path_factory) -> tuple[str, int, str]:
    """One `revcert shop run --snapshot` of the small shops into a warehouse of its own."""
    from tests.conftest import new_database

    url = new_database(postgres_server, "shop_cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVCERT_HOME", str(tmp_path_factory.mktemp("shop-cli-home")))
        code, out = shop_run("--snapshot", str(small_shops), "--database-url", url)
    return url, code, out


def test_a_clean_run_exits_zero_and_prints_each_shop_and_the_sums_per_currency(snapshot_run):
    url, code, out = snapshot_run
    assert code == 0, out
    assert "shop_daily_revenue: success; 5 of 5 shop(s) certified and published" in out
    with psycopg.connect(url) as conn:
        shops = dict(conn.execute("select shop_id, currency from viz.shop").fetchall())
        days = conn.execute("select shop_id, day, currency, net_revenue from viz.shop_daily_revenue "
                            "where day > %s::date - 14", [AS_OF]).fetchall()
    assert len(shops) == 5
    for shop_id, currency in shops.items():
        section = out.split(f"\nShop {shop_id} ")[1].split("\n\n")[0]
        assert f"({currency}, " in section.splitlines()[0]
        assert [line[:10] for line in section.splitlines()[3:]] == [
            (date.fromisoformat(AS_OF) - timedelta(days=13 - i)).isoformat() for i in range(14)]
    sums: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for _, day, currency, net in days:
        sums[currency][day] += net
    for currency, by_day in sums.items():
        table = out.split(f"All shops in {currency} (sums of the certified shop figures above)\n")[1]
        rows = {line[:10]: line.split() for line in table.split("\n\n")[0].splitlines()[2:]}
        assert {d: Decimal(rows[d.isoformat()][3].replace(",", "")) for d in by_day} == dict(by_day)
    assert "Slack message" not in out


def test_a_shopify_connection_run_fails_naming_the_bad_shop_and_publishes_the_others(
        postgres_server, small_shops, tmp_path, monkeypatch):
    """The real-Shopify path (`--shopify-conn`): one shop sends an amount that is a JSON number; it
    fails by name, exit 1; the others publish; `--refund-date-shops` moves one shop's refunds."""
    from tests.conftest import new_database

    url = new_database(postgres_server, "shop_cli_conn")
    store = ShopifyStore.from_snapshot(small_shops)
    bad, refund_dated = list(store.shops)[1], list(store.shops)[3]
    order = next(o for o in store.orders(bad) if not o["test"])
    money = order["totalPriceSet"]
    store.edit_order(order["id"], {"totalPriceSet": {**money, "shopMoney": {**money["shopMoney"],
                                                                             "amount": Decimal("10.5")}}})
    monkeypatch.setenv("REVCERT_HOME", str(tmp_path / "home"))
    with ShopifyStandIn(store, state_dir=tmp_path) as standin:
        monkeypatch.setenv("AIRFLOW_CONN_OUR_SHOPS", standin.airflow_connection())
        code, out = shop_run("--shopify-conn", "our_shops", "--database-url", url,
                             "--refund-date-shops", legacy_id(refund_dated))
    assert code == 1, out
    assert "shop_daily_revenue: failed; 4 of 5 shop(s) certified and published" in out
    assert f"shop {legacy_id(bad)} NOT published" in out and "amount_not_a_decimal_string" in out
    assert legacy_id(order["id"]) in out and "Slack message" in out
    with psycopg.connect(url) as conn:
        published = dict(conn.execute("select shop_id, refund_attribution from viz.shop").fetchall())
    assert set(published) == {legacy_id(gid) for gid in store.shops} - {legacy_id(bad)}
    assert published[legacy_id(refund_dated)] == "refund_date"
    assert {v for k, v in published.items() if k != legacy_id(refund_dated)} == {"order_date"}


@pytest.mark.parametrize("argv, message", [
    (["shop", "run"], "one of the arguments --snapshot --shopify-conn is required"),
    (["shop", "run", "--snapshot", "/nonexistent"], "no such directory"),
    (["shop", "run", "--shopify-conn", "x", "--refund-date-shops", "12,abc"], "shop ids are numbers"),
    (["shop", "run", "--shopify-conn", "x", "--as-of", "2026-02-30"], "2026-02-30"),
], ids=["no-source", "no-snapshot", "bad-shop-ids", "bad-date"])
def test_bad_arguments_exit_two_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_future_as_of_date_is_refused(capsys, small_shops: Path):
    later = (date.today() + timedelta(days=2)).isoformat()
    with pytest.raises(SystemExit) as exit_:
        main(["shop", "run", "--snapshot", str(small_shops), "--as-of", later])
    assert exit_.value.code == 2 and f"as-of date {later} is later than today" in capsys.readouterr().err
