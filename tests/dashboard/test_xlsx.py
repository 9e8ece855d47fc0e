"""dashboard.xlsx: the workbook reads back, through openpyxl, as the frames it was given, cell for cell and typed
as pandas' own Excel writer types them."""
from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from dashboard import xlsx
from tests.conftest import login
from tests.figure_reading import csv_frame


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "text": ["plain", "a & b < c > d \"quoted\" 'single'", "  padded  ", "line\nbreak\ttab", "", None,
                 "Zürich – 東京", "=1+1"],
        "float": [0.1, 1e-05, 235.0, -3.25, np.nan, 123456789.125, 1e300, 0.0],
        "int": [1, -2, 3, 2**40, 0, 7, 8, 9],
        "nullable_int": pd.array([1, None, 3, 4, None, 6, 7, 8], dtype="Int64"),
        "nullable_float": pd.array([1.5, None, 3.0, 4.25, 5.0, None, 7.0, 8.0], dtype="Float64"),
        "flag": [True, False, True, True, False, False, True, False],
        "maybe": pd.array([True, None, False, True, None, False, True, True], dtype="boolean"),
        "at": pd.to_datetime(["2020-01-02 03:04:05", None, "2021-12-31 00:00:00", "2019-06-01 12:00:00",
                              "2020-02-29 00:00:00", "2020-03-01 00:00:00", "2020-03-02 00:00:00",
                              "2020-03-03 00:00:00"]),
    })


def read_back(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def expected_cell(value):
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return value or None  # an empty text reads back as an empty cell, as openpyxl writes it
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return value


def test_every_kind_of_value_reads_back_as_written():
    frame = mixed_frame()
    rows = read_back(xlsx.workbook({"data": frame}))["data"]
    assert rows[0] == tuple(frame.columns)
    assert len(rows) == len(frame) + 1
    for got, (_index, source) in zip(rows[1:], frame.astype(object).iterrows()):
        want = tuple(expected_cell(value) for value in source)
        assert got == want
        assert type(got[2]) is int  # whole numbers are written as such, not as 3.0
        for value in got:  # numbers stay numbers, flags booleans
            assert not isinstance(value, str) or value in set(frame["text"]) | {
                expected_cell(v) for v in frame["at"]}


def test_the_same_values_as_pandas_own_excel_writer():
    frame = mixed_frame().iloc[:-1]  # the last text, a formula, is pandas' (and openpyxl's) to evaluate
    ours = pd.read_excel(io.BytesIO(xlsx.workbook({"data": frame})), sheet_name=None, dtype=str,
                         keep_default_na=False)
    buffer = io.BytesIO()
    frame.assign(at=frame["at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_excel(buffer, sheet_name="data", index=False)
    theirs = pd.read_excel(io.BytesIO(buffer.getvalue()), sheet_name=None, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(ours["data"], theirs["data"])


def test_text_that_looks_like_a_formula_stays_text():
    # openpyxl (under pandas) wrote "=1+1" as a formula, which a spreadsheet computes: a procedure description or
    # a user name starting with "=" must not run in the reader's Excel
    data = xlsx.workbook({"data": pd.DataFrame({"text": ["=1+1", "=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)"]})})
    sheet = openpyxl.load_workbook(io.BytesIO(data))["data"]
    assert [cell.data_type for (cell,) in sheet.iter_rows(min_row=2)] == ["s"] * 4
    assert read_back(data)["data"][1:] == [("=1+1",), ("=HYPERLINK(\"http://x\")",), ("+1",), ("@SUM(A1)",)]


def test_characters_xml_cannot_carry_become_replacement_characters():
    frame = pd.DataFrame({"text\x01": ["bell\x07", "nul\x00", "ok"]})
    rows = read_back(xlsx.workbook({"data": frame}))["data"]
    assert rows == [("text\ufffd",), ("bell\ufffd",), ("nul\ufffd",), ("ok",)]


def test_sheets_in_order_with_a_bold_frozen_header_and_columns_past_z():
    wide = pd.DataFrame({f"c{n}": [n, n * 10] for n in range(30)})
    data = xlsx.workbook({"data": wide, "about": pd.DataFrame({"item": ["rows"], "value": ["2"]}),
                          "empty": pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=str)})})
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["data", "about", "empty"]
    sheet = book["data"]
    assert sheet["AD1"].value == "c29" and sheet["AD3"].value == 290
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert [tuple(row) for row in book["empty"].iter_rows(values_only=True)] == [("a", "b")]
    assert read_back(data)["about"] == [("item", "value"), ("rows", "2")]


def test_a_frame_longer_than_an_excel_sheet_is_refused(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    xlsx.workbook({"data": pd.DataFrame({"a": [1, 2]})})
    with pytest.raises(xlsx.TooManyRows, match="'data' would have 3 rows"):
        xlsx.workbook({"data": pd.DataFrame({"a": [1, 2, 3]})})


def test_a_sheet_written_in_chunks_of_rows_is_the_same_sheet(monkeypatch):
    frame = pd.concat([mixed_frame()] * 3, ignore_index=True)
    whole = read_back(xlsx.workbook({"data": frame}))
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 5)
    chunked = read_back(xlsx.workbook({"data": frame}))
    assert chunked == whole and len(whole["data"]) == len(frame) + 1


def test_an_extract_longer_than_a_sheet_is_refused_by_name_and_its_csv_still_served(app, monkeypatch):
    uhc, admin = login(app, "uhc"), login(app, "admin")
    rows = len(csv_frame(uhc.extract("procedure-rows", format="csv")))
    assert rows > 2
    monkeypatch.setattr(xlsx, "MAX_ROWS", rows)  # one row short: the header takes one
    refused = uhc.extract("procedure-rows", format="xlsx")
    assert refused.status_code == 422
    message = refused.get_json()["error"]
    assert f"{rows:,} rows" in message and "format=csv" in message
    assert uhc.extract("procedure-rows", format="csv").status_code == 200
    monkeypatch.undo()
    served = uhc.extract("procedure-rows", format="xlsx")
    assert served.status_code == 200, served.get_data(as_text=True)
    # the audit log's workbook goes through the same writer
    assert read_back(admin.client.get("/api/audit", query_string={"format": "xlsx"}).data)["audit"][0][0]
