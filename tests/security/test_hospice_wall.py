"""The hospice wall on the real data (DESIGN §2 "Hospice data", issue 4): for a Humana member whose specialty is not
Hospice, hospice rows do not exist anywhere: pages, layouts, callbacks, dropdown options, extracts (CSV and Excel),
totals, caches. A Hospice member does see them. Forged callback bodies are refused or answered within scope and
audit-logged; absurd parameters get a 400 with a JSON message and no stack trace.

Expected figures come from the independent pandas computation of tests/dashboard/test_team_page.py (`Reference`),
which reads the raw CSVs and never calls product query code.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from data_access import schema
from tests.conftest import login
from tests.dashboard.test_team_page import (
    HOSPICE_CODES,
    LAST_12_MONTHS,
    assert_helped_extract,
    assert_kpis,
    assert_monthly_figure,
    assert_rows_extract,
    assert_summary_extract,
    call_team,
    count,
    csv_extract,
    money,
    outputs_of,
    reference_for,
    team_values,
)
from tests.security.matrix_helpers import response_text as body_text

pytestmark = pytest.mark.realdata

HOSPICE_MARKERS = tuple(sorted(HOSPICE_CODES | {"305336008"})) + ("hospice",)
ALLOWED = "hospice hidden"  # the viewer's own scope label: the only place the word may appear
CLIENT_EXTRACTS = ("procedure-summary", "procedure-rows", "shared-procedures", "shared-procedures-distribution",
                   "members", "patients-helped")
WHOLE = (None, None)  # the data's whole range
HOSPICE_YEARS = ("2014-01-01", "2015-12-31")  # when Humana's hospice care happened
SPECIALTIES = ("", "Oncology", "Primary Care & Prevention")
RANGES = (WHOLE, HOSPICE_YEARS, LAST_12_MONTHS, ("2014-08-01", "2014-08-31"))


@pytest.fixture(scope="module")
def reference(real_input):
    return reference_for(str(real_input))


# ---------------------------------------------------------------------------------------------------------------
# helpers


def leaks(text: str) -> list[str]:
    lowered = text.lower().replace(ALLOWED, "")
    return [marker for marker in HOSPICE_MARKERS if marker in lowered]


def assert_no_hospice(responses: dict) -> None:
    problems = {}
    for label, response in responses.items():
        text = body_text(response)
        found = leaks(text)
        if found:
            where = text.lower().replace(ALLOWED, "").find(found[0])
            problems[label] = (response.status_code, found, text[max(0, where - 120): where + 80])
    assert not problems, "hospice data reached a hospice-hidden viewer:\n" + "\n".join(
        f"  {label}: {status} {found} …{snippet}…" for label, (status, found, snippet) in problems.items())


def find_component(tree, component_id: str):
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get("id") == component_id:
            return props
        for value in list(props.values()) + [v for k, v in tree.items() if k != "props"]:
            found = find_component(value, component_id)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for item in tree:
            found = find_component(item, component_id)
            if found is not None:
                return found
    return None


def page_layout(viewer, pathname: str) -> dict:
    viewer.client.get("/")  # Dash registers its pages router on the first request
    response = viewer.callback("_pages_content", {"_pages_location.pathname": pathname,
                                                  "_pages_location.search": ""})
    return outputs_of(response)["_pages_content.children"]


def specialty_option_values(viewer, page: str = "team") -> list[str]:
    props = find_component(page_layout(viewer, f"/{page}"), f"{page}-specialty")
    assert props is not None, f"no {page}-specialty dropdown in the /{page} layout"
    return [option["value"] for option in props["options"]]


def client_values(payer, specialty, start, end, top=10) -> dict:
    return {"client-payer.value": payer, "client-specialty.value": specialty, "client-dates.start_date": start,
            "client-dates.end_date": end, "client-top.value": top}


def every_answer(viewer, payer: str, *, specialties=SPECIALTIES, ranges=RANGES, extract_formats=("csv", "xlsx"),
                 client_param=None) -> dict:
    """Every page, layout, callback and client extract this viewer can ask for, over the given filters."""
    responses = {}
    for path in ("/", "/client", "/team", "/_dash-layout", "/_dash-dependencies", "/api/extracts"):
        responses[f"GET {path}"] = viewer.client.get(path)
    for pathname in ("/", "/client", "/team"):
        viewer.client.get("/")
        responses[f"router {pathname}"] = viewer.callback(
            "_pages_content", {"_pages_location.pathname": pathname, "_pages_location.search": ""})
    for page in ("/team", "/client"):  # a forged query string does not open the wall either (the page's HTML
        # echoes its own URL in meta tags, so only the layout the router builds is scanned)
        responses[f"router {page}?specialty=Hospice"] = viewer.callback(
            "_pages_content", {"_pages_location.pathname": page, "_pages_location.search": "?specialty=Hospice"})
    openapi = viewer.client.get("/api/openapi.json")
    if openapi.status_code != 404:  # DESIGN §5 lists it; checked once it exists
        responses["GET /api/openapi.json"] = openapi
    responses["shell-status"] = viewer.callback("shell-status", {"shell-health.n_intervals": 1})
    for specialty in specialties:
        for start, end in ranges:
            tag = f"{specialty or 'all'} {start}..{end}"
            responses[f"team {tag}"] = viewer.callback("team-scope", team_values(payer, specialty, start, end))
            values = client_values(payer, specialty, start, end)
            responses[f"client {tag}"] = viewer.callback("client-scope", values)
            for top in (10, 30):
                responses[f"client-shared top {top} {tag}"] = viewer.callback(
                    "client-shared-graph", {**values, "client-top.value": top})
    for specialty in specialties:
        for start, end in ranges[:2]:
            params = {key: value for key, value in
                      {"start": start, "end": end, "specialty": specialty, "client": client_param}.items() if value}
            for name in CLIENT_EXTRACTS:
                for fmt in extract_formats:
                    extra = {"top": 30} if name.startswith("shared") else {}
                    responses[f"extract {name}.{fmt} {params}"] = viewer.extract(name, format=fmt, **params,
                                                                                  **extra)
    for label, response in responses.items():
        assert response.status_code == 200, f"{label}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    return responses


def assert_totals(viewer, reference, payer: str, specialty: str, start, end, hospice_visible: bool, label: str):
    """KPIs (team and client pages), months and the extracts' sums equal the pandas computation."""
    expected = reference.compute(payer, specialty, start, end, hospice_visible)
    out = call_team(viewer, payer, specialty, start, end)
    assert_kpis(out, expected, label)
    assert_monthly_figure(out, expected, label, encounters=not specialty)
    client = outputs_of(viewer.callback("client-scope", client_values(payer, specialty, start, end)))
    k = expected.kpis
    assert count(client["client-kpi-members.children"]) == k["members"], label
    assert count(client["client-kpi-encounters.children"]) == k["encounters"], label
    assert count(client["client-kpi-procedures.children"]) == k["procedures"], label
    assert abs(money(client["client-kpi-cost.children"]) - k["total_cost"]) <= 0.5 + 1e-6, label
    params = {"start": start, "end": end, "specialty": specialty or None}
    assert_summary_extract(csv_extract(viewer, "procedure-summary", **params), expected, label)
    assert_rows_extract(csv_extract(viewer, "procedure-rows", **params), expected, start or reference.first_day,
                        end or reference.last_day, label)
    helped = csv_extract(viewer, "patients-helped", **params)
    if not specialty:
        assert_helped_extract(helped, expected, None, label)
    else:
        # per month, the columns that do not depend on how an encounter spanning months is counted (that question
        # is tests/dashboard/test_team_page.py's)
        want = expected.monthly
        assert list(helped["month"]) == list(want["month"]), label
        for column in ("patients", "procedures"):
            assert helped[column].astype(int).tolist() == want[column].tolist(), f"{label}: monthly {column}"
        assert (helped["total_cost"] - want["total_cost"]).abs().max() < 0.011, f"{label}: monthly total_cost"
    if not specialty:
        members = csv_extract(viewer, "members", **params)
        assert len(members) == k["members"], f"{label}: members extract rows"
        assert int(members["encounters"].sum()) == k["encounters"], label
        assert abs(members["total_claim_cost"].sum() - k["claim_cost"]) < 0.05, label
        assert abs(members["payer_coverage"].sum() - k["payer_coverage"]) < 0.05, label
        member_patients = set(expected.encounters["patient"])
        want = int(expected.procedures["patient"].isin(member_patients).sum())
        assert int(members["procedures"].sum()) == want, f"{label}: members' procedures"
    return expected


# ---------------------------------------------------------------------------------------------------------------
# the wall, as an oncology member


def test_the_data_has_hospice_rows_for_humana(reference):
    """The wall is only proved where there is something behind it."""
    whole_hidden = reference.compute("Humana", None, None, None, False)
    whole_visible = reference.compute("Humana", None, None, None, True)
    assert whole_visible.kpis["procedures"] - whole_hidden.kpis["procedures"] == 216
    assert whole_visible.differs_from(whole_hidden)
    assert reference.compute("Humana", None, *HOSPICE_YEARS, True).differs_from(
        reference.compute("Humana", None, *HOSPICE_YEARS, False))


def test_no_response_to_an_oncology_member_mentions_hospice(real_app):
    viewer = login(real_app, "humana-onc")
    responses = every_answer(viewer, "Humana")
    assert len(responses) > 100
    assert_no_hospice(responses)
    # the one allowed phrase is indeed the scope label
    assert "Humana · Oncology · hospice hidden" in body_text(responses["GET /_dash-layout"])


def test_the_oncology_member_is_not_offered_hospice(real_app, reference):
    viewer = login(real_app, "humana-onc")
    every = sorted(set(reference.specialty_of.values()))
    for page in ("team", "client"):
        values = specialty_option_values(viewer, page)
        assert "Hospice" not in values, f"/{page} offers Hospice to an oncology member"
        assert "" in values and "Oncology" in values, values
        assert sorted(v for v in values if v) == sorted(s for s in every if s != "Hospice"), values
    team = find_component(page_layout(viewer, "/team"), "team-specialty")
    assert team["value"] == "Oncology", "the team page opens on the member's own specialty"


@pytest.mark.parametrize("specialty, dates", [
    ("", WHOLE), ("", HOSPICE_YEARS), ("", LAST_12_MONTHS), ("Oncology", WHOLE),
    ("Primary Care & Prevention", HOSPICE_YEARS),
], ids=["all-whole", "all-2014-2015", "all-last-12-months", "oncology-whole", "primary-care-2014-2015"])
def test_oncology_member_totals_exclude_hospice(real_app, reference, specialty, dates):
    viewer = login(real_app, "humana-onc")
    assert_totals(viewer, reference, "Humana", specialty, *dates, hospice_visible=False,
                  label=f"humana-onc {specialty or 'all'} {dates}")


@pytest.mark.parametrize("dates", [WHOLE, HOSPICE_YEARS], ids=["whole", "2014-2015"])
def test_oncology_member_totals_differ_from_the_totals_with_hospice(real_app, reference, dates):
    viewer = login(real_app, "humana-onc")
    with_hospice = reference.compute("Humana", None, *dates, True).kpis
    out = call_team(viewer, "Humana", "", *dates)
    assert count(out["team-kpi-procedures.children"]) != with_hospice["procedures"]
    assert money(out["team-kpi-cost.children"]) != pytest.approx(with_hospice["total_cost"], abs=0.5)
    summary = csv_extract(viewer, "procedure-summary", start=dates[0], end=dates[1])
    assert int(summary["procedures_performed"].sum()) < with_hospice["procedures"]


# ---------------------------------------------------------------------------------------------------------------
# a Hospice member sees hospice data


def test_the_hospice_member_sees_hospice(real_app, reference):
    viewer = login(real_app, "humana-hospice")
    for page in ("team", "client"):
        assert "Hospice" in specialty_option_values(viewer, page), f"/{page} hides Hospice from a Hospice member"
    team = find_component(page_layout(viewer, "/team"), "team-specialty")
    assert team["value"] == "Hospice"
    expected = assert_totals(viewer, reference, "Humana", "Hospice", None, None, hospice_visible=True,
                             label="humana-hospice Hospice whole")
    assert expected.kpis["procedures"] == 216
    summary = csv_extract(viewer, "procedure-summary", specialty="Hospice")
    assert set(summary["procedure_code"]) <= HOSPICE_CODES and len(summary)
    assert_totals(viewer, reference, "Humana", "", *HOSPICE_YEARS, hospice_visible=True,
                  label="humana-hospice all 2014-2015")


# ---------------------------------------------------------------------------------------------------------------
# caches never cross scopes


def test_caches_warmed_by_a_hospice_member_do_not_leak_to_an_oncology_member(real_app, reference):
    ranges = (WHOLE, HOSPICE_YEARS)
    warm = every_answer(login(real_app, "humana-hospice"), "Humana", specialties=("",), ranges=ranges,
                        extract_formats=("csv",))
    assert any(leaks(body_text(response)) for response in warm.values()), "the warm-up should hold hospice data"
    viewer = login(real_app, "humana-onc")
    assert_no_hospice(every_answer(viewer, "Humana", specialties=("",), ranges=ranges, extract_formats=("csv",)))
    for dates in ranges:
        assert_totals(viewer, reference, "Humana", "", *dates, hospice_visible=False,
                      label=f"humana-onc after humana-hospice {dates}")


def test_caches_warmed_by_humana_do_not_leak_to_unitedhealthcare(real_app, reference):
    ranges = (WHOLE, HOSPICE_YEARS)
    every_answer(login(real_app, "humana"), "Humana", specialties=("", "Oncology"), ranges=ranges,
                 extract_formats=("csv",))
    viewer = login(real_app, "uhc")
    every_answer(viewer, "UnitedHealthcare", specialties=("", "Oncology"), ranges=ranges, extract_formats=("csv",))
    for specialty in ("", "Oncology"):
        for dates in ranges:
            expected = assert_totals(viewer, reference, "UnitedHealthcare", specialty, *dates, hospice_visible=True,
                                     label=f"uhc after humana {specialty or 'all'} {dates}")
            humana = reference.compute("Humana", specialty, *dates, True)
            assert expected.differs_from(humana), "UHC and Humana figures must be told apart"
            out = call_team(viewer, "UnitedHealthcare", specialty, *dates)
            assert "Humana" not in json.dumps(out)


# ---------------------------------------------------------------------------------------------------------------
# forged requests


def denied_rows(app, username: str) -> list:
    with app.extensions["pag"].engine.connect() as connection:
        return connection.execute(select(schema.audit_log).where(schema.audit_log.c.event == "denied",
                                                                 schema.audit_log.c.username == username)
                                  .order_by(schema.audit_log.c.audit_id)).all()


def params_of(row) -> dict:
    value = row.params
    return json.loads(value) if isinstance(value, str) else (value or {})


def assert_refused(response, status: int):
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"{response.status_code}: {text[:300]}"
    assert response.is_json, text[:300]
    assert isinstance(response.get_json().get("error"), str) and response.get_json()["error"], text
    assert "Traceback" not in text and 'File "' not in text
    return response.get_json()["error"]


def test_forged_hospice_specialty_is_refused_and_audited(real_app):
    viewer = login(real_app, "humana-onc")
    before = len(denied_rows(real_app, "humana-onc"))
    assert_refused(viewer.callback("team-scope", team_values("Humana", "Hospice", *LAST_12_MONTHS)), 403)
    assert_refused(viewer.callback("client-scope", client_values("Humana", "Hospice", *LAST_12_MONTHS)), 403)
    assert_refused(viewer.callback("client-shared-graph", client_values("Humana", "Hospice", None, None)), 403)
    for name in CLIENT_EXTRACTS:
        assert_refused(viewer.extract(name, specialty="Hospice"), 403)
    rows = denied_rows(real_app, "humana-onc")[before:]
    assert len(rows) >= 3 + len(CLIENT_EXTRACTS)
    assert all(row.status == 403 and params_of(row).get("specialty") == "Hospice" for row in rows), rows
    assert {row.path for row in rows} >= {"/_dash-update-component", "/api/extracts/patients-helped"}


def test_forged_payer_is_refused_and_audited(real_app):
    viewer = login(real_app, "humana-onc")
    before = len(denied_rows(real_app, "humana-onc"))
    response = viewer.callback("team-scope", team_values("UnitedHealthcare", "", *LAST_12_MONTHS))
    assert_refused(response, 403)
    assert_refused(viewer.callback("team-scope", team_values("Medicare", "Oncology", *LAST_12_MONTHS)), 403)
    assert_refused(viewer.extract("patients-helped", client="UnitedHealthcare"), 403)
    rows = denied_rows(real_app, "humana-onc")[before:]
    assert [params_of(row).get("client") for row in rows] == ["UnitedHealthcare", "Medicare", "UnitedHealthcare"]


def test_own_payer_in_the_body_is_answered_within_scope(real_app, reference):
    viewer = login(real_app, "humana-onc")
    out = call_team(viewer, "Humana", "", *HOSPICE_YEARS)
    assert count(out["team-kpi-procedures.children"]) == \
        reference.compute("Humana", None, *HOSPICE_YEARS, False).kpis["procedures"]
    # a null payer (the hidden dropdown not sent) still means the account's own payer
    out = outputs_of(viewer.callback("team-scope", team_values(None, "", *HOSPICE_YEARS)))
    assert out["team-scope.children"] == "Humana · all specialties · hospice hidden"


@pytest.mark.parametrize("start, end, named", [
    ("2020-02-30", "2020-03-31", "start"),
    ("2020-01-01", "2020-02-30", "end"),
    ("2021-01-01", "2020-01-01", "after"),
    ("1700-01-01", "2020-01-01", "start"),
    ("2020-01-01", "1700-01-01", "end"),
    ("yesterday", "2020-01-01", "start"),
    ("2020-01-01", "tomorrow", "end"),
])
def test_absurd_dates_get_a_400_naming_the_problem(real_app, start, end, named):
    viewer = login(real_app, "humana-onc")
    for response in (viewer.callback("team-scope", team_values("Humana", "", start, end)),
                     viewer.extract("patients-helped", start=start, end=end)):
        message = assert_refused(response, 400)
        assert named in message, message
        bad = start if named in ("start", "after") else end
        assert bad in message or named == "after", message


@pytest.mark.parametrize("specialty", ["Astrology", "Oncology ", 42, "x" * 500])
def test_unknown_specialty_gets_a_400(real_app, specialty):
    viewer = login(real_app, "humana-onc")
    message = assert_refused(viewer.callback("team-scope", team_values("Humana", specialty, *LAST_12_MONTHS)), 400)
    assert "specialty" in message
    assert not leaks(message)
    if isinstance(specialty, str):
        message = assert_refused(viewer.extract("patients-helped", specialty=specialty), 400)
        assert "specialty" in message
