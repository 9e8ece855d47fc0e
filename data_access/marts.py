"""Marts: pre-aggregated tables built from the source tables by the loader, inside the load's transaction."""
from __future__ import annotations

from sqlalchemy import Connection, Table, func, insert, select


def build(connection: Connection, tables: dict[str, Table]) -> dict[str, int]:
    """Fill the marts from the source tables. `tables` maps each name of MART_SOURCES to the table to use (the
    live tables, or the shadow tables of a PostgreSQL load). Returns row counts."""
    e, target = tables["encounters"], tables["mart_patient_payers"]
    patient_payers = (
        select(e.c.patient_sk, e.c.payer_sk, func.count(), func.min(e.c.service_date), func.max(e.c.service_date))
        .group_by(e.c.patient_sk, e.c.payer_sk)
    )
    connection.execute(insert(target).from_select(
        ["patient_sk", "payer_sk", "encounters", "first_date", "last_date"], patient_payers))
    # mart_results is filled after the load, by warm-cache
    return {"mart_patient_payers": connection.execute(select(func.count()).select_from(target)).scalar()}
