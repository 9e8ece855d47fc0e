"""The same warehouse on PostgreSQL: schema, load, bad input, idempotence, and the app's queries."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data_access import schema
from data_access.csv_input import InputError
from data_access.db import get_engine, read_current_version
from data_access.loader import load_input
from tests import fixture_data
from tests.data_access.loaded_rows import assert_procedures_round_trip

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


def test_swapped_in_tables_have_their_keys_and_indexes_under_their_own_names(pg_engine):
    """Shadow tables are filled without any index and indexed afterwards, the primary key last: after the swap
    each table has exactly its schema's indexes and primary key, under the names the next load expects."""
    from sqlalchemy import inspect

    inspector = inspect(pg_engine)
    for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES:
        assert {index["name"] for index in inspector.get_indexes(table.name)} == {
            index.name for index in table.indexes}, table.name
        key = inspector.get_pk_constraint(table.name)
        if table.primary_key.columns:
            assert key["name"] == f"{table.name}_pkey", table.name
            assert key["constrained_columns"] == [column.name for column in table.primary_key.columns]
        else:
            assert not key["constrained_columns"], table.name
        assert not inspector.get_unique_constraints(table.name), table.name
        assert not [name for name in inspector.get_table_names() if name.endswith("__next")]


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


def test_patient_sets_round_trip_and_answer_as_the_base_tables_on_postgres(pg_engine, monkeypatch):
    """The patient sets are bytea on PostgreSQL (COPY reads them as hex): they come back as written, and
    "patients who follow the same procedures" answers the same from them as from the procedures."""
    from datetime import date

    import numpy as np

    from data_access import client_marts
    from data_access import client_reports as R
    from data_access.rls import Window
    from data_access.warehouse import Warehouse
    from security.scope import Audience, Role, Scope

    with pg_engine.connect() as connection:
        stored = connection.execute(select(schema.mart_code_patients)).all()
        pairs = set(connection.execute(select(schema.procedures.c.code, schema.procedures.c.month,
                                              schema.procedures.c.payer_sk, schema.procedures.c.is_hospice,
                                              schema.procedures.c.patient_sk)).all())
    found = {(code, month, payer, hospice, int(patient)) for code, month, payer, hospice, blob in stored
             for patient in np.frombuffer(bytes(blob), dtype="<i4")}
    assert {pair for pair in found if pair[1] > 0} == pairs
    assert {pair for pair in found if pair[1] == client_marts.ALL_MONTHS} == {
        (code, client_marts.ALL_MONTHS, payer, hospice, patient) for code, _month, payer, hospice, patient in pairs}
    assert {pair for pair in found if pair[1] < 0} == {
        (code, client_marts.year_set_month(month // 100), payer, hospice, patient)
        for code, month, payer, hospice, patient in pairs}
    wh = Warehouse(pg_engine)
    monkeypatch.setattr(R, "client_marts_used", lambda wh: True)
    version = wh.version()
    compared = 0
    for window in (Window(version.min_date, version.max_date), Window(date(2020, 1, 1), date(2020, 12, 31)),
                   Window(date(2019, 3, 15), date(2021, 8, 20))):  # whole months and days around them
        assert R._mart_split(wh, window)[0] is not None
        for payer in ("Humana", "UnitedHealthcare"):
            for visible in (True, False):
                scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer,
                              hospice_visible=visible)
                from_sets = R.shared_procedures.__wrapped__(wh, scope, window)
                with monkeypatch.context() as patch:
                    patch.setattr(R, "_mart_split", lambda wh, window: (None, []))
                    from_tables = R.shared_procedures.__wrapped__(wh, scope, window)
                for name in from_tables:
                    assert from_sets[name] == from_tables[name], (payer, visible, window, name)
                compared += int(sum(from_tables["raw_by_code"].column("patients")) > 0)
    assert compared >= 4


def test_copy_streams_across_chunks_and_keeps_every_procedure_on_postgres(pg_engine, fixture_input, monkeypatch):
    """One COPY per table, rendered a few rows at a time (FREEZE: the shadow is emptied in the same transaction)."""
    from data_access import bulk

    monkeypatch.setattr(bulk, "CHUNK_ROWS", 4)
    monkeypatch.setattr(bulk, "COPY_READ_BYTES", 100)
    assert load_input(pg_engine, fixture_input, force=True).counts["procedures"] == 19
    assert_procedures_round_trip(pg_engine, fixture_input)


def test_binary_copy_round_trips_every_column_type_on_postgres(pg_engine):
    """What PostgreSQL reads back from the binary COPY is the frame: NULLs, Unicode, bytes with NULs, integers at
    int4's bounds, dates and timestamps before 2000, microseconds."""
    from datetime import date, datetime

    import numpy as np
    import pandas as pd
    from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, String, Table

    from data_access.bulk import insert_frame

    table = Table("binary_copy_check", MetaData(), Column("n", Integer), Column("x", Float),
                  Column("flag", Boolean), Column("day", Date), Column("at", DateTime), Column("label", String(32)),
                  Column("blob", LargeBinary))
    data = pd.DataFrame({
        "n": [2**31 - 1, -(2**31), 0], "x": [-1.25, np.nan, 1e300], "flag": [True, False, True],
        "day": pd.to_datetime(["1899-12-31", "2000-01-01", "2031-07-04"]),
        "at": pd.to_datetime(["1950-06-01 12:34:56.789012", "2000-01-01 00:00:00.000000",
                              "2024-02-29 23:59:59.999999"]),
        "label": ["Ünïcode \"quoted\", comma", None, ""], "blob": [b"\x00\x01\xff", None, b""],
    })
    with pg_engine.connect() as connection, connection.begin() as transaction:  # rolled back: no table left
        table.create(connection)
        assert insert_frame(connection, table, data) == 3
        rows = connection.execute(select(table).order_by(table.c.day)).all()
        transaction.rollback()
    assert [tuple(row) for row in rows] == [
        (2**31 - 1, -1.25, True, date(1899, 12, 31), datetime(1950, 6, 1, 12, 34, 56, 789012),
         'Ünïcode "quoted", comma', b"\x00\x01\xff"),
        (-(2**31), None, False, date(2000, 1, 1), datetime(2000, 1, 1), None, None),
        (0, 1e300, True, date(2031, 7, 4), datetime(2024, 2, 29, 23, 59, 59, 999999), "", b""),
    ]


@pytest.mark.parametrize("marts", [False, True], ids=["base tables", "marts"])
def test_client_page_answers_read_together_equal_sqlite_on_postgres(pg_engine, app, monkeypatch, marts):
    """The client and team pages' answers, read in one UNION statement (client_reports.together: every column one
    type on PostgreSQL), are those of the same data on SQLite, from the base tables and from the marts."""
    from datetime import date

    from data_access import client_reports as R
    from data_access.rls import Window
    from data_access.warehouse import Warehouse
    from security.scope import Audience, Role, Scope

    monkeypatch.setattr(R, "client_marts_used", lambda wh: marts)
    pg, lite = Warehouse(pg_engine), app.extensions["pag"].warehouse
    queries = (R.kpis, R.hospitals, R.helped_by_month, R.by_encounter_class, R.procedure_summary)
    version = pg.version()
    compared = 0
    for window in (Window(version.min_date, version.max_date), Window(date(2020, 1, 1), date(2020, 12, 31)),
                   Window(date(2019, 3, 15), date(2021, 8, 20))):
        for payer, specialty, visible in (("Humana", None, False), ("UnitedHealthcare", None, True),
                                          ("Humana", "Oncology", False)):
            scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer,
                          specialty=specialty, hospice_visible=visible)
            for query, answer in zip(queries, R.together(pg, scope, window, *queries)):
                expected = query.__wrapped__(lite, scope, window)
                assert answer == expected, (query.__name__, scope, window)
                compared += 1
    assert compared == 3 * 3 * len(queries)


def test_proximity_equals_sqlite_on_postgres(pg_engine, app, monkeypatch):
    """The proximity clusters are those of the same data on SQLite, and so are the clusters' top procedures (the
    fixture's clusters are too small to show them) from the patient sets (bytea on PostgreSQL) and from the
    procedures alike."""
    from types import SimpleNamespace

    import pandas as pd

    from data_access import management as M
    from data_access.catalog import payer_keys
    from data_access.warehouse import Warehouse
    from security import policy
    from security.scope import Role

    pg, lite = Warehouse(pg_engine), app.extensions["pag"].warehouse
    with app.app_context():
        scope = policy.internal_scope(SimpleNamespace(role=Role.SENIOR, username="senior"), payer_keys(lite))
    for radius, size in ((5000, 2), (1500, 3)):
        expected = M.proximity_with_members.__wrapped__(lite, scope, radius_m=radius, min_cluster_size=size)
        answer = M.proximity_with_members.__wrapped__(pg, scope, radius_m=radius, min_cluster_size=size)
        pd.testing.assert_frame_equal(answer["clusters"], expected["clusters"])
        pd.testing.assert_frame_equal(answer["near"], expected["near"])
        top = M._top_procedures(lite, expected["near"])
        assert top and all(top.values())
        assert M._top_procedures(pg, expected["near"]) == top
        with monkeypatch.context() as patch:
            patch.setattr(M, "patient_sets_used", lambda _wh: False)
            assert M._top_procedures(pg, expected["near"]) == top
