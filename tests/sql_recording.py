"""What SQL a call sends to the database: for tests that prove which tables a view reads, or how it batches."""
from __future__ import annotations

from sqlalchemy import event


def executions_during(wh, call) -> list[tuple[str, object]]:
    """(SQL text, bound parameters) of every statement `call()` runs on the warehouse's engine, in order."""
    seen = []

    def record(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    event.listen(wh.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(wh.engine, "before_cursor_execute", record)
    return seen


def statements_during(wh, call) -> list[str]:
    """The SQL texts of `executions_during`."""
    return [statement for statement, _parameters in executions_during(wh, call)]
