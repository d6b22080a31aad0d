"""The reviewed shop settings file: every row needs a known attribution, a reason and an approver."""
from __future__ import annotations

import pytest

from revcert.methodology.shop_settings import ShopSetting, ShopSettingsFileError, read_shop_settings


def test_the_shipped_file_reads():
    assert all(isinstance(setting, ShopSetting) for setting in read_shop_settings())


def test_a_good_file_reads_with_comments_skipped(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text("# reviewed\nshop_id,refund_attribution,reason,approver\n"
                    "1001, refund_date ,matches Shopify's sales report,A. Controller\n")
    assert read_shop_settings(path) == [ShopSetting("1001", "refund_date", "matches Shopify's sales report",
                                                    "A. Controller")]


def test_every_problem_is_named_by_its_own_line_number(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text("# reviewed\nshop_id,refund_attribution,reason,approver\n# a comment between rows\n"
                    "1001,refund_date,why,\n1002,settlement_date,why,who\n1003,order_date,why,who\n"
                    "1003,refund_date,why,who\n")
    with pytest.raises(ShopSettingsFileError) as error:
        read_shop_settings(path)
    assert str(error.value).splitlines()[1:] == [
        "  line 4: approver must not be empty",
        "  line 5: refund_attribution must be one of order_date, refund_date, not 'settlement_date'",
        "  line 7: shop 1003 is set twice"]


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text("shop,attribution\n1001,refund_date\n")
    with pytest.raises(ShopSettingsFileError, match="the header must be shop_id,refund_attribution,reason,approver"):
        read_shop_settings(path)
