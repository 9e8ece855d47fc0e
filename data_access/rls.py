"""Row-level security: a Scope turned into WHERE clauses, applied to every query before it runs.

Like Superset's `get_sqla_row_level_filters`: the rules are chosen from the scope and ANDed into the statement.
A client scope sees only encounters its payer paid (and their procedures); a viewer without hospice visibility
never sees hospice rows; a specialty narrows procedures to that specialty's codes. An unknown payer or specialty
matches nothing.

The client rules come in two parts, both decided here: the *shape* of the filters (hospice visible or not, a
specialty or not) and their *values* (payer, dates, the specialty's codes), which are required bind parameters.
The query modules build a statement once per shape and run it with each scope's values (`client_rows`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Integer, String, bindparam, false, select

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


# The values a client scope puts into its filters. They are required parameters without a default: a statement
# built once from these clauses (client_reports keeps such templates) cannot run without the values of the scope it
# runs for, so it can never carry another scope's values over.
PAYER = bindparam("rls_payer_sk", type_=Integer)
START = bindparam("rls_start", type_=Date)
END = bindparam("rls_end", type_=Date)
CODES = bindparam("rls_codes", expanding=True, type_=String)
FIRST_MONTH = bindparam("rls_first_month", type_=Integer)
LAST_MONTH = bindparam("rls_last_month", type_=Integer)
SPECIALTY = bindparam("rls_specialty", type_=String)


@dataclass(frozen=True)
class ClientRows:
    """What a client scope may see, in two parts: `shape` decides which filters a statement has (statements are
    built once per shape) and `values` fills their parameters when it runs."""

    hospice_visible: bool
    specialty: str | None
    codes: tuple[str, ...] | None  # the specialty's codes (empty: an unknown specialty, which matches nothing)
    payer_sk: int
    window: Window | None = None
    months: tuple[int, int] | None = None

    @property
    def shape(self) -> tuple:
        mode = "all" if self.specialty is None else "codes" if self.codes else "none"
        return self.hospice_visible, mode

    @property
    def values(self) -> dict:
        values = {PAYER.key: self.payer_sk}
        if self.window is not None:
            values.update({START.key: self.window.start, END.key: self.window.end})
        if self.months is not None:
            values.update({FIRST_MONTH.key: self.months[0], LAST_MONTH.key: self.months[1]})
        if self.codes:
            values[CODES.key] = list(self.codes)
        if self.specialty is not None:
            values[SPECIALTY.key] = self.specialty
        return values


def client_rows(wh: Warehouse, scope: Scope, window: Window | None = None,
                months: tuple[int, int] | None = None) -> ClientRows:
    """The one place a client scope becomes filter values."""
    payer = _client_payer(wh, scope)
    codes = None if scope.specialty is None else specialty_codes(wh).get(scope.specialty, ())
    return ClientRows(scope.hospice_visible, scope.specialty, codes, payer, window, months)


def procedure_clauses(shape: tuple, table=procedures) -> list:
    """Filters for the procedures a client scope may see in its window (parameters: `ClientRows.values`)."""
    hospice_visible, mode = shape
    clauses = [table.c.payer_sk == PAYER, table.c.service_date >= START, table.c.service_date <= END]
    if not hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    if mode != "all":
        clauses.append(table.c.code.in_(CODES) if mode == "codes" else false())
    return clauses


def encounter_clauses(shape: tuple, table=encounters) -> list:
    """Filters for the encounters a client scope may see in its window.

    Without a specialty: the payer's encounters on those days (hospice admissions removed when hidden). With a
    specialty: the payer's encounters that hold at least one visible procedure of that specialty in the window.
    """
    hospice_visible, mode = shape
    if mode != "all":
        return [table.c.encounter_sk.in_(select(procedures.c.encounter_sk).where(*procedure_clauses(shape)))]
    clauses = [table.c.payer_sk == PAYER, table.c.service_date >= START, table.c.service_date <= END]
    if not hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    return clauses


def client_mart_clauses(shape: tuple, table) -> list:
    """The same rules on the client marts (data_access.client_marts), for the calendar months in `values`.

    Procedure counts: the payer's, without hospice rows when hidden, of the specialty's codes. Encounter counts (used
    without a specialty only): the payer's, without hospice admissions when hidden. First occurrences: the payer's,
    counted with the scope's hospice visibility; the caller picks the family and its specialty (`firsts_specialty`).
    """
    hospice_visible, mode = shape
    clauses = [table.c.payer_sk == PAYER, table.c.month >= FIRST_MONTH, table.c.month <= LAST_MONTH]
    if table is mart_client_firsts:
        return clauses + [table.c.hospice_visible.is_(hospice_visible)]
    if table is mart_client_encounters and mode != "all":
        raise ValueError("encounter counts with a specialty come from first occurrences (spec_enc)")
    if not hospice_visible:
        clauses.append(table.c.is_hospice.is_(False))
    if table is mart_client_procedures and mode != "all":
        clauses.append(table.c.code.in_(CODES) if mode == "codes" else false())
    return clauses


def firsts_specialty(scope: Scope, family: str):
    """The specialty a first-occurrence family is counted under for this scope: "*" (every specialty) or the
    scope's specialty (the SPECIALTY parameter)."""
    if family in ("code", "enc", "enc_class"):
        return "*"  # specialty-independent (the code family is narrowed to the specialty's codes by the caller)
    if scope.specialty is None:
        raise ValueError(f"the {family} family is only kept per specialty")
    return SPECIALTY


def internal_hospice_filter(scope: Scope, table) -> list:
    """Internal scopes see hospice data (the wall is for client members); kept explicit for readers."""
    if scope.audience is not Audience.INTERNAL:
        raise PermissionError("internal filters need an internal scope")
    return [] if scope.hospice_visible else [table.c.is_hospice.is_(False)]
