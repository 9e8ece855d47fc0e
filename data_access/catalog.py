"""Reference lookups (payers, specialties, procedure names): small, cached per data version.

The raw lookups are private helpers for the query modules; what a viewer may list (for example the specialties
in a dropdown) goes through the scoped functions at the bottom.
"""
from __future__ import annotations

from sqlalchemy import func, select

from data_access.db import url_text
from data_access.definitions import HOSPICE_SPECIALTY
from data_access.schema import (
    mart_client_firsts,
    mart_code_patients,
    organizations,
    payers,
    procedure_codes,
    procedures,
    specialties,
)
from data_access.warehouse import Warehouse, scoped_query
from security.scope import Audience, Scope

_lookups: dict[tuple[str, str, str], object] = {}


def _cached(wh: Warehouse, name: str, build):
    key = (url_text(wh.engine), wh.version().token, name)
    value = _lookups.get(key)
    if value is None:
        if len(_lookups) > 256:
            _lookups.clear()
        value = _lookups[key] = build()
    return value


def payer_keys(wh: Warehouse) -> dict[str, int]:
    """Payer name -> surrogate key."""
    return _cached(wh, "payers", lambda: wh.scalar_map(select(payers.c.name, payers.c.payer_sk)))


def client_marts_used(wh: Warehouse) -> bool:
    """Whether client views over whole months read the client marts: when the data came with them (data loaded by
    an earlier loader version has none until the next load) and they hold fewer rows than the procedures they
    summarise. On small data (the real input: 0.2 M mart rows for 48,000 procedures) the base tables answer as
    fast with fewer statements; at 10x and beyond the marts are the smaller side."""
    def decide() -> bool:
        marts = wh.read(select(func.count()).select_from(mart_client_firsts))[0][0]
        base = wh.read(select(func.count()).select_from(procedures))[0][0]
        return 0 < marts < base

    return _cached(wh, "client_marts_used", decide)


def patient_sets_used(wh: Warehouse) -> bool:
    """Whether "patients who follow the same procedures" reads the patient sets (mart_code_patients): whenever the
    data came with them, at every size. Unlike the sums and first occurrences, a question reads only the sets of
    the codes it asks about, fewer entries than the procedures they stand for even on the real input, where they
    answer faster than SQL over the procedures (median 4.2 ms against 7.5 over the whole range, 2.7 against 3.3
    over a year, in process)."""
    def decide() -> bool:
        return bool(wh.read(select(mart_code_patients.c.code).limit(1)))

    return _cached(wh, "patient_sets_used", decide)


def year_sets_used(wh: Warehouse) -> bool:
    """Whether the patient sets include those per calendar year (client_marts.year_set_month): data loaded by
    loader version 6 has only the monthly and whole-range ones until its next load."""
    def decide() -> bool:
        return bool(wh.read(select(mart_code_patients.c.code).where(mart_code_patients.c.month < 0).limit(1)))

    return _cached(wh, "year_sets_used", decide)


def payer_sk(wh: Warehouse, name: str) -> int:
    """The key of a payer; -1 (matches nothing) when the payer is not in the data: a scope that matches nothing
    returns nothing."""
    return payer_keys(wh).get(name, -1)


def specialty_codes(wh: Warehouse) -> dict[str, tuple[str, ...]]:
    def build():
        result: dict[str, list[str]] = {}
        for code, specialty in wh.read(select(procedure_codes.c.code, procedure_codes.c.specialty)):
            result.setdefault(specialty, []).append(code)
        return {name: tuple(sorted(codes)) for name, codes in result.items()}

    return _cached(wh, "specialty_codes", build)


def code_names(wh: Warehouse) -> dict[str, str]:
    return _cached(wh, "code_names", lambda: wh.scalar_map(select(procedure_codes.c.code, procedure_codes.c.name)))


def all_specialties(wh: Warehouse) -> list[str]:
    return _cached(wh, "specialties", lambda: [row[0] for row in wh.read(
        select(specialties.c.specialty).order_by(specialties.c.specialty))])


def organization_rows(wh: Warehouse) -> list[dict]:
    return _cached(wh, "organizations", lambda: [dict(row._mapping) for row in wh.read(select(
        organizations.c.organization_sk, organizations.c.name, organizations.c.address, organizations.c.city,
        organizations.c.state, organizations.c.zip, organizations.c.lat, organizations.c.lon))])


@scoped_query(Audience.CLIENT, Audience.INTERNAL, cache=False)
def visible_specialties(wh: Warehouse, scope: Scope) -> list[str]:
    """The specialties this viewer may pick: Hospice only when hospice data is visible to them."""
    return [name for name in all_specialties(wh) if scope.hospice_visible or name != HOSPICE_SPECIALTY]


@scoped_query(Audience.CLIENT, Audience.INTERNAL, Audience.NONE, cache=False)
def payer_names(wh: Warehouse, scope: Scope) -> list[str]:
    """Payer names, for building internal scopes (never shown to a client)."""
    if scope.audience is Audience.CLIENT:
        return [scope.payer]
    return sorted(payer_keys(wh))
