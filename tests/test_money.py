from decimal import Decimal

import pytest

from revcert.money import dumps_exact, loads_exact


def test_numbers_parse_to_decimal_with_every_digit():
    record = loads_exact('{"SBQQ__NetPrice__c": 1234567.891234, "SBQQ__Quantity__c": 3, "x": 0.10}')
    assert record["SBQQ__NetPrice__c"] == Decimal("1234567.891234")
    assert isinstance(record["SBQQ__Quantity__c"], Decimal)
    assert str(record["x"]) == "0.10"


def test_round_trip_keeps_the_text_of_numbers():
    text = '{"a":1234567.891234,"b":[0.10,null,true,"t"],"c":12000.00}'
    assert dumps_exact(loads_exact(text)) == text


def test_floats_are_refused():
    with pytest.raises(TypeError, match="floats are not allowed"):
        dumps_exact({"amount": 0.1})
