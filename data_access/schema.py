"""The warehouse schema: one definition for SQLite and PostgreSQL.

Three layers, all rebuilt by every load in one transaction (`data_access.loader`):
- source tables (`payers`, `organizations`, `patients`, `encounters`, `procedures`): every CSV column, typed, plus
  integer surrogate keys and a few derived columns (service date, month, payer of a procedure). The CSV files
  themselves, identified by their hashes in `data_versions`, are the untouched raw layer.
- canonical dimensions: `procedure_codes` (one canonical name and one specialty per SNOMED code) and `specialties`.
- marts: pre-aggregated tables the pages read (`mart_*`).

Application tables (`users`, `user_sessions`, `audit_log`, `data_versions`) are never touched by a load.
Foreign keys are checked by the loader before the load commits, not by the database: declaring them on the fact
tables would double the cost of loading the 100x benchmark data for no added safety.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# ---------------------------------------------------------------- application tables (kept across loads)

users = Table(
    "users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("payer", String(128)),
    Column("specialty", String(64)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    # sha256 of the random token held in the signed session cookie: a stolen database cannot be replayed.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("address", String(64)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("username", String(64), index=True),
    Column("role", String(32)),
    Column("event", String(32), nullable=False, index=True),
    Column("path", String(512)),
    Column("params", JSON),
    Column("rows", Integer),
    Column("status", Integer),
    Column("address", String(64)),
    Column("detail", Text),
)

data_versions = Table(
    "data_versions",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("input_hash", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),  # "real" or "demo"
    Column("files", JSON, nullable=False),  # file name -> {"sha256": ..., "rows": ...}
    Column("min_date", Date),
    Column("max_date", Date),
    Column("is_current", Boolean, nullable=False, default=False),
)

# ---------------------------------------------------------------- source tables

payers = Table(
    "payers",
    metadata,
    Column("payer_sk", Integer, primary_key=True, autoincrement=False),
    Column("payer_id", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("address", Text),
    Column("city", Text),
    Column("state_headquartered", Text),
    Column("zip", Text),
    Column("phone", Text),
    Index("ux_payers_payer_id", "payer_id", unique=True),
)

organizations = Table(
    "organizations",
    metadata,
    Column("organization_sk", Integer, primary_key=True, autoincrement=False),
    Column("organization_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text),
    Column("city", Text),
    Column("state", Text),
    Column("zip", Text),
    Column("lat", Float),
    Column("lon", Float),
    Index("ux_organizations_organization_id", "organization_id", unique=True),
)

patients = Table(
    "patients",
    metadata,
    Column("patient_sk", Integer, primary_key=True, autoincrement=False),
    Column("patient_id", String(64), nullable=False),
    Column("birthdate", Date, nullable=False),
    Column("deathdate", Date),
    Column("prefix", Text),
    Column("first", Text),
    Column("last", Text),
    Column("suffix", Text),
    Column("maiden", Text),
    Column("marital", Text),
    Column("race", Text),
    Column("ethnicity", Text),
    Column("gender", Text),
    Column("birthplace", Text),
    Column("address", Text),
    Column("city", Text),
    Column("state", Text),
    Column("county", Text),
    Column("zip", Text),
    Column("lat", Float),
    Column("lon", Float),
    # derived, for de-identified client extracts (DESIGN §3 rule 2)
    Column("birth_year", Integer, nullable=False),
    Column("zip3", String(3)),
    Index("ux_patients_patient_id", "patient_id", unique=True),
)

encounters = Table(
    "encounters",
    metadata,
    Column("encounter_sk", Integer, primary_key=True, autoincrement=False),
    Column("encounter_id", String(64), nullable=False),
    Column("start_at", DateTime, nullable=False),
    Column("stop_at", DateTime),
    Column("service_date", Date, nullable=False),
    Column("month", Integer, nullable=False),  # yyyymm of service_date
    Column("patient_sk", Integer, nullable=False),
    Column("organization_sk", Integer, nullable=False),
    Column("payer_sk", Integer, nullable=False),
    Column("encounter_class", String(32), nullable=False),
    Column("code", String(32), nullable=False),
    Column("description", Text),
    Column("base_encounter_cost", Float, nullable=False),
    Column("total_claim_cost", Float, nullable=False),
    Column("payer_coverage", Float, nullable=False),
    Column("reason_code", String(32)),
    Column("reason_description", Text),
    Column("is_hospice", Boolean, nullable=False),  # hospice admission encounter (DESIGN §2)
    # Covering indexes: the client views read only these columns, so they never touch the table itself.
    Index("ix_encounters_payer_date", "payer_sk", "service_date", "is_hospice", "patient_sk", "encounter_class",
          "month", "organization_sk", "total_claim_cost", "payer_coverage"),
    Index("ix_encounters_patient", "patient_sk", "payer_sk"),
    # No index on encounter_id: nothing looks an encounter up by its source id, and the loader proves the ids
    # unique before writing. Building one took 4-7 s of a 100x load for no reader.
)

procedures = Table(
    "procedures",
    metadata,
    Column("procedure_sk", Integer, primary_key=True, autoincrement=False),
    Column("start_at", DateTime, nullable=False),
    Column("stop_at", DateTime),
    Column("service_date", Date, nullable=False),
    Column("month", Integer, nullable=False),
    Column("patient_sk", Integer, nullable=False),
    Column("encounter_sk", Integer, nullable=False),
    Column("payer_sk", Integer, nullable=False),  # the encounter's payer, copied so scope filters need no join
    Column("organization_sk", Integer, nullable=False),  # the encounter's organisation, likewise
    Column("encounter_class", String(32), nullable=False),
    Column("code", String(32), nullable=False),
    Column("description", Text, nullable=False),  # raw text as in the CSV; charts use procedure_codes.name
    Column("base_cost", Float, nullable=False),
    Column("reason_code", String(32)),
    Column("reason_description", Text),
    # Hospice data (DESIGN §2): a Hospice-specialty code, or any procedure of a hospice admission encounter.
    Column("is_hospice", Boolean, nullable=False),
    # Covering indexes (see encounters): by client and date, and by code and date for "patients on the same
    # procedures", which reads every payer's rows of a few codes.
    Index("ix_procedures_payer_date", "payer_sk", "service_date", "code", "is_hospice", "patient_sk", "base_cost",
          "encounter_sk", "month", "organization_sk"),
    Index("ix_procedures_code_date", "code", "service_date", "patient_sk", "payer_sk", "is_hospice"),
    Index("ix_procedures_patient", "patient_sk", "code"),
)

# ---------------------------------------------------------------- canonical dimensions

specialties = Table(
    "specialties",
    metadata,
    Column("specialty", String(64), primary_key=True),
    Column("is_hospice", Boolean, nullable=False),
    Column("codes", Integer, nullable=False),
)

procedure_codes = Table(
    "procedure_codes",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("specialty", String(64), nullable=False),
    Column("descriptions", Integer, nullable=False),  # how many raw descriptions map to this code
)

# ---------------------------------------------------------------- marts (built by the loader from the tables above)

mart_patient_payers = Table(
    "mart_patient_payers",
    metadata,
    # One row per patient and payer: who is in contact with whom, without scanning every encounter.
    Column("patient_sk", Integer, primary_key=True, autoincrement=False),
    Column("payer_sk", Integer, primary_key=True, autoincrement=False),
    Column("encounters", Integer, nullable=False),
    Column("first_date", Date, nullable=False),
    Column("last_date", Date, nullable=False),
)

# Client marts (data_access.client_marts): the client and team pages' numbers by calendar month, built by the loader.
# Counts and sums add up across months; distinct counts do not, so they are stored as "first occurrences": one row
# per (group, key, month, previous month the same patient or encounter occurred in the group, or 0) with how many
# there are. The distinct patients of months m1..m2 are the occurrences in m1..m2 whose previous one is before m1.

mart_client_procedures = Table(
    "mart_client_procedures",
    metadata,
    Column("payer_sk", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("is_hospice", Boolean, nullable=False),
    Column("code", String(32), nullable=False),
    Column("organization_sk", Integer, nullable=False),
    Column("procedures", Integer, nullable=False),
    Column("cost", Float, nullable=False),
    Index("ix_mart_client_procedures", "payer_sk", "month", "is_hospice", "code", "organization_sk", "procedures",
          "cost"),
)

mart_client_encounters = Table(
    "mart_client_encounters",
    metadata,
    Column("payer_sk", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("is_hospice", Boolean, nullable=False),
    Column("organization_sk", Integer, nullable=False),
    Column("encounter_class", String(32), nullable=False),
    Column("encounters", Integer, nullable=False),
    Column("claim", Float, nullable=False),
    Column("coverage", Float, nullable=False),
    Index("ix_mart_client_encounters", "payer_sk", "month", "is_hospice", "organization_sk", "encounter_class",
          "encounters", "claim", "coverage"),
)

mart_client_firsts = Table(
    "mart_client_firsts",
    metadata,
    Column("payer_sk", Integer, nullable=False),
    Column("hospice_visible", Boolean, nullable=False),  # false: counted over rows that are not hospice data
    Column("specialty", String(64), nullable=False),  # "*": every specialty
    Column("family", String(16), nullable=False),  # what is counted, by what (data_access.client_marts.FAMILIES)
    Column("key", String(64), nullable=False),  # the group within the family ("*": all)
    Column("month", Integer, nullable=False),
    Column("prev_month", Integer, nullable=False),  # 0: no earlier occurrence
    Column("entities", Integer, nullable=False),
    Column("claim", Float, nullable=False),  # encounter families: the claim cost of those encounters
    Column("coverage", Float, nullable=False),
    Index("ix_mart_client_firsts", "payer_sk", "hospice_visible", "specialty", "family", "month", "prev_month", "key",
          "entities", "claim", "coverage"),
)

# The patients behind "patients who follow the same procedures" (client_reports.shared_procedures), which counts,
# per patient, which of a client's top procedures they had and who paid: a question over every payer's patients that
# does not add up over months. Per (code, month, payer, hospice flag) the set of patients with such a procedure, as
# their sorted patient_sk in little-endian int32: a window of whole months is the union of its months' sets, read in
# one statement and counted with numpy; month -yyyy holds the sets over calendar year yyyy (client_marts.set_runs
# reads a window's whole years from them) and month 0 those over every month (the whole range). 16,103 month sets,
# 4,699 year sets and 931 whole-range sets; 38,233 + 24,454 + 12,475 entries at 1x, 3.8 M + 2.4 M + 1.2 M (29 MB)
# at 100x.
mart_code_patients = Table(
    "mart_code_patients",
    metadata,
    Column("code", String(32), nullable=False),
    Column("month", Integer, nullable=False),
    Column("payer_sk", Integer, nullable=False),
    Column("is_hospice", Boolean, nullable=False),
    Column("patients", LargeBinary, nullable=False),
    Index("ix_mart_code_patients", "code", "month", "is_hospice", "payer_sk"),
)

mart_results = Table(
    "mart_results",
    metadata,
    # Answers of the pages' default views, computed right after a load (`warm-cache`) and shared by every worker:
    # the first visitor after a load does not pay for the heaviest queries. Emptied by the next load.
    Column("cache_key", String(100), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

MART_TABLES = (mart_patient_payers, mart_results)
# The tables the marts are built from and into (see data_access.marts.build).
MART_SOURCES = (encounters, mart_patient_payers)

WAREHOUSE_TABLES = (
    payers,
    organizations,
    patients,
    encounters,
    procedures,
    specialties,
    procedure_codes,
    # computed by the loader from the frames above and written with them (not from the tables, like the marts)
    mart_client_procedures,
    mart_client_encounters,
    mart_client_firsts,
    mart_code_patients,
)
APP_TABLES = (users, user_sessions, audit_log, data_versions)

