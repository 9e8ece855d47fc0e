"""The audit log (DESIGN §3 rule 6): logins, failed logins, downloads and refused requests.

Writing must never turn a refusal into a crash: when the database itself is down, the entry goes to the
application log instead, so that nothing is silently dropped.
"""
from __future__ import annotations

import json
import logging

from flask import has_request_context, request
from flask_login import current_user

from data_access.accounts import write_audit
from security.context import app_state, client_address

log = logging.getLogger("pag.audit")

EVENTS = ("login", "login_failed", "login_throttled", "logout", "download", "denied", "session_expired")


def record(event: str, *, status: int | None = None, params: dict | None = None, rows: int | None = None,
           detail: str | None = None, username: str | None = None, role: str | None = None) -> None:
    if has_request_context() and username is None and getattr(current_user, "is_authenticated", False):
        username, role = current_user.username, current_user.role.value
    entry = {
        "event": event, "status": status, "params": _jsonable(params), "rows": rows, "detail": detail,
        "username": username, "role": role,
        "path": request.path[:512] if has_request_context() else None,
        "address": client_address(),
    }
    try:
        write_audit(app_state().engine, **entry)
    except Exception:  # the database is down: keep the entry in the log stream
        log.error("audit entry not stored in the database: %s", json.dumps(entry, default=str))


def _jsonable(params: dict | None):
    if params is None:
        return None
    return json.loads(json.dumps(params, default=str))
