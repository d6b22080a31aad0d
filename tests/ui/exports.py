"""Reading the API's CSV back, and holding it to the JSON of the same request."""
from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from revcert.money import loads_exact
from revcert.ui.export import cell


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The preamble's lines (without their `# `) and the rows of an exported CSV."""
    lines = text.splitlines()
    preamble = [line[2:] for line in lines if line.startswith("# ")]
    return preamble, list(csv.DictReader(line for line in lines if not line.startswith("# ")))


def served_csv(client: TestClient, path: str, **params: Any) -> tuple[list[str], list[dict[str, str]]]:
    """The preamble's lines and the rows of `path?format=csv`, after checking it is a CSV attachment."""
    response = client.get(path, params={**params, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="revcert-')
    return read_csv(response.text)


def assert_csv_is_the_json(client: TestClient, path: str, rows_of: Callable[[Any], list[dict]] = lambda body: body,
                           **params: Any) -> list[dict[str, str]]:
    """The CSV of a request has the JSON's rows, in order, with every column and every scalar value."""
    _, rows = served_csv(client, path, **params)
    served = rows_of(loads_exact(client.get(path, params=params).content))
    assert len(rows) == len(served)
    for row, expected in zip(rows, served):
        assert set(row) >= set(expected), set(expected) - set(row)
        for column, value in expected.items():
            if not isinstance(value, (list, dict)):
                # Text a spreadsheet would run as a formula is quoted; amounts are the JSON's own strings.
                expected_cells = {value, "'" + value} if isinstance(value, str) else {cell(value)}
                assert row[column] in expected_cells, (column, row[column], value)
    return rows
