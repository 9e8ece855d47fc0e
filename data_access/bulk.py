"""Fast bulk writes of DataFrames inside an open SQLAlchemy transaction.

PostgreSQL gets a binary COPY encoded column by column with Arrow (`pg_binary`), SQLite a driver-level
executemany: both an order of magnitude faster than ORM inserts or `DataFrame.to_sql`, and both run on the
transaction's own connection, so a load stays one transaction.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlalchemy import Connection, DateTime, Table

from data_access import pg_binary

CHUNK_ROWS = 250_000
COPY_READ_BYTES = 1 << 20


def _as_text_columns(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Dates, timestamps and booleans as SQLite stores them through SQLAlchemy; None for missing values."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            # SQLAlchemy's own storage formats, so that its Date/DateTime types read the values back.
            fmt = "%Y-%m-%d %H:%M:%S.%f" if isinstance(table.c[name].type, DateTime) else "%Y-%m-%d"
            out[name] = _formatted(column, fmt)
        elif pd.api.types.is_bool_dtype(column):
            out[name] = np.where(column.to_numpy(), 1, 0)
        else:
            out[name] = column
    return pd.DataFrame(out, index=frame.index)


def _formatted(column: pd.Series, fmt: str) -> np.ndarray:
    """`column.dt.strftime(fmt)` with None for missing values, formatting each distinct value once: a column of
    millions of rows holds a few thousand days (and far fewer distinct timestamps than rows), and strftime costs
    about 0.4 microseconds a value."""
    codes, distinct = pd.factorize(column)
    texts = np.append(np.asarray(distinct.strftime(fmt), dtype=object), None)
    return texts[codes]  # code -1 (missing) takes the None at the end


class _CopyStream(io.RawIOBase):
    """`frame` in PostgreSQL's binary COPY format (`pg_binary`), encoded CHUNK_ROWS at a time as the driver reads
    it.

    One COPY per table rather than one per chunk: PostgreSQL stores a chunk while the next one is encoded, where a
    COPY per chunk waited for each chunk to be encoded whole before sending it."""

    def __init__(self, table: Table, frame: pd.DataFrame):
        self._table, self._frame = table, frame
        self._next_row = 0
        self._pending = memoryview(pg_binary.SIGNATURE)
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._pending and not self._ended:
            if self._next_row < len(self._frame):
                chunk = self._frame.iloc[self._next_row : self._next_row + CHUNK_ROWS]
                self._pending = pg_binary.encode(self._table, chunk)
                self._next_row += CHUNK_ROWS
            else:
                self._pending, self._ended = memoryview(pg_binary.TRAILER), True
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def insert_frame(connection: Connection, table: Table, frame: pd.DataFrame, *, freeze: bool = False) -> int:
    """Append `frame` (columns named as the table's) to `table`; returns the row count. `freeze` (PostgreSQL, for a
    table created or truncated in the same transaction): write the rows already frozen, see the loader."""
    frame = frame[[column.name for column in table.columns if column.name in frame.columns]]
    if frame.empty:
        return 0
    dialect = connection.dialect.name
    driver = connection.connection.driver_connection
    columns = list(frame.columns)
    if dialect == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in columns)
        statement = f'COPY "{table.name}" ({quoted}) FROM STDIN WITH (FORMAT binary{", FREEZE" if freeze else ""})'
        with driver.cursor() as cursor:
            cursor.copy_expert(statement, _CopyStream(table, frame), size=COPY_READ_BYTES)
        return len(frame)
    placeholders = ", ".join("?" for _ in columns)
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders})'
    cursor = driver.cursor()
    try:
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = _as_text_columns(table, frame.iloc[start : start + CHUNK_ROWS])
            # Column lists zipped into tuples: the cheapest way to feed sqlite3's executemany from pandas.
            columns_as_lists = [_python_values(chunk[name]) for name in columns]
            cursor.executemany(statement, zip(*columns_as_lists))
    finally:
        cursor.close()
    return len(frame)


def _python_values(column: pd.Series) -> list:
    """Plain Python values with None for missing ones (sqlite3 binds neither NaN nor numpy scalars as NULL)."""
    if column.isna().any():
        return column.astype(object).where(column.notna(), None).tolist()
    return column.tolist()
