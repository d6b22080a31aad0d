"""Shop settings: a reviewed file saying where each shop's refunds are attributed (METHODOLOGY.md B3).

A shop is on the order's date unless a row says `refund_date`, with a reason and
an approver. The file ships with the package (`include/overrides/shop_settings.csv`);
`REVCERT_SHOP_SETTINGS_FILE` points elsewhere. A run loads it into
`staging.shop_setting`, so the mart and the derivation read the same settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from revcert.methodology.reviewed_files import empty_columns, refuse_problems, reviewed_file, reviewed_rows

COLUMNS = ("shop_id", "refund_attribution", "reason", "approver")
ATTRIBUTIONS = ("order_date", "refund_date")


class ShopSettingsFileError(ValueError):
    """The shop settings file breaks its format; the message names the lines."""


@dataclass(frozen=True)
class ShopSetting:
    shop_id: str
    refund_attribution: str
    reason: str
    approver: str


def read_shop_settings(path: Path | None = None) -> list[ShopSetting]:
    """Read and check the file: every column filled, a known attribution, one row per shop."""
    source = reviewed_file("shop_settings.csv", path)
    problems, seen, settings = [], set(), []
    for number, values in reviewed_rows(source, COLUMNS, ShopSettingsFileError):
        empty = empty_columns(values)
        if empty:
            problems.append(f"line {number}: {', '.join(empty)} must not be empty")
        elif values["refund_attribution"] not in ATTRIBUTIONS:
            problems.append(f"line {number}: refund_attribution must be one of {', '.join(ATTRIBUTIONS)}, "
                            f"not {values['refund_attribution']!r}")
        elif values["shop_id"] in seen:
            problems.append(f"line {number}: shop {values['shop_id']} is set twice")
        else:
            seen.add(values["shop_id"])
            settings.append(ShopSetting(**values))
    refuse_problems(source, problems, ShopSettingsFileError)
    return settings


def load_shop_settings(conn: psycopg.Connection, settings: list[ShopSetting]) -> None:
    """Replace the staged shop settings with `settings`, in the caller's transaction."""
    conn.execute("delete from staging.shop_setting")
    with conn.cursor().copy("copy staging.shop_setting (shop_id, refund_attribution, reason, approver) "
                            "from stdin") as copy:
        for setting in settings:
            copy.write_row((setting.shop_id, setting.refund_attribution, setting.reason, setting.approver))
