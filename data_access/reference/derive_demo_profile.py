"""Derive data_access/reference/demo_profile.json from the real input files (aggregates only).

Run by hand when the real input changes:
    python data_access/reference/derive_demo_profile.py "$MAT_INPUT_DIR" data_access/reference/demo_profile.json
Nothing patient-level is written: only catalogues (codes, descriptions, payers, places), frequencies and quantiles.
Centroids of places are rounded (3 decimals, 2 for places with fewer than 5 patients); birthplaces seen once are
dropped.
"""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HOSPICE_PROCEDURE = "385763009"
HOSPICE_ADMISSION = "305336008"
QUANTILES = np.linspace(0, 1, 21)
BUCKET_EDGES = [1, 4, 14, 28, 55, 275]  # lower bounds of per-patient encounter-count buckets
AGE_EDGES = [40, 65]
PERIOD = ("2011-01-01", "2022-02-05")


def read(d, name):
    return pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def counts(s):
    return {str(k): int(v) for k, v in s.value_counts().sort_index().items()}


def q(values, digits=0):
    arr = np.quantile(np.asarray(values, dtype=float), QUANTILES)
    return [round(float(x), digits) if digits else int(round(x)) for x in arr]


def qdates(series, quantiles=QUANTILES):
    days = pd.to_datetime(series).values.astype("datetime64[D]").astype(np.int64)
    return [str(np.datetime64(int(round(x)), "D")) for x in np.quantile(days, quantiles)]


def main(src: Path, dst: Path):
    pa, en, pr, py, org = (read(src, n) for n in ("patients", "encounters", "procedures", "payers", "organizations"))
    for df in (pa, en, pr):
        for col in df.columns:
            assert not df[col].str.contains('[,"\n\r]').any(), col

    reasons = pd.concat([en[["REASONCODE", "REASONDESCRIPTION"]], pr[["REASONCODE", "REASONDESCRIPTION"]]])
    reasons = reasons[reasons.REASONCODE != ""].drop_duplicates().sort_values(["REASONCODE", "REASONDESCRIPTION"])
    reason_list = [["", ""]] + reasons.values.tolist()
    reason_idx = {(c, d): i for i, (c, d) in enumerate(reason_list)}

    def reason_counts(df):
        idx = [reason_idx[(c, d)] for c, d in zip(df.REASONCODE, df.REASONDESCRIPTION)]
        return counts(pd.Series(idx))

    ts = lambda s: pd.to_datetime(s).values.astype("datetime64[s]").astype(np.int64)
    birth = pd.to_datetime(pa.set_index("Id").BIRTHDATE)
    en = en.assign(
        t0=ts(en.START), t1=ts(en.STOP), gender=en.PATIENT.map(pa.set_index("Id").GENDER),
        age=(pd.to_datetime(en.START).dt.tz_localize(None) - en.PATIENT.map(birth)).dt.days / 365.25,
    )
    en["type"] = en.ENCOUNTERCLASS + "|" + en.CODE + "|" + en.DESCRIPTION + "|" + en.BASE_ENCOUNTER_COST
    n_per_patient = en.groupby("PATIENT").size()
    age_at_start = (pd.Timestamp(PERIOD[0]) - birth).dt.days / 365.25
    cohort = pd.Series(np.searchsorted(AGE_EDGES, age_at_start, side="right"), index=birth.index)
    en["bucket"] = np.searchsorted(BUCKET_EDGES, en.PATIENT.map(n_per_patient), side="right") - 1

    pr = pr.assign(t0=ts(pr.START), t1=ts(pr.STOP), cost=pr.BASE_COST.astype(int))
    regular_pr = pr[pr.CODE != HOSPICE_PROCEDURE]
    hospice_pr = pr[pr.CODE == HOSPICE_PROCEDURE]
    pr_per_enc = regular_pr.groupby("ENCOUNTER").size()
    cost_per_enc = pr.groupby("ENCOUNTER").cost.sum()
    en["n_proc"] = en.Id.map(pr_per_enc).fillna(0).astype(int)
    en["other_cost"] = (
        en.TOTAL_CLAIM_COST.astype(float) - en.BASE_ENCOUNTER_COST.astype(float) - en.Id.map(cost_per_enc).fillna(0)
    ).clip(lower=0)

    codes = sorted(regular_pr.CODE.unique().tolist() + [HOSPICE_PROCEDURE], key=int)
    procedure_codes = []
    for code in codes:
        rows = pr[pr.CODE == code]
        procedure_codes.append({
            "code": code,
            "descriptions": counts(rows.DESCRIPTION),
            "cost_quantiles": q(rows.cost),
            "duration_quantiles_s": q(rows.t1 - rows.t0),
            "reasons": reason_counts(rows),
        })

    types = []
    enc_with_pr = regular_pr.merge(en[["Id", "type"]], left_on="ENCOUNTER", right_on="Id")
    for key, rows in en.groupby("type", sort=True):
        cls, code, desc, base = key.split("|")
        types.append({
            "class": cls, "code": code, "description": desc, "base_cost": base,
            "duration_quantiles_s": q(rows.t1 - rows.t0),
            "other_cost_quantiles": q(rows.other_cost, 2),
            "procedures_per_encounter": counts(rows.n_proc),
            "procedure_codes": counts(enc_with_pr[enc_with_pr.type == key].CODE),
            "reasons": reason_counts(rows),
            "weights": {
                g: [int(((rows.gender == g) & (rows.bucket == b)).sum()) for b in range(len(BUCKET_EDGES))]
                for g in ("F", "M")
            },
        })

    payer_name = dict(zip(py.Id, py.NAME))
    en["age_group"] = np.searchsorted(AGE_EDGES, en.age, side="right")
    en["coverage"] = en.PAYER_COVERAGE.astype(float) / en.TOTAL_CLAIM_COST.astype(float).replace(0, np.nan)
    payer_mix = []
    for pid in py.Id:
        rows = en[en.PAYER == pid]
        payer_mix.append({
            "Id": pid, "name": payer_name[pid], "encounters": int(len(rows)),
            "by_age_group": [int((rows.age_group == g).sum()) for g in range(len(AGE_EDGES) + 1)],
            "coverage_quantiles": q(rows.coverage.dropna(), 4),
        })
    ordered = en.sort_values(["PATIENT", "t0"])
    runs = (ordered.PAYER != ordered.groupby("PATIENT").PAYER.shift()).groupby(ordered.PATIENT).sum()

    pa = pa.assign(lat=pa.LAT.astype(float), lon=pa.LON.astype(float))
    places = []
    for (city, county), rows in pa.groupby(["CITY", "COUNTY"], sort=True):
        few = len(rows) < 5
        places.append({
            "city": city, "county": county, "patients": int(len(rows)),
            "lat": round(rows.lat.mean(), 2 if few else 3), "lon": round(rows.lon.mean(), 2 if few else 3),
            "spread_lat": 0.015 if few else round(rows.lat.std(), 3),
            "spread_lon": 0.02 if few else round(rows.lon.std(), 3),
            "zips": counts(rows.ZIP),
        })
    born = pa.BIRTHPLACE.value_counts()
    first_last = en.groupby("PATIENT").START.agg(["min", "max"])
    alive = pa.Id[pa.DEATHDATE == ""]
    unit = pa.ADDRESS.str.extract(r" (Unit|Apt|Suite) \d+$")[0].fillna("")

    h_enc = hospice_pr.groupby("ENCOUNTER").size()
    h_types = en[en.Id.isin(h_enc.index)].type.value_counts()
    admissions = en[en.CODE == HOSPICE_ADMISSION]
    profile = {
        "about": (
            "Aggregate profile of the 974-patient Synthea sample (see input/citation.txt) that drives "
            "data_access.demo_data. Only catalogues, frequencies (counts) and quantiles (21 points, 0..100%) are kept: "
            "no patient-level rows, names or street addresses. Place centroids are rounded; birthplaces seen once are "
            "dropped. Encounter 'weights' are counts per patient gender and per bucket of the patient's encounter "
            "count."
        ),
        "period": {"first_day": PERIOD[0], "last_day": PERIOD[1]},
        "organization": {"header": org.columns.tolist(), "row": org.iloc[0].tolist()},
        "payers": {"header": py.columns.tolist(), "rows": py.values.tolist()},
        "payer_mix": {"age_edges": AGE_EDGES, "payers": payer_mix},
        "payer_runs_per_patient": counts(runs),
        "patients": {
            "gender": counts(pa.GENDER),
            "race": counts(pa.RACE),
            "ethnicity": counts(pa.ETHNICITY),
            "married_share": {g: round(float((pa[pa.GENDER == g].MARITAL == "M").mean()), 3) for g in ("F", "M")},
            "suffix": counts(pa.SUFFIX),
            "deceased_share": round(float((pa.DEATHDATE != "").mean()), 4),
            "birth_date_quantiles": qdates(pa.BIRTHDATE),
            "death_date_quantiles": qdates(pa.DEATHDATE[pa.DEATHDATE != ""]),
            "first_encounter_quantiles": qdates(first_last["min"].str[:10]),
            "last_encounter_quantiles_alive": qdates(first_last.loc[first_last.index.isin(alive), "max"].str[:10]),
            "birthplaces": {k: int(v) for k, v in born[born >= 2].items()},
            "address_unit": counts(unit),
            "places": places,
        },
        "reasons": reason_list,
        "encounters": {
            "per_patient_by_age_group": [
                counts(n_per_patient[cohort.reindex(n_per_patient.index) == g]) for g in range(len(AGE_EDGES) + 1)
            ],
            "start_date_quantiles": qdates(en.START.str[:10], np.linspace(0, 1, 101)),
            "bucket_edges": BUCKET_EDGES,
            "types": types,
        },
        "procedures": {"codes": procedure_codes},
        "hospice": {
            "procedure_code": HOSPICE_PROCEDURE,
            "admission_code": HOSPICE_ADMISSION,
            "patient_share": round(hospice_pr.PATIENT.nunique() / len(pa), 4),
            "admission_share": round(len(admissions) / len(pa), 4),
            "procedures_per_patient": counts(hospice_pr.groupby("PATIENT").size()),
            "days_per_encounter": counts(h_enc),
            "host_types": {t: int(n) for t, n in h_types.items()},
            "admission_reasons": reason_counts(admissions),
        },
    }
    text = json.dumps(profile, indent=1, ensure_ascii=False)
    # one line per list of scalars keeps the file readable
    text = re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)).strip() + "]", text)
    dst.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
