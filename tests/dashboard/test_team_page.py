"""Acceptance of issue 4, the team dashboard (/team): the hospital treating a client's members and how many members
it helped per specialty and month, with the `patients-helped`, `procedure-summary` and `procedure-rows` extracts.

Every figure is checked against an independent pandas computation from the raw input CSVs (`Reference` below; it
never calls product query code). Definitions (DESIGN §2 and the issue):

- a client's data = encounters whose PAYER is the client's payer Id, and the procedures of those encounters;
- a procedure / an encounter belongs to the UTC day of its START; date ranges are inclusive;
- hospice data = procedures whose code maps to Hospice in data_access/reference/procedure_specialties.csv, every
  procedure of a hospice admission encounter (code 305336008), and those admissions; for a viewer whose specialty is
  not Hospice these rows do not exist;
- without a specialty: members helped = distinct patients with a visible encounter in the range; encounters = the
  visible encounters in the range (claim cost and payer coverage are their sums); procedures = the visible procedures
  in the range (procedure cost = sum of BASE_COST);
- with a specialty S: procedures = the visible procedures of S's codes in the range; members helped = their distinct
  patients; encounters = the distinct encounters holding at least one of them (with their claim cost and coverage);
- per month: the same within each calendar month of the range; months without activity are listed with zeros.
"""
from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests import fixture_data
from tests.conftest import login

REPO = Path(__file__).resolve().parents[2]
SPECIALTY_MAP = REPO / "data_access" / "reference" / "procedure_specialties.csv"
HOSPICE = "Hospice"
HOSPICE_ADMISSION = "305336008"
HOSPICE_CODES = {"385763009", "58000006"}
TEAM = "team-scope.children"  # a substring of the /team callback's output key

# Real data: the last date in the data and the ranges the issue names.
LAST_DAY = "2022-02-05"
LAST_12_MONTHS = ("2021-02-06", LAST_DAY)


def card_figures(k: dict) -> str:
    """The hospital card's line, with singular nouns for counts of one."""
    def plural(count, noun):
        return f"{count:,} {noun}{'' if count == 1 else 's'}"

    return (f"{plural(k['members'], 'member')} helped · {plural(k['encounters'], 'encounter')} · "
            f"{plural(k['procedures'], 'procedure')}")


# ---------------------------------------------------------------------------------------------------------------
# The independent computation


@dataclass
class Expected:
    kpis: dict
    monthly: pd.DataFrame  # month, patients, encounters, procedures, total_cost, claim_cost, payer_coverage
    procedures: pd.DataFrame  # the visible procedures of the selection in the range (one row each)
    encounters: pd.DataFrame  # the encounters of the selection
    summary: pd.DataFrame  # procedure_code, procedures_performed, total_cost, patients (sorted by total cost)
    classes: pd.DataFrame  # encounter_class, encounters, patients

    def differs_from(self, other: Expected) -> bool:
        return self.kpis != other.kpis


class Reference:
    """The raw CSVs in pandas, read as the issue says (UTF-8 with BOM, every column as text)."""

    def __init__(self, input_dir: Path):
        def read(name):
            return pd.read_csv(Path(input_dir) / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)

        payers = read("payers")
        self.payer_ids = dict(zip(payers["NAME"], payers["Id"]))
        self.organizations = read("organizations").set_index("Id")
        mapping = pd.read_csv(SPECIALTY_MAP, dtype=str, keep_default_na=False)
        self.specialty_of = dict(zip(mapping["code"], mapping["specialty"]))
        self.hospice_codes = {code for code, name in self.specialty_of.items() if name == HOSPICE}

        raw = read("encounters")
        start = pd.to_datetime(raw["START"], utc=True, format="ISO8601")
        enc = pd.DataFrame({
            "encounter": raw["Id"], "patient": raw["PATIENT"], "payer": raw["PAYER"], "code": raw["CODE"],
            "organization": raw["ORGANIZATION"], "encounter_class": raw["ENCOUNTERCLASS"],
            "day": start.dt.strftime("%Y-%m-%d"), "month": start.dt.strftime("%Y-%m"),
            "claim_cost": pd.to_numeric(raw["TOTAL_CLAIM_COST"]),
            "payer_coverage": pd.to_numeric(raw["PAYER_COVERAGE"]),
        })
        enc["hospice"] = enc["code"] == HOSPICE_ADMISSION
        self.encounters = enc

        raw = read("procedures")
        start = pd.to_datetime(raw["START"], utc=True, format="ISO8601")
        pro = pd.DataFrame({
            "encounter": raw["ENCOUNTER"], "patient": raw["PATIENT"], "code": raw["CODE"],
            "description": raw["DESCRIPTION"], "day": start.dt.strftime("%Y-%m-%d"),
            "month": start.dt.strftime("%Y-%m"), "base_cost": pd.to_numeric(raw["BASE_COST"]),
        })
        info = enc.set_index("encounter")
        pro["payer"] = pro["encounter"].map(info["payer"])
        pro["organization"] = pro["encounter"].map(info["organization"])
        pro["specialty"] = pro["code"].map(self.specialty_of)
        pro["hospice"] = pro["code"].isin(self.hospice_codes) | pro["encounter"].map(info["hospice"]).fillna(False)
        self.procedures = pro
        self.first_day = min(enc["day"].min(), pro["day"].min())
        self.last_day = max(enc["day"].max(), pro["day"].max())

    def compute(self, payer: str, specialty: str | None, start: str | None, end: str | None,
                hospice_visible: bool) -> Expected:
        start, end = start or self.first_day, end or self.last_day
        payer_id = self.payer_ids[payer]
        enc = self.encounters[self.encounters["payer"] == payer_id]
        pro = self.procedures[self.procedures["payer"] == payer_id]
        if not hospice_visible:
            enc, pro = enc[~enc["hospice"]], pro[~pro["hospice"]]
        pro = pro[(pro["day"] >= start) & (pro["day"] <= end)]
        if specialty:
            pro = pro[pro["specialty"] == specialty]
            enc = enc[enc["encounter"].isin(set(pro["encounter"]))]
            members = pro["patient"].nunique()
        else:
            enc = enc[(enc["day"] >= start) & (enc["day"] <= end)]
            members = enc["patient"].nunique()
        kpis = {
            "members": int(members), "encounters": len(enc), "procedures": len(pro),
            "total_cost": round(float(pro["base_cost"].sum()), 2),
            "claim_cost": round(float(enc["claim_cost"].sum()), 2),
            "payer_coverage": round(float(enc["payer_coverage"].sum()), 2),
        }
        records = []
        for month in pd.period_range(start, end, freq="M").strftime("%Y-%m"):
            month_pro = pro[pro["month"] == month]
            if specialty:
                month_enc = enc[enc["encounter"].isin(set(month_pro["encounter"]))]
                patients = month_pro["patient"].nunique()
            else:
                month_enc = enc[enc["month"] == month]
                patients = month_enc["patient"].nunique()
            records.append({
                "month": month, "patients": int(patients), "encounters": len(month_enc),
                "procedures": len(month_pro), "total_cost": round(float(month_pro["base_cost"].sum()), 2),
                "claim_cost": round(float(month_enc["claim_cost"].sum()), 2),
                "payer_coverage": round(float(month_enc["payer_coverage"].sum()), 2),
            })
        summary = (pro.groupby("code").agg(procedures_performed=("code", "size"), total_cost=("base_cost", "sum"),
                                           patients=("patient", "nunique"))
                   .reset_index().rename(columns={"code": "procedure_code"}))
        summary["total_cost"] = summary["total_cost"].round(2)
        summary = summary.sort_values(["total_cost", "procedure_code"], ascending=[False, True]).reset_index(drop=True)
        classes = (enc.groupby("encounter_class").agg(encounters=("encounter", "size"),
                                                      patients=("patient", "nunique")).reset_index()
                   .sort_values(["encounters", "encounter_class"], ascending=[False, True]).reset_index(drop=True))
        return Expected(kpis, pd.DataFrame(records), pro, enc, summary, classes)


@functools.lru_cache(maxsize=4)
def reference_for(input_dir: str) -> Reference:
    return Reference(Path(input_dir))


# ---------------------------------------------------------------------------------------------------------------
# Reading the product's answers


def team_values(payer, specialty, start, end) -> dict:
    return {"team-payer.value": payer, "team-specialty.value": specialty, "team-dates.start_date": start,
            "team-dates.end_date": end}


def outputs_of(response) -> dict:
    """A Dash callback answer as {"id.property": value}."""
    assert response.status_code == 200, f"{response.status_code}: {response.get_data(as_text=True)[:500]}"
    body = response.get_json()
    return {f"{cid}.{prop}": value for cid, props in body["response"].items() for prop, value in props.items()}


def call_team(viewer, payer, specialty, start, end) -> dict:
    return outputs_of(viewer.callback(TEAM, team_values(payer, specialty, start, end)))


def count(text: str) -> int:
    return int(str(text).replace(",", ""))


def money(text: str) -> float:
    assert str(text).startswith("$"), text
    return float(str(text)[1:].replace(",", ""))


def texts(component) -> list[str]:
    """Every text inside a serialised Dash component tree, in document order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, (int, float)):
        return [str(component)]
    if isinstance(component, list):
        return [text for item in component for text in texts(item)]
    if isinstance(component, dict):
        return texts(component.get("props", {}).get("children"))
    return []


def csv_extract(viewer, name: str, **params) -> pd.DataFrame:
    response = viewer.extract(name, format="csv", **{k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, f"{name}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    return pd.read_csv(io.BytesIO(response.data), dtype={"procedure_code": str, "month": str, "patient_key": str,
                                                         "procedure_date": str})


def xlsx_extract(viewer, name: str, **params) -> pd.DataFrame:
    response = viewer.extract(name, format="xlsx", **{k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, f"{name}: {response.status_code}"
    assert zipfile.is_zipfile(io.BytesIO(response.data))
    return pd.read_excel(io.BytesIO(response.data), sheet_name="data", dtype={"procedure_code": str, "month": str})


def close(actual, expected, tolerance=0.011) -> bool:
    return abs(float(actual) - float(expected)) <= tolerance


# ---------------------------------------------------------------------------------------------------------------
# Comparisons


def assert_kpis(out: dict, expected: Expected, label: str) -> None:
    k = expected.kpis
    actual = {
        "members": count(out["team-kpi-members.children"]),
        "encounters": count(out["team-kpi-encounters.children"]),
        "procedures": count(out["team-kpi-procedures.children"]),
        "claim_cost": money(out["team-kpi-claim.children"]),
        "payer_coverage": money(out["team-kpi-coverage.children"]),
        "total_cost": money(out["team-kpi-cost.children"]),
    }
    for key in ("members", "encounters", "procedures"):
        assert actual[key] == k[key], f"{label}: KPI {key} {actual[key]} != expected {k[key]}"
    for key in ("claim_cost", "payer_coverage", "total_cost"):
        # shown in whole dollars
        assert close(actual[key], k[key], 0.5 + 1e-6), f"{label}: KPI {key} {actual[key]} != expected {k[key]:.2f}"


def assert_monthly_figure(out: dict, expected: Expected, label: str, encounters: bool = True) -> None:
    figure = out["team-monthly-graph.figure"]
    monthly = expected.monthly
    if not (monthly["patients"].any() or monthly["encounters"].any()):
        assert not any(trace.get("type") == "bar" and trace.get("y") for trace in figure["data"]), label
        return
    bars = next(trace for trace in figure["data"] if trace.get("type") == "bar")
    line = next(trace for trace in figure["data"] if trace.get("type") == "scatter")
    assert list(bars["x"]) == list(monthly["month"]), f"{label}: months of the chart"
    assert list(line["x"]) == list(monthly["month"]), f"{label}: months of the encounters line"
    for month, shown, want in zip(monthly["month"], bars["y"], monthly["patients"]):
        assert shown == want, f"{label}: members helped in {month}: chart {shown} != expected {want}"
    for month, shown, want in zip(monthly["month"], line["y"], monthly["encounters"] if encounters else line["y"]):
        assert shown == want, f"{label}: encounters in {month}: chart {shown} != expected {want}"


def assert_class_figure(out: dict, expected: Expected, label: str) -> None:
    figure = out["team-class-graph.figure"]
    if expected.classes.empty:
        assert not any(trace.get("x") for trace in figure["data"]), label
        return
    encounters = next(trace for trace in figure["data"] if trace.get("name") == "Encounters")
    members = next(trace for trace in figure["data"] if trace.get("name") == "Members")
    want = expected.classes
    assert list(encounters["y"]) == list(want["encounter_class"]), f"{label}: encounter classes"
    assert list(encounters["x"]) == list(want["encounters"]), f"{label}: encounters per class"
    assert list(members["x"]) == list(want["patients"]), f"{label}: members per class"


def assert_procedures_figure(out: dict, expected: Expected, label: str) -> None:
    figure = out["team-procedures-graph.figure"]
    ranked = expected.summary.sort_values(["procedures_performed", "procedure_code"], ascending=[False, True])
    if ranked.empty:
        assert not any(trace.get("x") for trace in figure["data"]), label
        return
    bars = figure["data"][0]
    want = list(ranked["procedures_performed"].head(25))
    assert list(bars["x"]) == want, f"{label}: the 25 most performed procedures"
    assert [row[0] for row in bars["customdata"]] == list(ranked["patients"].head(25)), f"{label}: patients"


def assert_hospital(out: dict, expected: Expected, reference: Reference, label: str) -> None:
    lines = texts(out["team-hospital.children"])
    if expected.kpis["encounters"] == 0 and expected.kpis["procedures"] == 0:
        assert any("No encounters" in line for line in lines), f"{label}: {lines}"
        return
    organizations = set(expected.encounters["organization"]) | set(expected.procedures["organization"])
    assert len(organizations) == 1, "the input has a single hospital"
    org = reference.organizations.loc[organizations.pop()]
    assert org["NAME"].title() in lines, f"{label}: hospital name not in {lines}"
    address = f"{org['ADDRESS'].title()}, {org['CITY'].title()}, {org['STATE']} {org['ZIP']}"
    assert address in lines, f"{label}: {address!r} not in {lines}"
    k = expected.kpis
    figures = f"{card_figures(k)} in the selected dates"
    assert figures in lines, f"{label}: expected {figures!r}, card says {lines}"


def assert_helped_extract(frame: pd.DataFrame, expected: Expected, specialty: str | None, label: str) -> None:
    want = expected.monthly
    columns = ["month", "specialty", "patients", "encounters", "procedures", "total_cost", "claim_cost",
               "payer_coverage"]
    assert set(columns) <= set(frame.columns), list(frame.columns)
    assert list(frame["month"]) == list(want["month"]), f"{label}: months of patients-helped"
    assert set(frame["specialty"]) == {specialty or "All specialties"}, f"{label}: specialty column"
    for (_, got), (_, row) in zip(frame.iterrows(), want.iterrows()):
        for column in ("patients", "encounters", "procedures"):
            assert int(got[column]) == row[column], \
                f"{label}: patients-helped {row['month']} {column}: {got[column]} != expected {row[column]}"
        for column in ("total_cost", "claim_cost", "payer_coverage"):
            assert close(got[column], row[column]), \
                f"{label}: patients-helped {row['month']} {column}: {got[column]} != expected {row[column]}"


def assert_summary_extract(frame: pd.DataFrame, expected: Expected, label: str) -> None:
    want = expected.summary
    assert len(frame) == len(want), f"{label}: procedure-summary rows {len(frame)} != expected {len(want)}"
    assert int(frame["procedures_performed"].sum()) == expected.kpis["procedures"], label
    assert close(frame["total_cost"].sum(), expected.kpis["total_cost"], 0.05), label
    assert list(frame["procedure_code"]) == list(want["procedure_code"]), f"{label}: order by total cost"
    for (_, got), (_, row) in zip(frame.iterrows(), want.iterrows()):
        assert int(got["procedures_performed"]) == row["procedures_performed"], f"{label}: {row['procedure_code']}"
        assert int(got["patients"]) == row["patients"], f"{label}: patients of {row['procedure_code']}"
        assert close(got["total_cost"], row["total_cost"]), f"{label}: cost of {row['procedure_code']}"


def assert_rows_extract(frame: pd.DataFrame, expected: Expected, start: str, end: str, label: str) -> None:
    pro = expected.procedures
    assert len(frame) == len(pro), f"{label}: procedure-rows {len(frame)} != expected {len(pro)}"
    assert close(frame["base_cost"].sum(), pro["base_cost"].sum(), 0.05), label
    assert frame["procedure_code"].value_counts().to_dict() == pro["code"].value_counts().to_dict(), label
    if len(frame):
        assert frame["procedure_date"].min() >= start and frame["procedure_date"].max() <= end, label
        assert frame["patient_key"].nunique() == pro["patient"].nunique(), f"{label}: distinct patient keys"
    assert not {"patient_id", "PATIENT", "patient"} & set(frame.columns), "clients never get patient ids"


def check_everything(viewer, reference: Reference, payer, specialty, start, end, hospice_visible, *,
                     client_param=None, label=""):
    """The /team callback and the three extracts for one (viewer, payer, specialty, range) against pandas."""
    expected = reference.compute(payer, specialty, start, end, hospice_visible)
    out = call_team(viewer, payer, specialty, start, end)
    assert_kpis(out, expected, label)
    assert_monthly_figure(out, expected, label)
    assert_class_figure(out, expected, label)
    assert_procedures_figure(out, expected, label)
    assert_hospital(out, expected, reference, label)
    params = {"start": start, "end": end, "specialty": specialty or None, "client": client_param}
    assert_helped_extract(csv_extract(viewer, "patients-helped", **params), expected, specialty, label)
    assert_summary_extract(csv_extract(viewer, "procedure-summary", **params), expected, label)
    assert_rows_extract(csv_extract(viewer, "procedure-rows", **params), expected, start or reference.first_day,
                        end or reference.last_day, label)
    return expected, out


# ---------------------------------------------------------------------------------------------------------------
# Fixture data: the hand-stated answers of tests/fixture_data.py


FIX_FIRST, FIX_LAST = "2020-01-05", "2021-07-01"


@pytest.fixture(scope="module")
def fixture_reference(fixture_input) -> Reference:
    return Reference(fixture_input)


def test_the_reference_reproduces_the_fixture_docstring(fixture_reference):
    """The pandas computation itself, held to the answers written by hand in tests/fixture_data.py."""
    ref = fixture_reference
    assert ref.hospice_codes == HOSPICE_CODES
    uhc = ref.compute("UnitedHealthcare", None, None, None, True).kpis
    assert (uhc["members"], uhc["encounters"], uhc["procedures"], uhc["total_cost"]) == (4, 5, 5, 6600)
    hidden = ref.compute("Humana", None, None, None, False).kpis
    assert (hidden["members"], hidden["encounters"], hidden["procedures"], hidden["total_cost"]) == (3, 4, 4, 11000)
    shown = ref.compute("Humana", None, None, None, True).kpis
    assert (shown["members"], shown["encounters"], shown["procedures"], shown["total_cost"]) == (4, 5, 7, 11900)
    onc = ref.compute("Humana", "Oncology", None, None, False).kpis
    assert (onc["members"], onc["encounters"], onc["procedures"], onc["total_cost"]) == (1, 2, 2, 10000)


def test_fixture_team_page_for_an_oncology_member(app):
    viewer = login(app, "humana-onc")
    out = call_team(viewer, "Humana", "", FIX_FIRST, FIX_LAST)
    assert out["team-scope.children"] == "Humana · all specialties · hospice hidden"
    assert [out[f"team-kpi-{k}.children"] for k in ("members", "encounters", "procedures", "claim", "coverage",
                                                       "cost")] == ["3", "4", "4", "$11,700", "$11,300", "$11,000"]
    bars = out["team-monthly-graph.figure"]["data"][0]
    helped = dict(zip(bars["x"], bars["y"]))
    assert len(helped) == 19 and bars["x"][0] == "2020-01" and bars["x"][-1] == "2021-07"
    assert {m: n for m, n in helped.items() if n} == {"2020-01": 1, "2020-02": 1, "2021-01": 1, "2021-02": 1}
    assert helped["2020-05"] == 0, "p07's hospice admission is not a member helped for an oncology member"
    lines = texts(out["team-hospital.children"])
    assert "Massachusetts General Hospital" in lines
    assert "55 Fruit Street, Boston, MA 02114" in lines
    assert "3 members helped · 4 encounters · 4 procedures in the selected dates" in lines


def test_fixture_team_page_with_hospice_visible(app):
    for username in ("humana", "humana-hospice"):
        out = call_team(login(app, username), "Humana", "", FIX_FIRST, FIX_LAST)
        assert [out[f"team-kpi-{k}.children"] for k in ("members", "encounters", "procedures", "claim", "coverage",
                                                           "cost")] == ["4", "5", "7", "$12,300", "$11,800",
                                                                        "$11,900"], username


def test_fixture_team_page_oncology_specialty(app):
    viewer = login(app, "humana-onc")
    out = call_team(viewer, "Humana", "Oncology", FIX_FIRST, FIX_LAST)
    assert out["team-scope.children"] == "Humana · Oncology · hospice hidden"
    assert [out[f"team-kpi-{k}.children"] for k in ("members", "encounters", "procedures", "claim", "coverage",
                                                       "cost")] == ["1", "2", "2", "$10,300", "$10,000", "$10,000"]
    helped = csv_extract(viewer, "patients-helped", start=FIX_FIRST, end=FIX_LAST, specialty="Oncology")
    active = helped[helped["encounters"] > 0].set_index("month")
    assert list(active.index) == ["2020-01", "2020-02"]
    assert list(active["patients"]) == [1, 1] and list(active["procedures"]) == [1, 1]
    assert list(active["total_cost"]) == [5000, 5000] and list(active["claim_cost"]) == [5100, 5200]
    assert set(helped["specialty"]) == {"Oncology"}
    summary = csv_extract(viewer, "procedure-summary", start=FIX_FIRST, end=FIX_LAST, specialty="Oncology")
    assert summary[["procedure_code", "procedures_performed", "total_cost", "patients"]].values.tolist() == [
        ["367336001", 2, 10000, 1]]


def test_fixture_summary_and_rows_of_an_oncology_member_without_specialty(app):
    viewer = login(app, "humana-onc")
    summary = csv_extract(viewer, "procedure-summary")
    assert summary[["procedure_code", "procedures_performed", "total_cost", "patients"]].values.tolist() == [
        ["367336001", 2, 10000, 1], ["265764009", 1, 900, 1], ["171207006", 1, 100, 1]]
    rows = csv_extract(viewer, "procedure-rows")
    assert len(rows) == 4 and rows["base_cost"].sum() == 11000
    assert not set(rows["procedure_code"]) & HOSPICE_CODES


@pytest.mark.parametrize("username, payer, specialty, hospice_visible", [
    ("humana-onc", "Humana", "", False),
    ("humana-onc", "Humana", "Oncology", False),
    ("humana-hospice", "Humana", "Hospice", True),
    ("humana", "Humana", "", True),
    ("uhc", "UnitedHealthcare", "", True),
    ("uhc", "UnitedHealthcare", "Mental Health & Substance Use", True),
])
def test_fixture_team_page_matches_pandas(app, fixture_reference, username, payer, specialty, hospice_visible):
    check_everything(login(app, username), fixture_reference, payer, specialty, FIX_FIRST, FIX_LAST,
                     hospice_visible, label=f"fixture {username} {specialty or 'all'}")


def test_fixture_narrow_range_excludes_outside_days(app, fixture_reference):
    """Inclusive bounds: 2020-01-15 (e07) and 2020-02-15 (e08) are both in a range that starts and ends on them."""
    viewer = login(app, "humana-onc")
    out = call_team(viewer, "Humana", "", "2020-01-15", "2020-02-15")
    assert (out["team-kpi-encounters.children"], out["team-kpi-procedures.children"]) == ("2", "3")
    out = call_team(viewer, "Humana", "", "2020-01-16", "2020-02-14")
    assert (out["team-kpi-encounters.children"], out["team-kpi-procedures.children"]) == ("0", "0")
    lines = texts(out["team-hospital.children"])
    assert any("No encounters" in line for line in lines), lines


def test_fixture_senior_previews_humana_as_an_oncology_member(app, fixture_reference):
    viewer = login(app, "senior")
    _, out = check_everything(viewer, fixture_reference, "Humana", "Oncology", FIX_FIRST, FIX_LAST, False,
                              client_param="Humana", label="fixture senior preview")
    assert out["team-scope.children"].startswith("Preview as")
    assert "client=Humana" in out["team-helped-csv.href"]


def test_fixture_extract_links_carry_the_filters(app):
    viewer = login(app, "humana-onc")
    out = call_team(viewer, "Humana", "Oncology", "2020-01-01", "2020-12-31")
    for key in ("team-helped-csv", "team-summary-xlsx", "team-rows-csv"):
        href = out[f"{key}.href"]
        assert "start=2020-01-01" in href and "end=2020-12-31" in href and "specialty=Oncology" in href, href
        assert "client=" not in href, "a client's own links never name the client"
    for key in ("team-helped-csv", "team-helped-xlsx", "team-summary-csv", "team-summary-xlsx", "team-rows-csv",
                "team-rows-xlsx"):
        response = viewer.client.get(out[f"{key}.href"])
        assert response.status_code == 200, key
    frame = xlsx_extract(viewer, "patients-helped", start="2020-01-01", end="2020-12-31", specialty="Oncology")
    assert list(frame["month"]) == [f"2020-{m:02d}" for m in range(1, 13)]
    assert frame["patients"].tolist()[:2] == [1, 1] and frame["patients"].sum() == 2


@pytest.fixture(scope="module")
def spanning_app(tmp_path_factory):
    """The fixture data plus e18: p06's Humana encounter starting 2020-03-31 23:00 UTC whose chemotherapy starts
    2020-04-01 01:00 UTC, so the encounter belongs to March and its procedure to April (as in long inpatient stays
    of the real data)."""
    from tests.conftest import build_app

    data = fixture_data.rows()
    data["encounters"].append(["e18", "2020-03-31T23:00:00Z", "2020-04-01T03:00:00Z", "p06", "org-mgh", "pay-hum",
                               "inpatient", *fixture_data.ENCOUNTER_CODE, "85.55", "7000.00", "6000.00", "", ""])
    data["procedures"].append(["2020-04-01T01:00:00Z", "2020-04-01T02:00:00Z", "p06", "e18",
                               *fixture_data.CHEMO, "", ""])
    directory = fixture_data.write(tmp_path_factory.mktemp("spanning-input"), data)
    return build_app(tmp_path_factory.mktemp("spanning-app"), directory), Reference(directory)


def test_specialty_month_counts_the_encounter_of_the_months_procedures(spanning_app):
    """With a specialty, a month's encounters are the encounters holding a procedure of the specialty in that month
    (the KPI definition applied per month). April 2020: one oncology procedure (e18's), one member, so one
    encounter with its claim cost; the KPI for April says so too, the monthly extract must agree."""
    app, reference = spanning_app
    viewer = login(app, "humana-onc")
    expected = reference.compute("Humana", "Oncology", "2020-04-01", "2020-04-30", False)
    assert expected.kpis == {"members": 1, "encounters": 1, "procedures": 1, "total_cost": 5000.0,
                             "claim_cost": 7000.0, "payer_coverage": 6000.0}
    out = call_team(viewer, "Humana", "Oncology", "2020-04-01", "2020-04-30")
    assert_kpis(out, expected, "April 2020")
    helped = csv_extract(viewer, "patients-helped", start="2020-04-01", end="2020-04-30", specialty="Oncology")
    april = helped.set_index("month").loc["2020-04"]
    assert (int(april["patients"]), int(april["procedures"])) == (1, 1)
    assert (int(april["encounters"]), float(april["claim_cost"])) == (1, 7000.0), (
        f"April 2020 shows {int(april['encounters'])} encounters / claim {april['claim_cost']} for 1 member helped "
        "with 1 procedure; the KPI of the same range says 1 encounter / $7,000")
    assert_monthly_figure(out, expected, "April 2020")


# ---------------------------------------------------------------------------------------------------------------
# Real data


@pytest.fixture(scope="module")
def reference(real_input) -> Reference:
    return reference_for(str(real_input))


REAL_CASES = [
    # id, username, payer, specialty, start, end, hospice visible, client parameter (senior preview)
    ("humana-all-last-12-months", "humana", "Humana", "", *LAST_12_MONTHS, True, None),
    ("humana-onc-oncology-2015-on", "humana-onc", "Humana", "Oncology", "2015-01-01", LAST_DAY, False, None),
    ("humana-hospice-hospice-whole", "humana-hospice", "Humana", "Hospice", None, None, True, None),
    ("humana-onc-all-whole", "humana-onc", "Humana", "", None, None, False, None),
    ("uhc-mental-health", "uhc", "UnitedHealthcare", "Mental Health & Substance Use", "2018-06-15", "2020-03-31",
     True, None),
    ("senior-humana-cardiology", "senior", "Humana", "Cardiology", None, None, False, "Humana"),
]


ASPECTS = ("kpis-hospital", "monthly-chart", "class-and-procedure-charts", "patients-helped", "summary-and-rows")


@pytest.mark.realdata
@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("case", REAL_CASES, ids=[case[0] for case in REAL_CASES])
def test_real_team_page_and_extracts_match_pandas(real_app, reference, case, aspect):
    """One (viewer, client, specialty, range) triple, one aspect per test so that every mismatch is reported."""
    name, username, payer, specialty, start, end, hospice_visible, client_param = case
    start, end = start or reference.first_day, end or reference.last_day
    label = f"{name} [{aspect}]"
    viewer = login(real_app, username)
    expected = reference.compute(payer, specialty, start, end, hospice_visible)
    assert expected.kpis["procedures"] > 0, f"{name}: the case should select data"
    params = {"start": start, "end": end, "specialty": specialty or None, "client": client_param}
    if aspect == "kpis-hospital":
        out = call_team(viewer, payer, specialty, start, end)
        assert_kpis(out, expected, label)
        assert_hospital(out, expected, reference, label)
        if client_param:
            assert out["team-scope.children"].startswith("Preview as · " + payer)
    elif aspect == "monthly-chart":
        assert_monthly_figure(call_team(viewer, payer, specialty, start, end), expected, label)
    elif aspect == "class-and-procedure-charts":
        out = call_team(viewer, payer, specialty, start, end)
        assert_class_figure(out, expected, label)
        assert_procedures_figure(out, expected, label)
    elif aspect == "patients-helped":
        assert_helped_extract(csv_extract(viewer, "patients-helped", **params), expected, specialty, label)
    else:
        assert_summary_extract(csv_extract(viewer, "procedure-summary", **params), expected, label)
        assert_rows_extract(csv_extract(viewer, "procedure-rows", **params), expected, start, end, label)


@pytest.mark.realdata
def test_real_whole_range_is_the_default(real_app, reference):
    """Extracts without dates cover the whole data range (2011-01-02..2022-02-05)."""
    assert (reference.first_day, reference.last_day) == ("2011-01-02", LAST_DAY)
    viewer = login(real_app, "humana-onc")
    frame = csv_extract(viewer, "patients-helped")
    assert frame["month"].iloc[0] == "2011-01" and frame["month"].iloc[-1] == "2022-02"
    expected = reference.compute("Humana", None, None, None, False)
    assert_helped_extract(frame, expected, None, "default range")


@pytest.mark.realdata
def test_real_hospital_card_names_the_organisation(real_app, reference):
    viewer = login(real_app, "humana")
    out = call_team(viewer, "Humana", "", *LAST_12_MONTHS)
    lines = texts(out["team-hospital.children"])
    assert "Massachusetts General Hospital" in lines
    assert "55 Fruit Street, Boston, MA 02114" in lines
    k = reference.compute("Humana", None, *LAST_12_MONTHS, True).kpis
    assert f"{card_figures(k)} in the selected dates" in lines
    hospital_map = out["team-hospital.children"][-1]["props"]["figure"]["data"][0]
    assert (hospital_map["lat"], hospital_map["lon"]) == ([42.362813], [-71.069187])


@pytest.mark.realdata
def test_real_xlsx_patients_helped_equals_csv(real_app, reference):
    viewer = login(real_app, "humana-onc")
    params = {"start": "2015-01-01", "end": LAST_DAY, "specialty": "Oncology"}
    frame = xlsx_extract(viewer, "patients-helped", **params)
    expected = reference.compute("Humana", "Oncology", "2015-01-01", LAST_DAY, False)
    assert_helped_extract(frame, expected, "Oncology", "xlsx")
    about = pd.read_excel(io.BytesIO(viewer.extract("patients-helped", format="xlsx", **params).data),
                          sheet_name="about")
    assert dict(zip(about["item"], about["value"]))["rows"] in (len(frame), str(len(frame)))


def test_months_between_handles_year_ends():
    """Sanity of the expected month list used above (no product code involved)."""
    months = pd.period_range(date(2021, 11, 30), date(2022, 2, 1), freq="M").strftime("%Y-%m")
    assert list(months) == ["2021-11", "2021-12", "2022-01", "2022-02"]
