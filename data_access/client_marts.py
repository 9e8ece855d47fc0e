"""Client marts: the numbers of the client and team pages by calendar month, exact for any run of whole months.

Built by the loader from the frames it writes (numpy, before the write: no second pass over the tables) and read
by `client_reports` when a window covers whole calendar months (the usual "a year", "a quarter", "everything");
a window that cuts into a month is answered from the base tables as before. At 100x the real data a client's
whole-range summary reads a few thousand mart rows instead of two million procedures.

Counts and sums are simply added up over months (`mart_client_procedures`, `mart_client_encounters`). Distinct
counts (patients, and encounters holding a procedure of a specialty) are not additive, so `mart_client_firsts`
keeps, per group, key and month, how many patients (or encounters) occurred in that month *by the month they last
occurred in before it* (0: never). Over months m1..m2 each one is counted once, at its first occurrence in the
window, which is the occurrence whose previous one is before m1:

    distinct(m1..m2) = sum(entities) where m1 <= month <= m2 and prev_month < m1

and the distinct count within one month is the sum over all previous months. Rows are grouped by payer, hospice
visibility (false: counted over rows that are not hospice data, so that a hidden hospice visit neither adds a
patient nor links two months) and specialty (the procedures of one specialty, or "*").

"Patients who follow the same procedures" counts, per patient, which of a client's top codes they had and who paid:
that depends on the set of codes chosen, so no count can be kept for it. `mart_code_patients` keeps the sets
themselves instead, per code, month, payer and hospice flag (`patient_sets`), once more per calendar year (under
`year_set_month`) and once over every month (ALL_MONTHS); the union of a window's sets is exactly the patients of
the window (read by `set_runs`), and client_reports counts them with numpy.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import numpy as np
import pandas as pd

ALL = "*"
BUILD_THREADS = 2  # the machine kind has 2 cores
ORGANISATION_FAMILIES = ("proc", "enc", "spec_enc")  # counted by organisation and for "*"

# family -> (what is counted, grouped by); the rows each is built from are in `build`
FAMILIES = {
    "code": "patients with a procedure, by procedure code (specialty *)",
    "proc": "patients with a procedure of the specialty, by organisation and * (all organisations)",
    "enc": "patients with an encounter, by organisation and * (specialty *)",
    "enc_class": "patients with an encounter, by encounter class (specialty *)",
    "spec_enc": "encounters holding a procedure of the specialty, by organisation and *, with their claim cost and "
                "payer coverage",
    "spec_enc_class": "encounters holding a procedure of the specialty, by encounter class",
    "spec_class": "patients with a procedure of the specialty, by the class of its encounter",
}


def build(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The client marts from the loader's frames of encounters, procedures and procedure_codes."""
    p, e = tables["procedures"], tables["encounters"]
    specialty_of = dict(zip(tables["procedure_codes"]["code"], tables["procedure_codes"]["specialty"]))

    procedures = (
        p.groupby(["payer_sk", "month", "is_hospice", "code", "organization_sk"], as_index=False, observed=True)
        .agg(procedures=("base_cost", "size"), cost=("base_cost", "sum"))
    )
    encounters = (
        e.groupby(["payer_sk", "month", "is_hospice", "organization_sk", "encounter_class"], as_index=False,
                  observed=True)
        .agg(encounters=("total_claim_cost", "size"), claim=("total_claim_cost", "sum"),
             coverage=("payer_coverage", "sum"))
    )

    code = _coded(p["code"])
    specialty_names = sorted({specialty_of[value] for value in code[1]})
    specialty_index = np.asarray([specialty_names.index(specialty_of[value]) for value in code[1]], dtype=np.int64)
    p_spec = (specialty_index[code[0]], specialty_names)  # each procedure's specialty
    p_all, e_all = _everything(len(p)), _everything(len(e))
    p_org, e_org = _coded(p["organization_sk"]), _coded(e["organization_sk"])
    p_class, e_class = _coded(p["encounter_class"]), _coded(e["encounter_class"])
    procedure_rows = (p["payer_sk"].to_numpy(), p["is_hospice"].to_numpy(dtype=bool))
    encounter_rows = (e["payer_sk"].to_numpy(), e["is_hospice"].to_numpy(dtype=bool))
    p_patient, e_patient = p["patient_sk"].to_numpy(dtype=np.int64), e["patient_sk"].to_numpy(dtype=np.int64)
    p_encounter = p["encounter_sk"].to_numpy(dtype=np.int64)  # rows of `e` are encounter_sk 1, 2, ... in order
    p_month, e_month = p["month"].to_numpy(dtype=np.int64), e["month"].to_numpy(dtype=np.int64)
    sums = {"claim": e["total_claim_cost"].to_numpy(dtype=float), "coverage": e["payer_coverage"].to_numpy(dtype=float)}

    # With a single organisation (the usual case: one hospital) its counts are those of "*": computed once.
    organisations = sorted(set(p_org[1]) | set(e_org[1]))
    single = organisations[0] if len(organisations) == 1 else None
    p_orgs, e_orgs = ([p_all], [e_all]) if single else ([p_org, p_all], [e_org, e_all])
    jobs = [
        ("spec_enc", *procedure_rows, p_spec, p_orgs, p_encounter, p_month, sums),
        ("proc", *procedure_rows, p_spec, p_orgs, p_patient, p_month),
        ("code", *procedure_rows, p_all, [code], p_patient, p_month),
        ("enc", *encounter_rows, e_all, e_orgs, e_patient, e_month),
        ("spec_enc_class", *procedure_rows, p_spec, [p_class], p_encounter, p_month),
        ("spec_class", *procedure_rows, p_spec, [p_class], p_patient, p_month),
        ("enc_class", *encounter_rows, e_all, [e_class], e_patient, e_month),
    ]
    # numpy sorts without the GIL: the families are built BUILD_THREADS at a time
    with ThreadPoolExecutor(BUILD_THREADS, thread_name_prefix="marts") as pool:
        parts = list(pool.map(lambda job: _firsts(*job), jobs))
    if single:
        parts += [part.assign(key=single) for (family, *_rest), part in zip(jobs, parts)
                  if family in ORGANISATION_FAMILIES]
    return {
        "mart_client_procedures": procedures,
        "mart_client_encounters": encounters,
        "mart_client_firsts": pd.concat(parts, ignore_index=True),
        "mart_code_patients": pd.concat([
            patient_sets(code, p_month, *procedure_rows, p_patient),
            patient_sets(code, year_set_month(p_month // 100), *procedure_rows, p_patient),
            patient_sets(code, np.full(len(p), ALL_MONTHS), *procedure_rows, p_patient),
        ], ignore_index=True),
    }


PATIENT_SET_DTYPE = np.dtype("<i4")  # the stored form of a patient set: sorted patient_sk, little-endian int32
# The month of the patient sets that span every month of the data: the whole range (the client page's default) is
# read from one set per code, payer and hospice flag instead of the union of every month's (a third of the entries on
# the real data, where many procedures recur month after month).
ALL_MONTHS = 0


def year_set_month(year: int | np.ndarray) -> int | np.ndarray:
    """The `month` of the patient sets over one calendar year: -year, so that a run of years is one range of
    months that holds nothing else (months are yyyymm > 0, ALL_MONTHS is 0). A year's window (12 months) then reads
    one set per code, payer and hospice flag instead of twelve: at 100x a fifth of the sets a question reads."""
    return -year


def set_runs(first: int, last: int, data_first: int, data_last: int, years: bool = True) -> list[tuple[int, int]]:
    """The patient sets of months first..last (yyyymm, whole months within the data's data_first..data_last) as
    ranges of `month`: the calendar years they cover whole (a year the data starts or ends in counts as whole when
    the window covers all of its data) as one range of year sets, and the months before and after them. Without
    `years` (data loaded before the year sets), the months as one range."""
    if not years:
        return [(first, last)]

    def whole(year: int) -> bool:
        return first <= max(year * 100 + 1, data_first) and last >= min(year * 100 + 12, data_last)

    first_year = first // 100 if whole(first // 100) else first // 100 + 1
    last_year = last // 100 if whole(last // 100) else last // 100 - 1
    if first_year > last_year:
        return [(first, last)]
    runs = [(year_set_month(last_year), year_set_month(first_year))]
    if first < first_year * 100 + 1:
        runs.append((first, (first_year - 1) * 100 + 12))
    if last > last_year * 100 + 12:
        runs.append(((last_year + 1) * 100 + 1, last))
    return runs


def patient_sets(code: Coded, month: np.ndarray, payer: np.ndarray, hospice: np.ndarray, patient: np.ndarray
                 ) -> pd.DataFrame:
    """`mart_code_patients`: per (code, month, payer, hospice flag) of the procedures, the distinct patients who had
    one, as the bytes of a sorted PATIENT_SET_DTYPE array."""
    columns = ["code", "month", "payer_sk", "is_hospice", "patients"]
    if len(patient) == 0:
        return pd.DataFrame(columns=columns)
    if int(patient.max()) > np.iinfo(PATIENT_SET_DTYPE).max:  # pragma: no cover - 2 billion patients
        raise OverflowError("patient keys do not fit the patient sets")
    months, month_code = np.unique(month, return_inverse=True)
    payers, payer_code = np.unique(payer, return_inverse=True)
    # one integer per (group, patient), sorted and deduplicated: groups come out in order, patients sorted in each
    group = ((code[0] * len(months) + month_code) * len(payers) + payer_code) * 2 + hospice.astype(np.int64)
    width = int(patient.max()) + 1
    if (int(group.max()) + 1) * width >= 2**62:  # pragma: no cover - far beyond any input the loader reads
        raise OverflowError("patient set keys do not fit in 64 bits")
    pairs = np.sort(group * width + patient)
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    pair_group, pair_patient = pairs // width, (pairs % width).astype(PATIENT_SET_DTYPE)
    starts = np.flatnonzero(np.concatenate([[True], pair_group[1:] != pair_group[:-1]]))
    groups = pair_group[starts]
    hospice_of, rest = groups % 2, groups // 2
    payer_index, rest = rest % len(payers), rest // len(payers)
    month_index, code_index = rest % len(months), rest // len(months)
    return pd.DataFrame({
        "code": np.asarray(code[1], dtype=object)[code_index],
        "month": months[month_index],
        "payer_sk": payers[payer_index],
        "is_hospice": hospice_of.astype(bool),
        "patients": [part.tobytes() for part in np.split(pair_patient, starts[1:])],
    }, columns=columns)


Coded = tuple[np.ndarray, list[str]]  # (code of each row, label of each code)


def _coded(values: pd.Series) -> Coded:
    codes, labels = pd.factorize(values)
    return codes.astype(np.int64), [str(label) for label in labels]


def _everything(n: int) -> Coded:
    return np.zeros(n, dtype=np.int64), [ALL]


def _firsts(family: str, payer: np.ndarray, hospice: np.ndarray, specialty: Coded, keys: list[Coded],
            entity: np.ndarray, month: np.ndarray, sums: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """First-occurrence counts of `entity` per (payer, hospice visibility, specialty, key, month, previous month).

    Each input row counts under each of `keys` (for example its organisation and "*"), once with hospice visible
    and, unless it is hospice data, once more with hospice hidden. `sums` (arrays indexed by entity - 1) are added
    up over the entities counted (the claim cost of encounters)."""
    n = len(entity)
    if n == 0:
        return pd.DataFrame(columns=["payer_sk", "hospice_visible", "specialty", "family", "key", "month",
                                     "prev_month", "entities", "claim", "coverage"])
    # every (payer, visibility, specialty, key) as one small integer, then every occurrence as one integer:
    # deduplicated and ordered by (group, entity, month) in one np.unique
    payer_code, payer_labels = pd.factorize(payer)
    key_labels = [label for _codes, labels in keys for label in labels]
    offsets = np.cumsum([0] + [len(labels) for _codes, labels in keys])
    n_groups = len(payer_labels) * 2 * len(specialty[1]) * len(key_labels)
    visible_rows = np.flatnonzero(~hospice)
    row_parts, group_parts = [], []
    for visible, rows in ((1, np.arange(n)), (0, visible_rows)):
        for (codes, _labels), offset in zip(keys, offsets):
            row_parts.append(rows)
            group_parts.append(((payer_code[rows] * 2 + visible) * len(specialty[1]) + specialty[0][rows])
                               * len(key_labels) + codes[rows] + offset)
    rows, group = np.concatenate(row_parts), np.concatenate(group_parts)
    months = np.sort(pd.unique(month))
    month_code = np.searchsorted(months, month)
    width_m, width_e = len(months) + 1, int(entity.max()) + 1  # month code 0: "no previous month"
    if n_groups * width_e * width_m >= 2**62:  # pragma: no cover - far beyond any input the loader reads
        raise OverflowError("client mart keys do not fit in 64 bits")
    occurrence = np.sort((group * width_e + entity[rows]) * width_m + month_code[rows] + 1)
    del rows, group
    # deduplicated by hand: np.unique hashes large integer arrays, 5x slower than this sort
    occurrence = occurrence[np.concatenate([[True], occurrence[1:] != occurrence[:-1]])]
    month_of, owner = occurrence % width_m, occurrence // width_m  # owner: (group, entity)
    previous = np.zeros(len(occurrence), dtype=np.int64)
    same = owner[1:] == owner[:-1]
    previous[1:][same] = month_of[:-1][same]
    position, cell = pd.factorize((owner // width_e * width_m + month_of) * width_m + previous)
    counts = np.bincount(position, minlength=len(cell))
    totals = {name: np.zeros(len(cell)) for name in ("claim", "coverage")}
    for name, values in (sums or {}).items():
        totals[name] = np.bincount(position, weights=values[owner % width_e - 1], minlength=len(cell))
    cell_group = cell // (width_m * width_m)
    key_index = cell_group % len(key_labels)
    rest = cell_group // len(key_labels)
    spec_index, rest = rest % len(specialty[1]), rest // len(specialty[1])
    visible_of, payer_index = rest % 2, rest // 2
    month_labels = np.concatenate([[0], months])
    return pd.DataFrame({
        "payer_sk": np.asarray(payer_labels, dtype=np.int64)[payer_index],
        "hospice_visible": visible_of.astype(bool),
        "specialty": np.asarray(specialty[1], dtype=object)[spec_index],
        "family": family,
        "key": np.asarray(key_labels, dtype=object)[key_index],
        "month": month_labels[(cell // width_m) % width_m],
        "prev_month": month_labels[cell % width_m],
        "entities": counts,
        "claim": totals["claim"], "coverage": totals["coverage"],
    })


def month_span(window_start: date, window_end: date, data_first: date, data_last: date) -> tuple[int, int] | None:
    """(first, last) month as yyyymm when the window, clipped to the data's dates, covers whole calendar months;
    None when it cuts into a month (the base tables answer it then)."""
    months, edges = month_split(window_start, window_end, data_first, data_last)
    return None if edges else months


def month_split(window_start: date, window_end: date, data_first: date, data_last: date
                ) -> tuple[tuple[int, int] | None, list[tuple[date, date]]]:
    """The window, clipped to the data's dates, as the whole calendar months it covers ((first, last) yyyymm, or
    None when it covers none) and the runs of days outside them (none, one or two: before its first whole month,
    after its last)."""
    if window_start > data_last or window_end < data_first:
        return None, []
    start = data_first.replace(day=1) if window_start <= data_first else window_start
    end = _month_end(data_last) if window_end >= data_last else window_end
    first = start if start.day == 1 else _month_end(start) + timedelta(days=1)
    last = end if end == _month_end(end) else end.replace(day=1) - timedelta(days=1)
    if first > last:
        return None, [(start, end)]
    edges = []
    if start < first:
        edges.append((start, first - timedelta(days=1)))
    if last < end:
        edges.append((last + timedelta(days=1), end))
    return (first.year * 100 + first.month, last.year * 100 + last.month), edges


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
