"""Read and validate the five input CSVs, reporting problems by file, line and column.

The loader refuses the whole input on the first file with problems: a half-valid data set loaded silently would
make every number on every page wrong in ways nobody can see.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# kinds: id (non-empty, unique), text, required (non-empty text), timestamp, date, optional_date, money
# (non-negative number), float, optional_float, ref:<file> (must resolve to that file's Id)
FILE_SPECS: dict[str, dict[str, str]] = {
    "payers": {
        "Id": "id", "NAME": "required", "ADDRESS": "text", "CITY": "text", "STATE_HEADQUARTERED": "text",
        "ZIP": "text", "PHONE": "text",
    },
    "organizations": {
        "Id": "id", "NAME": "required", "ADDRESS": "text", "CITY": "text", "STATE": "text", "ZIP": "text",
        "LAT": "optional_float", "LON": "optional_float",
    },
    "patients": {
        "Id": "id", "BIRTHDATE": "date", "DEATHDATE": "optional_date", "PREFIX": "text", "FIRST": "text",
        "LAST": "text", "SUFFIX": "text", "MAIDEN": "text", "MARITAL": "text", "RACE": "text", "ETHNICITY": "text",
        "GENDER": "text", "BIRTHPLACE": "text", "ADDRESS": "text", "CITY": "text", "STATE": "text", "COUNTY": "text",
        "ZIP": "text", "LAT": "float", "LON": "float",
    },
    "encounters": {
        "Id": "id", "START": "timestamp", "STOP": "optional_timestamp", "PATIENT": "ref:patients",
        "ORGANIZATION": "ref:organizations", "PAYER": "ref:payers", "ENCOUNTERCLASS": "required", "CODE": "required",
        "DESCRIPTION": "text", "BASE_ENCOUNTER_COST": "money", "TOTAL_CLAIM_COST": "money", "PAYER_COVERAGE": "money",
        "REASONCODE": "text", "REASONDESCRIPTION": "text",
    },
    "procedures": {
        "START": "timestamp", "STOP": "optional_timestamp", "PATIENT": "ref:patients", "ENCOUNTER": "ref:encounters",
        "CODE": "required", "DESCRIPTION": "required", "BASE_COST": "money", "REASONCODE": "text",
        "REASONDESCRIPTION": "text",
    },
}
# Referenced files are read first.
LOAD_ORDER = ("payers", "organizations", "patients", "encounters", "procedures")
LAT_LON_RANGE = {"LAT": (-90.0, 90.0), "LON": (-180.0, 180.0)}


@dataclass
class Problem:
    file: str
    line: int | None
    column: str | None
    message: str
    column_number: int | None = None
    more: int = 0

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            number = f"{self.column_number} " if self.column_number else ""
            where += f", column {number}({self.column})" if number else f", column {self.column}"
        tail = f" (and {self.more} more row{'s' if self.more != 1 else ''})" if self.more else ""
        return f"{where}: {self.message}{tail}"


class InputError(Exception):
    """The input cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_encoding(path: Path) -> None:
    """Refuse anything but UTF-8 (with or without BOM), naming the first bad line. Lines are counted only once a
    bad byte is found (counting them on every load cost a second at 100x)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                start = block.rfind(b"\n", 0, error.start) + 1
                byte = block[error.start : error.start + 1].hex()
                raise InputError([Problem(
                    path.name, _line_at(path, offset + error.start), None,
                    f"not valid UTF-8 (byte 0x{byte} at character {error.start - start + 1}); save the file as UTF-8",
                )]) from None
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError([Problem(path.name, _line_at(path, offset), None,
                                      "file ends in the middle of a UTF-8 character")]) from None


def _line_at(path: Path, position: int) -> int:
    """The 1-based line holding byte `position` of the file."""
    line, done = 1, 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            if done + len(block) > position:
                return line + block[: position - done].count(b"\n")
            line += block.count(b"\n")
            done += len(block)
    return line


def line_numbers(path: Path, rows: list[int]) -> dict[int, int]:
    """Physical line where each data row (0-based) starts, counting quoted multi-line fields correctly."""
    wanted = set(rows)
    found: dict[int, int] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        previous_end = reader.line_num
        for index, _record in enumerate(reader):
            if index in wanted:
                found[index] = previous_end + 1
                if len(found) == len(wanted):
                    break
            previous_end = reader.line_num
    return found


def read_csv(path: Path, name: str) -> pd.DataFrame:
    """Read one input file as text columns, after checking encoding, emptiness and header."""
    spec = FILE_SPECS[name]
    if not path.exists():
        raise InputError([Problem(path.name, None, None, f"file is missing (expected {name}.csv in {path.parent})")])
    if path.stat().st_size == 0:
        raise InputError([Problem(path.name, 1, None, "file is empty: expected a header row and data rows")])
    check_encoding(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    header = [column.strip() for column in header]
    if not any(header):
        raise InputError([Problem(path.name, 1, None, "file is empty: expected a header row and data rows")])
    missing = [column for column in spec if column not in header]
    if missing:
        raise InputError([
            Problem(path.name, 1, column, f"required column {column!r} is missing from the header")
            for column in missing
        ])
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise InputError([Problem(path.name, 1, column, "column appears twice in the header") for column in duplicated])
    try:
        # pyarrow parses in C++ on every core and keeps strings in Arrow buffers: several times faster than the
        # C engine at 100x the real data.
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False, usecols=list(spec),
                            engine="pyarrow")
    except Exception:  # pyarrow's messages carry no line number: find the bad record ourselves
        raise InputError([_malformed_record(path, len(header))]) from None
    if frame.empty:
        raise InputError([Problem(path.name, 2, None, "file has a header but no data rows")])
    frame.attrs["header"] = header
    return frame


def _malformed_record(path: Path, width: int) -> Problem:
    """The first record whose number of fields differs from the header's."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        previous_end = reader.line_num
        try:
            for record in reader:
                if len(record) != width:
                    return Problem(path.name, previous_end + 1, None,
                                   f"malformed CSV: {len(record)} fields where the header has {width}")
                previous_end = reader.line_num
        except csv.Error as error:
            return Problem(path.name, reader.line_num, None, f"malformed CSV: {error}")
    return Problem(path.name, None, None, "malformed CSV: the file could not be parsed")


class TableValidator:
    """Checks one file's columns against its spec; collects problems with their first line and count."""

    def __init__(self, path: Path, name: str, frame: pd.DataFrame):
        self.path, self.name, self.frame = path, name, frame
        self.header: list[str] = frame.attrs.get("header", list(frame.columns))
        self._pending: list[tuple[str, pd.Series, str]] = []

    def flag(self, column: str, bad: pd.Series, message: str) -> None:
        """Record rows where `bad` is true; `message` may use {value}."""
        if bool(bad.any()):
            self._pending.append((column, bad, message))

    def problems(self) -> list[Problem]:
        firsts = [int(bad.to_numpy().nonzero()[0][0]) for _c, bad, _m in self._pending]
        lines = line_numbers(self.path, firsts) if firsts else {}
        problems = []
        for (column, bad, message), first in zip(self._pending, firsts):
            value = self.frame[column].iloc[first] if column in self.frame else ""
            problems.append(Problem(
                self.path.name, lines.get(first, first + 2), column, message.format(value=value),
                column_number=self.header.index(column) + 1 if column in self.header else None,
                more=int(bad.sum()) - 1,
            ))
        return problems


class KeyIndex:
    """Row positions of identifiers, looked up with Arrow's hash kernel (C++, no conversion of millions of strings
    to Python objects): `get_indexer(values)` gives each value's row, or -1 when it is not an identifier."""

    def __init__(self, ids: pd.Series):
        self._ids = _arrow(ids)

    def get_indexer(self, values: pd.Series) -> np.ndarray:
        found = pc.index_in(_arrow(values), value_set=self._ids)
        return pc.fill_null(found, -1).to_numpy().astype(np.int64, copy=False)


def _arrow(values) -> pa.Array:
    """`values` as one Arrow large_string array: the type pandas' own Arrow strings have, so that a column read by
    the CSV reader is used as it is (a cast to Arrow's string type copied it: 0.26 s for 2.8 M ids)."""
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, from_pandas=True)
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def parse_columns(
    path: Path, name: str, frame: pd.DataFrame, known_ids: dict[str, KeyIndex],
    references: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type every column of `frame` per its spec; returns typed columns and the problems found. The row each
    reference points to (-1: none) goes into `references` under its column, for the transform to reuse."""
    check = TableValidator(path, name, frame)
    typed = pd.DataFrame(index=frame.index)
    for column, kind in FILE_SPECS[name].items():
        raw = frame[column].str.strip()
        empty = raw == ""
        if kind == "id":
            check.flag(column, empty, "empty identifier")
            # the usual case (all distinct) is proven by one hash count; only then are duplicates located
            if len(pc.unique(_arrow(raw))) != len(raw):  # unique: 5x faster than count_distinct here
                check.flag(column, raw.duplicated() & ~empty, "duplicate identifier {value!r}")
            typed[column] = raw
        elif kind == "required":
            check.flag(column, empty, "empty value; this column is required")
            typed[column] = raw
        elif kind == "text":
            typed[column] = raw.where(~empty, None)
        elif kind in ("timestamp", "optional_timestamp"):
            parsed = _fast_timestamps(raw)
            if parsed is None:
                parsed = pd.to_datetime(raw.where(~empty, None), format="ISO8601", utc=True, errors="coerce")
            if kind == "timestamp":
                check.flag(column, empty, "empty timestamp; expected YYYY-MM-DDTHH:MM:SSZ")
            check.flag(column, parsed.isna() & ~empty, "{value!r} is not a timestamp (expected YYYY-MM-DDTHH:MM:SSZ)")
            typed[column] = parsed.dt.tz_convert(None)
        elif kind in ("date", "optional_date"):
            parsed = pd.to_datetime(raw.where(~empty, None), format="%Y-%m-%d", errors="coerce")
            if kind == "date":
                check.flag(column, empty, "empty date; expected YYYY-MM-DD")
            check.flag(column, parsed.isna() & ~empty, "{value!r} is not a date (expected YYYY-MM-DD)")
            typed[column] = parsed
        elif kind == "money":
            number = _fast_numbers(raw)
            if number is None:
                number = pd.to_numeric(raw.where(~empty, None), errors="coerce")
            check.flag(column, empty, "empty amount")
            check.flag(column, number.isna() & ~empty, "{value!r} is not a number")
            check.flag(column, number < 0, "{value!r} is negative; costs must be zero or more")
            typed[column] = number
        elif kind in ("float", "optional_float"):
            number = _fast_numbers(raw)
            if number is None:
                number = pd.to_numeric(raw.where(~empty, None), errors="coerce")
            if kind == "float":
                check.flag(column, empty, "empty value; expected a number")
            check.flag(column, number.isna() & ~empty, "{value!r} is not a number")
            low, high = LAT_LON_RANGE.get(column, (float("-inf"), float("inf")))
            check.flag(column, (number < low) | (number > high), "{value!r} is out of range")
            typed[column] = number
        elif kind.startswith("ref:"):
            target = kind.split(":", 1)[1]
            check.flag(column, empty, f"empty reference to {target}.csv")
            if target in known_ids:
                rows = known_ids[target].get_indexer(raw)
                if references is not None:
                    references[column] = rows
                missing = pd.Series(rows < 0, index=raw.index)
                check.flag(column, missing & ~empty, f"{{value!r}} is not an Id in {target}.csv")
            typed[column] = raw
        else:  # pragma: no cover - a spec typo is a programming error
            raise ValueError(f"unknown column kind {kind}")
    return typed, check.problems()


# Fast paths for columns that are entirely well-formed (the usual case at 100x): Arrow casts the whole column in
# C++. Any empty or malformed value makes them return None, and the column goes through pandas, which locates the
# bad rows for the error message.


def _fast_numbers(raw: pd.Series) -> pd.Series | None:
    try:
        values = pc.cast(_arrow(raw), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if values.null_count:
        return None
    return pd.Series(values.to_numpy(), index=raw.index)


def _fast_timestamps(raw: pd.Series) -> pd.Series | None:
    """`YYYY-MM-DDTHH:MM:SSZ`, the input's format, as UTC; anything else (other ISO 8601 forms included) is left
    to pandas."""
    try:
        values = pc.strptime(_arrow(raw), format="%Y-%m-%dT%H:%M:%SZ", unit="s")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if values.null_count:
        return None
    return pd.Series(values.to_numpy().astype("datetime64[us]"), index=raw.index).dt.tz_localize("UTC")
