"""`load-data`: validate the five CSVs, build the warehouse, swap it in atomically.

Everything is checked before anything becomes visible. The write is one transaction: readers keep seeing the
previous data (SQLite WAL, PostgreSQL MVCC) until the commit, and a load killed half-way, or refused by a check
that ends after the writing began (the first four files are written while the procedures are still checked),
leaves the previous data in place.
Loading the same files twice changes nothing: the input hash (files, specialty mapping, loader version) is compared
with the current data version first.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Column, Engine, Index, MetaData, Table, delete, insert, inspect, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from data_access import client_marts, marts, schema
from data_access.bulk import insert_frame
from data_access.csv_input import (
    LOAD_ORDER,
    InputError,
    KeyIndex,
    Problem,
    TableValidator,
    file_sha256,
    line_numbers,
    parse_columns,
    read_csv,
)
from data_access.db import SQLITE_CACHE_KIB, init_schema, read_current_version, version_cache
from data_access.definitions import (
    HOSPICE_ADMISSION_CODES,
    HOSPICE_SPECIALTY,
    SPECIALTY_MAP_PATH,
    canonical_name,
    zip3,
)

# Bump when the transformation changes, so that re-running load-data on unchanged files rebuilds the warehouse.
LOADER_VERSION = "7"
# SQLite page cache of the loading connection (KiB): index builds sort in memory instead of spilling to disk.
SQLITE_LOAD_CACHE_KIB = 512 * 1024

Progress = Callable[[str], None]


@dataclass
class LoadResult:
    status: str  # "loaded" or "unchanged"
    version_id: int
    input_hash: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def input_files(input_dir: Path) -> dict[str, Path]:
    return {name: Path(input_dir) / f"{name}.csv" for name in LOAD_ORDER}


def has_input(input_dir: Path) -> bool:
    return all(path.exists() for path in input_files(input_dir).values())


def input_hash(files: dict[str, Path], mapping_path: Path) -> tuple[str, dict[str, dict]]:
    digest = hashlib.sha256(f"loader:{LOADER_VERSION}".encode())
    described = {}
    for name, path in list(files.items()) + [("specialty_mapping", mapping_path)]:
        if not path.exists():
            raise InputError([Problem(path.name, None, None, f"file is missing (expected it in {path.parent})")])
        sha = file_sha256(path)
        digest.update(f"{name}:{sha}".encode())
        described[path.name] = {"sha256": sha}
    return digest.hexdigest(), described


def read_specialty_map(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    for column in ("code", "specialty"):
        if column not in frame:
            problems.append(Problem(path.name, 1, column, "required column is missing"))
    if problems:
        raise InputError(problems)
    frame["code"] = frame["code"].str.strip()
    frame["specialty"] = frame["specialty"].str.strip()
    for index in frame.index[frame["code"].duplicated()]:
        problems.append(Problem(path.name, int(index) + 2, "code", f"code {frame.at[index, 'code']} is mapped twice"))
    for index in frame.index[(frame["code"] == "") | (frame["specialty"] == "")]:
        problems.append(Problem(path.name, int(index) + 2, None, "empty code or specialty"))
    if HOSPICE_SPECIALTY not in set(frame["specialty"]):
        problems.append(Problem(path.name, None, "specialty", f"no code maps to {HOSPICE_SPECIALTY!r}"))
    if problems:
        raise InputError(problems)
    return frame[["code", "specialty"]]


References = dict[tuple[str, str], np.ndarray]  # (file, column) -> row of the referenced record in its file


Checked = Callable[[str, dict[str, pd.DataFrame], References], None]


def read_and_validate(input_dir: Path, mapping_path: Path, progress: Progress, checked: Checked | None = None
                      ) -> tuple[dict[str, pd.DataFrame], References]:
    """Typed source frames keyed by file stem, and every reference resolved to a row (found once, while checking
    it); raises InputError naming file, line and column. `checked(name, typed, references)` is called once each
    file has passed its own checks (those of the procedures end with the checks across files, below)."""
    files = input_files(input_dir)
    known_ids: dict[str, KeyIndex] = {}
    typed: dict[str, pd.DataFrame] = {}
    references: References = {}
    # The next file is read (pyarrow parses it without the GIL) while this one is checked: one file ahead, so that
    # memory holds at most two raw files.
    reader = ThreadPoolExecutor(1, thread_name_prefix="csv-read")
    try:
        upcoming = reader.submit(read_csv, files[LOAD_ORDER[0]], LOAD_ORDER[0])
        for position, name in enumerate(LOAD_ORDER):
            progress(f"reading {name}.csv")
            raw = upcoming.result()
            if position + 1 < len(LOAD_ORDER):
                following = LOAD_ORDER[position + 1]
                upcoming = reader.submit(read_csv, files[following], following)
            _check_file(files[name], name, raw, known_ids, typed, references)
            del raw
            if checked is not None and name != LOAD_ORDER[-1]:
                checked(name, typed, references)
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
    progress("checking references")
    _check_procedure_patients(files["procedures"], typed, references)
    mapping = read_specialty_map(mapping_path)
    unknown = ~typed["procedures"]["CODE"].isin(mapping["code"])
    if unknown.any():
        first = int(unknown.to_numpy().nonzero()[0][0])
        codes = sorted(typed["procedures"].loc[unknown, "CODE"].unique())
        line = line_numbers(files["procedures"], [first]).get(first, first + 2)
        raise InputError([Problem(
            "procedures.csv", line, "CODE",
            f"procedure code(s) {', '.join(codes[:10])} have no specialty in {mapping_path.name}; add them there "
            "(the hospice rule depends on every code having a specialty)",
            column_number=5, more=int(unknown.sum()) - 1,
        )])
    typed["specialty_map"] = mapping
    return typed, references


def _check_file(path: Path, name: str, raw: pd.DataFrame, known_ids: dict[str, KeyIndex],
                typed: dict[str, pd.DataFrame], references: References) -> None:
    """Type and check one raw file into `typed` and `references`; its ids become known to the files after it."""
    rows: dict[str, np.ndarray] = {}
    frame, problems = parse_columns(path, name, raw, known_ids, rows)
    if problems:
        raise InputError(problems)
    if "Id" in frame:
        known_ids[name] = KeyIndex(frame["Id"])
    typed[name] = frame
    references.update({(name, column): found for column, found in rows.items()})


def _check_procedure_patients(path: Path, typed: dict[str, pd.DataFrame], references: References) -> None:
    """A procedure's patient must be its encounter's patient, or scoping by encounter payer would be wrong."""
    procedures = typed["procedures"]
    # compared as patient row numbers: integer arrays, not millions of strings
    owner = references[("encounters", "PATIENT")][references[("procedures", "ENCOUNTER")]]
    mismatch = pd.Series(owner != references[("procedures", "PATIENT")], index=procedures.index)
    if mismatch.any():
        check = TableValidator(path, "procedures", procedures)
        check.flag("PATIENT", mismatch, "patient {value!r} is not the patient of the procedure's encounter")
        raise InputError(check.problems())


# Source frames -> warehouse table frames (surrogate keys, derived columns, canonical dimensions), in two steps: the
# tables of the first four files are final before the procedures are checked (see load_input). Surrogate keys are
# row positions + 1, so a reference's key is the row the validation found for it + 1.
VISIT_TABLES = ("payers", "organizations", "patients", "encounters")
PROCEDURE_TABLES = ("procedures", "procedure_codes", "specialties")
# the order in which the tables a load writes become ready, the largest first among those ready at once (the client
# marts, computed from all of them, come last)
READY_ORDER = tuple(dict.fromkeys(("encounters", *VISIT_TABLES, "procedures", *PROCEDURE_TABLES)))


def transform_visits(typed: dict[str, pd.DataFrame], references: References) -> dict[str, pd.DataFrame]:
    """The VISIT_TABLES, from their four files alone."""
    payers = typed["payers"].reset_index(drop=True)
    organizations = typed["organizations"].reset_index(drop=True)
    patients = typed["patients"].reset_index(drop=True)
    encounters = typed["encounters"].reset_index(drop=True)

    out: dict[str, pd.DataFrame] = {}
    out["payers"] = pd.DataFrame({
        "payer_sk": np.arange(1, len(payers) + 1), "payer_id": payers["Id"], "name": payers["NAME"],
        "address": payers["ADDRESS"], "city": payers["CITY"], "state_headquartered": payers["STATE_HEADQUARTERED"],
        "zip": payers["ZIP"], "phone": payers["PHONE"],
    })
    out["organizations"] = pd.DataFrame({
        "organization_sk": np.arange(1, len(organizations) + 1), "organization_id": organizations["Id"],
        **{name.lower(): organizations[name] for name in ("NAME", "ADDRESS", "CITY", "STATE", "ZIP", "LAT", "LON")},
    })
    patient_columns = ("PREFIX", "FIRST", "LAST", "SUFFIX", "MAIDEN", "MARITAL", "RACE", "ETHNICITY", "GENDER",
                       "BIRTHPLACE", "ADDRESS", "CITY", "STATE", "COUNTY", "ZIP", "LAT", "LON")
    out["patients"] = pd.DataFrame({
        "patient_sk": np.arange(1, len(patients) + 1), "patient_id": patients["Id"],
        "birthdate": patients["BIRTHDATE"], "deathdate": patients["DEATHDATE"],
        **{name.lower(): patients[name] for name in patient_columns},
        "birth_year": patients["BIRTHDATE"].dt.year.astype("int64"),
        "zip3": patients["ZIP"].map(zip3),
    })

    start = encounters["START"]
    encounter_class = encounters["ENCOUNTERCLASS"].to_numpy()
    admission = encounters["CODE"].isin(HOSPICE_ADMISSION_CODES).to_numpy()
    encounter_payer = references[("encounters", "PAYER")] + 1
    encounter_organization = references[("encounters", "ORGANIZATION")] + 1
    out["encounters"] = pd.DataFrame({
        "encounter_sk": np.arange(1, len(encounters) + 1), "encounter_id": encounters["Id"], "start_at": start,
        "stop_at": encounters["STOP"], "service_date": start.dt.normalize(),
        "month": (start.dt.year * 100 + start.dt.month).astype("int64"),
        "patient_sk": references[("encounters", "PATIENT")] + 1,
        "organization_sk": encounter_organization,
        "payer_sk": encounter_payer,
        "encounter_class": encounter_class, "code": encounters["CODE"],
        "description": encounters["DESCRIPTION"], "base_encounter_cost": encounters["BASE_ENCOUNTER_COST"],
        "total_claim_cost": encounters["TOTAL_CLAIM_COST"], "payer_coverage": encounters["PAYER_COVERAGE"],
        "reason_code": encounters["REASONCODE"], "reason_description": encounters["REASONDESCRIPTION"],
        "is_hospice": admission,
    })
    return out


def transform_procedures(typed: dict[str, pd.DataFrame], references: References, encounters: pd.DataFrame
                         ) -> dict[str, pd.DataFrame]:
    """The PROCEDURE_TABLES, once every file and the checks across files have passed; each procedure carries its
    encounter's class, payer, organisation and hospice admission, read from the `encounters` table's frame."""
    procedures = typed["procedures"].reset_index(drop=True)
    mapping = typed["specialty_map"]
    encounter_class, admission, encounter_payer, encounter_organization = (
        encounters[name].to_numpy() for name in ("encounter_class", "is_hospice", "payer_sk", "organization_sk"))

    out: dict[str, pd.DataFrame] = {}
    specialty_of = mapping.set_index("code")["specialty"]
    hospice_codes = set(specialty_of[specialty_of == HOSPICE_SPECIALTY].index)
    pstart = procedures["START"]
    p_service_date = pstart.dt.normalize()
    position = references[("procedures", "ENCOUNTER")]  # the encounter's row of each procedure
    p_payer = encounter_payer[position]
    # Hospice data (DESIGN §2): a Hospice-specialty procedure, or any procedure of a hospice admission.
    p_hospice = procedures["CODE"].isin(hospice_codes).to_numpy() | admission[position]
    p_patient = references[("procedures", "PATIENT")] + 1
    # Procedures are written in the order of their widest index, keys numbered in that order (see _index_order).
    # (month follows from the date and organization_sk from the encounter: the rest of the index's key)
    row = _index_order(p_payer, p_service_date, procedures["CODE"], p_hospice, p_patient, procedures["BASE_COST"],
                       position)
    out["procedures"] = pd.DataFrame({
        "procedure_sk": np.arange(1, len(procedures) + 1), "start_at": _take(pstart, row),
        "stop_at": _take(procedures["STOP"], row), "service_date": _take(p_service_date, row),
        "month": _take(pstart.dt.year * 100 + pstart.dt.month, row).astype("int64"),
        "patient_sk": p_patient[row], "encounter_sk": position[row] + 1, "payer_sk": p_payer[row],
        "organization_sk": encounter_organization[position[row]], "encounter_class": encounter_class[position[row]],
        **{target: _take(procedures[source], row) for source, target in (
            ("CODE", "code"), ("DESCRIPTION", "description"), ("BASE_COST", "base_cost"),
            ("REASONCODE", "reason_code"), ("REASONDESCRIPTION", "reason_description"))},
        "is_hospice": p_hospice[row],
    })

    descriptions = procedures.groupby("CODE")["DESCRIPTION"].unique()
    codes = pd.DataFrame({
        "code": descriptions.index,
        "name": [canonical_name(list(values)) for values in descriptions],
        "specialty": descriptions.index.map(specialty_of),
        "descriptions": [len(values) for values in descriptions],
    })
    out["procedure_codes"] = codes
    counts = mapping.groupby("specialty")["code"].size()
    out["specialties"] = pd.DataFrame({
        "specialty": counts.index, "is_hospice": counts.index == HOSPICE_SPECIALTY, "codes": counts.to_numpy(),
    })
    return out


def _index_order(*keys) -> np.ndarray:
    """The row order that sorts `keys` (first key first), text in code-point order (SQLite's BINARY, PostgreSQL's
    C and C.UTF-8 collations).

    A table written in the order of its widest index builds that index from presorted rows (at 100x the real data
    the procedures' covering index took 3.4-4.9 s instead of 7.5-10.3 s, on SQLite and PostgreSQL), and a client's
    rows lie together on disk. Any order is correct; this one is only faster."""
    columns = []
    for key in keys:
        if pd.api.types.is_datetime64_any_dtype(key):
            columns.append(np.asarray(key, dtype="datetime64[us]").view(np.int64))
        elif pd.api.types.is_numeric_dtype(key) or pd.api.types.is_bool_dtype(key):
            columns.append(np.asarray(key))
        else:  # text: its rank among the distinct values
            columns.append(pd.factorize(key, sort=True)[0])
    return np.lexsort(columns[::-1])


def _take(values, rows: np.ndarray):
    """`values` (a column or an array) in the order `rows`, a column keeping its dtype."""
    if isinstance(values, pd.Series):
        return values.take(rows).reset_index(drop=True)
    return np.asarray(values)[rows]


def load_input(
    engine: Engine,
    input_dir: Path,
    *,
    source: str = "real",
    mapping_path: Path = SPECIALTY_MAP_PATH,
    progress: Progress | None = None,
    force: bool = False,
) -> LoadResult:
    """Validate and load `input_dir` into the warehouse at `engine`; see the module docstring."""
    progress = progress or (lambda _label: None)
    began = time.perf_counter()
    init_schema(engine)
    files = input_files(input_dir)
    digest, described = input_hash(files, mapping_path)
    current = read_current_version(engine)
    if current and current.input_hash == digest and not force:
        return LoadResult("unchanged", current.version_id, digest, seconds=time.perf_counter() - began)

    # The checks and the writes overlap: the tables of the first four files are written while the procedures are
    # still read, checked and transformed (on another thread), and the client marts are computed while the base
    # tables are written. Nothing is visible before the commit, and input refused half-way is rolled back.
    tables = _Frames(table.name for table in schema.WAREHOUSE_TABLES)
    front = ThreadPoolExecutor(1, thread_name_prefix="load-prepare")
    prepared = front.submit(_prepare, Path(input_dir), mapping_path, progress, tables, described)
    try:
        counts, version_id = _write(engine, tables, lambda: _version_row(prepared.result(), digest, source),
                                    progress)
    except BaseException:
        tables.abandon()  # the checks stop at their next table rather than finish for nothing
        raise
    finally:
        front.shutdown(wait=True, cancel_futures=True)
    if engine.dialect.name == "postgresql":
        _vacuum(engine)
    version_cache.clear()
    return LoadResult("loaded", version_id, digest, counts, time.perf_counter() - began)


def _prepare(input_dir: Path, mapping_path: Path, progress: Progress, tables: _Frames, described: dict) -> dict:
    """Check and transform the input, handing each table to `tables` as soon as it is final; returns what the
    data version records of it. A failure is handed to every table still expected, so no writer waits for ever."""
    try:
        def checked(name: str, typed: dict[str, pd.DataFrame], references: References) -> None:
            if name == VISIT_TABLES[-1]:
                progress("transforming encounters")
                tables.provide(transform_visits(typed, references))

        typed, references = read_and_validate(input_dir, mapping_path, progress, checked)
        progress("transforming procedures")
        tables.provide(transform_procedures(typed, references, tables["encounters"]))
        base = {name: tables[name] for name in VISIT_TABLES + PROCEDURE_TABLES}
        progress("computing client marts")
        tables.provide(client_marts.build(base))
    except BaseException as error:
        tables.fail(error)
        raise
    for name in LOAD_ORDER:
        described[f"{name}.csv"]["rows"] = len(typed[name])
    dates, pdates = base["encounters"]["service_date"], base["procedures"]["service_date"]
    return {"files": described, "min_date": min(dates.min(), pdates.min()).date(),
            "max_date": max(dates.max(), pdates.max()).date()}


def _version_row(facts: dict, digest: str, source: str) -> dict:
    return {"input_hash": digest, "source": source, **facts}


def _write(engine: Engine, tables: Mapping[str, pd.DataFrame], version_row: Callable[[], dict],
           progress: Progress) -> tuple[dict[str, int], int]:
    """Replace the warehouse's data with `tables` and record the new data version (`version_row()`, asked for once
    every table is written), in one transaction. Returns the row counts and the new version's id."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One load at a time; readers are never blocked (MVCC).
            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        else:
            # Take the write lock now rather than at the first write; WAL readers carry on meanwhile. Index builds
            # may sort on two threads; ANALYZE samples instead of reading every row.
            connection.exec_driver_sql("PRAGMA threads=2")
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        progress("replacing previous data")
        _sync_schema(connection)
        if connection.dialect.name == "postgresql":
            counts = _write_shadow_and_swap(connection, tables, progress)
        else:
            counts = _write_in_place(connection, tables, progress)
        progress("recording data version")
        connection.execute(update(schema.data_versions).values(is_current=False))
        result = connection.execute(insert(schema.data_versions).values(
            **version_row(), loaded_at=datetime.now(UTC), is_current=True))
        version_id = int(result.inserted_primary_key[0])
        connection.execute(text("ANALYZE"))
        if connection.dialect.name == "sqlite":
            # the pooled connection goes back to its usual page cache
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return counts, version_id


class LoadAbandoned(Exception):
    """Raised in the checks once the write they feed has failed (the write's own error is what the load raises)."""


class _Frames(Mapping):
    """The frames a load writes, by table name, each available once computed (see load_input): a writer asking for
    a table that is not ready waits for it, and gets the error if the input was refused."""

    def __init__(self, names):
        self._futures: dict[str, Future] = {name: Future() for name in names}
        self._abandoned = False

    def provide(self, frames: Mapping[str, pd.DataFrame]) -> None:
        if self._abandoned:
            raise LoadAbandoned("the write failed; the load stops")
        for name, frame in frames.items():
            self._futures[name].set_result(frame)

    def abandon(self) -> None:
        """The write failed: nobody will ask for the tables still expected."""
        self._abandoned = True

    def fail(self, error: BaseException) -> None:
        for future in self._futures.values():
            if not future.done():
                future.set_exception(error)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._futures[name].result()

    def __iter__(self):
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)


def _write_in_place(connection, tables: dict[str, pd.DataFrame], progress: Progress) -> dict[str, int]:
    """SQLite: empty the tables, bulk insert without indexes, build the indexes, build the marts. WAL readers keep
    reading the previous data until the commit."""
    counts: dict[str, int] = {}
    dropped = []
    for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES:
        for index in table.indexes:
            connection.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
            dropped.append(index)
    for table in reversed(schema.WAREHOUSE_TABLES + schema.MART_TABLES):
        connection.execute(delete(table))
    for table in schema.WAREHOUSE_TABLES:
        progress(f"writing {table.name}")
        counts[table.name] = insert_frame(connection, table, tables[table.name])
    for index in dropped:
        progress(f"indexing {index.table.name}")
        connection.execute(CreateIndex(index))
    progress("building marts")
    counts.update(marts.build(connection, {table.name: table for table in schema.MART_SOURCES}))
    return counts


SHADOW = "__next"
SHADOW_WRITERS = 2  # PostgreSQL connections filling and indexing shadow tables at once (the machine kind has 2 cores)
# Sort memory of one index build (PostgreSQL's maintenance_work_mem), so up to SHADOW_WRITERS times this on the
# database server during a load. At 100x the real data the procedures' covering index sorts 575 MB: in memory it
# took 2.8 s from presorted rows, 4.5 s with 256 MB (an external merge).
POSTGRES_INDEX_SORT_MEMORY = "1GB"


def _write_shadow_and_swap(connection, tables: dict[str, pd.DataFrame], progress: Progress) -> dict[str, int]:
    """PostgreSQL: COPY into fresh shadow tables without any index, index them, build the marts from them, then
    swap names. Readers see the old tables (MVCC) until the load's commit and wait only for the renames at its very
    end; dropping indexes of the live tables instead would lock readers out for the whole load.

    The source tables are independent until the marts, so the shadows are filled and indexed on connections of
    their own, SHADOW_WRITERS jobs at a time, and committed under their shadow names (nothing reads those): each
    table as soon as the input's checks hand it over, its COPY then its indexes (the primary key's too: kept up
    row by row during a COPY it cost as much as the COPY itself, 11 of 22 s for the procedures at 100x), each
    index a job of its own, so that both connections keep busy. The marts and the swap run in the load's
    transaction. A load that fails (refused input included) leaves the shadows behind; the next load drops them
    first."""
    engine = connection.engine
    shadow_metadata = MetaData()
    shadows = {table.name: _shadow_table(table, shadow_metadata, key=table in schema.MART_TABLES)
               for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES}
    with engine.begin() as ddl:
        for shadow in shadows.values():
            ddl.exec_driver_sql(f'DROP TABLE IF EXISTS "{shadow.name}"')
            ddl.execute(CreateTable(shadow))
    # Tables in the order they become ready (see load_input), each COPY followed by its indexes: a job waiting for
    # its table waits for the input's checks, and an index job for its table's COPY, submitted before it.
    ready_order = sorted(schema.WAREHOUSE_TABLES,
                         key=lambda table: READY_ORDER.index(table.name) if table.name in READY_ORDER else 99)
    progress(f"writing {', '.join(table.name for table in ready_order)} ({SHADOW_WRITERS} at a time), each then "
             "indexed")
    with ThreadPoolExecutor(SHADOW_WRITERS, thread_name_prefix="load") as pool:
        copies, indexes = {}, []
        for table in ready_order:
            copies[table.name] = pool.submit(_copy_shadow, engine, shadows[table.name], tables, table.name)
            indexes += [pool.submit(_index_shadow, engine, copies[table.name], statement)
                        for statement in _index_statements(table, shadows[table.name])]
        counts = {name: job.result() for name, job in copies.items()}
        for job in indexes:
            job.result()
    for table in (table for table in schema.WAREHOUSE_TABLES if table.primary_key.columns):
        shadow = shadows[table.name]
        connection.exec_driver_sql(
            f'ALTER TABLE "{shadow.name}" ADD CONSTRAINT "{shadow.name}_pkey" PRIMARY KEY USING INDEX '
            f'"{shadow.name}_pkey"')
    for table in schema.MART_TABLES:
        for index in shadows[table.name].indexes:
            connection.execute(CreateIndex(index))
    progress("building marts")
    counts.update(marts.build(connection, {table.name: shadows[table.name] for table in schema.MART_SOURCES}))
    progress("swapping in the new data")
    for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES:
        shadow = shadows[table.name]
        connection.exec_driver_sql(f'DROP TABLE "{table.name}"')
        connection.exec_driver_sql(f'ALTER TABLE "{shadow.name}" RENAME TO "{table.name}"')
        for index in shadow.indexes:
            connection.exec_driver_sql(f'ALTER INDEX "{index.name}" RENAME TO "{index.name[: -len(SHADOW)]}"')
        _rename_constraints(connection, table.name, shadow.name)
    return counts


def _shadow_table(table, metadata: MetaData, key: bool):
    """`table` as <name>__next, its indexes renamed likewise; without its primary key unless `key` (the key of a
    table filled by COPY is built afterwards, see _index_statements)."""
    if key:
        shadow = table.to_metadata(metadata, name=table.name + SHADOW)
    else:
        shadow = Table(table.name + SHADOW, metadata,
                       *[Column(column.name, column.type, nullable=column.nullable) for column in table.columns])
        for index in table.indexes:
            Index(index.name, *[shadow.c[column.name] for column in index.columns], unique=index.unique)
    for index in shadow.indexes:
        index.name = index.name + SHADOW
    return shadow


def _index_statements(table, shadow) -> list[str]:
    """The DDL indexing a COPY-filled shadow: its indexes widest first, then its primary key's unique index if it
    has a key (the index becomes the key just before the swap). Longest builds first, so that the two connections
    end together: at 100x the procedures' took 8.6, 7.7, 3.5 and 2.2 s in that order."""
    dialect = postgresql.dialect()
    widest_first = sorted(shadow.indexes, key=lambda index: -len(index.columns))
    statements = [str(CreateIndex(index).compile(dialect=dialect)) for index in widest_first]
    if table.primary_key.columns:
        key = ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
        statements.append(f'CREATE UNIQUE INDEX "{shadow.name}_pkey" ON "{shadow.name}" ({key})')
    return statements


def _copy_shadow(engine: Engine, shadow, tables: Mapping[str, pd.DataFrame], name: str) -> int:
    """COPY one shadow table, on a connection of its own (see _write_shadow_and_swap).

    Emptied in the COPY's own transaction so that COPY may FREEZE the rows: written with their hint bits set and
    their pages all-visible, they need no second write when the index builds first read them, nor VACUUM's pass."""
    frame = tables[name]  # a client mart may still be computing: wait before opening a transaction
    with engine.begin() as connection:
        connection.exec_driver_sql(f'TRUNCATE "{shadow.name}"')
        return insert_frame(connection, shadow, frame, freeze=True)


def _index_shadow(engine: Engine, copy: Future, statement: str) -> None:
    """Build one index of a shadow table once its COPY is committed, on a connection of its own. Index builds of
    one table may run at once (CREATE INDEX takes a lock that does not conflict with itself)."""
    copy.result()
    with engine.begin() as connection:
        # index builds sort in memory rather than in temporary files
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_SORT_MEMORY}'")
        connection.exec_driver_sql(statement)


def _vacuum(engine: Engine) -> None:
    """PostgreSQL: mark the new tables' pages all-visible (VACUUM, which cannot run inside the load's transaction).
    Until then every index-only scan must visit the table too, so the planner reads whole tables instead of the
    covering indexes: at 100x a client's whole-range summary took 360 ms before and 95 ms after (autovacuum would
    get there too, but minutes later). The tables filled by COPY FREEZE are all-visible already (PostgreSQL 14 and
    later) and cost VACUUM next to nothing; the marts, filled by INSERT ... SELECT, are not."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES:
            connection.exec_driver_sql(f'VACUUM "{table.name}"')


def _rename_constraints(connection, table_name: str, shadow_name: str) -> None:
    """Give the primary-key and unique constraints of a swapped-in table their usual names (table_pkey, ...), so
    that the next load finds the schema it expects."""
    rows = connection.execute(text(
        "SELECT conname FROM pg_constraint WHERE conrelid = CAST(:table AS regclass)"), {"table": table_name}).all()
    for (name,) in rows:
        if name.startswith(shadow_name):
            connection.exec_driver_sql(
                f'ALTER TABLE "{table_name}" RENAME CONSTRAINT "{name}" TO "{table_name}{name[len(shadow_name):]}"')


def _sync_schema(connection) -> None:
    """Bring the warehouse tables to this version's schema inside the load's transaction: a table whose columns
    changed is recreated (its data is replaced by this load anyway), a missing index is created, an index the
    schema no longer has is dropped."""
    inspector = inspect(connection)
    for table in schema.WAREHOUSE_TABLES + schema.MART_TABLES:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        # Unique constraints of earlier versions are unique indexes now (rebuilt around a load, not kept up row by
        # row); a table that still has one is recreated like a table whose columns changed.
        stale_unique = inspector.get_unique_constraints(table.name)
        if columns != {column.name for column in table.columns} or stale_unique:
            table.drop(connection, checkfirst=True)
            table.create(connection)
            continue
        present = {index["name"] for index in inspector.get_indexes(table.name)
                   if not index.get("duplicates_constraint")}
        for index in table.indexes:
            if index.name not in present:
                index.create(connection)
        # an index this version no longer has would be kept up, row by row, during every load
        for name in present - {index.name for index in table.indexes}:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
