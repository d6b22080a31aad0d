"""A shop's figures stop at the run's as-of date or at the shop's own today, whichever is earlier."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from revcert.methodology.shop_mart import shop_as_of

AS_OF = date(2026, 11, 22)
JUST_AFTER_MIDNIGHT_UTC = datetime(2026, 11, 22, 0, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("zone, expected", [
    ("America/New_York", date(2026, 11, 21)),  # 19:30 the evening before: the 22nd has not begun there
    ("Pacific/Pago_Pago", date(2026, 11, 21)),
    ("Europe/London", AS_OF),
    ("Asia/Kolkata", AS_OF),  # already the 22nd; never later than the run's as-of date
    ("Pacific/Kiritimati", AS_OF),
    ("Mars/Olympus_Mons", AS_OF),  # not a timezone: the shop_unknown_timezone rule refuses it, not this
    (None, AS_OF),
])
def test_a_shop_behind_the_business_day_stops_at_its_own_today(zone, expected):
    assert shop_as_of(AS_OF, zone, JUST_AFTER_MIDNIGHT_UTC) == expected


def test_an_earlier_as_of_date_is_kept_wherever_the_shop_is():
    assert shop_as_of(date(2026, 6, 30), "America/New_York", JUST_AFTER_MIDNIGHT_UTC) == date(2026, 6, 30)
