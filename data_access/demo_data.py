"""Synthetic demo data in exactly the format of the real input files.

Why it exists: the real sample may never be committed, so a fresh clone needs data to demo, and the benchmarks need
10x and 100x the real volume. The distributions come from `reference/demo_profile.json`, an aggregate profile of the
real sample (code catalogues, frequencies, quantiles; no patient-level rows); the real files are never read here.

The story told for each patient: demographics and a home near their city; a number of encounters drawn from the real
per-patient counts; encounter types drawn by gender and by how heavy a user of care the patient is; encounter times
spread over the patient's active years; insurance that changes over time (a payer per run of encounters, drawn by age);
procedures drawn per encounter type and performed one after another inside their encounter. Some of the patients who
die receive hospice care at the end of their lives: daily hospice procedures, sometimes after a hospice admission.

Speed and memory: patients are generated in chunks of `CHUNK_PATIENTS`, each with its own random stream seeded by
(seed, chunk number), so memory does not grow with the data set and the output depends only on (patients, seed).
Every column is built with numpy and written as raw bytes (see `_write_csv`).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

PROFILE_PATH = Path(__file__).with_name("reference") / "demo_profile.json"
CHUNK_PATIENTS = 10_000
WRITE_BATCH_ROWS = 100_000
DAY = 86_400
YEAR = 365.25 * DAY
NEIGHBOUR_SHARE = 0.3  # patients living next door to another patient: the real data has such clusters
NEIGHBOUR_SPREAD = 0.001  # degrees, about 100 m
BOM = "\ufeff".encode()
CRLF = b"\r\n"

PATIENT_COLUMNS = (
    "Id", "BIRTHDATE", "DEATHDATE", "PREFIX", "FIRST", "LAST", "SUFFIX", "MAIDEN", "MARITAL", "RACE", "ETHNICITY",
    "GENDER", "BIRTHPLACE", "ADDRESS", "CITY", "STATE", "COUNTY", "ZIP", "LAT", "LON",
)
ENCOUNTER_COLUMNS = (
    "Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PAYER", "ENCOUNTERCLASS", "CODE", "DESCRIPTION",
    "BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE", "REASONCODE", "REASONDESCRIPTION",
)
PROCEDURE_COLUMNS = (
    "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST", "REASONCODE", "REASONDESCRIPTION",
)

# Invented vocabularies (nothing here comes from the real files). Synthea appends a number to every name.
FEMALE_NAMES = (
    "Abigail Ada Alma Amara Anika Aria Bella Bianca Carla Celia Dana Delia Edith Elena Elsa Esme Fatima Fiona Flora "
    "Gemma Greta Hana Helena Ida Imani Inez Iris Jada Jolene Kiara Lena Lila Lucia Mabel Maeve Maria Mina Nadia Nell "
    "Nora Olive Opal Paula Petra Rhea Rosa Ruth Sadie Selma Tamsin Tess Uma Vera Wanda Willa Yara Yvette Zelda Zoe"
).split()
MALE_NAMES = (
    "Aaron Abel Aldo Amir Anton Arlo Basil Boris Bruno Caleb Cyrus Dante Darius Dmitri Elias Emil Ezra Felix Floyd "
    "Gideon Gus Hector Hugo Idris Ivan Jasper Joel Jonas Kai Kenji Lars Leon Luca Marco Milo Nico Omar Oscar Otto "
    "Pablo Quentin Rafael Remy Rocco Rufus Silas Soren Tariq Theo Tobias Ulric Victor Vito Walter Xavier Yusuf Zane "
    "Zeke"
).split()
SURNAMES = (
    "Abbott Aldana Ambrose Ashworth Baird Balogun Barrows Beckett Blanchard Bogdan Brannigan Calloway Carrow Castell "
    "Chaudhry Corrigan Dalca Darrow Delacroix Dunmore Eckhardt Ellery Emberley Farrand Fenwick Fitzroy Galvan Garrick "
    "Gorski Greaves Halvorsen Hargrove Hawthorne Hollis Ibarra Ingram Ishikawa Jankowski Jessop Kasprzak Keswick Kowal "
    "Lachance Landry Lindqvist Lockhart Maddox Malinowski Marchetti Mayhew Nakamura Navarro Nightingale Novak Oakes "
    "Okonkwo Ostrowski Pacheco Pemberton Petrakis Quigley Quintero Radcliffe Ramsey Rasmussen Redmond Salazar "
    "Sandoval Schuster Sorensen Takahashi Thornbury Trevino Underhill Upton Valdez Vance Varga Wakefield Whitlock "
    "Wojcik Yamamoto Yardley Zielinski Zimmer"
).split()
STREET_WORDS = (
    "Acorn Amber Aspen Birch Bramble Cedar Clover Copper Crane Dawn Elm Fern Finch Garnet Glen Harbor Hazel Heron "
    "Holly Iron Ivy Juniper Lark Laurel Linden Maple Meadow Mill Orchard Pine Quarry Raven Ridge River Rose Sage "
    "Silver Spruce Stone Summit Thistle Willow Wren"
).split()
STREET_SUFFIXES = (
    "Alley Annex Avenue Boulevard Bypass Common Corner Court Crossing Drive Estate Extension Gardens Gate Grove "
    "Heights Knoll Landing Lane Loop Parade Path Place Plaza Ridge Road Route Row Square Station Street Terrace "
    "Trace Trail Villa Walk Way"
).split()


def write_demo_data(
    out_dir: Path, patients: int, seed: int = 0, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, int]:
    """Write patients.csv, encounters.csv, procedures.csv, payers.csv, organizations.csv into out_dir; return row
    counts per file stem.

    `progress(step, done, total)`, if given, is called after each chunk of patients. Files are written under
    temporary names and renamed at the end, so an interrupted run never leaves a plausible-looking partial data set.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    model = _Model.from_profile(json.loads(PROFILE_PATH.read_text(encoding="utf-8")))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    headers = {
        "patients": PATIENT_COLUMNS,
        "encounters": ENCOUNTER_COLUMNS,
        "procedures": PROCEDURE_COLUMNS,
        "payers": model.payer_header,
        "organizations": model.organization_header,
    }
    partial = {stem: out_dir / f".{stem}.csv.partial" for stem in headers}
    try:
        with ExitStack() as stack:
            files = {stem: stack.enter_context(path.open("wb")) for stem, path in partial.items()}
            for stem, fh in files.items():
                fh.write(BOM + ",".join(headers[stem]).encode())
            counts = _write_all_rows(files, model, patients, seed, progress)
    except BaseException:
        for path in partial.values():
            path.unlink(missing_ok=True)
        raise
    for stem, path in partial.items():
        path.replace(out_dir / f"{stem}.csv")
    return counts


def _write_all_rows(files: dict[str, BinaryIO], m: _Model, patients: int, seed: int, progress) -> dict[str, int]:
    """The fixed tables from the profile, then the generated ones chunk by chunk; return the row counts."""
    _write_csv(files["payers"], [_bytes(column) for column in zip(*m.payer_rows)])
    _write_csv(files["organizations"], [_bytes([value]) for value in m.organization_row])
    counts = {"patients": 0, "encounters": 0, "procedures": 0}
    for chunk, first in enumerate(range(0, patients, CHUNK_PATIENTS)):
        rng = np.random.default_rng([seed, chunk])
        people = _people(rng, m, min(CHUNK_PATIENTS, patients - first))
        visits = _encounters(rng, m, people)
        acts = _procedures(rng, m, visits)
        _complete_encounters(rng, m, people, visits, acts)
        tables = {
            "patients": _patient_fields(rng, m, people),
            "encounters": _encounter_fields(m, people, visits),
            "procedures": _procedure_fields(m, people, visits, acts),
        }
        for stem, fields in tables.items():
            counts[stem] += _write_csv(files[stem], fields)
        if progress is not None:
            progress("patients", first + len(people["id"]), patients)
    return counts | {"payers": len(m.payer_rows), "organizations": 1}


# ---------------------------------------------------------------- the profile as lookup tables

Table = tuple[np.ndarray, np.ndarray]  # (labels, cdf): one cdf row per group, see _draw


@dataclass(frozen=True)
class _Model:
    """The profile turned into numpy lookup tables once per run, so that chunks only index and search.

    Tables named `x_by_y` hold one distribution per group y; arrays of quantiles hold one row per group.
    """

    payer_header: list[str]
    payer_rows: list[list[str]]
    organization_header: list[str]
    organization_row: list[str]
    period: tuple[int, int]  # first and last second of the data period
    # patients
    female_share: float
    married_share: dict[str, float]
    deceased_share: float
    race: Table
    ethnicity: Table
    suffix: Table
    birthplace: Table
    address_unit: Table
    place: Table  # labels: place index
    zip_by_place: Table
    place_city: np.ndarray
    place_county: np.ndarray
    place_centre: np.ndarray  # (places, 2): lat, lon
    place_spread: np.ndarray  # (places, 2)
    birth_days: np.ndarray  # quantiles in days since 1970
    death_days: np.ndarray
    first_encounter_days: np.ndarray
    last_encounter_days_alive: np.ndarray
    # encounters
    encounters_per_patient: Table  # groups: age group at the start of the period
    start_calendar: np.ndarray  # percentiles of all encounter starts, in seconds: busy and quiet years
    bucket_edges: np.ndarray  # lower bounds of per-patient encounter-count buckets
    type_by_patient: Table  # labels: encounter type; groups: gender (F, M) x bucket
    type_class: np.ndarray
    type_code: np.ndarray
    type_description: np.ndarray
    type_base_cents: np.ndarray
    type_duration: np.ndarray  # quantiles in seconds
    type_other_cents: np.ndarray  # quantiles of line items other than procedures (medications, immunizations...)
    reason_by_type: Table  # labels: index into reason_code / reason_description (0: none)
    procedure_count_by_type: Table
    procedure_by_type: Table  # labels: procedure code index
    reason_code: np.ndarray
    reason_description: np.ndarray
    # payers
    organization_id: bytes
    payer_id: np.ndarray
    payer_share: Table  # labels: payer index; share of all encounters
    payer_by_age: Table  # groups: age group
    age_edges: np.ndarray
    payer_runs: Table  # runs of encounters with one payer, per patient
    coverage: np.ndarray  # quantiles of the share of the claim the payer covers, per payer
    # procedures
    procedure_code: np.ndarray
    description_by_procedure: Table
    reason_by_procedure: Table
    procedure_cost: np.ndarray  # quantiles, per code
    procedure_duration: np.ndarray  # quantiles in seconds, per code
    # hospice
    hospice_share: float
    admission_share: float
    hospice_code: int  # procedure code index
    admission_type: int
    hospice_days_per_patient: Table
    hospice_days_per_encounter: Table
    hospice_type: Table
    admission_reason: Table

    @classmethod
    def from_profile(cls, p: dict) -> _Model:
        _check_csv_safe(p)
        pat, enc, hos = p["patients"], p["encounters"], p["hospice"]
        types, codes, payers, places = enc["types"], p["procedures"]["codes"], p["payer_mix"]["payers"], pat["places"]
        type_index = {f"{t['class']}|{t['code']}|{t['description']}|{t['base_cost']}": i for i, t in enumerate(types)}
        code_index = {c["code"]: str(i) for i, c in enumerate(codes)}
        admission_type = next(i for i, t in enumerate(types) if t["code"] == hos["admission_code"])
        by_patient = [  # hospice admissions only happen in hospice episodes
            {str(i): t["weights"][gender][bucket] for i, t in enumerate(types) if i != admission_type}
            for gender in ("F", "M")
            for bucket in range(len(enc["bucket_edges"]))
        ]
        first_day, last_day = _days([p["period"]["first_day"], p["period"]["last_day"]])
        return cls(
            payer_header=p["payers"]["header"],
            payer_rows=p["payers"]["rows"],
            organization_header=p["organization"]["header"],
            organization_row=p["organization"]["row"],
            period=(int(first_day) * DAY, (int(last_day) + 1) * DAY - 1),
            female_share=pat["gender"]["F"] / sum(pat["gender"].values()),
            married_share=pat["married_share"],
            deceased_share=pat["deceased_share"],
            race=_table([pat["race"]]),
            ethnicity=_table([pat["ethnicity"]]),
            suffix=_table([pat["suffix"]]),
            birthplace=_table([pat["birthplaces"]]),
            address_unit=_table([pat["address_unit"]]),
            place=_table([{str(i): place["patients"] for i, place in enumerate(places)}], int),
            zip_by_place=_table([place["zips"] for place in places]),
            place_city=_bytes(place["city"] for place in places),
            place_county=_bytes(place["county"] for place in places),
            place_centre=np.array([[place["lat"], place["lon"]] for place in places]),
            place_spread=np.array([[place["spread_lat"], place["spread_lon"]] for place in places]),
            birth_days=_days(pat["birth_date_quantiles"]),
            death_days=_days(pat["death_date_quantiles"]),
            first_encounter_days=_days(pat["first_encounter_quantiles"]),
            last_encounter_days_alive=_days(pat["last_encounter_quantiles_alive"]),
            encounters_per_patient=_table(enc["per_patient_by_age_group"], int),
            start_calendar=_days(enc["start_date_quantiles"]) * DAY,
            bucket_edges=np.array(enc["bucket_edges"]),
            type_by_patient=_table(by_patient, int),
            type_class=_bytes(t["class"] for t in types),
            type_code=_bytes(t["code"] for t in types),
            type_description=_bytes(t["description"] for t in types),
            type_base_cents=np.array([round(float(t["base_cost"]) * 100) for t in types]),
            type_duration=np.array([t["duration_quantiles_s"] for t in types], dtype=float),
            type_other_cents=np.array([t["other_cost_quantiles"] for t in types], dtype=float) * 100,
            reason_by_type=_table([t["reasons"] for t in types], int),
            procedure_count_by_type=_table([t["procedures_per_encounter"] for t in types], int),
            procedure_by_type=_table(
                [{code_index[code]: n for code, n in t["procedure_codes"].items()} for t in types], int
            ),
            reason_code=_bytes(code for code, _ in p["reasons"]),
            reason_description=_bytes(description for _, description in p["reasons"]),
            organization_id=p["organization"]["row"][0].encode(),
            payer_id=_bytes(payer["Id"] for payer in payers),
            payer_share=_table([{str(i): payer["encounters"] for i, payer in enumerate(payers)}], int),
            payer_by_age=_table(
                [
                    {str(i): payer["by_age_group"][group] for i, payer in enumerate(payers)}
                    for group in range(len(p["payer_mix"]["age_edges"]) + 1)
                ],
                int,
            ),
            age_edges=np.array(p["payer_mix"]["age_edges"], dtype=float),
            payer_runs=_table([p["payer_runs_per_patient"]], int),
            coverage=np.array([payer["coverage_quantiles"] for payer in payers], dtype=float),
            procedure_code=_bytes(c["code"] for c in codes),
            description_by_procedure=_table([c["descriptions"] for c in codes]),
            reason_by_procedure=_table([c["reasons"] for c in codes], int),
            procedure_cost=np.array([c["cost_quantiles"] for c in codes], dtype=float),
            procedure_duration=np.array([c["duration_quantiles_s"] for c in codes], dtype=float),
            hospice_share=hos["patient_share"],
            admission_share=hos["admission_share"],
            hospice_code=int(code_index[hos["procedure_code"]]),
            admission_type=admission_type,
            hospice_days_per_patient=_table([hos["procedures_per_patient"]], int),
            hospice_days_per_encounter=_table([hos["days_per_encounter"]], int),
            hospice_type=_table([{str(type_index[key]): n for key, n in hos["host_types"].items()}], int),
            admission_reason=_table([hos["admission_reasons"]], int),
        )


def _check_csv_safe(profile: dict) -> None:
    """The writer never quotes (nor do the real files), so no text that ends up in a CSV may hold a separator."""
    written = [profile[key] for key in ("payers", "organization", "patients", "encounters", "procedures", "reasons")]
    bad = [text for text in _texts(written) if any(ch in text for ch in ',"\r\n\0')]
    if bad:
        raise ValueError(f"demo profile holds text that cannot be written as unquoted CSV: {bad[:3]}")


def _texts(node) -> Iterable[str]:
    """Every string in a JSON document, dictionary keys included (they are labels that get written)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _table(groups: Sequence[dict[str, int]], label_type: type = bytes) -> Table:
    """(labels, cdf) for one frequency table per group, over the union of the groups' labels."""
    labels = sorted({label for counts in groups for label in counts}, key=int if label_type is int else str)
    column = {label: j for j, label in enumerate(labels)}
    weights = np.zeros((len(groups), len(labels)))
    for i, counts in enumerate(groups):
        for label, n in counts.items():
            weights[i, column[label]] = n
    totals = weights.sum(axis=1, keepdims=True)
    cdf = np.cumsum(weights, axis=1) / np.where(totals > 0, totals, 1)
    cdf[totals[:, 0] == 0] = 1.0  # a group never seen always yields the first label
    values = np.array(labels, dtype=np.int64) if label_type is int else _bytes(labels)
    return values, cdf


def _bytes(texts: Iterable[str]) -> np.ndarray:
    return np.array([text.encode("utf-8") for text in texts], dtype="S")


def _days(dates: Sequence[str]) -> np.ndarray:
    return np.array(dates, dtype="datetime64[D]").astype(np.int64)


# ---------------------------------------------------------------- sampling helpers


def _draw(rng: np.random.Generator, table: Table, group: np.ndarray | None = None, n: int = 0) -> np.ndarray:
    """One label per row from the distribution of the row's group (all rows from group 0 if no group is given).

    The groups' cdf rows are laid end to end, row g shifted by g, so that `g + u` falls inside row g: the inverse-cdf
    lookup of millions of rows over many groups is then a single `searchsorted`.
    """
    labels, cdf = table
    group = np.zeros(n, dtype=np.int64) if group is None else group
    n_groups, k = cdf.shape
    flat = (cdf + np.arange(n_groups)[:, None]).ravel()
    hit = np.searchsorted(flat, group + rng.random(len(group)), side="right") - group * k
    return labels[np.clip(hit, 0, k - 1)]


def _stratified(rng: np.random.Generator, table: Table, group: np.ndarray) -> np.ndarray:
    """One label per row, such that the labels of each group's n rows match its distribution as closely as n allows.

    Systematic sampling: small data sets keep the real proportions, and every label with a share of at least 1/n
    appears. That keeps row counts close to the real ones and puts rare but essential cases (hospice care of the
    members of a small payer) into every demo of realistic size, whatever the seed.
    """
    labels, cdf = table
    drawn = np.empty(len(group), dtype=labels.dtype)
    for g in range(len(cdf)):
        rows = np.flatnonzero(group == g)
        points = (rng.random() + np.arange(len(rows))) / max(len(rows), 1)
        hit = np.minimum(np.searchsorted(cdf[g], points, side="right"), len(labels) - 1)
        drawn[rows] = rng.permutation(labels[hit])
    return drawn


def _quantile_draw(rng: np.random.Generator, quantiles: np.ndarray, group: np.ndarray | None = None, n: int = 0):
    """Values from the piecewise-linear distribution given by the quantiles of each row's group."""
    quantiles = np.atleast_2d(quantiles)
    group = np.zeros(n, dtype=np.int64) if group is None else group
    position = rng.random(len(group)) * (quantiles.shape[1] - 1)
    low = position.astype(np.int64)
    high = np.minimum(low + 1, quantiles.shape[1] - 1)
    return quantiles[group, low] + (position - low) * (quantiles[group, high] - quantiles[group, low])


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random ids shaped like the real ones (8-4-4-4-12 lowercase hex digits)."""
    nibbles = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    hex_digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    positions = np.r_[0:8, 9:13, 14:18, 19:23, 24:36]
    text[:, positions[0::2]] = hex_digits[nibbles >> 4]
    text[:, positions[1::2]] = hex_digits[nibbles & 15]
    return text.view("S36").ravel()


def _group_starts(sizes: np.ndarray) -> np.ndarray:
    """Index of each group's first row, for groups of these sizes laid end to end."""
    return np.cumsum(sizes) - sizes


def _rank_in_group(sizes: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each group, for groups of these sizes laid end to end."""
    return np.arange(sizes.sum()) - np.repeat(_group_starts(sizes), sizes)


def _sum_before_in_group(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """For each row, the sum of the values of the earlier rows of its group."""
    before = np.cumsum(values) - values
    present = sizes > 0
    return before - np.repeat(before[_group_starts(sizes)[present]], sizes[present])


# ---------------------------------------------------------------- patients


def _people(rng: np.random.Generator, m: _Model, n: int) -> dict[str, np.ndarray]:
    """Demographics, home, life span and number of encounters of n patients; hospice patients are among the dead."""
    female = rng.random(n) < m.female_share
    birth = np.rint(_quantile_draw(rng, m.birth_days, n=n)).astype(np.int64) * DAY
    age_group = np.searchsorted(m.age_edges, (m.period[0] - birth) / YEAR, side="right")
    hospice = np.zeros(n, dtype=bool)
    hospice[rng.choice(n, round(m.hospice_share * n), replace=False)] = True
    other_death_chance = max(m.deceased_share * n - hospice.sum(), 0) / max(n - hospice.sum(), 1)
    people = {
        "id": _uuids(rng, n),
        "female": female,
        "married": rng.random(n) < np.where(female, m.married_share["F"], m.married_share["M"]),
        "deceased": hospice | (rng.random(n) < other_death_chance),
        "hospice": hospice,
        "birth": birth,
        "death": np.rint(_quantile_draw(rng, m.death_days, n=n)).astype(np.int64) * DAY,
        "encounters": _stratified(rng, m.encounters_per_patient, age_group),  # the old see doctors more often
    }
    people.update(_homes(rng, m, n))
    people.update(_hospice_plan(rng, m, people))
    return people


def _homes(rng: np.random.Generator, m: _Model, n: int) -> dict[str, np.ndarray]:
    """City, ZIP and coordinates around the city centre; a share of patients live next door to another patient.

    Neighbours copy an earlier patient's city, ZIP and position (plus about 100 m): the small clusters that the
    proximity reports look for.
    """
    place = _draw(rng, m.place, n=n)
    zip_code = _draw(rng, m.zip_by_place, place)
    position = m.place_centre[place] + rng.standard_normal((n, 2)) * m.place_spread[place]
    neighbour = np.flatnonzero(rng.random(n) < NEIGHBOUR_SHARE)
    neighbour = neighbour[neighbour > 0]
    anchor = (rng.random(len(neighbour)) * neighbour).astype(np.int64)
    place[neighbour], zip_code[neighbour] = place[anchor], zip_code[anchor]
    position[neighbour] = position[anchor] + rng.standard_normal((len(neighbour), 2)) * NEIGHBOUR_SPREAD
    # Synthea writes latitudes at full precision and longitudes to 8 decimals.
    return {"place": place, "zip": zip_code, "lat": position[:, 0], "lon": np.round(position[:, 1], 8)}


def _hospice_plan(rng: np.random.Generator, m: _Model, people: dict) -> dict[str, np.ndarray]:
    """Length, rhythm, start and payer of each hospice patient's end-of-life episode, which ends before death.

    The payer of the episode is drawn by `_stratified` so that every payer, small ones included, has hospice care
    at demo size; a share of the episodes open with a hospice admission.
    """
    n = len(people["id"])
    patients = np.flatnonzero(people["hospice"])
    days = np.zeros(n, dtype=np.int64)
    one_group = np.zeros(len(patients), dtype=np.int64)
    days[patients] = _stratified(rng, m.hospice_days_per_patient, one_group)
    death = np.where(people["hospice"], np.maximum(people["death"], m.period[0] + (days + 60) * DAY), people["death"])
    admitted = np.zeros(n, dtype=bool)
    admitted[rng.choice(patients, min(round(m.admission_share * n), len(patients)), replace=False)] = True
    payer = np.zeros(n, dtype=np.int64)
    payer[patients] = _stratified(rng, m.payer_share, one_group)
    return {
        "death": death,
        "hospice_days": days,
        "hospice_days_per_visit": _draw(rng, m.hospice_days_per_encounter, n=n),
        "hospice_start": death - days * DAY - rng.integers(DAY, 3 * DAY, n),
        "hospice_payer": payer,
        "admitted": admitted,
    }


# ---------------------------------------------------------------- encounters


def _encounters(rng: np.random.Generator, m: _Model, people: dict) -> dict[str, np.ndarray]:
    """Every encounter of the chunk's patients, ordered by patient and start, with its id, type and payer."""
    regular = _regular_encounters(rng, m, people)
    hospice = _hospice_encounters(rng, m, people)
    visits = {key: np.concatenate([regular[key], hospice[key]]) for key in regular}
    order = np.lexsort((visits["start"], visits["patient"]))
    visits = {key: value[order] for key, value in visits.items()}
    visits["id"] = _uuids(rng, len(order))
    visits["payer"] = _payers(rng, m, people, visits)
    return visits


def _regular_encounters(rng: np.random.Generator, m: _Model, people: dict) -> dict[str, np.ndarray]:
    """Everyday care, typed by gender and intensity of care, spread over each patient's active years the way the
    real encounters are spread over the calendar (within those years)."""
    n = len(people["id"])
    first = np.rint(_quantile_draw(rng, m.first_encounter_days, n=n)).astype(np.int64) * DAY
    last_alive = np.rint(_quantile_draw(rng, m.last_encounter_days_alive, n=n)).astype(np.int64) * DAY
    end = np.where(people["deceased"], people["death"], last_alive + DAY)
    end = np.where(people["hospice"], people["hospice_start"], end) - DAY
    end = np.clip(end, m.period[0], m.period[1] - DAY)
    begin = np.clip(np.minimum(first, end - 30 * DAY), m.period[0], None)
    count = people["encounters"]
    patient = np.repeat(np.arange(n), count)
    calendar = m.start_calendar
    share = np.linspace(0, 1, len(calendar))
    low, high = np.interp(begin, calendar, share), np.interp(end, calendar, share)
    position = low[patient] + rng.random(len(patient)) * (high - low)[patient]
    start = np.clip(np.interp(position, share, calendar).astype(np.int64), begin[patient], end[patient])
    start += rng.integers(0, DAY, len(patient))  # the calendar is in days
    bucket = np.searchsorted(m.bucket_edges, count, side="right") - 1
    group = np.where(people["female"], 0, len(m.bucket_edges)) + bucket
    kind = _draw(rng, m.type_by_patient, group[patient])
    return {"patient": patient, "start": start, "type": kind, "hospice_days": np.zeros(len(patient), np.int64)}


def _hospice_encounters(rng: np.random.Generator, m: _Model, people: dict) -> dict[str, np.ndarray]:
    """Back-to-back encounters covering each hospice episode, each holding one hospice procedure a day."""
    total, per_visit = people["hospice_days"], people["hospice_days_per_visit"]
    visits = -(-total // per_visit)
    patient = np.repeat(np.arange(len(total)), visits)
    rank = _rank_in_group(visits)
    days = np.minimum(per_visit[patient], total[patient] - rank * per_visit[patient])
    kind = _draw(rng, m.hospice_type, n=len(patient))
    kind[(rank == 0) & people["admitted"][patient]] = m.admission_type
    start = people["hospice_start"][patient] + _sum_before_in_group(days, visits) * DAY
    return {"patient": patient, "start": start, "type": kind, "hospice_days": days}


def _payers(rng: np.random.Generator, m: _Model, people: dict, visits: dict) -> np.ndarray:
    """Payer of every encounter: each patient's history is cut into runs, each run paid by a payer drawn by the
    patient's age group when it starts (Medicare from 65, and a new run at each change of age group); hospice
    episodes are paid by the patient's hospice payer.

    Runs are drawn independently, so a run may keep the previous payer: fewer payer changes than the real counts of
    runs, but the real payer mix (which the client reports depend on) is kept.
    """
    patient = visits["patient"]
    sizes = np.bincount(patient, minlength=len(people["id"]))
    runs = np.minimum(_draw(rng, m.payer_runs, n=len(sizes)), np.maximum(sizes, 1))
    cut_chance = (runs - 1) / np.maximum(sizes - 1, 1)
    age_group = np.searchsorted(m.age_edges, (visits["start"] - people["birth"][patient]) / YEAR, side="right")
    first = _rank_in_group(sizes) == 0
    new_age_group = np.r_[False, age_group[1:] != age_group[:-1]] & ~first
    new_run = first | new_age_group | (rng.random(len(patient)) < cut_chance[patient])
    run_start = np.flatnonzero(new_run)
    payer = _draw(rng, m.payer_by_age, age_group[run_start])[np.cumsum(new_run) - 1]
    hospice = visits["hospice_days"] > 0
    payer[hospice] = people["hospice_payer"][patient[hospice]]
    return payer


def _complete_encounters(rng: np.random.Generator, m: _Model, people: dict, visits: dict, acts: dict) -> None:
    """Stop times, reasons, claim costs and coverage; then death dates no earlier than the last encounter.

    An encounter lasts at least as long as its procedures, so that every procedure falls within it; encounters that
    would end after the period are moved back with their procedures.
    """
    n = len(visits["type"])
    busy = np.zeros(n, dtype=np.int64)
    np.maximum.at(busy, acts["encounter"], acts["offset"] + acts["duration"])
    length = np.maximum(np.rint(_quantile_draw(rng, m.type_duration, visits["type"])).astype(np.int64), busy)
    late = visits["start"] + length - m.period[1]
    visits["start"] -= np.where(late > 0, late + rng.integers(0, DAY, n), 0)
    visits["stop"] = visits["start"] + length
    reason = _draw(rng, m.reason_by_type, visits["type"])
    admission = visits["type"] == m.admission_type
    reason[admission] = _draw(rng, m.admission_reason, n=int(admission.sum()))
    visits["reason"] = reason
    procedure_cents = np.bincount(acts["encounter"], weights=acts["cost"], minlength=n).astype(np.int64) * 100
    other_cents = np.rint(_quantile_draw(rng, m.type_other_cents, visits["type"])).astype(np.int64)
    visits["total_cents"] = m.type_base_cents[visits["type"]] + procedure_cents + other_cents
    share = _quantile_draw(rng, m.coverage, visits["payer"])
    visits["coverage_cents"] = np.rint(visits["total_cents"] * share).astype(np.int64)
    last_stop = np.zeros(len(people["id"]), dtype=np.int64)
    np.maximum.at(last_stop, visits["patient"], visits["stop"])
    people["death"] = np.maximum(people["death"], last_stop)


def _procedures(rng: np.random.Generator, m: _Model, visits: dict) -> dict[str, np.ndarray]:
    """Procedures drawn per encounter type, done one after another from the start of their encounter; hospice
    encounters hold one hospice procedure a day. Offsets are seconds after the encounter's start."""
    hospice_days = visits["hospice_days"]
    in_hospice = hospice_days > 0
    count = np.where(in_hospice, hospice_days, _draw(rng, m.procedure_count_by_type, visits["type"]))
    encounter = np.repeat(np.arange(len(count)), count)
    hospice = in_hospice[encounter]
    code = np.where(hospice, m.hospice_code, _draw(rng, m.procedure_by_type, visits["type"][encounter]))
    duration = np.rint(_quantile_draw(rng, m.procedure_duration, code)).astype(np.int64)
    return {
        "encounter": encounter,
        "code": code,
        "offset": np.where(hospice, _rank_in_group(count) * DAY, _sum_before_in_group(duration, count)),
        "duration": duration,
        "cost": np.rint(_quantile_draw(rng, m.procedure_cost, code)).astype(np.int64),
        "description": _draw(rng, m.description_by_procedure, code),
        "reason": _draw(rng, m.reason_by_procedure, code),
    }


# ---------------------------------------------------------------- rows as the real files write them


def _patient_fields(rng: np.random.Generator, m: _Model, people: dict) -> list:
    """The patients.csv columns in order (see `_write_csv` for the shapes a column may take)."""
    n = len(people["id"])
    female, married = people["female"], people["married"]
    first = np.where(female, _pick(rng, FEMALE_NAMES, n), _pick(rng, MALE_NAMES, n))
    maiden = np.where(female & married, np.char.add(_pick(rng, SURNAMES, n), _numbers(rng, n)), b"")
    unit = _draw(rng, m.address_unit, n=n)
    unit = np.where(unit == b"", b"", np.char.add(np.char.add(b" ", unit), np.char.add(b" ", _numbers(rng, n, 99))))
    return [
        people["id"],
        _dates(people["birth"]),
        np.where(people["deceased"], _dates(people["death"]), b""),
        np.where(female, np.where(married, b"Mrs.", b"Ms."), b"Mr."),
        (first, _numbers(rng, n)),
        (_pick(rng, SURNAMES, n), _numbers(rng, n)),
        _draw(rng, m.suffix, n=n),
        maiden,
        np.where(married, b"M", b"S"),
        _draw(rng, m.race, n=n),
        _draw(rng, m.ethnicity, n=n),
        np.where(female, b"F", b"M"),
        _draw(rng, m.birthplace, n=n),
        (_numbers(rng, n), b" ", _pick(rng, STREET_WORDS, n), b" ", _pick(rng, STREET_SUFFIXES, n), unit),
        m.place_city[people["place"]],
        b"Massachusetts",
        m.place_county[people["place"]],
        people["zip"],
        people["lat"].astype("S"),
        people["lon"].astype("S"),
    ]


def _encounter_fields(m: _Model, people: dict, visits: dict) -> list:
    """The encounters.csv columns in order."""
    kind, reason = visits["type"], visits["reason"]
    return [
        visits["id"],
        _timestamps(m, visits["start"]),
        _timestamps(m, visits["stop"]),
        people["id"][visits["patient"]],
        m.organization_id,
        m.payer_id[visits["payer"]],
        m.type_class[kind],
        m.type_code[kind],
        m.type_description[kind],
        _money(m.type_base_cents[kind]),
        _money(visits["total_cents"]),
        _money(visits["coverage_cents"]),
        m.reason_code[reason],
        m.reason_description[reason],
    ]


def _procedure_fields(m: _Model, people: dict, visits: dict, acts: dict) -> list:
    """The procedures.csv columns in order; patient and times follow from the procedure's encounter."""
    encounter = acts["encounter"]
    start = visits["start"][encounter] + acts["offset"]
    return [
        _timestamps(m, start),
        _timestamps(m, start + acts["duration"]),
        people["id"][visits["patient"][encounter]],
        visits["id"][encounter],
        m.procedure_code[acts["code"]],
        acts["description"],
        acts["cost"].astype("S"),
        m.reason_code[acts["reason"]],
        m.reason_description[acts["reason"]],
    ]


def _pick(rng: np.random.Generator, words: Sequence[str], n: int) -> np.ndarray:
    return _bytes(words)[rng.integers(0, len(words), n)]


def _numbers(rng: np.random.Generator, n: int, high: int = 999) -> np.ndarray:
    """Numbers 1..high as text: Synthea's name suffixes, house and unit numbers."""
    return rng.integers(1, high + 1, n).astype("S")


def _dates(seconds: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="D").astype("S10")


def _timestamps(m: _Model, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times like 2011-01-02T09:26:36Z as (date, time) pieces, looked up in tables of the period's days and of the
    seconds of a day: much faster than formatting millions of datetimes."""
    day, second = np.divmod(seconds, DAY)
    first_day, last_day = (s // DAY for s in m.period)
    return _calendar(first_day, last_day)[day - first_day], _clock()[second]


@functools.cache
def _calendar(first_day: int, last_day: int) -> np.ndarray:
    days = np.arange(first_day, last_day + 1).astype("datetime64[D]")
    return np.char.add(np.datetime_as_string(days).astype("S10"), b"T")


@functools.cache
def _clock() -> np.ndarray:
    return _bytes(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY))


@functools.cache
def _cent_suffixes() -> np.ndarray:
    """'', '.01' ... '.1', '.11' ...: the real files write costs like 85.55, 136.8 and 0."""
    return _bytes([""] + [f".{cents:02d}".rstrip("0") for cents in range(1, 100)])


def _money(cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    whole, cents = np.divmod(cents, 100)
    return whole.astype("S"), _cent_suffixes()[cents]


def _write_csv(fh: BinaryIO, fields: Sequence) -> int:
    """Append rows given column by column, each row preceded by CRLF; return the number of rows.

    After the header this reproduces the real files' layout: CRLF between lines, none after the last, no quoting.
    A column is a byte-string array, a tuple of pieces written without separator (date and time, number and
    name), or a single bytes value shared by every row; the first piece must be an array. numpy pads byte strings
    with NULs to a common width: the padded pieces and separators are laid side by side in one byte matrix and the
    NULs dropped at the end, which is far faster than joining strings row by row.
    """
    rows = len(fields[0][0] if isinstance(fields[0], tuple) else fields[0])
    for begin in range(0, rows, WRITE_BATCH_ROWS):
        end = min(begin + WRITE_BATCH_ROWS, rows)
        parts = []
        for i, field in enumerate(fields):
            for piece in (b"," if i else CRLF, *(field if isinstance(field, tuple) else (field,))):
                piece = np.asarray(piece)
                piece = piece[begin:end] if piece.ndim else piece.reshape(1)
                matrix = np.ascontiguousarray(piece).view(np.uint8).reshape(len(piece), piece.itemsize)
                parts.append(np.broadcast_to(matrix, (end - begin, piece.itemsize)))
        fh.write(np.concatenate(parts, axis=1).tobytes().replace(b"\0", b""))
    return rows
