"""Reading ahead of loading: items come in order, at most `steps` made ahead, an error in its place."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from revcert.extraction.salesforce_extract import _read_ahead


class Made:
    """Items 1..count, each noted as made, one raising instead when its number is `failing`."""

    def __init__(self, count: int, failing: int | None = None) -> None:
        self.count, self.failing, self.made = count, failing, []

    def items(self) -> Iterator[int]:
        for number in range(1, self.count + 1):
            if number == self.failing:
                raise RuntimeError(f"item {number} failed")
            self.made.append(number)
            yield number


@pytest.mark.parametrize("steps", [1, 3])
def test_items_arrive_in_order(steps):
    assert list(_read_ahead(Made(7).items(), steps=steps)) == [1, 2, 3, 4, 5, 6, 7]


def test_an_error_arrives_after_the_items_made_before_it():
    received = []
    with pytest.raises(RuntimeError, match="item 4 failed"):
        for item in _read_ahead(Made(7, failing=4).items(), steps=3):
            received.append(item)
    assert received == [1, 2, 3]


def test_reading_runs_at_most_steps_ahead_of_the_caller():
    made = Made(20)
    reading = _read_ahead(made.items(), steps=3)
    assert next(reading) == 1
    # While the caller holds item 1 the thread makes the 3 after it, and no more.
    deadline = time.monotonic() + 10
    while len(made.made) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # room for a fifth, were the thread not held to 3
    assert made.made == [1, 2, 3, 4]
    reading.close()
    assert made.made == [1, 2, 3, 4]
