"""Acceptance of the client page (issue 3): its two callbacks and the client extracts of the API.

- Fixture data (fast, no real data needed): the figures stated in tests/fixture_data.py's docstring, through the
  callbacks and through the extract API; the charts equal their extracts; hospice rows hidden for humana-onc.
- Negative tests (fixture data): another client's data, forged callback bodies and extract parameters, no login;
  every refusal and every download in the audit log.
- CLIENT_DATE_PRECISION=year.
- Real data (marked `realdata`): charts equal the extracts their download links serve; no personal details or other
  payers' names in anything sent to a client; small-cell suppression; keyed pseudonyms.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from data_access.accounts import read_audit
from tests.conftest import build_app, cached_logins, login
from tests.figure_reading import bar_codes as codes_of
from tests.figure_reading import bar_names as names_of
from tests.figure_reading import is_label_of
from tests.figure_reading import parse_count as count
from tests.figure_reading import parse_money as money

SUMMARY = "client-kpi-members"  # the summary callback (KPIs, cost and frequency charts, download links)
SHARED = "client-shared-graph"  # the shared-procedures callback (chart 3 and the distribution)
CALLBACKS = (SUMMARY, SHARED)
CLIENT_EXTRACTS = ("procedure-summary", "procedure-rows", "shared-procedures", "shared-procedures-distribution",
                   "members", "patients-helped")
GROUPS = ("this_client", "other_insurers", "no_insurance")
GROUP_OF_TRACE = {"Your members": "this_client", "Other insurers": "other_insurers", "No insurance": "no_insurance"}
MIN_CELL_SIZE = 11
HOSPICE_MARKERS = ("385763009", "58000006", "305336008", "Hospice care", "Admission to hospice")


def values(payer, specialty="", start=None, end=None, top=10) -> dict:
    return {"client-payer.value": payer, "client-specialty.value": specialty, "client-dates.start_date": start,
            "client-dates.end_date": end, "client-top.value": top}


def ok_json(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


def read_csv(response) -> pd.DataFrame:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    return pd.read_csv(io.BytesIO(response.data), dtype={"procedure_code": str, "patient_key": str, "zip3": str,
                                                          "birth_year": str, "procedure_date": str})






def kpis_of(response: dict) -> tuple:
    return (count(response["client-kpi-members"]["children"]), count(response["client-kpi-encounters"]["children"]),
            count(response["client-kpi-procedures"]["children"]), money(response["client-kpi-cost"]["children"]))








def href_path(href: str) -> tuple[str, dict]:
    """'/api/extracts/name?a=b' -> ('name', {'a': 'b'}) without the format."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(href)
    assert parts.path.startswith("/api/extracts/"), href
    params = dict(parse_qsl(parts.query))
    params.pop("format", None)
    return parts.path.rsplit("/", 1)[1], params


# ---------------------------------------------------------------- chart == extract (fixture and real data)


def assert_bar_charts_equal_summary(cost: dict, frequency: dict, summary: pd.DataFrame) -> None:
    """The cost chart is the procedure-summary extract (codes, names, totals, order); the frequency chart holds the
    same codes ordered by procedures_performed (ties by code), with the extract's counts."""
    assert codes_of(cost) == list(summary["procedure_code"])
    assert names_of(cost) == list(summary["procedure"])
    assert all(is_label_of(label, name) for label, name in zip(cost["data"][0]["y"], names_of(cost)))
    assert cost["data"][0]["x"] == pytest.approx(list(summary["total_cost"]), abs=0.005)
    by_freq = summary.sort_values(["procedures_performed", "procedure_code"], ascending=[False, True])
    assert codes_of(frequency) == list(by_freq["procedure_code"])
    assert names_of(frequency) == list(by_freq["procedure"])
    assert all(is_label_of(label, name) for label, name in zip(frequency["data"][0]["y"], names_of(frequency)))
    assert frequency["data"][0]["x"] == [int(n) for n in by_freq["procedures_performed"]]


def assert_group_chart_equals_extract(figure: dict, frame: pd.DataFrame, category: str) -> None:
    """Chart 3 (or the distribution chart) shows exactly the extract's cells: numbers where shown, "<11" where
    suppressed, with a stub bar whose length does not depend on the hidden value."""
    assert {trace["name"] for trace in figure["data"]} == set(GROUP_OF_TRACE), "three groups, no total trace"
    order = list(frame[category].drop_duplicates())
    stubs = set()
    for trace in figure["data"]:
        group = GROUP_OF_TRACE[trace["name"]]
        part = frame[frame["patient_group"] == group].set_index(category).loc[order]
        assert len(trace["y"]) == len(order)
        if category == "procedure_code":
            for label, (_, row) in zip(trace["y"], part.iterrows()):
                rank = f"{row['rank']}."
                assert label.startswith(rank), (label, row.to_dict())
                assert is_label_of(label[len(rank):].strip(), str(row["procedure"])), (label, row.to_dict())
        else:
            for label, k in zip(trace["y"], order):
                assert str(k) in label, (label, k)
        for x, text, (_, row) in zip(trace["x"], trace["text"], part.iterrows()):
            if bool(row["suppressed"]):
                assert text == f"<{MIN_CELL_SIZE}", (group, row.to_dict(), text)
                stubs.add(x)
            else:
                assert text == f"{int(row['patients']):,}", (group, row.to_dict(), text)
                assert x == int(row["patients"]), (group, row.to_dict(), x)
    assert len(stubs) <= 1, f"suppressed bars must not encode their value: {stubs}"


# ================================================================ fixture data (tests/fixture_data.py)


@pytest.fixture(scope="module")
def viewer(app):
    """`viewer("uhc")` -> a logged-in Viewer on the fixture app, one login per account for the module (logins hash
    passwords on purpose slowly)."""
    return cached_logins(app)


# (username, payer picked, specialty picked) -> (members, encounters, procedures, total procedure cost)
FIXTURE_FIGURES = [
    pytest.param("uhc", "UnitedHealthcare", "", (4, 5, 5, 6600.0), id="uhc"),
    pytest.param("humana-onc", "Humana", "", (3, 4, 4, 11000.0), id="humana-onc-hospice-hidden"),
    pytest.param("humana", "Humana", "", (4, 5, 7, 11900.0), id="humana-hospice-visible"),
    pytest.param("humana-hospice", "Humana", "", (4, 5, 7, 11900.0), id="humana-hospice"),
    pytest.param("humana-onc", "Humana", "Oncology", (1, 2, 2, 10000.0), id="humana-onc-Oncology"),
    pytest.param("humana", "Humana", "Oncology", (1, 2, 2, 10000.0), id="humana-Oncology"),
    pytest.param("humana-hospice", "Humana", "Hospice", (2, 2, 2, 800.0), id="humana-hospice-Hospice"),
    pytest.param("senior", "UnitedHealthcare", "", (4, 5, 5, 6600.0), id="senior-preview-uhc"),
    pytest.param("senior", "Humana", "", (4, 5, 7, 11900.0), id="senior-preview-humana"),
    pytest.param("senior", "Humana", "Oncology", (1, 2, 2, 10000.0), id="senior-preview-humana-as-Oncology"),
]


@pytest.mark.parametrize("username, payer, specialty, expected", FIXTURE_FIGURES)
def test_fixture_kpis_through_the_callback(viewer, username, payer, specialty, expected):
    response = ok_json(viewer(username).callback(SUMMARY, values(payer, specialty)))
    assert kpis_of(response) == expected
    assert response["client-members-count"]["children"].startswith(f"{expected[0]} members")


@pytest.mark.parametrize("username, payer, specialty, expected", FIXTURE_FIGURES)
def test_fixture_figures_through_the_extracts(viewer, username, payer, specialty, expected):
    members_n, encounters_n, procedures_n, cost = expected
    params = {"specialty": specialty or None, "client": payer if username == "senior" else None}
    params = {key: value for key, value in params.items() if value}
    v = viewer(username)
    members = read_csv(v.extract("members", **params))
    summary = read_csv(v.extract("procedure-summary", **params))
    rows = read_csv(v.extract("procedure-rows", **params))
    assert len(members) == members_n
    assert int(members["encounters"].sum()) == encounters_n
    assert int(summary["procedures_performed"].sum()) == procedures_n == len(rows)
    assert summary["total_cost"].sum() == pytest.approx(cost) == rows["base_cost"].sum()


def test_fixture_uhc_procedure_summary_rows(viewer):
    summary = read_csv(viewer("uhc").extract("procedure-summary"))
    assert {"procedure_code", "procedure", "procedures_performed", "total_cost", "patients"} <= set(summary.columns)
    got = [(r.procedure_code, r.procedure, r.procedures_performed, r.total_cost, r.patients)
           for r in summary.itertuples()]
    assert got == [
        ("367336001", "Chemotherapy", 1, 5000.0, 1),
        ("73761001", "Colonoscopy", 1, 1000.0, 1),
        ("385763009", "Hospice care", 1, 400.0, 1),
        ("171207006", "Depression screening", 2, 200.0, 1),  # two descriptions, one code, one name
    ]
    assert list(summary["average_cost"]) == [5000.0, 1000.0, 400.0, 100.0]


def test_fixture_uhc_charts_order_and_equal_the_extract(viewer):
    v = viewer("uhc")
    response = ok_json(v.callback(SUMMARY, values("UnitedHealthcare")))
    cost, frequency = response["client-cost-graph"]["figure"], response["client-frequency-graph"]["figure"]
    assert cost["data"][0]["y"] == ["Chemotherapy", "Colonoscopy", "Hospice care", "Depression screening"]
    assert frequency["data"][0]["y"] == ["Depression screening", "Chemotherapy", "Hospice care", "Colonoscopy"]
    assert frequency["data"][0]["x"] == [2, 1, 1, 1]
    name, params = href_path(response["client-summary-csv"]["href"])
    assert name == "procedure-summary"
    assert_bar_charts_equal_summary(cost, frequency, read_csv(v.extract(name, **params)))


def test_fixture_uhc_date_range(viewer):
    """2020 only: e01-e03 (p01, p02); procedures colonoscopy, 2 x depression screening, chemotherapy."""
    v = viewer("uhc")
    response = ok_json(v.callback(SUMMARY, values("UnitedHealthcare", "", "2020-01-01", "2020-12-31")))
    assert kpis_of(response) == (2, 3, 4, 6200.0)
    assert len(read_csv(v.extract("members", start="2020-01-01", end="2020-12-31"))) == 2
    # Inclusive bounds: the single day of e04 (2021-06-01) holds one hospice care procedure.
    response = ok_json(v.callback(SUMMARY, values("UnitedHealthcare", "", "2021-06-01", "2021-06-01")))
    assert kpis_of(response) == (1, 1, 1, 400.0)


def test_fixture_members_extract_is_deidentified(viewer):
    members = read_csv(viewer("uhc").extract("members"))
    assert {"patient_key", "gender", "birth_year", "race", "ethnicity", "county", "zip3", "encounters", "procedures",
            "total_claim_cost", "payer_coverage"} <= set(members.columns)
    assert sorted(members["birth_year"]) == ["1950", "1960", "1985", "90+"]  # p03 born 1930: 90+
    assert set(members["zip3"].fillna("")) == {"021", ""}  # p04 has no ZIP
    assert sorted(members["encounters"]) == [1, 1, 1, 2]
    assert members["total_claim_cost"].sum() == pytest.approx(1250 + 150 + 5100 + 500 + 80)
    text = members.to_csv()
    for marker in ("p01", "p02", "p03", "p04", "Alpha11", "Ann501", "Example Street", "1950-03-19", "42.3601"):
        assert marker not in text


def test_fixture_procedure_rows_keep_dates_and_raw_text(viewer):
    rows = read_csv(viewer("uhc").extract("procedure-rows"))
    assert list(rows["procedure_date"]) == ["2020-01-10", "2020-01-10", "2020-01-20", "2020-03-05", "2021-06-01"]
    assert {"Depression screening", "Depression screening (procedure)"} <= set(rows["procedure"])
    assert rows["patient_key"].nunique() == 3


def test_fixture_hospice_rows_do_not_exist_for_humana_onc(viewer):
    v = viewer("humana-onc")
    bodies = [v.callback(callback, values("Humana")) for callback in CALLBACKS]
    bodies += [v.extract(name, format=fmt) for name in CLIENT_EXTRACTS for fmt in ("csv", "xlsx")]
    for response in bodies:
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
        text = response_text(response)
        for marker in HOSPICE_MARKERS:
            assert marker not in text, (response.request.path, marker)


# (code, this_client, other_insurers, no_insurance), in rank order, before suppression (worked out by hand)
FIXTURE_SHARED = {
    "uhc": [("171207006", 1, 3, 1), ("367336001", 1, 2, 0), ("385763009", 1, 3, 0), ("73761001", 1, 1, 1)],
    # e09 (hospice admission: p07's depression screening) and the hospice care codes are hidden for humana-onc.
    "humana-onc": [("367336001", 1, 2, 0), ("171207006", 1, 2, 1), ("265764009", 1, 0, 0)],
}
FIXTURE_DISTRIBUTION_UHC = {(1, "this_client"): 2, (2, "this_client"): 1, (1, "other_insurers"): 5,
                            (2, "other_insurers"): 2, (1, "no_insurance"): 2}


def check_cells(frame: pd.DataFrame, expected: dict, key: list[str]) -> None:
    for row in frame.to_dict("records"):
        want = expected.get(tuple(row[k] for k in key), 0)
        if row["suppressed"]:
            assert pd.isna(row["patients"]) and want > 0, row
        else:
            assert int(row["patients"]) == want, row
            if row["patient_group"] != "this_client":
                assert not 1 <= want < MIN_CELL_SIZE, f"small non-member count shown: {row}"


@pytest.mark.parametrize("username", sorted(FIXTURE_SHARED))
def test_fixture_shared_procedures_counts(viewer, username):
    shared = read_csv(viewer(username).extract("shared-procedures"))
    expected_rows = FIXTURE_SHARED[username]
    assert list(shared["procedure_code"].drop_duplicates()) == [row[0] for row in expected_rows]
    assert list(shared["rank"].drop_duplicates()) == list(range(1, len(expected_rows) + 1))
    assert set(shared["patient_group"]) == set(GROUPS)
    expected = {(code, group): n for code, *ns in expected_rows for group, n in zip(GROUPS, ns)}
    check_cells(shared, expected, ["procedure_code", "patient_group"])


def test_fixture_shared_distribution_counts(viewer):
    dist = read_csv(viewer("uhc").extract("shared-procedures-distribution"))
    assert sorted(dist["procedures_had"].unique()) == [1, 2, 3, 4]
    check_cells(dist, FIXTURE_DISTRIBUTION_UHC, ["procedures_had", "patient_group"])


def test_fixture_this_client_cells_are_never_suppressed(viewer):
    """The client's own members' counts are shown: the client holds their rows (procedure-rows), so hiding them
    protects nobody, and a chart must not hide what the summary chart next to it shows."""
    v = viewer("uhc")
    shared = read_csv(v.extract("shared-procedures"))
    mine = shared[shared["patient_group"] == "this_client"]
    assert not mine["suppressed"].any(), mine.to_string()
    assert list(mine["patients"]) == [1, 1, 1, 1]
    dist = read_csv(v.extract("shared-procedures-distribution"))
    mine = dist[dist["patient_group"] == "this_client"]
    assert not mine["suppressed"].any(), mine.to_string()


@pytest.mark.parametrize("username, payer", [("uhc", "UnitedHealthcare"), ("humana-onc", "Humana"),
                                             ("senior", "Humana")])
def test_fixture_shared_charts_equal_their_extracts(viewer, username, payer):
    v = viewer(username)
    response = ok_json(v.callback(SHARED, values(payer, top=10)))
    name, params = href_path(response["client-shared-csv"]["href"])
    assert name == "shared-procedures" and params.get("top") == "10"
    assert_group_chart_equals_extract(response["client-shared-graph"]["figure"], read_csv(v.extract(name, **params)),
                                      "procedure_code")
    name, params = href_path(response["client-dist-csv"]["href"])
    assert name == "shared-procedures-distribution"
    assert_group_chart_equals_extract(response["client-dist-graph"]["figure"], read_csv(v.extract(name, **params)),
                                      "procedures_had")


def test_fixture_top_n_limits_the_shared_chart(viewer):
    v = viewer("uhc")
    shared = read_csv(v.extract("shared-procedures", top="2"))
    assert list(shared["procedure_code"].drop_duplicates()) == ["171207006", "367336001"]
    figure = ok_json(v.callback(SHARED, values("UnitedHealthcare", top=2)))["client-shared-graph"]["figure"]
    assert all(len(trace["y"]) == 2 for trace in figure["data"])


# ================================================================ negative tests (fixture data)


def audit_count(app, username: str, event: str) -> int:
    return len(read_audit(app.extensions["pag"].engine, username=username, event=event))


def assert_json_error(response, status: int, *words: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:300]
    assert response.is_json, body[:300]
    payload = response.get_json()
    assert set(payload) == {"error"}, payload
    for word in words:
        assert word in payload["error"], (word, payload)
    for trace in ("Traceback", 'File "', "werkzeug", "sqlalchemy", "line "):
        assert trace not in body, body
    return payload["error"]


def assert_denied_and_audited(app, username: str, send, *args, **kwargs) -> None:
    """`send(*args, **kwargs)` answers 403 (JSON) and adds exactly one "denied" audit row for `username`."""
    before = audit_count(app, username, "denied")
    response = send(*args, **kwargs)
    assert_json_error(response, 403)
    assert audit_count(app, username, "denied") == before + 1, "a refusal must be audit-logged"
    newest = read_audit(app.extensions["pag"].engine, username=username, event="denied").iloc[0]
    assert newest["status"] == 403 and newest["username"] == username
    assert newest["path"] == response.request.path and newest["detail"], newest.to_dict()


@pytest.mark.parametrize("name", CLIENT_EXTRACTS)
def test_client_asking_for_another_client_extract_is_refused(app, viewer, name):
    v = viewer("uhc")
    assert_denied_and_audited(app, "uhc", v.extract, name, client="Humana")
    assert v.extract(name, client="UnitedHealthcare").status_code == 200  # its own payer is fine
    h = viewer("humana-onc")
    assert_denied_and_audited(app, "humana-onc", h.extract, name, client="UnitedHealthcare")


@pytest.mark.parametrize("callback", CALLBACKS)
@pytest.mark.parametrize("username, forged", [("uhc", "Humana"), ("humana", "UnitedHealthcare"),
                                              ("humana-onc", "UnitedHealthcare"), ("uhc", "Aetna"),
                                              ("senior", "Aetna"), ("senior", "NO_INSURANCE")])
def test_forged_callback_payer_is_refused(app, viewer, callback, username, forged):
    v = viewer(username)
    assert_denied_and_audited(app, username, v.callback, callback, values(forged))


def test_senior_preview_of_a_non_client_extract_is_refused(app, viewer):
    v = viewer("senior")
    assert_denied_and_audited(app, "senior", v.extract, "procedure-summary", client="Aetna")


def test_hospice_specialty_is_refused_to_a_non_hospice_member(app, viewer):
    v = viewer("humana-onc")
    for name in CLIENT_EXTRACTS:
        assert_denied_and_audited(app, "humana-onc", v.extract, name, specialty="Hospice")
    for callback in CALLBACKS:
        assert_denied_and_audited(app, "humana-onc", v.callback, callback, values("Humana", "Hospice"))
        body = v.callback(callback, values("Humana", "Hospice")).get_data(as_text=True)
        assert not any(marker in body for marker in HOSPICE_MARKERS), body[:300]


@pytest.mark.parametrize("username", ["humana-hospice", "humana", "uhc"])
def test_hospice_specialty_is_allowed_where_hospice_is_visible(viewer, username):
    assert viewer(username).extract("procedure-summary", specialty="Hospice").status_code == 200


@pytest.mark.parametrize("username, payer", [("uhc", "UnitedHealthcare"), ("humana-onc", "Humana")])
def test_unknown_specialty_is_400(viewer, username, payer):
    v = viewer(username)
    for name in CLIENT_EXTRACTS:
        assert_json_error(v.extract(name, specialty="Astrology"), 400, "specialty")
    for callback in CALLBACKS:
        assert_json_error(v.callback(callback, values(payer, "Astrology")), 400, "specialty")


FORGED_DATES = [
    pytest.param({"start": "2021-01-01", "end": "2020-01-01"}, "start", id="start-after-end"),
    pytest.param({"start": "2020-99-99"}, "start", id="start-2020-99-99"),
    pytest.param({"end": "2020-99-99"}, "end", id="end-2020-99-99"),
    pytest.param({"start": "1800-01-01"}, "start", id="start-year-1800"),
    pytest.param({"end": "1800-12-31"}, "end", id="end-year-1800"),
    pytest.param({"start": "yesterday"}, "start", id="start-text"),
]


@pytest.mark.parametrize("params, parameter", FORGED_DATES)
@pytest.mark.parametrize("name", ["procedure-summary", "procedure-rows", "shared-procedures", "members"])
def test_forged_extract_dates_are_400(viewer, name, params, parameter):
    assert_json_error(viewer("uhc").extract(name, **params), 400, parameter)


@pytest.mark.parametrize("params, parameter", FORGED_DATES)
@pytest.mark.parametrize("callback", CALLBACKS)
def test_forged_callback_dates_are_400(viewer, callback, params, parameter):
    body = values("UnitedHealthcare", "", params.get("start"), params.get("end"))
    assert_json_error(viewer("uhc").callback(callback, body), 400, parameter)


@pytest.mark.parametrize("top", [0, 51, "abc", 10.5, -3])
def test_forged_top_is_400(viewer, top):
    v = viewer("uhc")
    for name in ("shared-procedures", "shared-procedures-distribution"):
        assert_json_error(v.extract(name, top=str(top)), 400, "top")
    assert_json_error(v.callback(SHARED, values("UnitedHealthcare", top=top)), 400, "top")


def test_parameters_that_do_not_apply_are_400(viewer):
    v = viewer("uhc")
    assert_json_error(v.extract("procedure-summary", top="5"), 400, "top")
    assert_json_error(v.extract("members", payer="Humana"), 400, "payer")


def test_without_login_extracts_and_callbacks_answer_401(app):
    client = app.test_client()
    for name in CLIENT_EXTRACTS:
        response = client.get(f"/api/extracts/{name}")
        assert response.status_code == 401, name
        assert "Colonoscopy" not in response.get_data(as_text=True)
    from tests.conftest import callback_body

    for callback in CALLBACKS:
        response = client.post("/_dash-update-component", json=callback_body(app, callback, values("Humana")))
        assert response.status_code == 401, callback
        assert "Colonoscopy" not in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("name", CLIENT_EXTRACTS)
def test_every_download_is_audited_with_its_row_count(app, viewer, name, fmt):
    v = viewer("humana")
    before = audit_count(app, "humana", "download")
    response = v.extract(name, format=fmt, start="2020-01-01", end="2021-12-31")
    assert response.status_code == 200
    frame = read_excel(response)["data"] if fmt == "xlsx" else read_csv(response)
    assert audit_count(app, "humana", "download") == before + 1
    newest = read_audit(app.extensions["pag"].engine, username="humana", event="download").iloc[0]
    assert newest["rows"] == len(frame)
    params = newest["params"] if isinstance(newest["params"], dict) else json.loads(newest["params"])
    assert params.get("extract") == name and params.get("format") == fmt


# ================================================================ CLIENT_DATE_PRECISION=year


def test_client_date_precision_year(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, client_date_precision="year")
    v = login(app, "uhc")
    rows = read_csv(v.extract("procedure-rows"))
    assert len(rows) == 5
    assert all(re.fullmatch(r"\d{4}", value) for value in rows["procedure_date"]), list(rows["procedure_date"])
    assert sorted(set(rows["procedure_date"])) == ["2020", "2021"]
    data = read_excel(v.extract("procedure-rows", format="xlsx"))["data"]
    assert all(re.fullmatch(r"\d{4}", str(value)) for value in data["procedure_date"]), list(data["procedure_date"])
    for name in ("procedure-summary", "shared-procedures", "shared-procedures-distribution", "members"):
        text = v.extract(name).get_data(as_text=True)
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text), (name, text[:300])


# ================================================================ helpers for bodies


def read_excel(response) -> dict[str, pd.DataFrame]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    sheets = pd.read_excel(io.BytesIO(response.data), sheet_name=None, engine="openpyxl", dtype=str)
    assert list(sheets) == ["data", "about"]
    return sheets


def response_text(response) -> str:
    """Everything a response carries, as text: JSON re-serialised unescaped, CSV as is, every cell of every sheet."""
    if response.mimetype == "application/json":
        return json.dumps(response.get_json(), ensure_ascii=False)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        assert book.sheetnames == ["data", "about"]
        lines = []
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                lines.append("\t".join("" if cell is None else str(cell) for cell in row))
        return "\n".join(lines)
    return response.get_data(as_text=True)


# ================================================================ real data


@pytest.fixture(scope="module")
def raw(real_input):
    def read(name):
        return pd.read_csv(Path(real_input) / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)

    return {name: read(name) for name in ("patients", "payers", "encounters", "procedures")}


@pytest.fixture(scope="module")
def real_viewers(real_app):
    return cached_logins(real_app)


# (label, username, client payer); senior previews each client
CONTEXTS = [("uhc", "uhc", "UnitedHealthcare"), ("humana", "humana", "Humana"), ("humana-onc", "humana-onc", "Humana"),
            ("senior-as-uhc", "senior", "UnitedHealthcare"), ("senior-as-humana", "senior", "Humana")]
FILTERS = {
    "whole": {},
    "2019-2020": {"start": "2019-01-01", "end": "2020-12-31"},
    "mental-health": {"specialty": "Mental Health & Substance Use"},
    "oncology-2014-2016": {"specialty": "Oncology", "start": "2014-01-01", "end": "2016-12-31"},
}


def extract_params(username, payer, filters, **extra) -> dict:
    params = dict(filters, **extra)
    if username == "senior":
        params["client"] = payer
    return params


def callback_values(payer, filters, top=10) -> dict:
    return values(payer, filters.get("specialty", ""), filters.get("start"), filters.get("end"), top)


@pytest.fixture(scope="module")
def client_bodies(real_viewers):
    """Every client callback response and every client extract (csv and xlsx) for the contexts and filters."""
    bodies = []
    for label, username, payer in CONTEXTS:
        v = real_viewers(username)
        for filter_label, filters in FILTERS.items():
            for callback, top in ((SUMMARY, 10), (SHARED, 50 if filter_label == "whole" else 10)):
                response = v.callback(callback, callback_values(payer, filters, top))
                bodies.append((f"{label}/{filter_label}/{callback}/top{top}", payer, response))
            for name in CLIENT_EXTRACTS:
                # Excel for the whole range only: both formats come from the same frame, and xlsx is slow to read.
                for fmt in ("csv", "xlsx") if filter_label == "whole" else ("csv",):
                    response = v.extract(name, format=fmt, **extract_params(username, payer, filters))
                    bodies.append((f"{label}/{filter_label}/{name}.{fmt}", payer, response))
    for where, _, response in bodies:
        assert response.status_code == 200, (where, response.get_data(as_text=True)[:300])
    return [(where, payer, response_text(response)) for where, payer, response in bodies]


def _coordinate_forms(values: pd.Series) -> tuple[set[str], set[str]]:
    exact = {value for value in values if value}
    rounded = {f"{float(value):.4f}" for value in exact}
    return exact, rounded


@pytest.mark.realdata
def test_no_personal_details_reach_a_client(client_bodies, raw):
    patients, encounters, procedures = raw["patients"], raw["encounters"], raw["procedures"]
    names = {value for column in ("FIRST", "LAST", "MAIDEN") for value in patients[column] if value}
    ids = set(patients["Id"])
    addresses = {}
    for address in patients["ADDRESS"]:
        addresses.setdefault(" ".join(address.split()[:2]), []).append(address)
    birthdates = set(patients["BIRTHDATE"])
    # Service dates are the client's own claims and are kept (DESIGN §3 rule 2); a birth date that is also a
    # service date (or a filter bound) cannot be told apart, so only the others are checked.
    service_days = {value[:10] for value in pd.concat([encounters["START"], procedures["START"]])}
    filter_days = {value for filters in FILTERS.values() for key, value in filters.items() if key in ("start", "end")}
    checked_birthdates = birthdates - service_days - filter_days
    assert len(checked_birthdates) > 500
    lat_exact, lat_rounded = _coordinate_forms(patients["LAT"])
    lon_exact, lon_rounded = _coordinate_forms(patients["LON"])
    coordinates, rounded = lat_exact | lon_exact, lat_rounded | lon_rounded

    problems = []
    for where, _, text in client_bodies:
        words = set(re.findall(r"[\w'’-]+", text)) | set(re.findall(r"\w+", text))
        if found := words & names:
            problems.append((where, "name", sorted(found)[:3]))
        if found := set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)) & ids:
            problems.append((where, "patient id", sorted(found)[:3]))
        if found := set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) & checked_birthdates:
            problems.append((where, "birth date", sorted(found)[:3]))
        numbers = set(re.findall(r"-?\d+\.\d+", text))
        if found := numbers & (coordinates | rounded):
            problems.append((where, "coordinate", sorted(found)[:3]))
        close = {n for n in numbers if len(n.split(".")[1]) >= 4 and f"{float(n):.4f}" in rounded}
        if close:
            problems.append((where, "coordinate (rounded)", sorted(close)[:3]))
        for prefix in set(re.findall(r"\d+ [^\s,\"\t]+", text)):
            for address in addresses.get(prefix, ()):
                if address in text:
                    problems.append((where, "address", address))
    assert not problems, problems[:20]


@pytest.mark.realdata
def test_no_other_payer_is_named_to_a_client(client_bodies, raw):
    payer_names = list(raw["payers"]["NAME"])
    assert "NO_INSURANCE" in payer_names
    problems = [(where, name) for where, client, text in client_bodies for name in payer_names
                if name != client and name in text]
    assert not problems, problems[:20]


@pytest.mark.realdata
def test_hospice_rows_do_not_exist_for_humana_onc_on_real_data(client_bodies, raw):
    procedures = raw["procedures"]
    assert (procedures["CODE"] == "385763009").sum() > 0
    onc = [(where, text) for where, _, text in client_bodies if where.startswith("humana-onc/")]
    assert len(onc) > 20
    problems = [(where, marker) for where, text in onc for marker in HOSPICE_MARKERS if marker in text]
    assert not problems, problems[:20]


# ---------------------------------------------------------------- real data: charts == extracts


CHART_CASES = [pytest.param(username, payer, filters, id=f"{label}-{filter_label}")
               for label, username, payer in CONTEXTS for filter_label, filters in FILTERS.items()
               if filter_label in ("whole", "2019-2020")]


@pytest.mark.realdata
@pytest.mark.parametrize("username, payer, filters", CHART_CASES)
def test_real_charts_equal_the_extracts_behind_their_download_links(real_viewers, username, payer, filters):
    v = real_viewers(username)
    response = ok_json(v.callback(SUMMARY, callback_values(payer, filters)))
    cost, frequency = response["client-cost-graph"]["figure"], response["client-frequency-graph"]["figure"]
    for link in ("client-summary-csv", "client-summary-freq-csv"):
        name, params = href_path(response[link]["href"])
        assert name == "procedure-summary"
        assert params.get("client") == (payer if username == "senior" else None)
        for key in ("start", "end"):
            if key in filters:
                assert params[key] == filters[key]
        summary = read_csv(v.extract(name, **params))
        assert len(summary) > 10
        assert_bar_charts_equal_summary(cost, frequency, summary)
    # The same filters typed by hand give the same file as the link.
    direct = read_csv(v.extract("procedure-summary", **extract_params(username, payer, filters)))
    assert_bar_charts_equal_summary(cost, frequency, direct)

    shared = ok_json(v.callback(SHARED, callback_values(payer, filters, top=15)))
    name, params = href_path(shared["client-shared-csv"]["href"])
    frame = read_csv(v.extract(name, **params))
    assert frame["procedure_code"].nunique() == 15
    assert_group_chart_equals_extract(shared["client-shared-graph"]["figure"], frame, "procedure_code")
    name, params = href_path(shared["client-dist-csv"]["href"])
    assert_group_chart_equals_extract(shared["client-dist-graph"]["figure"], read_csv(v.extract(name, **params)),
                                      "procedures_had")


# ---------------------------------------------------------------- real data: small-cell suppression


@pytest.fixture(scope="module")
def suppression_outputs(real_viewers):
    outputs = []
    for label, username, payer in CONTEXTS:
        v = real_viewers(username)
        for filter_label, filters in FILTERS.items():
            for top in (10, 25) if filter_label in ("whole", "2019-2020") else (10,):
                where = f"{label}/{filter_label}/top{top}"
                params = extract_params(username, payer, filters, top=str(top))
                shared = read_csv(v.extract("shared-procedures", **params))
                dist = read_csv(v.extract("shared-procedures-distribution", **params))
                figures = ok_json(v.callback(SHARED, callback_values(payer, filters, top)))
                rows = read_csv(v.extract("procedure-rows", **extract_params(username, payer, filters)))
                outputs.append((where, shared, dist, figures, rows))
    return outputs


@pytest.mark.realdata
def test_small_non_member_counts_are_suppressed(suppression_outputs):
    problems = []
    for where, shared, dist, _, _ in suppression_outputs:
        for kind, frame in (("shared-procedures", shared), ("distribution", dist)):
            assert set(frame["patient_group"]) <= set(GROUPS)
            hidden = frame["suppressed"].astype(bool)
            if not frame.loc[hidden, "patients"].isna().all():
                problems.append((where, kind, "suppressed cell with a number"))
            shown = frame[~hidden & (frame["patient_group"] != "this_client")]
            small = shown[shown["patients"].astype(float).between(1, MIN_CELL_SIZE - 1)]
            if not small.empty:
                problems.append((where, kind, small.to_dict("records")))
    assert not problems, problems[:10]


def recomputable_cells(frame: pd.DataFrame, cell: str) -> list:
    """Groups (one procedure / one number of procedures; one patient group) in which exactly one cell unknown to the
    client is hidden while another unknown cell is non-zero: with the group's total, the hidden one follows by
    subtraction. this_client cells are not unknown to the client (it holds those rows in procedure-rows), so they
    neither count as a hidden complement nor as a cell that could be hidden."""
    unknown = frame[frame["patient_group"] != "this_client"]
    found = []
    for key in (cell, "patient_group"):
        for value, group in unknown.groupby(key):
            hidden = group["suppressed"].astype(bool)
            others = group.loc[~hidden, "patients"].astype(float)
            if hidden.sum() == 1 and (others > 0).any():
                found.append((key, value, group[["patient_group", cell, "patients", "suppressed"]]
                              .to_dict("records")))
    return found


@pytest.mark.realdata
def test_suppressed_cells_cannot_be_recomputed_by_subtraction(suppression_outputs):
    problems = []
    for where, shared, dist, _, _ in suppression_outputs:
        for kind, frame, cell in (("shared-procedures", shared, "procedure_code"),
                                  ("distribution", dist, "procedures_had")):
            problems += [(where, kind, found) for found in recomputable_cells(frame, cell)]
    assert not problems, f"{len(problems)} recomputable groups, e.g. {problems[:3]}"


@pytest.mark.realdata
def test_no_totals_are_shown(suppression_outputs):
    for where, shared, dist, figures, _ in suppression_outputs:
        for frame in (shared, dist):
            assert not [c for c in frame.columns if "total" in c.lower() or c.lower() in ("all", "sum")], where
            assert set(frame["patient_group"]) <= set(GROUPS), where
        for key in ("client-shared-graph", "client-dist-graph"):
            figure = figures[key]["figure"]
            assert {trace["name"] for trace in figure["data"]} == set(GROUP_OF_TRACE), (where, key)
            assert not figure["layout"].get("annotations"), (where, key)


@pytest.mark.realdata
def test_this_client_counts_match_procedure_rows_and_are_shown(suppression_outputs):
    """The client can count its own members per procedure from procedure-rows; chart 3 must show that number."""
    problems = []
    for where, shared, _, _, rows in suppression_outputs:
        own = rows.groupby("procedure_code")["patient_key"].nunique()
        for row in shared[shared["patient_group"] == "this_client"].to_dict("records"):
            if row["suppressed"] or int(row["patients"]) != int(own.get(row["procedure_code"], 0)):
                problems.append((where, row["procedure_code"], row["patients"], row["suppressed"],
                                 int(own.get(row["procedure_code"], 0))))
    assert not problems, f"{len(problems)} this_client cells hidden or wrong, e.g. {problems[:5]}"


# ---------------------------------------------------------------- real data: pseudonyms


def member_keys(viewer, **params) -> list[str]:
    return list(read_csv(viewer.extract("members", **params))["patient_key"])


@pytest.mark.realdata
def test_member_keys_are_stable_across_downloads(real_viewers):
    for username in ("uhc", "humana", "humana-onc"):
        v = real_viewers(username)
        first, second = member_keys(v), member_keys(v)
        assert first == second and len(first) > 100, username
        rows = read_csv(v.extract("procedure-rows"))
        assert set(rows["patient_key"]) <= set(first), "procedure rows join the members extract"
    assert set(member_keys(real_viewers("humana-onc"))) <= set(member_keys(real_viewers("humana")))


@pytest.mark.realdata
def test_member_keys_differ_between_clients_for_the_same_patient(real_viewers, raw):
    encounters, payers = raw["encounters"], raw["payers"]
    payer_id = dict(zip(payers["NAME"], payers["Id"]))
    both = (set(encounters.loc[encounters["PAYER"] == payer_id["UnitedHealthcare"], "PATIENT"])
            & set(encounters.loc[encounters["PAYER"] == payer_id["Humana"], "PATIENT"]))
    assert len(both) > 50, "the real data has members of both clients"
    uhc, humana = set(member_keys(real_viewers("uhc"))), set(member_keys(real_viewers("humana")))
    assert not uhc & humana, f"{len(uhc & humana)} keys shared although keys must differ between clients"
    # Senior management previewing a client sees that client's keys.
    assert set(member_keys(real_viewers("senior"), client="UnitedHealthcare")) == uhc
    assert set(member_keys(real_viewers("senior"), client="Humana")) == humana


@pytest.mark.realdata
def test_member_keys_never_reveal_the_patient_id(real_viewers, raw):
    ids = list(raw["patients"]["Id"])
    keys = set(member_keys(real_viewers("uhc"))) | set(member_keys(real_viewers("humana")))
    keys |= set(read_csv(real_viewers("uhc").extract("procedure-rows"))["patient_key"])
    assert all(isinstance(key, str) and len(key) >= 16 for key in keys)
    length = len(next(iter(keys)))
    id_forms = set(ids) | {value.replace("-", "") for value in ids}
    unkeyed = {getattr(hashlib, algo)(value.encode()).hexdigest()[:length]
               for value in ids for algo in ("sha256", "sha1", "md5")}
    for key in keys:
        assert key not in id_forms
        assert not any(key in form for form in id_forms), key
        assert key not in unkeyed, "keys must be keyed (HMAC), not a plain hash of the id"
    for value in ids:
        assert not any(value in key or value[:8] in key for key in keys)


def test_a_first_time_callback_checks_out_one_connection_like_the_floor(app, viewer):
    """The login's session lookup and the callback's queries share the request's connection (dashboard.app): a
    first-time answer pays one checkout (a ping and a rollback on PostgreSQL), as the trivial callback does."""
    from sqlalchemy import event

    engine = app.extensions["pag"].warehouse.engine
    client = viewer("uhc")
    checkouts = []

    def record(*_args):
        checkouts.append(1)

    ok_json(client.callback(SUMMARY, values("UnitedHealthcare")))  # the login's session touched (a write) before
    event.listen(engine, "checkout", record)
    try:
        for start in ("2020-01-01", "2020-02-01", "2020-03-05"):  # new windows: computed, not from the cache
            checkouts.clear()
            response = ok_json(client.callback(SUMMARY, values("UnitedHealthcare", start=start,
                                                                end="2021-07-31")))
            assert kpis_of(response)[2] > 0
            assert len(checkouts) == 1, start
            checkouts.clear()
            assert ok_json(client.callback(SHARED, values("UnitedHealthcare", start=start, end="2021-07-31")))
            assert len(checkouts) == 1, start
    finally:
        event.remove(engine, "checkout", record)
