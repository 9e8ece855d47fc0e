"""load-data on the fixture data: counts, canonical names, idempotence, and every kind of bad input."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from data_access import schema
from data_access.csv_input import InputError
from data_access.db import get_engine, read_current_version
from data_access.loader import load_input
from tests import fixture_data
from tests.data_access.loaded_rows import assert_procedures_round_trip, overlap_probe


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table)).scalar()
                for table in schema.WAREHOUSE_TABLES}


@pytest.fixture
def loaded(tmp_path, fixture_input):
    engine = get_engine(f"sqlite:///{tmp_path / 'w.db'}")
    load_input(engine, fixture_input)
    return engine


def test_fixture_counts_match_rows(loaded):
    found = counts(loaded)
    marts = {table.name for table in (schema.mart_client_procedures, schema.mart_client_encounters,
                                      schema.mart_client_firsts, schema.mart_code_patients)}
    assert all(found.pop(name) > 0 for name in marts)  # the client marts (tests/data_access/test_client_marts.py)
    assert found == {
        "payers": 5, "organizations": 1, "patients": 15, "encounters": 17, "procedures": 19,
        "specialties": 15, "procedure_codes": 5,
    }


def test_one_canonical_name_and_specialty_per_code(loaded):
    with loaded.connect() as connection:
        rows = {row.code: row for row in connection.execute(select(schema.procedure_codes))}
    assert rows["171207006"].name == "Depression screening"
    assert rows["171207006"].descriptions == 2
    assert rows["367336001"].name == "Chemotherapy"  # semantic tag dropped
    assert rows["385763009"].specialty == "Hospice"
    assert {row.specialty for row in rows.values()} == {
        "Gastroenterology", "Mental Health & Substance Use", "Hospice", "Oncology", "Nephrology & Dialysis"}


def test_raw_descriptions_are_kept(loaded):
    with loaded.connect() as connection:
        texts = set(connection.execute(select(schema.procedures.c.description)
                                       .where(schema.procedures.c.code == "171207006")).scalars())
    assert texts == {"Depression screening", "Depression screening (procedure)"}


def test_hospice_flags(loaded):
    with loaded.connect() as connection:
        hospice_procedures = connection.execute(select(func.count()).where(schema.procedures.c.is_hospice)).scalar()
        admissions = connection.execute(select(schema.encounters.c.encounter_id)
                                        .where(schema.encounters.c.is_hospice)).scalars().all()
    # four hospice-care rows (e04, e09, e10, e14), plus the depression screening inside hospice admission e09
    assert hospice_procedures == 5
    assert admissions == ["e09"]


def test_loading_the_same_files_again_changes_nothing(loaded, fixture_input):
    before = read_current_version(loaded)
    result = load_input(loaded, fixture_input)
    assert result.status == "unchanged"
    assert read_current_version(loaded) == before
    with loaded.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema.data_versions)).scalar() == 1


def test_changed_files_make_a_new_version(loaded, tmp_path):
    rows = fixture_data.rows()
    rows["patients"] = rows["patients"][:-1]
    rows["encounters"] = [row for row in rows["encounters"] if row[3] != "p15"]
    rows["procedures"] = [row for row in rows["procedures"] if row[2] != "p15"]
    changed = fixture_data.write(tmp_path / "changed", rows)
    result = load_input(loaded, changed)
    assert result.status == "loaded"
    assert read_current_version(loaded).version_id == 2
    assert counts(loaded)["patients"] == 14


def _bad(tmp_path, mutate):
    data = fixture_data.rows()
    mutate(data)
    return fixture_data.write(tmp_path / "bad", data)


BAD_INPUTS = {
    "unparseable date": (
        lambda data: data["encounters"][2].__setitem__(1, "2020-13-45T09:00:00Z"),
        ["encounters.csv", "line 4", "START", "not a timestamp"]),
    "duplicate id": (
        lambda data: data["patients"][3].__setitem__(0, "p01"),
        ["patients.csv", "line 5", "duplicate identifier"]),
    "procedure of an unknown encounter": (
        lambda data: data["procedures"][6].__setitem__(3, "e99"),
        ["procedures.csv", "line 8", "ENCOUNTER", "not an Id in encounters.csv"]),
    "negative cost": (
        lambda data: data["procedures"][0].__setitem__(6, "-5"),
        ["procedures.csv", "line 2", "BASE_COST", "negative"]),
    "unknown procedure code": (
        lambda data: data["procedures"][2].__setitem__(4, "999999"),
        ["procedures.csv", "line 4", "999999", "no specialty"]),
    "patient of another encounter": (
        lambda data: data["procedures"][0].__setitem__(2, "p02"),
        ["procedures.csv", "line 2", "PATIENT", "not the patient of the procedure's encounter"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused_with_file_line_and_column(loaded, tmp_path, case):
    mutate, expected = BAD_INPUTS[case]
    before_version, before_counts = read_current_version(loaded), counts(loaded)
    with pytest.raises(InputError) as error:
        load_input(loaded, _bad(tmp_path, mutate))
    message = str(error.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert read_current_version(loaded) == before_version
    assert counts(loaded) == before_counts


def test_the_first_bad_file_in_load_order_is_named_though_the_next_was_read_ahead(loaded, tmp_path):
    """Each file is read while the one before it is checked: a broken file read ahead is not reported before the
    broken file before it."""
    def break_both(data):
        data["encounters"][2][1] = "2020-13-45T09:00:00Z"
        data["procedures"][0][6] = "-5"

    with pytest.raises(InputError) as error:
        load_input(loaded, _bad(tmp_path, break_both))
    assert "encounters.csv" in str(error.value) and "procedures.csv" not in str(error.value)


def test_missing_column(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    text = (bad / "encounters.csv").read_text(encoding="utf-8-sig")
    (bad / "encounters.csv").write_text(text.replace(",PAYER_COVERAGE", ",COVERAGE"), encoding="utf-8-sig")
    with pytest.raises(InputError) as error:
        load_input(loaded, bad)
    assert "encounters.csv, line 1" in str(error.value)
    assert "'PAYER_COVERAGE' is missing" in str(error.value)


def test_empty_file(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    (bad / "payers.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"payers.csv, line 1: file is empty"):
        load_input(loaded, bad)


def test_header_only_file(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    (bad / "organizations.csv").write_text(fixture_data.HEADERS["organizations"] + "\r\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"organizations.csv, line 2: file has a header but no data rows"):
        load_input(loaded, bad)


def test_wrong_encoding(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    text = (bad / "patients.csv").read_text(encoding="utf-8-sig").replace("Cid503", "Cédric503")
    (bad / "patients.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as error:
        load_input(loaded, bad)
    assert "patients.csv, line 4" in str(error.value)
    assert "not valid UTF-8" in str(error.value)


def test_missing_file(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    (bad / "procedures.csv").unlink()
    with pytest.raises(InputError, match="procedures.csv: file is missing"):
        load_input(loaded, bad)


def test_file_without_bom_is_accepted(tmp_path, fixture_input):
    plain = tmp_path / "plain"
    shutil.copytree(fixture_input, plain)
    for path in plain.glob("*.csv"):
        path.write_text(path.read_text(encoding="utf-8-sig"), encoding="utf-8")
    engine = get_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    assert load_input(engine, plain).counts["procedures"] == 19


def test_cli_refuses_bad_input_and_keeps_previous_data(app, tmp_path):
    bad = _bad(tmp_path, BAD_INPUTS["unparseable date"][0])
    engine = app.extensions["pag"].engine
    before = read_current_version(engine)
    result = app.test_cli_runner().invoke(args=["load-data", "--input", str(bad)])
    assert result.exit_code == 1
    assert "encounters.csv, line 4, column 2 (START)" in result.output
    assert "previous data" in result.output
    assert read_current_version(engine) == before


def test_cli_reports_unchanged(app, fixture_input):
    result = app.test_cli_runner().invoke(args=["load-data", "--input", str(fixture_input)])
    assert result.exit_code == 0, result.output
    assert "Input unchanged" in result.output


def test_malformed_record_is_named_by_line(loaded, tmp_path, fixture_input):
    bad = tmp_path / "bad"
    shutil.copytree(fixture_input, bad)
    lines = (bad / "payers.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] += ",extra"
    (bad / "payers.csv").write_text("\n".join(lines), encoding="utf-8-sig")
    with pytest.raises(InputError, match=r"payers.csv, line 4: malformed CSV: 8 fields where the header has 7"):
        load_input(loaded, bad)


def test_fast_column_parsers_agree_with_pandas():
    """The Arrow fast paths give pandas' values on well-formed columns and step aside on anything else, so that
    the pandas path still names the bad rows."""
    import pandas as pd

    from data_access.csv_input import _fast_numbers, _fast_timestamps

    stamps = pd.Series(["2011-01-02T09:26:36Z", "2020-02-29T23:59:59Z"], dtype="str")
    expected = pd.to_datetime(stamps, format="ISO8601", utc=True)
    assert _fast_timestamps(stamps).tolist() == expected.tolist()
    for odd in ("", "2020-13-45T09:00:00Z", "2020-01-02T03:04:05.5Z", "2020-01-02T03:04:05+01:00", "yesterday"):
        assert _fast_timestamps(pd.Series(["2011-01-02T09:26:36Z", odd], dtype="str")) is None, odd
    amounts = pd.Series(["0", "85.55", "1018.02", "12"], dtype="str")
    assert _fast_numbers(amounts).tolist() == pd.to_numeric(amounts).tolist()
    for odd in ("", "12,50", "abc"):
        assert _fast_numbers(pd.Series(["1.5", odd], dtype="str")) is None, odd


def test_key_index_finds_rows_and_misses(tmp_path):
    import pandas as pd

    from data_access.csv_input import KeyIndex

    index = KeyIndex(pd.Series(["b", "a", "c"], dtype="str"))
    assert index.get_indexer(pd.Series(["a", "c", "zz", "", "b"], dtype="str")).tolist() == [1, 2, -1, -1, 0]


def test_a_warehouse_with_old_unique_constraints_is_rebuilt(tmp_path, fixture_input):
    """Earlier versions declared source ids UNIQUE constraints, which a load must keep up row by row; the next load
    recreates such tables with this version's indexes, which it rebuilds in one pass."""
    from sqlalchemy import inspect

    engine = get_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE encounters (encounter_sk INTEGER PRIMARY KEY, encounter_id VARCHAR(64) NOT NULL UNIQUE)")
    load_input(engine, fixture_input)
    inspector = inspect(engine)
    assert inspector.get_unique_constraints("encounters") == []
    assert {index["name"] for index in inspector.get_indexes("encounters")} == {
        index.name for index in schema.encounters.indexes}
    assert counts(engine)["encounters"] == 17


def test_an_index_the_schema_no_longer_has_is_dropped(loaded, tmp_path):
    """An index of an earlier version (here the unique index on encounter ids, which nothing reads) would be kept
    up row by row during every load: the next load drops it."""
    from sqlalchemy import inspect

    with loaded.begin() as connection:
        connection.exec_driver_sql("CREATE UNIQUE INDEX ux_encounters_encounter_id ON encounters (encounter_id)")
    data = fixture_data.rows()
    data["procedures"] = data["procedures"][:-1]
    assert load_input(loaded, fixture_data.write(tmp_path / "changed", data)).status == "loaded"
    assert {index["name"] for index in inspect(loaded).get_indexes("encounters")} == {
        index.name for index in schema.encounters.indexes}


@pytest.mark.parametrize("bad_line", [2, 40_000, 70_001])
def test_a_bad_byte_is_located_past_the_first_block(tmp_path, bad_line):
    """Lines are counted only when a bad byte is found; the count must still be right across 1 MB blocks."""
    from data_access.csv_input import check_encoding

    lines = [f"row {n:06d},{'x' * 20}" for n in range(1, 80_001)]  # about 2 MB
    data = "\n".join(lines).encode()
    position = sum(len(line) + 1 for line in lines[: bad_line - 1]) + 4
    path = tmp_path / "big.csv"
    path.write_bytes(data[:position] + b"\xe9" + data[position + 1:])
    with pytest.raises(InputError) as error:
        check_encoding(path)
    assert f"big.csv, line {bad_line}" in str(error.value)
    assert "byte 0xe9 at character 5" in str(error.value)


def test_a_file_cut_inside_a_character_is_refused(tmp_path):
    from data_access.csv_input import check_encoding

    path = tmp_path / "cut.csv"
    path.write_bytes(("a,b\n" * 300_000).encode() + "é".encode()[:1])
    with pytest.raises(InputError, match=r"cut.csv, line 300001: file ends in the middle of a UTF-8 character"):
        check_encoding(path)


def test_procedures_are_written_in_index_order_and_keep_their_own_values(loaded, fixture_input):
    assert_procedures_round_trip(loaded, fixture_input)


def test_index_order_sorts_by_every_key_in_turn_text_by_code_point():
    from data_access.loader import _index_order

    payer = np.array([2, 1, 1, 1, 2])
    day = pd.Series(pd.to_datetime(["2020-01-02", "2020-01-02", "2020-01-01", "2020-01-02", "2020-01-01"]))
    code = pd.Series(["b", "B", "a", "A", "é"], dtype="string")
    assert list(_index_order(payer, day, code)) == [2, 3, 1, 4, 0]
    assert list(_index_order(code)) == [3, 1, 2, 0, 4]  # "A" < "B" < "a" < "b" < "é", as SQLite's BINARY


def fixture_input_changed(tmp_path):
    """The fixture without one procedure: other files than the loaded ones, so that the load runs."""
    rows = fixture_data.rows()
    rows["procedures"] = [row for row in rows["procedures"] if row[2] != "p15"]
    return fixture_data.write(tmp_path / "changed", rows)


def test_the_visits_are_written_while_the_procedures_are_still_checked(loaded, tmp_path, monkeypatch):
    written, overlapped = overlap_probe(monkeypatch)
    result = load_input(loaded, fixture_input_changed(tmp_path))
    assert overlapped == [True]
    assert result.counts["procedures"] == 18 and counts(loaded)["procedures"] == 18
    assert written.index("encounters") < written.index("procedures")


@pytest.mark.parametrize("case", ["procedure of an unknown encounter", "patient of another encounter",
                                  "unknown procedure code"])
def test_procedures_refused_after_the_visits_were_written_leave_the_previous_data(loaded, tmp_path, monkeypatch,
                                                                                   case):
    """Refused once the encounters' write has begun: rolled back, the previous data intact, and no writer left
    waiting for the procedures."""
    written, overlapped = overlap_probe(monkeypatch)
    before_version, before_counts = read_current_version(loaded), counts(loaded)
    with pytest.raises(InputError, match="procedures.csv"):
        load_input(loaded, _bad(tmp_path, BAD_INPUTS[case][0]))
    assert overlapped == [True]
    assert "encounters" in written and "procedures" not in written
    assert read_current_version(loaded) == before_version
    assert counts(loaded) == before_counts


def test_a_write_that_fails_stops_the_checks_at_their_next_table(loaded, tmp_path, monkeypatch):
    """The writer's error is the load's; the checks running beside it stop rather than transform the procedures and
    compute the client marts for nothing."""
    from data_access import client_marts, loader

    write_failed, later_steps = threading.Event(), []

    def failing_write(connection, tables, progress):
        write_failed.set()
        raise RuntimeError("disk full")

    transform = loader.transform_visits

    def visits_after_the_failure(typed, references):
        assert write_failed.wait(timeout=10)
        return transform(typed, references)

    monkeypatch.setattr(loader, "_write_in_place", failing_write)
    monkeypatch.setattr(loader, "transform_visits", visits_after_the_failure)
    monkeypatch.setattr(loader, "transform_procedures", lambda *args: later_steps.append("procedures"))
    monkeypatch.setattr(client_marts, "build", lambda *args: later_steps.append("client marts"))
    before = read_current_version(loaded)
    with pytest.raises(RuntimeError, match="disk full"):
        load_input(loaded, fixture_input_changed(tmp_path))
    assert later_steps == []
    assert read_current_version(loaded) == before
