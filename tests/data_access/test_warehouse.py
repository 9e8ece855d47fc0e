"""Warehouse.session: the reads of one answer share one pooled connection; errors keep their meaning."""
from __future__ import annotations

import pytest
from sqlalchemy import event, literal, select, text
from sqlalchemy.exc import DBAPIError

from data_access.db import WarehouseUnavailable, connection_for, get_engine
from data_access.warehouse import Warehouse


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'session.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    wh = Warehouse(get_engine(url))
    checkouts = []
    event.listen(wh.engine, "checkout", lambda dbapi, record, proxy: checkouts.append(id(dbapi)))
    return wh, checkouts


def test_reads_in_a_session_share_one_checkout(warehouse):
    wh, checkouts = warehouse
    with wh.session():
        values = [wh.read(select(literal(n)))[0][0] for n in range(5)]
        with wh.session():  # re-entrant: a query calling another query keeps the same connection
            values.append(wh.read(select(literal(5)))[0][0])
    assert values == [0, 1, 2, 3, 4, 5]
    assert len(checkouts) == 1
    for n in range(3):  # outside a session, each read checks a connection out
        wh.read(select(literal(n)))
    assert len(checkouts) == 4


def test_a_session_is_per_warehouse(warehouse, tmp_path):
    wh, checkouts = warehouse
    other = Warehouse(get_engine(f"sqlite:///{tmp_path / 'other.db'}"))
    with wh.session():
        assert other.read(select(literal(1)))[0][0] == 1  # runs on the other warehouse's engine, not this session
        wh.read(select(literal(2)))
    assert len(checkouts) == 1


def test_a_failed_query_in_a_session_is_raised_and_the_session_ends_cleanly(warehouse):
    wh, checkouts = warehouse
    with pytest.raises(DBAPIError, match="no_such_table"):
        with wh.session():
            wh.read(text("SELECT * FROM no_such_table"))
    # the connection went back to the pool and the next read works
    assert wh.read(select(literal(7)))[0][0] == 7


def test_a_database_that_cannot_be_reached_is_reported_as_unavailable(tmp_path):
    folder = tmp_path / "gone"
    wh = Warehouse(get_engine(f"sqlite:///{folder / 'x.db'}"))  # creates the folder
    folder.rmdir()  # SQLite cannot open a file in a folder that does not exist
    with pytest.raises(WarehouseUnavailable):
        with wh.session():
            wh.read(select(literal(1)))


def test_a_session_that_reads_nothing_checks_nothing_out(warehouse):
    wh, checkouts = warehouse
    with wh.session():
        pass
    assert checkouts == []


def test_a_read_after_a_failed_one_in_the_same_session_still_runs(warehouse):
    """PostgreSQL aborts the transaction of a failed statement: the session ends it, so that the request's next read
    (an answer after a handled error) runs on the same connection."""
    wh, checkouts = warehouse
    with wh.session():
        with pytest.raises(DBAPIError, match="no_such_table"):
            wh.read(text("SELECT * FROM no_such_table"))
        assert wh.read(select(literal(8)))[0][0] == 8
    assert len(checkouts) == 1


def test_connection_for_shares_the_sessions_connection_on_its_engine_only(warehouse, tmp_path):
    wh, checkouts = warehouse
    other = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with wh.session():
        wh.read(select(literal(1)))
        with connection_for(wh.engine) as connection:
            assert connection.execute(select(literal(2))).scalar() == 2
        with connection_for(other) as connection:
            assert connection.execute(select(literal(3))).scalar() == 3
    assert len(checkouts) == 1
    with connection_for(wh.engine) as connection:  # outside a session: a connection of its own
        assert connection.execute(select(literal(4))).scalar() == 4
    assert len(checkouts) == 2
