"""Engines after fork: gunicorn --preload imports the app (and may open connections) in the master, then forks."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from data_access.db import get_engine, url_text


def _query_in_child(url: str) -> int:
    """Fork; the child runs a query on the inherited engine and exits 0 on success. Returns the child's status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            with get_engine(url).connect() as connection:
                code = 0 if connection.execute(text("SELECT 41 + 1")).scalar() == 42 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("engine_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_forked_worker_opens_its_own_connections(engine_kind, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'fork.db'}" if engine_kind == "sqlite" else request.getfixturevalue("pg_url")
    engine = get_engine(url)
    with engine.connect() as connection:  # an idle pooled connection when the process forks
        connection.execute(text("SELECT 1"))
    with engine.connect() as held:  # and one in use
        if engine_kind == "postgres":
            held_pid = held.execute(text("SELECT pg_backend_pid()")).scalar()
        for _ in range(2):
            assert _query_in_child(url) == 0
        # the children neither closed nor used the parent's connections
        assert held.execute(text("SELECT 2")).scalar() == 2
        if engine_kind == "postgres":
            assert held.execute(text("SELECT pg_backend_pid()")).scalar() == held_pid
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 3")).scalar() == 3


def test_url_text_is_the_engines_url_rendered_once_per_engine(tmp_path):
    first = get_engine(f"sqlite:///{tmp_path / 'a.db'}")
    second = get_engine(f"sqlite:///{tmp_path / 'b.db'}")
    assert url_text(first) == str(first.url) and url_text(second) == str(second.url)
    assert url_text(first) is url_text(first)  # kept, not rendered again
    assert url_text(first) != url_text(second)
