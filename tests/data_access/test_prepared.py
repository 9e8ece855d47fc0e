"""Prepared statements on PostgreSQL (data_access.prepared): marked statements are prepared once per connection,
answer exactly as unprepared ones, survive rollbacks and read the new tables after a load swaps them."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, bindparam, literal, select, text, union_all

from data_access.db import get_engine
from data_access.prepared import PREPARED, _prepare
from data_access.warehouse import Warehouse
from tests.sql_recording import statements_during

metadata = MetaData()
visits = Table("prepared_visits", metadata, Column("visit_id", Integer, primary_key=True, autoincrement=False),
               Column("code", String), Column("day", Date), Column("payer", Integer))
PAYER = bindparam("payer", type_=Integer)
START = bindparam("start", type_=Date)
CODES = bindparam("codes", expanding=True, type_=String)


def report():
    """The shape of the report statements: a UNION with constant columns, an expanding IN, dates, a LIKE."""
    v = visits.c
    return union_all(
        select(v.code, literal(0).label("month"), literal(0.0).label("zero"), literal(1).label("part"))
        .where(v.payer == PAYER, v.day >= START, v.code.in_(CODES)),
        select(literal("all"), literal(0), literal(0.0), literal(2)).where(v.code.like("A%"), v.payer == PAYER),
    ).execution_options(**{PREPARED: True})


def values(payer=1, codes=("A1", "B2")) -> dict:
    return {"payer": payer, "start": date(2020, 1, 1), "codes": list(codes)}


@pytest.fixture
def pg(pg_url):
    engine = get_engine(pg_url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(visits.insert(), [
            {"visit_id": 1, "code": "A1", "day": date(2020, 5, 1), "payer": 1},
            {"visit_id": 2, "code": "B2", "day": date(2019, 5, 1), "payer": 1},
            {"visit_id": 3, "code": "B2", "day": date(2021, 5, 1), "payer": 2},
            {"visit_id": 4, "code": "C3", "day": date(2021, 5, 1), "payer": 1},
        ])
    yield Warehouse(engine)
    metadata.drop_all(engine)


pytestmark = pytest.mark.postgres


def sorted_rows(rows) -> list[tuple]:
    return sorted((tuple(row) for row in rows), key=repr)


def test_a_marked_statement_is_prepared_once_per_connection_and_answers_as_unprepared(pg):
    with pg.session():
        first = statements_during(pg, lambda: pg.read(report(), values()))
        again = statements_during(pg, lambda: pg.read(report(), values(payer=2)))
        prepared_rows = [sorted_rows(pg.read(report(), values(payer=payer))) for payer in (1, 2, 3)]
    assert any(statement.startswith("EXECUTE pag_") for statement in first), first
    assert len(again) == 1 and again[0].startswith("EXECUTE pag_"), again
    plain = report().execution_options(**{PREPARED: False})
    assert [sorted_rows(pg.read(plain, values(payer=payer))) for payer in (1, 2, 3)] == prepared_rows
    assert prepared_rows[0] == [("A1", 0, 0.0, 1), ("all", 0, 0.0, 2)]  # constant columns keep their types


def test_each_length_of_an_expanding_list_is_its_own_prepared_statement(pg):
    with pg.session():
        one = pg.read(report(), values(codes=("B2",)))
        three = pg.read(report(), values(codes=("A1", "B2", "C3")))
    assert sorted_rows(one) == [("all", 0, 0.0, 2)]
    assert sorted_rows(three) == [("A1", 0, 0.0, 1), ("C3", 0, 0.0, 1), ("all", 0, 0.0, 2)]


def test_prepared_statements_survive_a_rollback_and_read_the_tables_a_load_swapped_in(pg):
    engine = pg.engine
    with engine.connect() as connection:
        assert len(connection.execute(report(), values()).all()) == 2
        connection.rollback()
        assert len(connection.execute(report(), values()).all()) == 2  # still prepared after the rollback
        # a load: the new table is built beside the old one and renamed into its place
        connection.execute(text("CREATE TABLE prepared_visits_new (LIKE prepared_visits INCLUDING ALL)"))
        connection.execute(text("INSERT INTO prepared_visits_new VALUES (9, 'A1', '2022-01-01', 1), "
                                "(10, 'A1', '2022-02-01', 1)"))
        connection.execute(text("ALTER TABLE prepared_visits RENAME TO prepared_visits_old"))
        connection.execute(text("ALTER TABLE prepared_visits_new RENAME TO prepared_visits"))
        connection.execute(text("DROP TABLE prepared_visits_old"))
        connection.commit()
        executed = []
        from sqlalchemy import event

        def record(_conn, _cursor, statement, *_args):
            executed.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            rows = connection.execute(report(), values()).all()
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert executed and all(statement.startswith("EXECUTE pag_") for statement in executed), executed
    assert sorted_rows(rows) == [("A1", 0, 0.0, 1), ("A1", 0, 0.0, 1), ("all", 0, 0.0, 2), ("all", 0, 0.0, 2)]


def test_statements_that_are_not_marked_or_carry_a_null_run_unprepared(pg):
    plain = select(visits.c.code).where(visits.c.payer == PAYER)
    assert statements_during(pg, lambda: pg.read(plain, {"payer": 1}))[0].startswith("SELECT")
    with_null = select(visits.c.code).where(visits.c.payer == PAYER).execution_options(**{PREPARED: True})
    assert statements_during(pg, lambda: pg.read(with_null, {"payer": None}))[0].startswith("SELECT")


def test_an_engine_without_prepared_statements_runs_marked_statements_as_they_are(pg, pg_url):
    """POSTGRES_PREPARED_STATEMENTS=off (behind a pooler in transaction mode) gives such an engine."""
    plain = Warehouse(get_engine(pg_url, prepared_statements=False))
    statements = statements_during(plain, lambda: plain.read(report(), values()))
    assert len(statements) == 1 and statements[0].startswith("SELECT"), statements
    assert sorted_rows(plain.read(report(), values())) == sorted_rows(pg.read(report(), values()))


def test_prepare_numbers_parameters_in_order_declares_their_types_and_unescapes_percent():
    body, names = _prepare("SELECT %(b)s, x LIKE 'A%%' FROM t WHERE a = %(a)s AND b = %(b)s AND d >= %(d)s",
                           {"a": 1, "b": "x", "d": date(2020, 1, 1)})
    assert names == ["b", "a", "d"]
    assert body == "(text, bigint, date) AS SELECT $1, x LIKE 'A%' FROM t WHERE a = $2 AND b = $1 AND d >= $3"
    assert _prepare("SELECT 1 WHERE a = %(a)s", {"a": None}) is None
    assert _prepare("SELECT 1", {}) == ("AS SELECT 1", [])
