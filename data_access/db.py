"""Engines and the current data version.

One engine per process and database URL. SQLite runs in WAL mode so that readers keep serving the previous data while
a load writes the next one; PostgreSQL connections are pinged before use so that the app recovers by itself when the
database comes back after an outage.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from data_access import prepared, schema


class WarehouseUnavailable(RuntimeError):
    """The database does not answer; pages show a clear message and /healthz answers 503."""


_engines: dict[tuple[str, bool], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str, prepared_statements: bool = True) -> Engine:
    """The process-wide engine for `url` (created on first use, after a fork too); on PostgreSQL the report
    queries run as prepared statements unless `prepared_statements` is false (data_access.prepared)."""
    with _engines_lock:
        engine = _engines.get((url, prepared_statements))
        if engine is None:
            engine = _engines[(url, prepared_statements)] = _create_engine(url, prepared_statements)
        return engine


def _forget_inherited_connections() -> None:
    """In a child after fork (gunicorn --preload imports the app once in the master): pooled connections belong to
    the parent. They are dropped from the child's pools without being closed, so that the parent's stay usable and
    the child opens its own on first use."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def dispose_engines() -> None:
    """Drop every pooled connection (used after fork and in tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# 8 MB page cache per SQLite connection: the OS page cache holds the rest, shared by every worker. Measured at 100x
# (bench-20261127T064825Z against bench-20261127T064049Z): 16 MB -> 8 MB took a worker from 257-260 to 240-246 MB
# resident, with first-time client and team answers unchanged within the run-to-run noise.
SQLITE_CACHE_KIB = 8192
# Every PostgreSQL session of the app: the report queries are short aggregations, for which JIT compilation costs
# more (about 30 ms) than it saves; and a client's rows over the whole range sort in memory, not on disk.
POSTGRES_SESSION_OPTIONS = "-c jit=off -c work_mem=32MB"


def _create_engine(url: str, prepared_statements: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The most recently returned connection is reused first (LIFO): a worker keeps one connection's page cache
        # hot instead of filling SQLITE_CACHE_KIB in each pooled connection in turn.
        in_memory = parsed.database in (None, "", ":memory:")  # one connection per thread: no pool to order
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **({} if in_memory else {"pool_use_lifo": True}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_use_lifo=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        connect_args={"connect_timeout": 3, "options": POSTGRES_SESSION_OPTIONS}
        if parsed.get_backend_name() == "postgresql" else {},
    )
    if prepared_statements and parsed.get_backend_name() == "postgresql" and engine.dialect.driver == "psycopg2":
        prepared.enable(engine)
    return engine


def init_schema(engine: Engine) -> None:
    """Create every table that does not exist yet (idempotent)."""
    schema.metadata.create_all(engine)


def is_unavailable(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached (as opposed to a bug in a query)."""
    if isinstance(error, WarehouseUnavailable):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        markers = ("connection", "could not connect", "server closed", "terminating", "timeout", "unable to open",
                   "the database system is", "shutting down", "starting up")
        return any(marker in text for marker in markers)
    return False


def raise_if_unavailable(error: DBAPIError) -> None:
    """Raise WarehouseUnavailable (from `error`) when `error` means the database cannot be reached."""
    if is_unavailable(error):
        raise WarehouseUnavailable(str(error.orig)) from error


@dataclass(frozen=True)
class DataVersion:
    version_id: int
    input_hash: str
    loaded_at: datetime
    source: str
    min_date: date | None
    max_date: date | None

    @property
    def token(self) -> str:
        """What cache keys carry: changes with every load that changed the data."""
        return f"{self.version_id}:{self.input_hash[:16]}"


class SharedConnection:
    """The connection the reads of one session share (Warehouse.session), checked out on the first read: a session
    that reads nothing (an answer served from the cache) costs no checkout."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection = None

    def get(self):
        if self._connection is None:
            try:
                self._connection = self.engine.connect()
            except DBAPIError as error:
                raise_if_unavailable(error)
                raise
        return self._connection

    def failed(self) -> None:
        """After a failed statement: end the transaction, which PostgreSQL has aborted, so that the session's next
        read can run."""
        if self._connection is not None:
            try:
                self._connection.rollback()
            except DBAPIError:
                self.close()

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


_SESSION: contextvars.ContextVar = contextvars.ContextVar("pag_read_session", default=None)


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[None]:
    """Every read on `engine` inside the block shares one connection (SharedConnection). Re-entrant: an inner
    block on the same engine keeps the outer one's."""
    current = _SESSION.get()
    if current is not None and current.engine is engine:
        yield
        return
    shared = SharedConnection(engine)
    token = _SESSION.set(shared)
    try:
        yield
    finally:
        _SESSION.reset(token)
        shared.close()


def shared_connection(engine: Engine) -> SharedConnection | None:
    """The current read session's connection when it is on `engine`, else None."""
    current = _SESSION.get()
    return current if current is not None and current.engine is engine else None


@contextlib.contextmanager
def connection_for(engine: Engine) -> Iterator:
    """The current read session's connection when it is on `engine`, otherwise one for the block: for reads that
    take an engine (the data version, the login's session lookup) and run inside a request's session. A failed
    statement on the shared connection ends its transaction (SharedConnection.failed)."""
    shared = shared_connection(engine)
    if shared is not None:
        try:
            yield shared.get()
        except DBAPIError:
            shared.failed()
            raise
        return
    with engine.connect() as connection:
        yield connection


_url_texts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def url_text(engine: Engine) -> str:
    """`str(engine.url)`, rendered once per engine: the data version and the catalog's lookups key on it, a
    callback asks them a dozen times or more, and rendering a URL costs more than a dictionary lookup."""
    text = _url_texts.get(engine)
    if text is None:
        text = _url_texts[engine] = str(engine.url)
    return text


class _VersionCache:
    """The current data version, re-read at most every `ttl` seconds (every callback needs it for cache keys)."""

    def __init__(self, ttl: float = 2.0):
        self.ttl = ttl
        self._value: dict[str, tuple[float, DataVersion | None]] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine) -> DataVersion | None:
        key = url_text(engine)
        now = time.monotonic()
        with self._lock:
            hit = self._value.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        version = read_current_version(engine)
        with self._lock:
            self._value[key] = (now, version)
        return version

    def clear(self) -> None:
        with self._lock:
            self._value.clear()


version_cache = _VersionCache()


def read_current_version(engine: Engine) -> DataVersion | None:
    table = schema.data_versions
    query = select(
        table.c.version_id, table.c.input_hash, table.c.loaded_at, table.c.source, table.c.min_date, table.c.max_date
    ).where(table.c.is_current.is_(True))
    try:
        with connection_for(engine) as connection:
            row = connection.execute(query).first()
    except DBAPIError as error:  # OperationalError included
        raise_if_unavailable(error)
        raise
    return DataVersion(*row) if row else None
