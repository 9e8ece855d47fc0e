"""The same warehouse on PostgreSQL: schema, load, bad input, idempotence, and the app's queries."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data_access import schema
from data_access.csv_input import InputError
from data_access.db import get_engine, read_current_version
from data_access.loader import load_input
from tests import fixture_data

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_engine(pg_url, fixture_input):
    engine = get_engine(pg_url)
    load_input(engine, fixture_input)
    return engine


def test_load_counts_on_postgres(pg_engine):
    with pg_engine.connect() as connection:
        counts = {table.name: connection.execute(select(func.count()).select_from(table)).scalar()
                  for table in schema.WAREHOUSE_TABLES}
    assert counts["procedures"] == 19 and counts["encounters"] == 17 and counts["patients"] == 15


def test_reload_is_a_no_op_on_postgres(pg_engine, fixture_input):
    before = read_current_version(pg_engine)
    assert load_input(pg_engine, fixture_input).status == "unchanged"
    assert read_current_version(pg_engine) == before


def test_bad_input_keeps_previous_data_on_postgres(pg_engine, tmp_path):
    data = fixture_data.rows()
    data["procedures"][6][3] = "e99"
    bad = fixture_data.write(tmp_path / "bad", data)
    before = read_current_version(pg_engine)
    with pytest.raises(InputError, match=r"procedures.csv, line 8"):
        load_input(pg_engine, bad)
    assert read_current_version(pg_engine) == before


def test_a_second_load_replaces_the_data_on_postgres(pg_engine, tmp_path, fixture_input):
    data = fixture_data.rows()
    data["procedures"] = data["procedures"][:-1]
    smaller = fixture_data.write(tmp_path / "smaller", data)
    assert load_input(pg_engine, smaller).counts["procedures"] == 18
    assert load_input(pg_engine, fixture_input).counts["procedures"] == 19
    with pg_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema.procedures)).scalar() == 19
