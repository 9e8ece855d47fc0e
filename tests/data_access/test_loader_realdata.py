"""load-data on the real input (MAT_INPUT_DIR): every row arrives, every code gets one name and one specialty."""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from data_access import schema
from data_access.db import read_current_version
from data_access.loader import load_input
from tests.data_access.loaded_rows import assert_procedures_round_trip

pytestmark = pytest.mark.realdata


def csv_rows(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_table_counts_equal_csv_rows(real_app, real_input):
    engine = real_app.extensions["pag"].engine
    with engine.connect() as connection:
        for name in ("patients", "encounters", "procedures", "payers", "organizations"):
            table = schema.metadata.tables[name]
            count = connection.execute(select(func.count()).select_from(table)).scalar()
            assert count == len(csv_rows(real_input / f"{name}.csv")), name


def test_every_code_has_one_canonical_name_and_one_specialty(real_app, real_input):
    engine = real_app.extensions["pag"].engine
    codes_in_csv = {row["CODE"] for row in csv_rows(real_input / "procedures.csv")}
    with engine.connect() as connection:
        rows = connection.execute(select(schema.procedure_codes)).all()
    assert {row.code for row in rows} == codes_in_csv
    assert len(rows) == len({row.code for row in rows})
    assert all(row.name and row.specialty for row in rows)
    by_code = {row.code: row for row in rows}
    assert by_code["385763009"].specialty == "Hospice"
    assert by_code["171207006"].name == "Depression screening"


def test_costs_and_hospice_rows_survive_the_load(real_app, real_input):
    procedures = csv_rows(real_input / "procedures.csv")
    engine = real_app.extensions["pag"].engine
    with engine.connect() as connection:
        total = connection.execute(select(func.sum(schema.procedures.c.base_cost))).scalar()
        hospice_care = connection.execute(select(func.count()).where(schema.procedures.c.code == "385763009")).scalar()
    assert total == pytest.approx(sum(float(row["BASE_COST"]) for row in procedures))
    assert hospice_care == sum(row["CODE"] == "385763009" for row in procedures)


def test_loading_twice_changes_nothing(real_app, real_input):
    engine = real_app.extensions["pag"].engine
    before = read_current_version(engine)
    assert load_input(engine, real_input).status == "unchanged"
    assert read_current_version(engine) == before


def test_every_procedure_keeps_its_encounter_patient_and_values(real_app, real_input):
    assert_procedures_round_trip(real_app.extensions["pag"].engine, real_input)
