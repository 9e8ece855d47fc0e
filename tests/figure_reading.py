"""Reading what the pages show: KPI texts, bar charts and their hover data, CSV and Excel answers. Shared by the page
tests."""
from __future__ import annotations

import io
import re

import pandas as pd


def parse_count(text: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    return int(text.replace(",", ""))


def parse_money(text: str) -> float:
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*(\.\d+)?", text), text
    return float(text[1:].replace(",", ""))


def bar_codes(figure: dict) -> list[str]:
    (trace,) = figure["data"]
    return [str(row[4]) for row in trace["customdata"]]


def bar_names(figure: dict) -> list[str]:
    """The full procedure name of each bar: carried in the hover data when the axis label is shortened."""
    (trace,) = figure["data"]
    names = []
    for row, label in zip(trace["customdata"], trace["y"]):
        texts = [value for value in row if isinstance(value, str) and value != str(row[4])]
        names.append(texts[-1] if texts else label)
    return names


def is_label_of(label: str, name: str) -> bool:
    """An axis label is the name, or the name shortened with an ellipsis."""
    return label == name or (label.endswith("…") and name.startswith(label[:-1].rstrip()))



def csv_frame(response) -> pd.DataFrame:
    """A CSV extract answer as text columns (empty cells stay empty strings)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return pd.read_csv(io.BytesIO(response.data), dtype=str, keep_default_na=False)


def xlsx_sheets(response) -> dict[str, pd.DataFrame]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return pd.read_excel(io.BytesIO(response.data), sheet_name=None, dtype=str, keep_default_na=False)
