"""Checks of what a load writes: exactly the input's procedures, whatever order and keys the loader gave them; and
when it writes them (the overlap of checks and writes)."""
from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from data_access import schema


def assert_procedures_round_trip(engine, input_dir: Path) -> None:
    """Each procedure of procedures.csv is in the warehouse once, with its own patient, encounter, code, start and
    cost; it carries its encounter's payer, organisation and class; and rows are stored (numbered) in the order of
    the procedures' covering index, which the loader sorts them into."""
    raw = pd.read_csv(input_dir / "procedures.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    expected = sorted(zip(raw["PATIENT"].str.strip(), raw["ENCOUNTER"].str.strip(), raw["CODE"].str.strip(),
                          raw["START"].str.strip(), raw["BASE_COST"].astype(float)))
    p, e, patients = schema.procedures, schema.encounters, schema.patients
    statement = (
        select(patients.c.patient_id, e.c.encounter_id, p.c.code, p.c.start_at, p.c.base_cost,
               (p.c.payer_sk == e.c.payer_sk) & (p.c.organization_sk == e.c.organization_sk)
               & (p.c.encounter_class == e.c.encounter_class) & (p.c.patient_sk == e.c.patient_sk),
               p.c.payer_sk, p.c.service_date, p.c.code)
        .select_from(p.join(e, e.c.encounter_sk == p.c.encounter_sk).join(patients,
                                                                           patients.c.patient_sk == p.c.patient_sk))
        .order_by(p.c.procedure_sk)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    stored = sorted((patient, encounter, code, start.strftime("%Y-%m-%dT%H:%M:%SZ"), cost)
                    for patient, encounter, code, start, cost, *_ in rows)
    assert stored == expected
    assert all(row[5] for row in rows), "a procedure lost its encounter's payer, organisation, class or patient"
    keys = [(payer, day, code) for *_, payer, day, code in rows]
    assert keys == sorted(keys)


def overlap_probe(monkeypatch) -> tuple[list[str], list[bool]]:
    """Record the tables the load writes, in order, and make the procedures' check wait (up to 10 s) for the
    encounters' write to begin, recording whether it did: a load that wrote nothing before every check had passed
    records False."""
    from data_access import loader

    written, overlapped, encounters_begun = [], [], threading.Event()
    write, check = loader.insert_frame, loader._check_file

    def recording(connection, table, frame, **options):
        written.append(table.name.removesuffix(loader.SHADOW))
        if written[-1] == "encounters":
            encounters_begun.set()
        return write(connection, table, frame, **options)

    def late(path, name, *args):
        if name == "procedures":
            overlapped.append(encounters_begun.wait(timeout=10))
        return check(path, name, *args)

    monkeypatch.setattr(loader, "insert_frame", recording)
    monkeypatch.setattr(loader, "_check_file", late)
    return written, overlapped
