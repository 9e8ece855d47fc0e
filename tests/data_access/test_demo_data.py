"""The demo data must be a drop-in replacement for the real input files: same files, bytes layout and value styles,
consistent keys, and the cases the reports are about (client payers, hospice care, payer changes)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from data_access import demo_data
from data_access.demo_data import write_demo_data

HEADERS = {
    "patients": "Id,BIRTHDATE,DEATHDATE,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,"
    "ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,LON",
    "encounters": "Id,START,STOP,PATIENT,ORGANIZATION,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST,"
    "TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION",
    "procedures": "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,REASONDESCRIPTION",
    "payers": "Id,NAME,ADDRESS,CITY,STATE_HEADQUARTERED,ZIP,PHONE",
    "organizations": "Id,NAME,ADDRESS,CITY,STATE,ZIP,LAT,LON",
}
PAYERS = {
    "Dual Eligible", "Medicare", "Medicaid", "Humana", "Blue Cross Blue Shield", "UnitedHealthcare", "Aetna",
    "Cigna Health", "Anthem", "NO_INSURANCE",
}
HOSPICE_PROCEDURE = "385763009"
HOSPICE_ADMISSION = "305336008"
TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
MONEY = r"(0|[1-9]\d*)(\.\d?[1-9])?"  # 85.55, 136.8, 0: how the real files write costs


def read(directory, stem: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{stem}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One 1,000-patient data set (the `make run` size) shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("demo")
    counts = write_demo_data(out, patients=1000, seed=7)
    tables = {stem: read(out, stem) for stem in HEADERS}
    return out, counts, tables


def test_writes_the_five_files_with_the_real_headers_bom_and_line_layout(demo):
    out, counts, tables = demo
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{stem}.csv" for stem in HEADERS)
    for stem, header in HEADERS.items():
        raw = (out / f"{stem}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf" + header.encode() + b"\r\n")
        assert not raw.endswith(b"\n"), "the real files end without a line break"
        assert b"\n" not in raw.replace(b"\r\n", b""), "lines are separated by CRLF only"
        assert b'"' not in raw, "the real files are never quoted"
        assert counts[stem] == len(tables[stem]) == raw.count(b"\r\n")


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo_data(first, patients=300, seed=3)
    write_demo_data(second, patients=300, seed=3)
    write_demo_data(other, patients=300, seed=4)
    for stem in HEADERS:
        assert (first / f"{stem}.csv").read_bytes() == (second / f"{stem}.csv").read_bytes(), stem
    assert (first / "patients.csv").read_bytes() != (other / "patients.csv").read_bytes()


def test_every_key_resolves_and_procedures_sit_inside_their_encounter(demo):
    _, _, t = demo
    patients, encounters, procedures = t["patients"], t["encounters"], t["procedures"]
    assert patients.Id.is_unique and encounters.Id.is_unique
    assert encounters.PATIENT.isin(patients.Id).all()
    assert encounters.PAYER.isin(t["payers"].Id).all()
    assert encounters.ORGANIZATION.isin(t["organizations"].Id).all()
    joined = procedures.merge(encounters, left_on="ENCOUNTER", right_on="Id", how="left", suffixes=("", "_enc"))
    assert joined.Id.notna().all() and (joined.Id != "").all()
    assert (joined.PATIENT == joined.PATIENT_enc).all()
    # ISO timestamps in UTC compare correctly as text
    assert (joined.START >= joined.START_enc).all() and (joined.STOP <= joined.STOP_enc).all()
    assert (joined.START <= joined.STOP).all()


def test_fixed_tables_are_the_real_payers_and_hospital(demo):
    _, _, t = demo
    assert set(t["payers"].NAME) == PAYERS
    no_insurance = t["payers"][t["payers"].NAME == "NO_INSURANCE"].iloc[0]
    assert (no_insurance.drop(["Id", "NAME"]) == "").all()
    assert t["organizations"].NAME.tolist() == ["MASSACHUSETTS GENERAL HOSPITAL"]


def test_payer_mix_has_all_ten_payers_led_by_medicare_and_no_insurance(demo):
    _, _, t = demo
    share = t["encounters"].PAYER.map(t["payers"].set_index("Id").NAME).value_counts(normalize=True)
    assert set(share.index) == PAYERS
    assert set(share.index[:2]) == {"Medicare", "NO_INSURANCE"}
    assert 0.015 < share["UnitedHealthcare"] < 0.06
    assert 0.015 < share["Humana"] < 0.07


def test_hospice_care_exists_including_for_both_client_payers(demo):
    _, _, t = demo
    payer_name = t["encounters"].set_index("Id").PAYER.map(t["payers"].set_index("Id").NAME)
    hospice = t["procedures"][t["procedures"].CODE == HOSPICE_PROCEDURE]
    assert set(hospice.DESCRIPTION) == {"Hospice care (regime/therapy)"}
    assert {"UnitedHealthcare", "Humana"} <= set(hospice.ENCOUNTER.map(payer_name))
    admissions = t["encounters"][t["encounters"].CODE == HOSPICE_ADMISSION]
    assert len(admissions) > 0
    assert set(admissions.DESCRIPTION) == {"Admission to hospice (procedure)"}


def test_patients_change_payer_over_time(demo):
    _, _, t = demo
    payers_per_patient = t["encounters"].groupby("PATIENT").PAYER.nunique()
    assert (payers_per_patient > 1).mean() > 0.2


def test_codes_keep_their_several_real_descriptions(demo):
    _, _, t = demo
    descriptions = t["procedures"].groupby("CODE").DESCRIPTION.unique()
    assert {"Depression screening", "Depression screening (procedure)"} <= set(descriptions["171207006"])
    assert len(descriptions["5880005"]) >= 2


def test_values_are_written_in_the_real_styles(demo):
    _, _, t = demo
    patients, encounters, procedures = t["patients"], t["encounters"], t["procedures"]
    for column in (encounters.START, encounters.STOP, procedures.START, procedures.STOP):
        assert column.str.fullmatch(TIMESTAMP).all()
    assert encounters.START.min() >= "2011-01-01" and encounters.STOP.max() <= "2022-02-05T23:59:59Z"
    for column in ("BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE"):
        assert encounters[column].str.fullmatch(MONEY).all(), column
    assert encounters.BASE_ENCOUNTER_COST.str.contains(r"\.").any()
    assert procedures.BASE_COST.str.fullmatch(r"[1-9]\d*").all()
    assert patients.BIRTHDATE.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert patients.DEATHDATE.str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    assert patients.ZIP.str.fullmatch(r"(0\d{4})?").all()
    assert 0.05 < (patients.ZIP == "").mean() < 0.3
    assert patients.FIRST.str.fullmatch(r"[A-Z][a-z]+\d{1,3}").all()
    lat, lon = patients.LAT.astype(float), patients.LON.astype(float)
    assert lat.between(42.0, 42.7).all() and lon.between(-71.4, -70.5).all()
    assert (patients.CITY == "Boston").mean() > 0.4


def test_real_size_gives_row_counts_of_the_real_order(tmp_path):
    counts = write_demo_data(tmp_path, patients=974, seed=0)
    assert counts["patients"] == 974
    assert abs(counts["encounters"] / 27_891 - 1) < 0.2
    assert abs(counts["procedures"] / 47_701 - 1) < 0.2


def test_chunks_join_up_and_report_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_data, "CHUNK_PATIENTS", 250)
    calls = []
    counts = write_demo_data(tmp_path, patients=600, seed=1, progress=lambda *args: calls.append(args))
    assert [done for _, done, _ in calls] == [250, 500, 600] and {total for *_, total in calls} == {600}
    patients, encounters = read(tmp_path, "patients"), read(tmp_path, "encounters")
    procedures = read(tmp_path, "procedures")
    assert counts["patients"] == len(patients) == patients.Id.nunique() == 600
    assert encounters.Id.is_unique and encounters.PATIENT.isin(patients.Id).all()
    assert procedures.ENCOUNTER.isin(encounters.Id).all()


def test_an_interrupted_run_leaves_no_files(tmp_path):
    def interrupt(*_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_demo_data(tmp_path, patients=50, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_profile_holds_aggregates_only(demo):
    """The profile ships with the code: no patient or encounter ids, no Synthea-style names from the real files."""
    _, _, t = demo
    text = demo_data.PROFILE_PATH.read_text(encoding="utf-8")
    ids = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text))
    assert ids == set(t["payers"].Id) | set(t["organizations"].Id)
    assert not re.search(r"\b[A-Z][a-z]+\d{1,3}\b", text)
