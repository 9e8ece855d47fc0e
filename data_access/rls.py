"""Row-level security: a Scope turned into WHERE clauses, applied to every query before it runs.

Like Superset's `get_sqla_row_level_filters`: the rules are chosen from the scope and ANDed into the statement.
A client scope sees only encounters its payer paid (and their procedures); a viewer without hospice visibility
never sees hospice rows; a specialty narrows procedures to that specialty's codes. An unknown payer or specialty
matches nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import false, select

from data_access.catalog import payer_sk, specialty_codes
from data_access.schema import (
    encounters,
    mart_client_encounters,
    mart_client_firsts,
    mart_client_procedures,
    procedures,
)
from data_access.warehouse import Warehouse
from security.scope import Audience, Scope


@dataclass(frozen=True)
class Window:
    """An inclusive range of service dates (UTC days)."""

    start: date
    end: date

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError("the start date is after the end date")


def _client_payer(wh: Warehouse, scope: Scope) -> int:
    if scope.audience is not Audience.CLIENT:
        raise PermissionError("client row filters need a client scope")
    return payer_sk(wh, scope.payer)


def procedure_filters(wh: Warehouse, scope: Scope, window: Window, table=procedures) -> list:
    """Filters for the procedures a client scope may see in `window`."""
    clauses = [
        table.c.payer_sk == _client_payer(wh, scope),
        table.c.service_date >= window.start,
        table.c.service_date <= window.end,
    ]
    if not scope.hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    if scope.specialty is not None:
        codes = specialty_codes(wh).get(scope.specialty)
        clauses.append(table.c.code.in_(codes) if codes else false())
    return clauses


def encounter_filters(wh: Warehouse, scope: Scope, window: Window, table=encounters) -> list:
    """Filters for the encounters a client scope may see in `window`.

    Without a specialty: the payer's encounters on those days (hospice admissions removed when hidden). With a
    specialty: the payer's encounters that hold at least one visible procedure of that specialty in the window.
    """
    if scope.specialty is not None:
        inner = select(procedures.c.encounter_sk).where(*procedure_filters(wh, scope, window))
        return [table.c.encounter_sk.in_(inner)]
    clauses = [
        table.c.payer_sk == _client_payer(wh, scope),
        table.c.service_date >= window.start,
        table.c.service_date <= window.end,
    ]
    if not scope.hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    return clauses


def client_mart_filters(wh: Warehouse, scope: Scope, months: tuple[int, int], table) -> list:
    """The same rules on the client marts (data_access.client_marts), for the calendar months `months`.

    Procedure counts: the payer's, without hospice rows when hidden, of the specialty's codes. Encounter counts (used
    without a specialty only): the payer's, without hospice admissions when hidden. First occurrences: the payer's,
    counted with the scope's hospice visibility; the caller picks the family and its specialty (`firsts_specialty`).
    """
    first, last = months
    clauses = [table.c.payer_sk == _client_payer(wh, scope), table.c.month >= first, table.c.month <= last]
    if table is mart_client_firsts:
        return clauses + [table.c.hospice_visible.is_(scope.hospice_visible)]
    if table is mart_client_encounters and scope.specialty is not None:
        raise ValueError("encounter counts with a specialty come from first occurrences (spec_enc)")
    if not scope.hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    if table is mart_client_procedures and scope.specialty is not None:
        codes = specialty_codes(wh).get(scope.specialty)
        clauses.append(table.c.code.in_(codes) if codes else false())
    return clauses


def firsts_specialty(scope: Scope, family: str) -> str:
    """The specialty a first-occurrence family is counted under for this scope ("*": every specialty)."""
    if family in ("code", "enc", "enc_class"):
        return "*"  # specialty-independent (the code family is narrowed to the specialty's codes by the caller)
    if scope.specialty is None:
        raise ValueError(f"the {family} family is only kept per specialty")
    return scope.specialty


def internal_hospice_filter(scope: Scope, table) -> list:
    """Internal scopes see hospice data (the wall is for client members); kept explicit for readers."""
    if scope.audience is not Audience.INTERNAL:
        raise PermissionError("internal filters need an internal scope")
    return [] if scope.hospice_visible else [table.c.is_hospice.is_(False)]
