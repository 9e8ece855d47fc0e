"""Bench data: the real input copied k times with new ids, so that sizes grow while distributions stay real.

A synthetic generator would give 100x of *some* data; re-keyed copies give 100x of *this* data: the same payer
mix, procedure mix, costs, dates, hospice share and patient geography, so a query that is slow on the copy is slow
for the reasons it would be slow in production. Each copy gets fresh UUID-shaped ids (deterministic per table and
copy, so a cache can be checked and a run repeated) and its patients move by a few metres, so that copies are not
exact duplicates for the proximity analysis. Copy 0 is the input itself, byte for byte.

The files keep the input's format exactly (UTF-8 BOM, CRLF, header, the input's value styles, no newline after the
last row when the input has none): every text column is read and written back as text, which round-trips the real
files byte for byte; only the ids and coordinates of copies 1..k-1 are new.

Writing is vectorised pandas, one copy at a time (memory stays at one copy, ~50k rows). A data set is written to a
temporary folder and renamed when complete, with a manifest naming the source files' hashes, so an interrupted or
stale set is never reused.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("payers", "organizations", "patients", "encounters", "procedures")
EXTRA_FILES = ("data_dictionary.csv", "citation.txt")
GENERATOR_VERSION = 1
SEED = 20240611
TABLE_SEEDS = {"patients": 1, "encounters": 2}
JITTER_METRES = 5.0
METRES_PER_DEGREE_LAT = 111_320.0
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_COLUMNS = [i for i in range(36) if i not in (8, 13, 18, 23)]


@dataclass
class Dataset:
    label: str  # "1x", "10x", "100x" or "fixture"
    path: Path
    multiplier: int | None
    rows: dict[str, int] = field(default_factory=dict)
    generated_seconds: float | None = None  # None: reused from the cache (or the input itself)

    def as_dict(self) -> dict:
        return {"label": self.label, "path": str(self.path), "multiplier": self.multiplier, "rows": self.rows,
                "generated_seconds": self.generated_seconds}


def uuid_like(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` random lowercase 8-4-4-4-12 hex ids, built as a byte matrix (no Python loop per row)."""
    digits = _HEX[rng.integers(0, 16, size=(count, 32), dtype=np.uint8)]
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, _HEX_COLUMNS] = digits
    return text.view("S36").ravel().astype(str)


def read_table(path: Path) -> pd.DataFrame:
    """Every column as text, empty fields as "" (not NaN): writing back then reproduces the file exactly."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")


def source_digest(source: Path) -> str:
    digest = hashlib.sha256(f"generator {GENERATOR_VERSION}".encode())
    for name in TABLES:
        digest.update((source / f"{name}.csv").read_bytes())
    return digest.hexdigest()


def count_rows(directory: Path) -> dict[str, int]:
    rows = {}
    for name in TABLES:
        with open(directory / f"{name}.csv", "rb") as handle:
            data = handle.read()
        rows[name] = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
    return rows


class _Copier:
    """The input in memory plus the index arrays that re-point foreign keys to a copy's new ids."""

    def __init__(self, source: Path):
        self.frames = {name: read_table(source / f"{name}.csv") for name in TABLES}
        patients, encounters = self.frames["patients"], self.frames["encounters"]
        procedures = self.frames["procedures"]
        patient_index = pd.Index(patients["Id"])
        encounter_index = pd.Index(encounters["Id"])
        self.encounter_patient = patient_index.get_indexer(encounters["PATIENT"])
        self.procedure_patient = patient_index.get_indexer(procedures["PATIENT"])
        self.procedure_encounter = encounter_index.get_indexer(procedures["ENCOUNTER"])
        for name, index in (("encounters.PATIENT", self.encounter_patient),
                            ("procedures.PATIENT", self.procedure_patient),
                            ("procedures.ENCOUNTER", self.procedure_encounter)):
            if (index < 0).any():
                raise ValueError(f"{name} refers to ids that do not exist; cannot re-key this input")
        self.lat = patients["LAT"].astype(float).to_numpy()
        self.lon = patients["LON"].astype(float).to_numpy()
        self.ends_with_newline = {
            name: (source / f"{name}.csv").read_bytes().endswith(b"\n") for name in TABLES
        }

    def copy(self, number: int) -> dict[str, pd.DataFrame]:
        """Copy `number` of every table; copy 0 is the input unchanged."""
        if number == 0:
            return self.frames
        patients, encounters, procedures = (self.frames[name] for name in ("patients", "encounters", "procedures"))
        patient_ids = uuid_like(np.random.default_rng([SEED, TABLE_SEEDS["patients"], number]), len(patients))
        encounter_ids = uuid_like(np.random.default_rng([SEED, TABLE_SEEDS["encounters"], number]), len(encounters))
        jitter = np.random.default_rng([SEED, 3, number]).uniform(-JITTER_METRES, JITTER_METRES, (2, len(patients)))
        lat = self.lat + jitter[0] / METRES_PER_DEGREE_LAT
        lon = self.lon + jitter[1] / (METRES_PER_DEGREE_LAT * np.cos(np.radians(self.lat)))
        return {
            "payers": self.frames["payers"],
            "organizations": self.frames["organizations"],
            # numpy's str() of a float is the shortest repr, the style of the input's coordinates
            "patients": patients.assign(Id=patient_ids, LAT=lat.astype(str), LON=lon.astype(str)),
            "encounters": encounters.assign(Id=encounter_ids, PATIENT=patient_ids[self.encounter_patient]),
            "procedures": procedures.assign(PATIENT=patient_ids[self.procedure_patient],
                                            ENCOUNTER=encounter_ids[self.procedure_encounter]),
        }


def write_scaled(source: Path, target: Path, multiplier: int, progress=print) -> None:
    """Write `multiplier` copies of every patient (with their encounters and procedures) into `target`."""
    copier = _Copier(source)
    target.mkdir(parents=True)
    handles = {name: open(target / f"{name}.csv", "w", encoding="utf-8-sig", newline="") for name in TABLES}
    try:
        for number in range(multiplier):
            tables = copier.copy(number)
            for name in ("patients", "encounters", "procedures"):
                tables[name].to_csv(handles[name], header=number == 0, index=False, lineterminator="\r\n")
            if (number + 1) % 10 == 0 or number + 1 == multiplier:
                progress(f"    {target.name}: {number + 1}/{multiplier} copies written")
        for name in ("payers", "organizations"):  # shared by every copy: written once
            copier.frames[name].to_csv(handles[name], index=False, lineterminator="\r\n")
    finally:
        for handle in handles.values():
            handle.close()
    for name in TABLES:
        if not copier.ends_with_newline[name]:
            path = target / f"{name}.csv"
            with open(path, "rb+") as handle:
                handle.truncate(path.stat().st_size - 2)  # the trailing CRLF the input does not have
    for name in EXTRA_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)


def scaled(source: Path, multiplier: int, data_dir: Path, progress=print) -> Dataset:
    """The `multiplier`x data set: the input itself at 1x, else a cached copy under `data_dir`/<k>x."""
    label = f"{multiplier}x"
    if multiplier == 1:
        return Dataset(label, source, 1, count_rows(source))
    target = data_dir / label
    manifest_path = target / "bench-manifest.json"
    digest = source_digest(source)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("source_digest") == digest and manifest.get("multiplier") == multiplier:
            progress(f"  {label}: reusing {target}")
            return Dataset(label, target, multiplier, manifest["rows"])
        progress(f"  {label}: {target} was made from other input; rebuilding")
    partial = data_dir / f".{label}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    began = time.perf_counter()
    progress(f"  {label}: writing {multiplier} re-keyed copies of {source} ...")
    write_scaled(source, partial, multiplier, progress)
    rows = count_rows(partial)
    seconds = time.perf_counter() - began
    (partial / "bench-manifest.json").write_text(json.dumps(
        {"source": str(source), "source_digest": digest, "multiplier": multiplier, "rows": rows,
         "generator_version": GENERATOR_VERSION, "seconds": round(seconds, 1)}, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    progress(f"  {label}: {rows['patients']:,} patients, {rows['encounters']:,} encounters, "
             f"{rows['procedures']:,} procedures in {seconds:.0f} s")
    return Dataset(label, target, multiplier, rows, round(seconds, 1))


def fixture(data_dir: Path) -> Dataset:
    """The tests' small data set (tests/fixture_data.py), for the smoke run."""
    from tests import fixture_data

    target = data_dir / "fixture"
    shutil.rmtree(target, ignore_errors=True)
    fixture_data.write(target)
    return Dataset("fixture", target, None, count_rows(target))
