"""Acceptance of the client dashboard (issue 3) on the real data (MAT_INPUT_DIR).

Every number the /client page and its extracts show is compared with an independent pandas computation from the raw
CSVs, following the definitions of DESIGN §2 (never by calling product query code for the expected side):

- a client's data = the encounters whose PAYER is the client's payer Id, and the procedures of those encounters;
- a procedure (an encounter) belongs to the UTC day of its START; ranges are inclusive;
- procedure identity = CODE; total cost = sum of BASE_COST; members = distinct patients with at least one of the
  client's encounters in the range (with a specialty: distinct patients with a procedure of that specialty);
- hospice data = procedures whose CODE maps to "Hospice" in data_access/reference/procedure_specialties.csv, every
  procedure of a hospice admission encounter (CODE 305336008) and those encounters; hidden for humana-onc;
- shared procedures: the client's top N codes by frequency (ties by code, as strings); each patient who had one in the
  range (any payer, hospice rows dropped when hidden) is this_client if a client-paid encounter held it, else
  other_insurers if another (non NO_INSURANCE) payer paid one, else no_insurance.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cached_logins
from tests.figure_reading import bar_codes, bar_names, is_label_of, parse_count, parse_money

pytestmark = pytest.mark.realdata

SPECIALTY_CSV = Path(__file__).resolve().parents[2] / "data_access" / "reference" / "procedure_specialties.csv"
HOSPICE_ADMISSION = "305336008"
NO_INSURANCE = "NO_INSURANCE"
GROUPS = ("this_client", "other_insurers", "no_insurance")
MIN_CELL_SIZE = 11

WHOLE = (None, None)
RANGES = {
    "whole": WHOLE,
    "2019-2020": ("2019-01-01", "2020-12-31"),
    "spring-2021": ("2021-03-01", "2021-05-31"),
}


# ---------------------------------------------------------------- the expected side, from the raw CSVs


def utc_day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.strftime("%Y-%m-%d")


class RawTruth:
    """The raw CSVs and the DESIGN §2 definitions, in plain pandas."""

    def __init__(self, input_dir: Path):
        def read(name):
            return pd.read_csv(input_dir / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)

        payers = read("payers")
        self.payer_id = dict(zip(payers["NAME"], payers["Id"]))
        self.payer_names = list(payers["NAME"])
        self.patients = read("patients")

        enc = read("encounters")
        enc["day"] = utc_day(enc["START"])
        enc["hospice"] = enc["CODE"] == HOSPICE_ADMISSION
        self.encounters = enc

        spec = pd.read_csv(SPECIALTY_CSV, dtype=str, keep_default_na=False)
        self.specialty_of = dict(zip(spec["code"], spec["specialty"]))
        self.hospice_codes = {code for code, name in self.specialty_of.items() if name == "Hospice"}
        assert {"385763009", "58000006"} <= self.hospice_codes

        proc = read("procedures")
        proc["day"] = utc_day(proc["START"])
        proc["cost"] = proc["BASE_COST"].astype(float)
        of_encounter = enc[["Id", "PAYER", "hospice"]].rename(columns={"Id": "ENCOUNTER", "hospice": "in_admission"})
        proc = proc.merge(of_encounter, on="ENCOUNTER", how="left", validate="many_to_one")
        assert proc["PAYER"].notna().all(), "every procedure has its encounter"
        proc["specialty"] = proc["CODE"].map(self.specialty_of)
        proc["hospice"] = proc["CODE"].isin(self.hospice_codes) | proc["in_admission"].astype(bool)
        self.procedures = proc
        self.descriptions = proc.groupby("CODE")["DESCRIPTION"].agg(set).to_dict()
        self.all_days = set(proc["day"]) | set(enc["day"])

    # -- a client's rows

    @staticmethod
    def _in_range(frame, start, end):
        if start:
            frame = frame[frame["day"] >= start]
        if end:
            frame = frame[frame["day"] <= end]
        return frame

    def client_rows(self, payer, hospice_visible=True, specialty=None, start=None, end=None):
        pid = self.payer_id[payer]
        enc = self._in_range(self.encounters[self.encounters["PAYER"] == pid], start, end)
        proc = self._in_range(self.procedures[self.procedures["PAYER"] == pid], start, end)
        if not hospice_visible:
            enc = enc[~enc["hospice"]]
            proc = proc[~proc["hospice"]]
        if specialty:
            proc = proc[proc["specialty"] == specialty]
        return enc, proc

    def kpis(self, payer, hospice_visible=True, specialty=None, start=None, end=None) -> dict:
        enc, proc = self.client_rows(payer, hospice_visible, specialty, start, end)
        if specialty:
            members, encounters = proc["PATIENT"].nunique(), proc["ENCOUNTER"].nunique()
        else:
            members, encounters = enc["PATIENT"].nunique(), len(enc)
        return {"members": members, "encounters": encounters, "procedures": len(proc),
                "total_cost": float(proc["cost"].sum())}

    def summary(self, payer, hospice_visible=True, specialty=None, start=None, end=None) -> pd.DataFrame:
        """One row per code, ordered by total cost desc then code (as text)."""
        _, proc = self.client_rows(payer, hospice_visible, specialty, start, end)
        frame = proc.groupby("CODE").agg(procedures_performed=("CODE", "size"), total_cost=("cost", "sum"),
                                         patients=("PATIENT", "nunique")).reset_index()
        frame = frame.rename(columns={"CODE": "procedure_code"})
        frame["total_cost"] = frame["total_cost"].round(2)
        frame["average_cost"] = (frame["total_cost"] / frame["procedures_performed"]).round(2)
        return frame.sort_values(["total_cost", "procedure_code"], ascending=[False, True]).reset_index(drop=True)

    @staticmethod
    def by_frequency(summary: pd.DataFrame) -> pd.DataFrame:
        return summary.sort_values(["procedures_performed", "procedure_code"],
                                   ascending=[False, True]).reset_index(drop=True)

    def shared(self, payer, hospice_visible=True, specialty=None, start=None, end=None, top=10):
        """(codes in rank order, raw counts by code and group, raw distribution by number of codes and group)."""
        codes = list(self.by_frequency(self.summary(payer, hospice_visible, specialty, start, end))
                     ["procedure_code"].head(top))
        rows = self._in_range(self.procedures[self.procedures["CODE"].isin(codes)], start, end)
        if not hospice_visible:
            rows = rows[~rows["hospice"]]
        category = np.where(rows["PAYER"] == self.payer_id[payer], 0,
                            np.where(rows["PAYER"] == self.payer_id[NO_INSURANCE], 2, 1))
        pairs = rows.assign(category=category).groupby(["PATIENT", "CODE"])["category"].min().reset_index()
        counts = pairs.groupby(["CODE", "category"]).size()
        by_code = pd.DataFrame([
            {"rank": rank, "procedure_code": code, "patient_group": group, "patients": int(counts.get((code, cat), 0))}
            for rank, code in enumerate(codes, start=1) for cat, group in enumerate(GROUPS)
        ])
        per_patient = pairs.groupby("PATIENT")["category"].agg(
            best="min", client=lambda c: int((c == 0).sum()), total="size")
        per_patient["k"] = np.where(per_patient["best"] == 0, per_patient["client"], per_patient["total"])
        dist_counts = per_patient.groupby(["k", "best"]).size()
        distribution = pd.DataFrame([
            {"procedures_had": k, "patient_group": group, "patients": int(dist_counts.get((k, cat), 0))}
            for k in range(1, len(codes) + 1) for cat, group in enumerate(GROUPS)
        ])
        return codes, by_code, distribution

    def display_names(self, code: str) -> set[str]:
        """Acceptable chart names of a code: one of its raw descriptions, with or without a trailing SNOMED tag."""
        names = set()
        for text in self.descriptions.get(code, ()):
            names.add(text.strip())
            names.add(re.sub(r"\s*\([^()]*\)\s*$", "", text).strip())
        return names


@pytest.fixture(scope="session")
def truth(real_input) -> RawTruth:
    return RawTruth(real_input)


# ---------------------------------------------------------------- the product side, through HTTP


@dataclass(frozen=True)
class Case:
    username: str
    payer: str
    hospice_visible: bool
    specialty: str | None
    start: str | None
    end: str | None

    @property
    def preview(self) -> bool:
        return self.username == "senior"

    def extract_params(self, **extra) -> dict:
        params = {"start": self.start, "end": self.end, "specialty": self.specialty,
                  "client": self.payer if self.preview else None, **extra}
        return {key: value for key, value in params.items() if value is not None}

    def callback_values(self, top=10) -> dict:
        return {"client-payer.value": self.payer, "client-specialty.value": self.specialty or "",
                "client-dates.start_date": self.start, "client-dates.end_date": self.end, "client-top.value": top}

    def truth_args(self) -> dict:
        return {"payer": self.payer, "hospice_visible": self.hospice_visible, "specialty": self.specialty,
                "start": self.start, "end": self.end}


ACCOUNT_VIEWS = [
    ("uhc", "UnitedHealthcare", True),
    ("humana", "Humana", True),
    ("humana-onc", "Humana", False),
]
CASES = [pytest.param(Case(user, payer, visible, None, *dates), id=f"{user}-{label}")
         for user, payer, visible in ACCOUNT_VIEWS for label, dates in RANGES.items()]
CASES += [
    pytest.param(Case("humana-onc", "Humana", False, "Oncology", None, None), id="humana-onc-Oncology-whole"),
    pytest.param(Case("humana", "Humana", True, "Mental Health & Substance Use", "2019-01-01", "2020-12-31"),
                 id="humana-MentalHealth-2019-2020"),
    pytest.param(Case("uhc", "UnitedHealthcare", True, "Primary Care & Prevention", None, None),
                 id="uhc-PrimaryCare-whole"),
    pytest.param(Case("senior", "Humana", True, None, "2019-01-01", "2020-12-31"),
                 id="senior-preview-Humana-2019-2020"),
    pytest.param(Case("senior", "UnitedHealthcare", True, None, None, None), id="senior-preview-UHC-whole"),
]


@pytest.fixture(scope="module")
def viewers(real_app):
    return cached_logins(real_app)


def read_csv(response) -> pd.DataFrame:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return pd.read_csv(io.BytesIO(response.data), dtype={"procedure_code": str, "patient_key": str,
                                                          "zip3": str, "birth_year": str})


def summary_callback(viewer, case: Case) -> dict:
    response = viewer.callback("client-kpi-members", case.callback_values())
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]












# ---------------------------------------------------------------- procedure summary, charts, KPIs, members


@pytest.mark.parametrize("case", CASES)
def test_procedure_summary_extract_equals_pandas(viewers, truth, case):
    got = read_csv(viewers(case.username).extract("procedure-summary", **case.extract_params()))
    expected = truth.summary(**case.truth_args())
    assert len(expected) > 0
    # Sorted by total cost (highest first, ties by code): the same codes in the same order.
    assert list(got["procedure_code"]) == list(expected["procedure_code"])
    for got_row, exp_row in zip(got.to_dict("records"), expected.to_dict("records")):
        code = exp_row["procedure_code"]
        assert int(got_row["procedures_performed"]) == exp_row["procedures_performed"], code
        assert int(got_row["patients"]) == exp_row["patients"], code
        assert got_row["total_cost"] == pytest.approx(exp_row["total_cost"], abs=0.005), code
        assert got_row["average_cost"] == pytest.approx(exp_row["average_cost"], abs=0.006), code
        assert got_row["procedure"] in truth.display_names(code), (code, got_row["procedure"])
    if not case.hospice_visible:
        assert not set(got["procedure_code"]) & truth.hospice_codes


@pytest.mark.parametrize("case", CASES)
def test_cost_and_frequency_charts_order_and_values_equal_pandas(viewers, truth, case):
    response = summary_callback(viewers(case.username), case)
    expected = truth.summary(**case.truth_args())
    cost = response["client-cost-graph"]["figure"]
    assert bar_codes(cost) == list(expected["procedure_code"]), "cost chart: total cost desc, then code"
    assert cost["data"][0]["x"] == pytest.approx(list(expected["total_cost"]), abs=0.005)
    for code, name, label in zip(bar_codes(cost), bar_names(cost), cost["data"][0]["y"]):
        assert name in truth.display_names(code), (code, name)
        assert is_label_of(label, name), (code, name, label)

    frequency = response["client-frequency-graph"]["figure"]
    by_freq = truth.by_frequency(expected)
    assert bar_codes(frequency) == list(by_freq["procedure_code"]), "frequency chart: count desc, then code"
    assert frequency["data"][0]["x"] == list(by_freq["procedures_performed"])
    names = dict(zip(bar_codes(cost), bar_names(cost)))
    assert bar_names(frequency) == [names[code] for code in bar_codes(frequency)], "one name per code"
    for name, label in zip(bar_names(frequency), frequency["data"][0]["y"]):
        assert is_label_of(label, name), (name, label)


AXIS_CASES = [c for c in CASES if c.id in ("uhc-whole", "humana-whole", "humana-onc-whole", "senior-preview-UHC-whole")]


@pytest.mark.parametrize("case", AXIS_CASES)
def test_each_bar_has_its_own_axis_label(viewers, case):
    """A horizontal bar chart puts bars with equal y labels on one row (one hides the other): distinct procedures
    need distinct labels, also when long names are shortened."""
    response = summary_callback(viewers(case.username), case)
    for key in ("client-cost-graph", "client-frequency-graph"):
        figure = response[key]["figure"]
        labels, codes = figure["data"][0]["y"], bar_codes(figure)
        shared = {label: [code for code, other in zip(codes, labels) if other == label]
                  for label in labels if labels.count(label) > 1}
        assert not shared, f"{key}: one axis label for several procedure codes: {shared}"


@pytest.mark.parametrize("case", CASES)
def test_kpis_equal_pandas(viewers, truth, case):
    response = summary_callback(viewers(case.username), case)
    expected = truth.kpis(**case.truth_args())
    assert parse_count(response["client-kpi-members"]["children"]) == expected["members"]
    assert parse_count(response["client-kpi-encounters"]["children"]) == expected["encounters"]
    assert parse_count(response["client-kpi-procedures"]["children"]) == expected["procedures"]
    assert abs(parse_money(response["client-kpi-cost"]["children"]) - expected["total_cost"]) <= 0.5 + 1e-6
    assert response["client-members-count"]["children"].startswith(f"{expected['members']:,} members")


@pytest.mark.parametrize("case", CASES)
def test_members_extract_row_count_equals_pandas(viewers, truth, case):
    members = read_csv(viewers(case.username).extract("members", **case.extract_params()))
    expected = truth.kpis(**case.truth_args())
    assert len(members) == expected["members"]
    assert members["patient_key"].is_unique
    if not case.specialty:
        assert int(members["encounters"].sum()) == expected["encounters"]
        assert int(members["procedures"].sum()) == expected["procedures"]


def test_expected_side_discriminates(truth):
    """Sanity of the expected side: the accounts see different data, so the comparisons above discriminate."""
    uhc, humana, onc = (truth.kpis(payer, visible) for _, payer, visible in ACCOUNT_VIEWS)
    assert uhc["members"] == 206 and humana["members"] == 219
    assert onc["procedures"] < humana["procedures"], "Humana has hospice procedures to hide"
    assert truth.kpis("Humana", True, None, "2019-01-01", "2020-12-31")["members"] < humana["members"]


def test_procedure_rows_extract_equals_pandas(viewers, truth):
    """The rows behind the charts: one per visible procedure, with date, code and cost."""
    for username, payer, visible in ACCOUNT_VIEWS:
        rows = read_csv(viewers(username).extract("procedure-rows", start="2019-01-01", end="2020-12-31"))
        _, proc = truth.client_rows(payer, visible, None, "2019-01-01", "2020-12-31")
        got = sorted(zip(rows["procedure_date"], rows["procedure_code"], rows["base_cost"].round(2)))
        expected = sorted(zip(proc["day"], proc["CODE"], proc["cost"].round(2)))
        assert got == expected, username
        assert set(rows["procedure"]) <= set(proc["DESCRIPTION"]), "row extracts keep the raw description"


# ---------------------------------------------------------------- shared procedures


def raw_shared_from_product(real_app, case: Case, top: int) -> pd.DataFrame:
    """The product's counts before suppression (`raw_by_code`), with a scope built by the policy."""
    from data_access.client_reports import shared_procedures
    from data_access.rls import Window
    from security.auth import Account
    from security.policy import client_scope
    from security.scope import Role

    accounts = {"uhc": (Role.CLIENT, "UnitedHealthcare", None), "humana": (Role.CLIENT, "Humana", None),
                "humana-onc": (Role.CLIENT, "Humana", "Oncology"), "senior": (Role.SENIOR, None, None)}
    role, payer, specialty = accounts[case.username]
    window = Window(date.fromisoformat(case.start) if case.start else date(1900, 1, 1),
                    date.fromisoformat(case.end) if case.end else date(2100, 12, 31))
    with real_app.app_context():
        scope = client_scope(Account(case.username, role, payer, specialty),
                             client=case.payer if case.preview else None, specialty=case.specialty)
        assert scope.hospice_visible is case.hospice_visible
        result = shared_procedures(real_app.extensions["pag"].warehouse, scope, window, top=top)
    return result["raw_by_code"].frame()


SHARED_CASES = [c for c in CASES if c.values[0].specialty is None]


@pytest.mark.parametrize("top", [10, 25])
@pytest.mark.parametrize("case", SHARED_CASES)
def test_shared_procedures_groups_before_suppression_equal_pandas(real_app, truth, case, top):
    codes, expected, _ = truth.shared(**case.truth_args(), top=top)
    raw = raw_shared_from_product(real_app, case, top)
    got = raw[["rank", "procedure_code", "patient_group", "patients"]].astype(
        {"rank": int, "procedure_code": str, "patients": int})
    assert list(got.drop_duplicates("procedure_code")["procedure_code"]) == codes, "top N by frequency, then code"
    key = ["procedure_code", "patient_group"]
    merged = got.merge(expected, on=key, how="outer", suffixes=("_got", "_expected"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    wrong = merged[(merged["patients_got"] != merged["patients_expected"])
                   | (merged["rank_got"] != merged["rank_expected"])]
    assert wrong.empty, wrong.to_string()


@pytest.mark.parametrize("case", SHARED_CASES)
def test_shared_procedures_extract_shown_cells_equal_pandas(viewers, truth, case):
    codes, expected, expected_dist = truth.shared(**case.truth_args(), top=10)
    viewer = viewers(case.username)
    got = read_csv(viewer.extract("shared-procedures", **case.extract_params(top=10)))
    assert list(got.drop_duplicates("procedure_code")["procedure_code"]) == codes
    assert list(got["rank"].drop_duplicates()) == list(range(1, len(codes) + 1))
    merged = got.merge(expected, on=["procedure_code", "patient_group"], suffixes=("", "_expected"))
    assert len(merged) == len(got) == len(expected) == 3 * len(codes)
    _check_shown_and_suppressed(merged, "procedure_code")

    dist = read_csv(viewer.extract("shared-procedures-distribution", **case.extract_params(top=10)))
    merged = dist.merge(expected_dist, on=["procedures_had", "patient_group"], suffixes=("", "_expected"))
    assert len(merged) == len(dist) == len(expected_dist)
    _check_shown_and_suppressed(merged, "procedures_had")


def _check_shown_and_suppressed(merged: pd.DataFrame, cell: str) -> None:
    shown = merged[~merged["suppressed"].astype(bool)]
    bad = shown[shown["patients"].astype(float) != shown["patients_expected"]]
    assert bad.empty, f"shown counts differ from pandas:\n{bad.to_string()}"
    hidden = merged[merged["suppressed"].astype(bool)]
    assert hidden["patients"].isna().all(), "a suppressed cell carries no number"
    # A sensitive (non-member) count of 1..10 is always hidden; anything else hidden is a complementary cell (> 0).
    sensitive = merged["patient_group"] != "this_client"
    small = merged["patients_expected"].between(1, MIN_CELL_SIZE - 1)
    leaked = merged[sensitive & small & ~merged["suppressed"].astype(bool)]
    assert leaked.empty, f"small non-member counts shown:\n{leaked.to_string()}"
    assert (hidden["patients_expected"] > 0).all(), "zero is shown, never suppressed"


THIS_CLIENT_CASES = [c for c in SHARED_CASES if c.id in ("uhc-whole", "humana-2019-2020", "humana-onc-whole",
                                                           "senior-preview-UHC-whole")]


@pytest.mark.parametrize("case", THIS_CLIENT_CASES)
def test_shared_procedures_this_client_cells_are_shown_and_equal_pandas(viewers, truth, case):
    """The client's own members are never a small-cell risk to the client (it has their rows in procedure-rows), so
    their counts are shown as they are: hiding them protects nobody and hides the client's own figures."""
    codes, expected, expected_dist = truth.shared(**case.truth_args(), top=10)
    viewer = viewers(case.username)
    got = read_csv(viewer.extract("shared-procedures", **case.extract_params(top=10)))
    mine = got[got["patient_group"] == "this_client"].set_index("procedure_code")
    want = expected[expected["patient_group"] == "this_client"].set_index("procedure_code")["patients"]
    hidden = list(mine.index[mine["suppressed"].astype(bool)])
    assert not hidden, f"this_client cells suppressed for codes {hidden} (pandas: {[int(want[c]) for c in hidden]})"
    assert mine["patients"].astype(int).to_dict() == want.to_dict()

    dist = read_csv(viewer.extract("shared-procedures-distribution", **case.extract_params(top=10)))
    mine = dist[dist["patient_group"] == "this_client"]
    hidden = list(mine["procedures_had"][mine["suppressed"].astype(bool)])
    assert not hidden, f"this_client distribution cells suppressed for procedures_had {hidden}"
