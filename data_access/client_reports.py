"""Client views (DESIGN §2, §3): one client payer's procedures, members and the patients on the same procedures.

Every function takes a client Scope; the row filters of `rls` are applied before SQL runs and aggregation happens in
SQL. Figures and extracts are built from these same results, so a chart and its download always agree.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import (
    Date,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
    union,
    union_all,
)

from data_access import client_marts
from data_access.catalog import (
    client_marts_used,
    code_names,
    organization_rows,
    patient_sets_used,
    payer_keys,
    year_sets_used,
)
from data_access.definitions import NO_INSURANCE
from data_access.prepared import PREPARED
from data_access.rls import (
    END,
    PAYER,
    START,
    ClientRows,
    Window,
    client_mart_clauses,
    client_rows,
    encounter_clauses,
    firsts_specialty,
    procedure_clauses,
)
from data_access.schema import (
    encounters,
    mart_client_encounters,
    mart_client_firsts,
    mart_client_procedures,
    mart_code_patients,
    patients,
    procedures,
)
from data_access.table import Table
from data_access.warehouse import Warehouse, scoped_query
from security.scope import Audience, Scope
from security.suppression import group_positions, suppression_mask

SUMMARY_COLUMNS = ["procedure_code", "procedure", "procedures_performed", "total_cost", "average_cost", "patients"]
GROUPS = ("this_client", "other_insurers", "no_insurance")


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


# The chart views answer Tables (plain columns; data_access.table): a first-time client or team answer has three to
# five of them, and as DataFrames building, pickling and reading them cost more than the SQL. Extracts take
# `.frame()`; the kinds below give each column its frame type.
SUMMARY_KINDS = dict(zip(SUMMARY_COLUMNS, ("text", "text", "int", "float", "float", "int")))
SHARED_KINDS = {"rank": "int", "procedure_code": "text", "procedure": "text", "patient_group": "text",
                "patients": "int"}
DISTRIBUTION_KINDS = {"procedures_had": "int", "patient_group": "text", "patients": "int"}


# Statements built once per (question, filter shape) and run with each scope's values (`ClientRows.values`):
# building a SQLAlchemy statement costs more than running it on a month of data, and the filter values are required
# parameters, so a statement can only run with the values of the scope it runs for.
_TEMPLATES: dict[tuple, object] = {}


def _run(wh: Warehouse, rows: ClientRows, question: tuple, build: Callable[[tuple], object], **extra) -> list:
    """Rows of the statement `build(shape)` for `question`, built on first use, run with the values of `rows`
    (and `extra` values for parameters of the question itself, never for the filters)."""
    key = (question, rows.shape)
    statement = _TEMPLATES.get(key)
    if statement is None:  # marked for a prepared statement per connection on PostgreSQL (data_access.prepared)
        statement = _TEMPLATES.setdefault(key, build(rows.shape).execution_options(**{PREPARED: True}))
    return wh.read(statement, {**extra, **rows.values})


def _together(*queries):
    """The queries as one statement (UNION ALL, each row tagged with its query's position): one round trip
    instead of one per query. The queries must have the same number of columns."""
    return union_all(*[query.add_columns(literal(position).label("query_position"))
                       for position, query in enumerate(queries)])


def _split(rows, parts: int) -> list[list[tuple]]:
    """The rows of a `_together` statement, per query."""
    results: list[list[tuple]] = [[] for _ in range(parts)]
    for row in rows:
        results[row[-1]].append(tuple(row[:-1]))
    return results


# ---------------------------------------------------------------- client marts (whole calendar months)


def _mart_months(wh: Warehouse, window: Window) -> tuple[int, int] | None:
    """The window as (first, last) yyyymm when the client marts can answer it exactly, else None."""
    if not client_marts_used(wh):
        return None
    version = wh.version()
    return client_marts.month_span(window.start, window.end, version.min_date, version.max_date)


def _mart_split(wh: Warehouse, window: Window) -> tuple[tuple[int, int] | None, list]:
    """The window's whole months as (first, last) yyyymm and the runs of days around them
    (client_marts.month_split) when the patient sets are in use (catalog.patient_sets_used); (None, [])
    otherwise."""
    if not patient_sets_used(wh):
        return None, []
    version = wh.version()
    return client_marts.month_split(window.start, window.end, version.min_date, version.max_date)


class _Reads:
    """The reads of one or more answers over one window, run as one statement (one round trip, one plan): queue
    them, `run()`, then pick each result by the number its method returned.

    Windows of whole calendar months read the client marts when they are in use (`marts`: `firsts`, `procedures`,
    `encounters`), other windows the base tables (`base`). Every query has the columns (key, month, a, b, c, d) so
    that they UNION; the statement is built once per list of queries and filter shape, and runs with the values of
    `rls.client_rows` for this scope."""

    INTEGER_KEYS = ("organization_sk", "month")
    PREVIOUS_BEFORE = bindparam("mart_prev_before", type_=Integer)  # the window's first month, for first occurrences

    def __init__(self, wh: Warehouse, scope: Scope, window: Window):
        self.wh, self.scope, self.window = wh, scope, window
        self.months = _mart_months(wh, window)
        self.marts = self.months is not None
        self.parts: list[tuple] = []
        self.results: list[dict] = []

    def _add(self, part: tuple) -> int:
        if (part[0] == "base") == self.marts:
            raise ValueError(f"{part} cannot be read {'from the marts' if self.marts else 'from the base tables'}")
        self.parts.append(part)
        return len(self.parts) - 1

    def firsts(self, family: str, per_month: bool = False) -> int:
        """Distinct count per key over the whole window, key -> (entities, claim, coverage); with `per_month`
        the distinct count within each month, (key, month) -> (entities, claim, coverage)."""
        return self._add(("firsts", family, firsts_specialty(self.scope, family), per_month))

    def procedures(self, by: str | None = None) -> int:
        """Procedure count and total cost per value of column `by` (None: one total under None)."""
        return self._add(("procedures", by))

    def encounters(self, by: str | None = None) -> int:
        """Encounter count, claim cost and payer coverage (no specialty) per value of column `by`."""
        return self._add(("encounters", by))

    def base(self, name: str) -> int:
        """A query of `_BASE_QUERIES` on the base tables: key -> (a, b, c, d), floats (the caller knows which are
        counts); key None for a query without one."""
        return self._add(("base", name))

    @classmethod
    def _query(cls, part: tuple, shape: tuple):
        if part[0] == "base":
            return _BASE_QUERIES[part[1]][0](shape)
        if part[0] == "firsts":
            _kind, family, specialty, per_month = part  # specialty: "*" or the rls.SPECIALTY parameter
            f = mart_client_firsts
            clauses = [*client_mart_clauses(shape, f), f.c.family == family, f.c.specialty == specialty]
            sums = (func.sum(f.c.entities), func.sum(f.c.claim), func.sum(f.c.coverage), literal(0.0))
            if per_month:
                return select(f.c.key, f.c.month, *sums).where(*clauses).group_by(f.c.key, f.c.month)
            return (select(f.c.key, literal(0), *sums).where(*clauses, f.c.prev_month < cls.PREVIOUS_BEFORE)
                    .group_by(f.c.key))
        kind, by = part
        table = mart_client_procedures if kind == "procedures" else mart_client_encounters
        measures = ((table.c.procedures, table.c.cost) if kind == "procedures"
                    else (table.c.encounters, table.c.claim, table.c.coverage))
        key = cast(table.c[by], String) if by else literal("")
        sums = [func.sum(column) for column in measures] + [literal(0.0)] * (4 - len(measures))
        query = select(key, literal(0), *sums).where(*client_mart_clauses(shape, table))
        return query.group_by(table.c[by]) if by else query

    def run(self) -> _Reads:
        if self.marts:
            rows, extra = client_rows(self.wh, self.scope, months=self.months), {
                self.PREVIOUS_BEFORE.key: self.months[0]}
        else:
            rows, extra = client_rows(self.wh, self.scope, self.window), {}
        parts = tuple(self.parts)
        found = _run(self.wh, rows, ("reads", parts), lambda shape: _together(*[self._query(part, shape)
                                                                                for part in parts]), **extra)
        for part_rows, part in zip(_split(found, len(parts)), parts):
            self.results.append(self._result(part, part_rows))
        return self

    def _result(self, part: tuple, part_rows: list[tuple]) -> dict:
        kind, result = part[0], {}
        if kind == "base":
            key_type = _BASE_QUERIES[part[1]][1]
            for key, _month, a, b, c, d in part_rows:
                result[None if key_type is None else key_type(key)] = (a, b, c, d)
            return result
        for key, month, a, b, c, _d in part_rows:
            if a is None:  # a total over no rows
                continue
            if kind == "firsts":
                result[(key, int(month)) if part[3] else key] = (int(a), float(b), float(c))
                continue
            by = part[1]
            key = None if by is None else int(key) if by in self.INTEGER_KEYS else key
            result[key] = (int(a), float(b)) if kind == "procedures" else (int(a), float(b), float(c))
        return result

    def __getitem__(self, number: int) -> dict:
        return self.results[number]


def _base_columns(key, *measures) -> list:
    """A base-table query's columns in the layout of `_Reads`: the key as text ('' without one), 0 for the month,
    the measures as floats (PostgreSQL gives each column of a UNION one type; counts stay exact in a double) padded
    to four."""
    return [cast(key, String) if key is not None else literal(""), literal(0),
            *[cast(measure, Float) for measure in measures], *[literal(0.0)] * (4 - len(measures))]


def _encounter_measures(e=encounters) -> tuple:
    return (func.count(), func.count(distinct(e.c.patient_sk)), func.coalesce(func.sum(e.c.total_claim_cost), 0.0),
            func.coalesce(func.sum(e.c.payer_coverage), 0.0))


def _procedure_measures(p=procedures) -> tuple:
    return func.count(), func.count(distinct(p.c.patient_sk)), func.coalesce(func.sum(p.c.base_cost), 0.0)


def _base_kpis_procedures(shape: tuple):
    return select(*_base_columns(None, *_procedure_measures())).where(*procedure_clauses(shape))


def _base_kpis_encounters(shape: tuple):
    return select(*_base_columns(None, *_encounter_measures())).where(*encounter_clauses(shape))


def _base_grouped(table, measures, clauses):
    """The builder of a base-table query grouped by one of `table`'s columns: `by(column)(shape)`."""
    def by(column: str):
        def query(shape: tuple):
            return (select(*_base_columns(table.c[column], *measures())).where(*clauses(shape))
                    .group_by(table.c[column]))
        return query
    return by


_base_encounters_by = _base_grouped(encounters, _encounter_measures, encounter_clauses)
_base_procedures_by = _base_grouped(procedures, _procedure_measures, procedure_clauses)


def _base_encounters_by_month(shape: tuple):
    """With a specialty, an encounter counts in each month in which it holds a procedure of the specialty (the
    month of the procedure, as the KPIs count it), not in the month it started."""
    if shape[1] == "all":
        return _base_encounters_by("month")(shape)
    e, p = encounters, procedures
    held = select(p.c.month, p.c.encounter_sk).where(*procedure_clauses(shape)).distinct().subquery()
    return (select(*_base_columns(held.c.month, *_encounter_measures()))
            .select_from(held.join(e, e.c.encounter_sk == held.c.encounter_sk)).group_by(held.c.month))


# The base-table queries of the client views: name -> (shape -> statement, the Python type of its key or None).
# Measures (a, b, c, d): encounters, patients, claim cost, payer coverage for the encounter queries; procedures,
# patients, cost (and 0) for the procedure queries.
_BASE_QUERIES: dict[str, tuple[Callable, type | None]] = {
    "kpis_procedures": (_base_kpis_procedures, None),
    "kpis_encounters": (_base_kpis_encounters, None),
    "encounters_by_organization": (_base_encounters_by("organization_sk"), int),
    "procedures_by_organization": (_base_procedures_by("organization_sk"), int),
    "encounters_by_month": (_base_encounters_by_month, int),
    "procedures_by_month": (_base_procedures_by("month"), int),
    "encounters_by_class": (_base_encounters_by("encounter_class"), str),
    "procedures_by_code": (_base_procedures_by("code"), str),
}


def _alone(wh: Warehouse, scope: Scope, window: Window, plan: Callable[[_Reads], Callable]):
    """One answer: its reads queued by `plan`, run, and finished."""
    reads = _Reads(wh, scope, window)
    finish = plan(reads)
    reads.run()
    return finish()


def together(wh: Warehouse, scope: Scope, window: Window, *queries: Callable) -> list:
    """The answers of several window queries of this module (`kpis`, `procedure_summary`, `hospitals`,
    `helped_by_month`, `by_encounter_class`) for one scope and window, in order, their reads in one statement:
    a page answer then costs one round trip and one query plan instead of one per query. Each query checks the
    scope and is cached and stored under its own key exactly as when called alone (`scoped_query`)."""
    answers, missing = [], []
    for number, query in enumerate(queries):
        key, hit = query.lookup(wh, scope, window)
        answers.append(hit)
        if hit is None:
            missing.append((number, query, key))
    if not missing:
        return answers
    with wh.session():
        reads = _Reads(wh, scope, window)
        finishing = [(number, query, key, _PLANS[query.__name__](reads))
                     for number, query, key in missing]
        reads.run()
        for number, query, key, finish in finishing:
            answers[number] = finish()
            query.store(wh, key, answers[number])
    return answers


def _encounter_reads(reads: _Reads, by: str) -> Callable[[], dict]:
    """Queue what the scope's encounters per organisation ("org", key "*" for all) or per month ("month") need;
    the returned function gives key -> (encounters, patients, claim, coverage) once the reads have run. With a
    specialty the encounters are those holding a procedure of it (each once) and no patient count is kept (the
    callers count members by procedures then)."""
    if reads.scope.specialty is not None:
        found = reads.firsts("spec_enc", per_month=(by == "month"))
        return lambda: {key: (n, 0, claim, coverage) for key, (n, claim, coverage) in reads[found].items()}
    if by == "month":
        sums, people = reads.encounters("month"), reads.firsts("enc", per_month=True)
        return lambda: {("*", month): (n, reads[people].get(("*", month), (0,))[0], claim, coverage)
                        for month, (n, claim, coverage) in reads[sums].items()}
    sums, people = reads.encounters("organization_sk"), reads.firsts("enc")

    def by_organisation() -> dict:
        found = reads[people]
        result = {str(org): (n, found.get(str(org), (0,))[0], claim, coverage)
                  for org, (n, claim, coverage) in reads[sums].items()}
        totals = [sum(values[i] for values in reads[sums].values()) for i in range(3)]
        result["*"] = (totals[0], found.get("*", (0,))[0], totals[1], totals[2])
        return result

    return by_organisation


def _kpis_plan(reads: _Reads) -> Callable[[], dict]:
    scope = reads.scope
    if reads.marts:
        totals, encounters_of = reads.procedures(), _encounter_reads(reads, "org")
        people = reads.firsts("proc") if scope.specialty else None
        return lambda: _kpi_record(scope, (
            *reads[totals].get(None, (0, 0.0)), reads[people].get("*", (0,))[0] if people is not None else 0),
            encounters_of().get("*", (0, 0, 0.0, 0.0)))
    proc, enc = reads.base("kpis_procedures"), reads.base("kpis_encounters")

    def finish() -> dict:
        count, patients, cost, _ = reads[proc][None]
        return _kpi_record(scope, (count, cost, patients), reads[enc][None])

    return finish


@scoped_query(Audience.CLIENT)
def kpis(wh: Warehouse, scope: Scope, window: Window) -> dict:
    """Members, encounters, procedures and total procedure cost of the scope in the window."""
    return _alone(wh, scope, window, _kpis_plan)


def _kpi_record(scope: Scope, proc: tuple, enc: tuple) -> dict:
    """proc: (count, cost, patients); enc: (count, patients, claim cost, payer coverage)."""
    # With a specialty, "members" are the members who had a procedure of it; otherwise those with an encounter.
    members = proc[2] if scope.specialty else enc[1]
    return {
        "members": int(members),
        "encounters": int(enc[0]),
        "procedures": int(proc[0]),
        "total_cost": round(float(proc[1]), 2),
        "claim_cost": round(float(enc[2]), 2),
        "payer_coverage": round(float(enc[3]), 2),
    }


def _summary_plan(reads: _Reads) -> Callable[[], Table]:
    if reads.marts:
        sums, people = reads.procedures("code"), reads.firsts("code")
        return lambda: _summary_table(reads.wh, [(code, n, cost, reads[people].get(code, (0,))[0])
                                                 for code, (n, cost) in reads[sums].items()])
    found = reads.base("procedures_by_code")
    return lambda: _summary_table(reads.wh, [(code, n, cost, patients)
                                             for code, (n, patients, cost, _) in reads[found].items()])


@scoped_query(Audience.CLIENT)
def procedure_summary(wh: Warehouse, scope: Scope, window: Window) -> Table:
    """One row per procedure code (SUMMARY_COLUMNS), sorted by total cost (highest first, then code)."""
    return _alone(wh, scope, window, _summary_plan)


def _summary_table(wh: Warehouse, rows: list[tuple]) -> Table:
    """rows: (code, procedures, cost, patients)."""
    names = code_names(wh)
    codes = [row[0] for row in rows]
    performed = [int(row[1]) for row in rows]
    totals = np.round(np.array([float(row[2] or 0.0) for row in rows], dtype=float), 2)
    averages = np.round(totals / np.maximum(performed, 1), 2)
    patients = [int(row[3]) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: (-totals[i], codes[i]))
    return Table({
        "procedure_code": [codes[i] for i in order],
        "procedure": [names.get(codes[i]) for i in order],
        "procedures_performed": [performed[i] for i in order],
        "total_cost": totals[order],
        "average_cost": averages[order],
        "patients": [patients[i] for i in order],
    }, SUMMARY_KINDS)


def frequency_order(summary: Table) -> list[int]:
    """Positions of the summary's rows by how often each procedure was performed (most first, then code)."""
    return frequency_order_of(summary.column("procedures_performed"), summary.column("procedure_code"))


def frequency_order_of(performed: list[int], codes: list[str]) -> list[int]:
    """`frequency_order` from the summary's columns as lists (figure builders read each column once)."""
    return sorted(range(len(codes)), key=lambda i: (-performed[i], codes[i]))


def _client_date(value, precision: str) -> str:
    text = str(value)[:10]
    return text[:4] if precision == "year" else text


@scoped_query(Audience.CLIENT)
def procedure_rows(wh: Warehouse, scope: Scope, window: Window, date_precision: str = "day") -> pd.DataFrame:
    """Every visible procedure, with the patient as the client's pseudonymous key (no personal details)."""
    p, pt = procedures, patients
    visible = client_rows(wh, scope, window)
    rows = wh.read(
        select(p.c.service_date, p.c.code, p.c.description, p.c.base_cost, p.c.encounter_class,
               p.c.reason_description, pt.c.patient_id)
        .join(pt, pt.c.patient_sk == p.c.patient_sk)
        .where(*procedure_clauses(visible.shape))
        .order_by(p.c.service_date, p.c.procedure_sk),
        visible.values,
    )
    frame = _frame(rows, ["procedure_date", "procedure_code", "procedure", "base_cost", "encounter_class", "reason",
                          "patient_id"])
    frame["procedure_date"] = _each_distinct(frame["procedure_date"], lambda day: _client_date(day, date_precision))
    frame["patient_key"] = _each_distinct(frame.pop("patient_id"), scope.patient_key)
    return frame


def _each_distinct(values: pd.Series, function) -> list:
    """`function` of each value, computed once per distinct value: a patient has many procedures (an HMAC a row
    was 0.3 s of a 126,200-row extract at 100x)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    results = [function(value) for value in distinct]
    return [results[code] for code in codes.tolist()]


@scoped_query(Audience.CLIENT)
def shared_procedures(wh: Warehouse, scope: Scope, window: Window, top: int = 10) -> dict[str, Table]:
    """Patients anywhere in the warehouse who had the client's top-`top` procedures (by frequency).

    For each (patient, procedure) the group is decided by who paid for it: `this_client` if the patient had it in
    an encounter this client paid; otherwise `other_insurers` if another insurer paid one; otherwise
    `no_insurance`. The distribution counts, per patient, how many of the top procedures they had: for this
    client's group only those the client paid (a client never sees other payers' encounters of its members); for
    the other groups all of them. Non-client groups are aggregates with small counts suppressed.

    Answers "by_code" and "distribution" (patients suppressed: a `count` column, and `suppressed`), and
    "raw_by_code" (every count, for checks that need them before suppression; never shown to a viewer).
    """
    summary = procedure_summary(wh, scope, window)
    all_codes, all_names = summary.columns("procedure_code", "procedure")
    chosen = frequency_order(summary)[:top]
    codes, names = [all_codes[i] for i in chosen], {all_codes[i]: all_names[i] for i in chosen}
    if not codes:
        return {"by_code": _suppressed_table([], SHARED_KINDS, scope.min_cell_size, (1, 3)),
                "distribution": _suppressed_table([], DISTRIBUTION_KINDS, scope.min_cell_size, (0, 1)),
                "raw_by_code": Table.from_rows([], SHARED_KINDS)}

    uninsured = payer_keys(wh).get(NO_INSURANCE, -1)
    version = wh.version()
    months, edges = _mart_split(wh, window)
    if months is not None:
        # the window's whole months from the patient sets, the days around them (if any) from the procedures
        rows = client_rows(wh, scope, months=months)
        every = client_marts.month_span(version.min_date, version.max_date, version.min_date, version.max_date)
        whole = not edges and months == every
        runs = [] if whole else client_marts.set_runs(*months, *every, years=year_sets_used(wh))
        sets = _run(wh, rows, ("shared sets", whole, len(runs)),
                    lambda shape: _patient_sets_statement(shape, whole, len(runs)),
                    **{SHARED_CODES.key: codes, **_run_values(runs)})
        pairs = _run(wh, rows, ("shared edges",), _edge_pairs_statement, **{SHARED_CODES.key: codes,
                                                                            **_edge_values(edges)}) if edges else []
        found = _shared_counts(sets, pairs, codes, rows.payer_sk, uninsured)
    else:
        found = _run(wh, client_rows(wh, scope, window), ("shared",), _shared_statement, **{
            SHARED_CODES.key: codes, SHARED_UNINSURED.key: uninsured})
    counts, dist_counts = {}, {}
    for kind, key, cat, n in found:
        if kind == "code":
            counts[(key, GROUPS[cat])] = n
        else:
            dist_counts[(int(key), GROUPS[cat])] = n
    code_rows = [(rank, code, names[code], group, int(counts.get((code, group), 0)))
                 for rank, code in enumerate(codes, start=1) for group in GROUPS]
    dist_rows = [(k, group, int(dist_counts.get((k, group), 0))) for k in range(1, len(codes) + 1) for group in GROUPS]
    # Groups whose totals relate: the non-client cells of one procedure (a reader knows everyone who had it is in
    # one of the three groups), and each group across procedures; the same for the distribution.
    by_code = _suppressed_table(code_rows, SHARED_KINDS, scope.min_cell_size, key_columns=(1, 3))
    distribution = _suppressed_table(dist_rows, DISTRIBUTION_KINDS, scope.min_cell_size, key_columns=(0, 1))
    return {"by_code": by_code, "distribution": distribution, "raw_by_code": Table.from_rows(code_rows, SHARED_KINDS)}


SHARED_CODES = bindparam("shared_codes", expanding=True, type_=String)
SHARED_UNINSURED = bindparam("shared_uninsured_sk", type_=Integer)


def _shared_statement(shape: tuple):
    """Patients per (top code, group) and per (number of top codes had, group): every payer's procedures of the
    chosen codes in the window, the client's own (rls.PAYER) told apart from other insurers and the uninsured."""
    hospice_visible, _mode = shape
    p = procedures
    category = case((p.c.payer_sk == PAYER, 0), (p.c.payer_sk == SHARED_UNINSURED, 2), else_=1)
    clauses = [p.c.code.in_(SHARED_CODES), p.c.service_date >= START, p.c.service_date <= END]
    if not hospice_visible:
        clauses.append(p.c.is_hospice.is_(False))
    # Aggregated in SQL, in one statement over a materialised set of (patient, procedure) pairs: at 100x the pairs
    # run to millions of rows, which must neither travel to Python nor be computed twice.
    pairs = (select(p.c.patient_sk, p.c.code, func.min(category).label("category")).where(*clauses)
             .group_by(p.c.patient_sk, p.c.code).cte("pairs").prefix_with("MATERIALIZED"))
    per_patient = (
        select(func.min(pairs.c.category).label("best"),
               func.sum(case((pairs.c.category == 0, 1), else_=0)).label("client_codes"),
               func.count().label("all_codes"))
        .group_by(pairs.c.patient_sk).subquery()
    )
    had = case((per_patient.c.best == 0, per_patient.c.client_codes), else_=per_patient.c.all_codes)
    return union_all(
        select(literal("code").label("kind"), pairs.c.code.label("key"), pairs.c.category.label("category"),
               func.count().label("n")).group_by(pairs.c.code, pairs.c.category),
        select(literal("had"), cast(had, String), per_patient.c.best, func.count()).group_by(per_patient.c.best, had),
    )


# The ranges of `month` a window's patient sets are read from (client_marts.set_runs): one to three.
SET_RUNS = tuple((bindparam(f"shared_run{n}_first", type_=Integer), bindparam(f"shared_run{n}_last", type_=Integer))
                 for n in (1, 2, 3))


def _run_values(runs: list[tuple[int, int]]) -> dict:
    return {parameter.key: value for (first, last), (low, high) in zip(SET_RUNS, runs)
            for parameter, value in ((first, low), (last, high))}


def _patient_sets_statement(shape: tuple, whole: bool = False, runs: int = 1):
    """The patient sets (client_marts.patient_sets) of the chosen codes in the window's months, every payer's: the
    same rows as `_shared_statement`, one set per code, month (or whole year), payer and hospice flag, from the
    first `runs` ranges of SET_RUNS (one index range each; a statement per number of ranges, since every part
    repeats the codes); with `whole` (the window spans every month of the data) the sets kept for all months at
    once."""
    hospice_visible, _mode = shape
    m = mart_code_patients
    hidden = [] if hospice_visible else [m.c.is_hospice.is_(False)]
    columns = (m.c.code, m.c.payer_sk, m.c.patients)
    if whole:
        return select(*columns).where(m.c.code.in_(SHARED_CODES), m.c.month == client_marts.ALL_MONTHS, *hidden)
    parts = [select(*columns).where(m.c.code.in_(SHARED_CODES), m.c.month >= first, m.c.month <= last, *hidden)
             for first, last in SET_RUNS[:runs]]
    return parts[0] if runs == 1 else union_all(*parts)


# The runs of days around a window's whole months (client_marts.month_split): two, an unused one empty.
EDGES = tuple((bindparam(f"shared_edge{n}_start", type_=Date), bindparam(f"shared_edge{n}_end", type_=Date))
              for n in (1, 2))


def _edge_values(edges: list[tuple[date, date]]) -> dict:
    values = {}
    for number, (start, end) in enumerate(EDGES):
        first, last = edges[number] if number < len(edges) else (date.max, date.min)  # unused: matches no day
        values.update({start.key: first, end.key: last})
    return values


def _edge_pairs_statement(shape: tuple):
    """(code, payer, patient) of every payer's procedures of the chosen codes on the days around the window's whole
    months: what the patient sets do not hold."""
    hospice_visible, _mode = shape
    p = procedures
    hidden = [] if hospice_visible else [p.c.is_hospice.is_(False)]
    return union(*[
        select(p.c.code, p.c.payer_sk, p.c.patient_sk)
        .where(p.c.code.in_(SHARED_CODES), p.c.service_date >= start, p.c.service_date <= end, *hidden)
        for start, end in EDGES])


CLIENT, OTHER_INSURER, UNINSURED, NONE = 0, 1, 2, 3  # the groups of GROUPS by position, and "did not have it"


def _shared_counts(sets: list, pairs: list, codes: list[str], payer_sk: int, uninsured_sk: int) -> list[tuple]:
    """What `_shared_statement` answers, from patient sets (code, payer, set) and single (code, payer, patient)
    pairs: ("code", code, group, patients) and ("had", number of codes had, group, patients) rows. Exact: a patient
    is in a set or not; the sets of a code's months and payers are unioned by marking one cell per (code, patient),
    all sets of a payer group at once."""
    if not sets and not pairs:
        return []
    position = {code: number for number, code in enumerate(codes)}
    size = client_marts.PATIENT_SET_DTYPE.itemsize
    # one pass over the sets (thousands of them at 100x): each one's code row, payer and length, and their bytes
    described = np.array([(position[code], payer, len(blob) // size) for code, payer, blob in sets]
                         + [(position[code], payer, 1) for code, payer, _patient in pairs],
                         dtype=np.int64).reshape(-1, 3)
    rows, payers, lengths = described.T
    keys = np.concatenate([
        np.frombuffer(b"".join(blob for _code, _payer, blob in sets), dtype=client_marts.PATIENT_SET_DTYPE),
        np.fromiter((patient for _code, _payer, patient in pairs), dtype=client_marts.PATIENT_SET_DTYPE,
                    count=len(pairs))])
    # the patients present, numbered 0..width-1: the matrix below is as wide as the patients of the window, not as
    # the warehouse (a quarter at 100x: a fifth of them)
    present = np.zeros(int(keys.max()) + 1, dtype=bool)
    present[keys] = True
    number = np.cumsum(present, dtype=np.int32) - 1
    width = int(number[-1]) + 1
    # small types: at 100x a whole-range question over 50 codes marks millions of cells
    cell_type = np.int32 if len(codes) * width < 2**31 else np.int64
    cells = np.repeat((rows * width).astype(cell_type), lengths) + number[keys]
    paid_by = np.repeat(np.where(payers == payer_sk, CLIENT, np.where(payers == uninsured_sk, UNINSURED,
                                                                        OTHER_INSURER)).astype(np.int8), lengths)
    # each (code, patient) in the group of who paid for it: the client if it did, else another insurer, else none
    group = np.full(len(codes) * width, NONE, dtype=np.int8)
    for value in (UNINSURED, OTHER_INSURER, CLIENT):
        group[cells[paid_by == value]] = value
    group = group.reshape(len(codes), width)
    found = []
    for row, code in enumerate(codes):
        counts = np.bincount(group[row], minlength=NONE + 1)
        found += [("code", code, value, int(counts[value])) for value in range(NONE) if counts[value]]
    best = group.min(axis=0)  # a patient's group: this client's if it paid for any of the codes, and so on
    had = np.where(best == CLIENT, (group == CLIENT).sum(axis=0), (group < NONE).sum(axis=0))
    for value in range(NONE):
        counts = np.bincount(had[best == value], minlength=len(codes) + 1)
        found += [("had", str(k), value, int(counts[k])) for k in range(1, len(codes) + 1) if counts[k]]
    return found


def _suppressed_table(rows: list[tuple], kinds: dict[str, str], min_cell_size: int, key_columns: tuple[int, int]
                      ) -> Table:
    """Rows of (..., patient_group, patients) with small non-client counts suppressed, grouped by each of the two
    key columns: the patients as a `count` (None where suppressed), then "suppressed"."""
    counts = [row[-1] for row in rows]
    sensitive = [row[-2] != "this_client" for row in rows]
    groups = [members for column in key_columns for members in group_positions([row[column] for row in rows])]
    mask = suppression_mask(counts, min_cell_size, sensitive, groups)
    data = {name: [row[position] for row in rows] for position, name in enumerate(list(kinds)[:-1])}
    data["patients"] = [None if hidden else count for count, hidden in zip(counts, mask)]
    data["suppressed"] = mask
    return Table(data, {**kinds, "patients": "count", "suppressed": "bool"})


def _age_band_year(birth_year: int, birthdate, today: date) -> str:
    age = today.year - birthdate.year - ((today.month, today.day) < (birthdate.month, birthdate.day))
    return "90+" if age >= 90 else str(birth_year)


@scoped_query(Audience.CLIENT)
def members(wh: Warehouse, scope: Scope, window: Window, today: date | None = None) -> pd.DataFrame:
    """The client's members in the window, de-identified (DESIGN §3 rule 2): key, birth year (90+), gender, race,
    ethnicity, county, ZIP3, and their encounters, procedures, claim cost and payer coverage with this client."""
    today = today or date.today()
    e, p, pt = encounters, procedures, patients
    visible = client_rows(wh, scope, window)
    enc = (
        select(e.c.patient_sk, func.count().label("encounters"), func.sum(e.c.total_claim_cost).label("claim"),
               func.sum(e.c.payer_coverage).label("coverage"))
        .where(*encounter_clauses(visible.shape)).group_by(e.c.patient_sk).subquery()
    )
    proc = (
        select(p.c.patient_sk, func.count().label("procedures"))
        .where(*procedure_clauses(visible.shape)).group_by(p.c.patient_sk).subquery()
    )
    rows = wh.read(
        select(pt.c.patient_id, pt.c.gender, pt.c.birth_year, pt.c.birthdate, pt.c.race, pt.c.ethnicity,
               pt.c.county, pt.c.zip3, enc.c.encounters, func.coalesce(proc.c.procedures, 0), enc.c.claim,
               enc.c.coverage)
        .select_from(enc.join(pt, pt.c.patient_sk == enc.c.patient_sk)
                     .outerjoin(proc, proc.c.patient_sk == enc.c.patient_sk)),
        visible.values,
    )
    frame = _frame(rows, ["patient_id", "gender", "birth_year", "birthdate", "race", "ethnicity", "county", "zip3",
                          "encounters", "procedures", "total_claim_cost", "payer_coverage"])
    frame.insert(0, "patient_key", [scope.patient_key(value) for value in frame.pop("patient_id")])
    frame["birth_year"] = [_age_band_year(year, born, today) for year, born in zip(frame["birth_year"],
                                                                                  frame.pop("birthdate"))]
    frame["zip3"] = frame["zip3"].fillna("")
    frame["total_claim_cost"] = frame["total_claim_cost"].astype(float).round(2)
    frame["payer_coverage"] = frame["payer_coverage"].astype(float).round(2)
    return frame.sort_values("patient_key").reset_index(drop=True)


# ---------------------------------------------------------------- team view (the hospital and patients helped)


def _hospitals_plan(reads: _Reads) -> Callable[[], list[dict]]:
    scope = reads.scope
    if reads.marts:
        encounters_of, sums = _encounter_reads(reads, "org"), reads.procedures("organization_sk")
        people = reads.firsts("proc") if scope.specialty else None

        def finish() -> list[dict]:
            found = reads[people] if people is not None else {}
            enc = {int(key): value for key, value in encounters_of().items() if key != "*"}
            proc = {org: (n, found.get(str(org), (0,))[0], cost) for org, (n, cost) in reads[sums].items()}
            return _hospital_records(reads.wh, scope, enc, proc)

        return finish
    enc, proc = reads.base("encounters_by_organization"), reads.base("procedures_by_organization")
    return lambda: _hospital_records(reads.wh, scope, reads[enc], {org: values[:3]
                                                                   for org, values in reads[proc].items()})


@scoped_query(Audience.CLIENT)
def hospitals(wh: Warehouse, scope: Scope, window: Window) -> list[dict]:
    """The organisations that treated the scope's members in the window, with the client's figures there."""
    return _alone(wh, scope, window, _hospitals_plan)


def _hospital_records(wh: Warehouse, scope: Scope, enc: dict, proc: dict) -> list[dict]:
    """enc: organisation -> (encounters, patients, claim, coverage); proc: organisation -> (procedures, patients,
    cost)."""
    result = []
    for org in organization_rows(wh):
        sk = org["organization_sk"]
        encounters_n, enc_patients, claim, coverage = enc.get(sk, (0, 0, 0.0, 0.0))
        procedures_n, proc_patients, cost = proc.get(sk, (0, 0, 0.0))
        if not encounters_n and not procedures_n:
            continue
        result.append({
            "name": org["name"], "address": org["address"], "city": org["city"], "state": org["state"],
            "zip": org["zip"], "lat": org["lat"], "lon": org["lon"],
            "members": int(proc_patients if scope.specialty else enc_patients),
            "encounters": int(encounters_n), "procedures": int(procedures_n), "total_cost": round(float(cost), 2),
            "claim_cost": round(float(claim), 2), "payer_coverage": round(float(coverage), 2),
        })
    return result


def _months_plan(reads: _Reads) -> Callable[[], Table]:
    scope, window = reads.scope, reads.window
    if reads.marts:
        encounters_of, sums = _encounter_reads(reads, "month"), reads.procedures("month")
        people = reads.firsts("proc", per_month=True) if scope.specialty else None

        def finish() -> Table:
            found = reads[people] if people is not None else {}
            enc = {month: value for (key, month), value in encounters_of().items() if key == "*"}
            proc = {month: (n, found.get(("*", month), (0,))[0], cost) for month, (n, cost) in reads[sums].items()}
            return _month_records(scope, window, enc, proc)

        return finish
    enc, proc = reads.base("encounters_by_month"), reads.base("procedures_by_month")
    return lambda: _month_records(scope, window, reads[enc], {month: values[:3]
                                                              for month, values in reads[proc].items()})


@scoped_query(Audience.CLIENT)
def helped_by_month(wh: Warehouse, scope: Scope, window: Window) -> Table:
    """Per month: members helped (distinct within the month), encounters, procedures, cost (the `patients-helped`
    extract). Months without activity in the window are listed with zeros, so the chart has no gaps."""
    return _alone(wh, scope, window, _months_plan)


MONTH_COLUMNS = ["month", "specialty", "patients", "encounters", "procedures", "total_cost", "claim_cost",
                 "payer_coverage"]
MONTH_KINDS = dict(zip(MONTH_COLUMNS, ("text", "text", "int", "int", "int", "float", "float", "float")))


def _month_records(scope: Scope, window: Window, enc: dict, proc: dict) -> Table:
    """enc: month -> (encounters, patients, claim, coverage); proc: month -> (procedures, patients, cost)."""
    columns: dict[str, list] = {name: [] for name in MONTH_COLUMNS}
    for month in months_between(window.start, window.end):
        encounters_n, enc_patients, claim, coverage = enc.get(month, (0, 0, 0.0, 0.0))
        procedures_n, proc_patients, cost = proc.get(month, (0, 0, 0.0))
        columns["month"].append(f"{month // 100:04d}-{month % 100:02d}")
        columns["patients"].append(int(proc_patients if scope.specialty else enc_patients))
        columns["encounters"].append(int(encounters_n))
        columns["procedures"].append(int(procedures_n))
        columns["total_cost"].append(round(float(cost), 2))
        columns["claim_cost"].append(round(float(claim), 2))
        columns["payer_coverage"].append(round(float(coverage), 2))
    columns["specialty"] = [scope.specialty or "All specialties"] * len(columns["month"])
    return Table(columns, MONTH_KINDS)


def months_between(start: date, end: date) -> list[int]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _classes_plan(reads: _Reads) -> Callable[[], Table]:
    if reads.marts:
        if reads.scope.specialty is None:
            counted, people = reads.encounters("encounter_class"), reads.firsts("enc_class")
        else:
            counted, people = reads.firsts("spec_enc_class"), reads.firsts("spec_class")
        return lambda: _class_table([(name, n, reads[people].get(name, (0,))[0])
                                     for name, (n, *_sums) in reads[counted].items()])
    found = reads.base("encounters_by_class")
    return lambda: _class_table([(name, n, patients) for name, (n, patients, _claim, _cover) in reads[found].items()])


@scoped_query(Audience.CLIENT)
def by_encounter_class(wh: Warehouse, scope: Scope, window: Window) -> Table:
    """Encounters and members helped per encounter class (ambulatory, inpatient, ...)."""
    return _alone(wh, scope, window, _classes_plan)


CLASS_KINDS = {"encounter_class": "text", "encounters": "int", "patients": "int"}


def _class_table(rows: list[tuple]) -> Table:
    """rows: (encounter class, encounters, patients), most encounters first."""
    ordered = sorted(((name, int(n), int(patients)) for name, n, patients in rows), key=lambda r: (-r[1], r[0]))
    return Table.from_rows(ordered, CLASS_KINDS)


# The plan of each query `together` can combine, by name.
_PLANS = {query.__name__: plan for query, plan in (
    (kpis, _kpis_plan), (procedure_summary, _summary_plan), (hospitals, _hospitals_plan),
    (helped_by_month, _months_plan), (by_encounter_class, _classes_plan))}
