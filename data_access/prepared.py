"""Server-side prepared statements on PostgreSQL for the statements the report pages run again and again.

A client or team answer is one UNION of several aggregations (client_reports.together). PostgreSQL plans such a
statement afresh on every execution, and at 1x planning costs more than running it (measured on the team page's
statement: planning 2.3 ms, execution 1.0 ms). A prepared statement is parsed once per connection; after five
executions PostgreSQL keeps a generic plan when it is not costlier than the custom ones (plan_cache_mode=auto),
so repeated questions skip planning. psycopg2 has no protocol-level prepare, so this is done in SQL: the first
execution of a marked statement on a connection runs `PREPARE`, every execution runs `EXECUTE` with the same
bound values.

Statements opt in with the execution option `PREPARED` (client_reports marks its statement templates); nothing
else changes. Prepared statements outlive transactions (a rollback keeps them) and are re-analysed by PostgreSQL
when a load swaps the tables they read, so they never read an old table.
"""
from __future__ import annotations

import itertools
import re
from datetime import date, datetime

from sqlalchemy import Engine, event

PREPARED = "pag_prepared"  # the execution option that marks a statement
_NAMES = "pag_prepared_statements"  # per DBAPI connection (Connection.info): SQL text -> (name, parameter names)
_PARAMETER = re.compile(r"%%|%\((\w+)\)s")  # an escaped % or a pyformat parameter
_COUNTER = itertools.count(1)


# Python type -> the PostgreSQL type declared for it, in order: bool before int, datetime before date (each is a
# subclass of the next).
_PG_TYPES = ((bool, "boolean"), (int, "bigint"), (float, "double precision"), (str, "text"),
             (datetime, "timestamp"), (date, "date"))


def _pg_type(value) -> str | None:
    """The type PostgreSQL gives a parameter, from the value of its first execution (None: a value this module
    does not type, such as NULL; the statement then runs unprepared). Declared rather than inferred because a
    parameter in a select list (a constant column of a UNION) would otherwise be text."""
    return next((name for kind, name in _PG_TYPES if isinstance(value, kind)), None)


def _prepare(statement: str, parameters: dict) -> tuple[str, list[str]] | None:
    """(PREPARE body with $n placeholders, parameter names in $n order) for a pyformat statement, or None when a
    parameter's type cannot be declared."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return "%"  # PREPARE runs without parameters: no escapes
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    body = _PARAMETER.sub(number, statement)
    types = [_pg_type(parameters[name]) for name in names]
    if None in types:
        return None
    return (f"({', '.join(types)}) AS {body}" if names else f"AS {body}"), names


def enable(engine: Engine) -> None:
    """Run statements marked PREPARED through per-connection prepared statements (PostgreSQL with psycopg2)."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _execute_prepared(conn, cursor, statement, parameters, context, executemany):
        if executemany or context is None or not context.execution_options.get(PREPARED):
            return statement, parameters
        if parameters is not None and not isinstance(parameters, dict):
            return statement, parameters  # only pyformat (psycopg2's paramstyle) is rewritten
        parameters = parameters or {}
        prepared = conn.info.setdefault(_NAMES, {})
        known = prepared.get(statement)
        if known is None:
            found = _prepare(statement, parameters)
            if found is None:
                return statement, parameters
            body, names = found
            name = f"pag_{next(_COUNTER)}"
            cursor.execute(f"PREPARE {name} {body}")
            known = prepared[statement] = (name, names)
        name, names = known
        arguments = ", ".join(f"%({parameter})s" for parameter in names)
        return (f"EXECUTE {name} ({arguments})" if names else f"EXECUTE {name}"), parameters
