"""Accounts, server-side sessions and the audit log: the application tables (never touched by a data load).

The rules about them (who may log in, how long a session lives, who reads the audit log) live in `security/`;
this module only stores and fetches rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, delete, func, insert, select, update

from data_access.db import connection_for
from data_access.schema import audit_log, user_sessions, users


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class AccountRow:
    user_id: int
    username: str
    password_hash: str
    role: str
    payer: str | None
    specialty: str | None
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


def _account(row) -> AccountRow:
    values = dict(row._mapping)
    values["created_at"] = _utc(values["created_at"])
    values["password_changed_at"] = _utc(values["password_changed_at"])
    return AccountRow(**{key: values[key] for key in AccountRow.__dataclass_fields__})


def create_account(engine: Engine, username: str, password_hash: str, role: str, payer: str | None,
                   specialty: str | None) -> int:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        result = connection.execute(insert(users).values(
            username=username, password_hash=password_hash, role=role, payer=payer, specialty=specialty,
            disabled=False, created_at=now, password_changed_at=now,
        ))
        return int(result.inserted_primary_key[0])


def find_account(engine: Engine, username: str) -> AccountRow | None:
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.username == username)).first()
    return _account(row) if row else None


def list_accounts(engine: Engine) -> list[AccountRow]:
    with engine.connect() as connection:
        return [_account(row) for row in connection.execute(select(users).order_by(users.c.username))]


def set_disabled(engine: Engine, username: str, disabled: bool = True) -> bool:
    with engine.begin() as connection:
        result = connection.execute(update(users).where(users.c.username == username).values(disabled=disabled))
        if disabled and result.rowcount:
            _revoke_user_sessions(connection, username)
        return bool(result.rowcount)


def set_password_hash(engine: Engine, username: str, password_hash: str) -> bool:
    with engine.begin() as connection:
        result = connection.execute(update(users).where(users.c.username == username).values(
            password_hash=password_hash, password_changed_at=datetime.now(UTC)))
        if result.rowcount:
            _revoke_user_sessions(connection, username)  # a new password ends every open session
        return bool(result.rowcount)


def _revoke_user_sessions(connection, username: str) -> None:
    user_id = select(users.c.user_id).where(users.c.username == username).scalar_subquery()
    connection.execute(update(user_sessions).where(
        and_(user_sessions.c.user_id == user_id, user_sessions.c.revoked_at.is_(None))
    ).values(revoked_at=datetime.now(UTC)))


# ---------------------------------------------------------------- sessions


def open_session(engine: Engine, token_hash: str, user_id: int, address: str | None) -> None:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(user_sessions).values(
            token_hash=token_hash, user_id=user_id, created_at=now, last_seen_at=now, address=address))


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    created_at: datetime
    last_seen_at: datetime
    revoked: bool
    account: AccountRow


def find_session(engine: Engine, token_hash: str) -> SessionRow | None:
    query = (
        select(user_sessions.c.created_at, user_sessions.c.last_seen_at, user_sessions.c.revoked_at, users)
        .join(users, users.c.user_id == user_sessions.c.user_id)
        .where(user_sessions.c.token_hash == token_hash)
    )
    with connection_for(engine) as connection:  # in a request, its shared connection (db.read_session)
        row = connection.execute(query).first()
    if row is None:
        return None
    return SessionRow(token_hash, _utc(row.created_at), _utc(row.last_seen_at), row.revoked_at is not None,
                      _account(row))


def touch_session(engine: Engine, token_hash: str, when: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(user_sessions).where(user_sessions.c.token_hash == token_hash)
                           .values(last_seen_at=when))


def revoke_session(engine: Engine, token_hash: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(user_sessions).where(user_sessions.c.token_hash == token_hash)
                           .values(revoked_at=datetime.now(UTC)))


def purge_sessions(engine: Engine, older_than: timedelta) -> int:
    cutoff = datetime.now(UTC) - older_than
    with engine.begin() as connection:
        return connection.execute(delete(user_sessions).where(user_sessions.c.last_seen_at < cutoff)).rowcount


# ---------------------------------------------------------------- audit log


def write_audit(engine: Engine, **values) -> None:
    values.setdefault("at", datetime.now(UTC))
    with engine.begin() as connection:
        connection.execute(insert(audit_log).values(**values))


AUDIT_COLUMNS = ("at", "username", "role", "event", "path", "params", "rows", "status", "address", "detail")


def read_audit(engine: Engine, *, username: str | None = None, event: str | None = None,
               start: datetime | None = None, end: datetime | None = None, limit: int = 5000) -> pd.DataFrame:
    """Audit rows, newest first. Reading it is allowed to admin and senior management (checked by the caller's
    policy before this runs)."""
    query = select(*[audit_log.c[name] for name in AUDIT_COLUMNS]).order_by(audit_log.c.audit_id.desc())
    if username:
        query = query.where(audit_log.c.username == username)
    if event:
        query = query.where(audit_log.c.event == event)
    if start:
        query = query.where(audit_log.c.at >= start)
    if end:
        query = query.where(audit_log.c.at < end)
    with engine.connect() as connection:
        rows = connection.execute(query.limit(limit)).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(AUDIT_COLUMNS))


def audit_facets(engine: Engine) -> tuple[list[str], list[str]]:
    """Distinct usernames and events, for the audit page's filters."""
    with engine.connect() as connection:
        names = connection.execute(select(func.distinct(audit_log.c.username)).where(
            audit_log.c.username.is_not(None)).order_by(audit_log.c.username)).scalars().all()
        events = connection.execute(
            select(func.distinct(audit_log.c.event)).order_by(audit_log.c.event)).scalars().all()
    return list(names), list(events)
