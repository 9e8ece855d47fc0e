"""data_access.table.Table: the plain columns of the client and team answers, and the frames their extracts get."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from data_access.cache import QueryCache
from data_access.table import Table

KINDS = {"code": "text", "n": "int", "cost": "float", "patients": "count", "suppressed": "bool"}


def sample() -> Table:
    return Table({"code": ["a", None, "c"], "n": np.array([3, 2, 1]), "cost": np.array([1.5, 0.25, 2.0]),
                  "patients": [12, None, 0], "suppressed": [False, True, False]}, KINDS)


def test_columns_are_lists_of_python_values():
    table = sample()
    assert table.names == list(KINDS) and len(table) == 3 and not table.empty
    assert table.columns("n", "cost") == [[3, 2, 1], [1.5, 0.25, 2.0]]
    assert [type(value) for value in table.column("n") + table.column("cost")] == [int] * 3 + [float] * 3


def test_frame_types_each_kind():
    frame = sample().frame()
    assert list(frame.columns) == list(KINDS)
    assert frame.dtypes.astype(str).tolist() == ["str", "int64", "float64", "Int64", "bool"]
    assert frame["code"].isna().tolist() == [False, True, False]
    assert frame["patients"].isna().tolist() == [False, True, False]
    assert frame["patients"].sum() == 12 and frame["suppressed"].sum() == 1
    assert frame.to_csv(index=False).splitlines() == [
        "code,n,cost,patients,suppressed", "a,3,1.5,12,False", ",2,0.25,,True", "c,1,2.0,0,False"]


def test_an_empty_table_gives_a_typed_empty_frame():
    table = Table.from_rows([], KINDS)
    assert table.empty and len(table) == 0
    frame = table.frame()
    assert frame.empty and list(frame.columns) == list(KINDS)
    assert frame.dtypes.astype(str).tolist() == ["str", "int64", "float64", "Int64", "bool"]


def test_from_rows_equals_the_same_columns():
    rows = [("a", 3, 1.5, 12, False), (None, 2, 0.25, None, True), ("c", 1, 2.0, 0, False)]
    assert Table.from_rows(rows, KINDS) == sample()
    assert Table.from_rows(rows[:2], KINDS) != sample()
    assert Table.from_rows(rows, {**KINDS, "n": "float"}) != sample()  # same values, another frame type


def test_pickles_small_and_back_equal():
    table = sample()
    raw = pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL)
    back = pickle.loads(raw)
    assert back == table and back.kinds == KINDS
    pd.testing.assert_frame_equal(back.frame(), table.frame())
    assert len(raw) < len(pickle.dumps(table.frame(), protocol=pickle.HIGHEST_PROTOCOL)) / 2


@pytest.mark.parametrize("columns,kinds,message", [
    ({"a": [1], "b": [1, 2]}, {"a": "int", "b": "int"}, "different lengths"),
    ({"a": [1]}, {"a": "integer"}, "unknown column kind"),
    ({"a": [1], "b": [2]}, {"b": "int", "a": "int"}, "differ"),
    ({"a": [1]}, {"a": "int", "b": "int"}, "differ"),
])
def test_refuses_inconsistent_columns(columns, kinds, message):
    with pytest.raises(ValueError, match=message):
        Table(columns, kinds)


def test_nan_in_a_float_column_stays_missing_in_the_frame():
    frame = Table({"x": [1.0, math.nan]}, {"x": "float"}).frame()
    assert frame["x"].isna().tolist() == [False, True]


def test_cache_keys_carry_the_answer_format(monkeypatch):
    """Answers cached or stored by a release whose answers had another type are never asked for again."""
    from data_access import cache

    key = QueryCache().key("q", "scope", {"a": 1}, "v1")
    monkeypatch.setattr(cache, "ANSWER_FORMAT", cache.ANSWER_FORMAT + 1)
    assert QueryCache().key("q", "scope", {"a": 1}, "v1") != key
