"""A small answer as plain columns: what the client and team charts read, and what their extracts turn into a
DataFrame.

A first-time chart answer is a few dozen rows. At that size pandas' fixed costs dominate: building a frame, pickling
it into the cache and reading its columns back took about 0.2 ms per frame, and a page answer had three to five of
them, more than its SQL. A Table keeps each column as a Python list (pickled in microseconds, read for free) and
knows the type each column takes in a frame, so `frame()` gives the extract exactly the frame it had before.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

# The frame type of each kind of column: text (str, missing as NaN), whole numbers, decimals, counts that may be
# suppressed (nullable integers, None as <NA>) and flags.
KINDS = ("text", "int", "float", "count", "bool")


def _column(values: list, kind: str):
    if kind == "text":  # pandas infers its str dtype from a list; an empty list would be object
        return values if values else pd.array([], dtype="str")
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array(values, dtype=np.float64)
    if kind == "count":
        return pd.array(values, dtype="Int64")
    return np.array(values, dtype=bool)


class Table:
    """Named columns of equal length, in order, each a list with its kind (one of KINDS)."""

    __slots__ = ("_columns", "_kinds")

    def __init__(self, columns: dict[str, Sequence], kinds: dict[str, str]):
        if list(columns) != list(kinds):
            raise ValueError(f"columns {list(columns)} and kinds {list(kinds)} differ")
        unknown = sorted(set(kinds.values()) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown column kind(s) {unknown}; use {KINDS}")
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths {sorted(lengths)}")
        # numpy arrays as lists of Python numbers: JSON and pickle handle those fastest
        self._columns = {name: values.tolist() if isinstance(values, np.ndarray) else list(values)
                         for name, values in columns.items()}
        self._kinds = dict(kinds)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence], kinds: dict[str, str]) -> Table:
        rows = list(rows)
        return cls({name: [row[i] for row in rows] for i, name in enumerate(kinds)}, kinds)

    def __getstate__(self):
        return self._columns, self._kinds

    def __setstate__(self, state) -> None:
        self._columns, self._kinds = state

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()), ()))

    @property
    def empty(self) -> bool:
        return len(self) == 0

    @property
    def names(self) -> list[str]:
        return list(self._columns)

    @property
    def kinds(self) -> dict[str, str]:
        return dict(self._kinds)

    def column(self, name: str) -> list:
        """The column itself (not a copy): callers read it."""
        return self._columns[name]

    def columns(self, *names: str) -> list[list]:
        return [self._columns[name] for name in names]

    def frame(self) -> pd.DataFrame:
        # from a dict of columns in order, without `columns=` (which re-indexes the new frame)
        return pd.DataFrame({name: _column(values, self._kinds[name]) for name, values in self._columns.items()})

    def __eq__(self, other) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self._kinds == other._kinds and self._columns == other._columns

    __hash__ = None

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(f'{n} {k}' for n, k in self._kinds.items())})"
