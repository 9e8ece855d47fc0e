"""PostgreSQL's binary COPY format, checked byte by byte against the format's documentation (the round trip
through PostgreSQL is in test_postgres.py)."""
from __future__ import annotations

import struct
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, Numeric, String, Table

from data_access import pg_binary, schema

EXAMPLE = Table(
    "example", MetaData(),
    Column("n", Integer), Column("x", Float), Column("flag", Boolean), Column("day", Date),
    Column("at", DateTime), Column("label", String(16)), Column("blob", LargeBinary),
)


def field(payload: bytes | None) -> bytes:
    return struct.pack(">i", -1) if payload is None else struct.pack(">i", len(payload)) + payload


def test_rows_are_field_counts_then_lengths_and_values_in_network_order():
    data = pd.DataFrame({
        "n": [7, -2], "x": [1.5, np.nan], "flag": [True, False],
        "day": pd.to_datetime(["2000-01-02", "1999-12-31"]),
        "at": pd.to_datetime(["2000-01-01 00:00:01.000002", "1970-01-01 00:00:00.000000"]),
        "label": ["Ünï", None], "blob": [b"\x00\xff", None],
    })
    expected = b"".join([
        struct.pack(">h", 7),
        field(struct.pack(">i", 7)), field(struct.pack(">d", 1.5)), field(b"\x01"), field(struct.pack(">i", 1)),
        field(struct.pack(">q", 1_000_002)), field("Ünï".encode()), field(b"\x00\xff"),
        struct.pack(">h", 7),
        field(struct.pack(">i", -2)), field(None), field(b"\x00"), field(struct.pack(">i", -1)),
        field(struct.pack(">q", -946_684_800_000_000)), field(None), field(None),
    ])
    assert bytes(pg_binary.encode(EXAMPLE, data)) == expected


def test_the_header_and_trailer_are_the_documented_ones():
    assert pg_binary.SIGNATURE == b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    assert pg_binary.TRAILER == b"\xff\xff"


def test_a_subset_of_the_columns_and_object_columns_of_dates_encode_alike():
    typed = pd.DataFrame({"day": pd.to_datetime(["2021-03-04"]), "n": [3]})
    objects = pd.DataFrame({"day": [date(2021, 3, 4)], "n": [3]})
    stamps = pd.DataFrame({"at": [datetime(2021, 3, 4, 5, 6, 7)]})
    assert bytes(pg_binary.encode(EXAMPLE, typed)) == bytes(pg_binary.encode(EXAMPLE, objects))
    assert bytes(pg_binary.encode(EXAMPLE, stamps)).endswith(
        struct.pack(">q", (datetime(2021, 3, 4, 5, 6, 7) - datetime(2000, 1, 1)) // pd.Timedelta("1us")))
    assert bytes(pg_binary.encode(EXAMPLE, typed))[:2] == struct.pack(">h", 2)


@pytest.mark.parametrize("values, message", [([2**31], "does not fit"), ([-(2**31) - 1], "does not fit"),
                                             ([1.5], "not a whole number")])
def test_a_value_postgresql_would_refuse_is_refused_naming_its_column(values, message):
    with pytest.raises(ValueError, match=f"column n: .*{message}"):
        pg_binary.encode(EXAMPLE, pd.DataFrame({"n": values}))


def test_whole_floats_and_missing_integers_encode_as_integers_and_nulls():
    data = pd.DataFrame({"n": [1.0, np.nan]})
    assert bytes(pg_binary.encode(EXAMPLE, data)) == (
        struct.pack(">h", 1) + field(struct.pack(">i", 1)) + struct.pack(">h", 1) + field(None))


def test_every_table_a_load_writes_has_an_encoding_and_other_types_are_refused():
    assert all(pg_binary.supports(table) for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES)
    other = Table("other", MetaData(), Column("amount", Numeric(10, 2)))
    assert not pg_binary.supports(other)
    with pytest.raises(TypeError, match="column amount"):
        pg_binary.encode(other, pd.DataFrame({"amount": [1]}))
