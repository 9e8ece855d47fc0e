"""Issue 5 acceptance through the HTTP surface: the management callbacks, the internal extracts, the audit page and
who may use them (senior management, employees, administrators).

Fixture data (`app`, tests/fixture_data.py) where the answer can be stated by hand, the real data (`real_app`)
where it takes the real volume to show a rule (map points, identifiers, every extract against every chart).

Hand-computed answers on the fixture data (whole range, city level, MIN_CELL_SIZE 11):
- UnitedHealthcare: Boston 2 (p01, p02), Quincy 2 (p03, p04). Humana: Boston 2 (p06, p07), Quincy 1 (p08),
  Cambridge 1 (p09). All clients: Boston 4, Quincy 3, Cambridge 1.
- UnitedHealthcare (`aggregate`) Boston and Quincy and All clients Boston and Quincy hold UnitedHealthcare patients
  and are small: hidden. Cambridge has no UnitedHealthcare patient: All clients Cambridge = Humana Cambridge = 1
  (p09), so either both are shown or both hidden (one hidden beside the other shown would be recomputable). Humana
  Boston (2 patients, 3 encounters e07 e08 e09, 5 procedures) is shown in every case.
- Proximity, radius 500 m, minimum cluster size 2: the non-client patients near a client patient are p10, p11, p13,
  p15 (Boston, tens of metres from p01/p06), p05 (Cambridge, next to p09) and p12 (Quincy, next to p03). DBSCAN
  groups the four Boston ones; p05 and p12 are alone. The cluster holds p13, who is uninsured only (aggregate):
  4 < 11, so it is reported as "<11", without a centre, and not drawn.
- Detail client points (Humana patients): p06, p07, p08, p09.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import openpyxl
import pandas as pd
import pytest

from data_access.geo import haversine_m
from security import policy
from tests.conftest import PASSWORD, callback_body, login
from tests.figure_reading import csv_frame, xlsx_sheets
from tests.fixture_data import PATIENTS

MIN_CELL = 11
LESS = f"<{MIN_CELL}"
INTERNAL_EXTRACTS = ("patients-by-area", "area-procedures", "proximity-clusters")
CLIENT_EXTRACTS = ("procedure-summary", "procedure-rows", "shared-procedures", "shared-procedures-distribution",
                   "members", "patients-helped")
DATA_PAGES = ("/client", "/team", "/management", "/extracts")
DATA_PAGE_PREFIXES = ("client-", "team-", "management-", "extracts-")
# Traces that draw aggregates (area bubbles, hexagon bins, cluster centres); every other map trace draws patients.
AGGREGATED_TRACES = {"Patients per area (all clients)", "Client patients (hexagon bins)", "Non-client clusters"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def honest_inputs(start="2016-01-01", end="2019-12-31", level="city", radius=500, size=5) -> dict:
    """Values a browser could send to every data callback."""
    values = {
        "management-level.value": level, "management-dates.start_date": start, "management-dates.end_date": end,
        "management-radius.value": radius, "management-min-size.value": size,
        "extracts-level.value": level, "extracts-dates.start_date": start, "extracts-dates.end_date": end,
        "extracts-radius.value": radius, "extracts-min-size.value": size,
    }
    for prefix in ("client", "team"):
        values.update({f"{prefix}-payer.value": "UnitedHealthcare", f"{prefix}-specialty.value": "",
                       f"{prefix}-dates.start_date": start, f"{prefix}-dates.end_date": end})
    values["client-top.value"] = 10
    return values


def output_ids(app, key) -> list[str]:
    outputs = app.extensions["dash"].callback_map[key]["output"]
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [item.component_id for item in outputs]


def callback_keys(app, prefixes) -> list[str]:
    keys = [key for key in app.extensions["dash"].callback_map
            if any(str(i).startswith(prefixes) for i in output_ids(app, key))]
    assert keys
    return keys


def answer(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]






def xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for value in row if value is not None)


def assert_same_values(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Value for value (Excel keeps 235.0 as the number 235)."""
    assert list(left.columns) == list(right.columns) and len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        na, nb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
        if na.notna().sum() == (a != "").sum() and nb.notna().sum() == (b != "").sum():
            assert ((a == "") == (b == "")).all() and np.allclose(na.dropna(), nb.dropna(), rtol=0, atol=0), column
        else:
            assert (a.str.upper() == b.str.upper()).all(), column


def get_href(viewer, href: str):
    parts = urlsplit(href)
    return viewer.client.get(parts.path, query_string=dict(parse_qsl(parts.query)))


def traces(figure: dict) -> dict[str, dict]:
    return {trace.get("name"): trace for trace in figure["data"]}


def is_true(value: str) -> bool:
    return value in ("True", "TRUE")


# ---------------------------------------------------------------- fixture data: answers stated by hand


def test_fixture_patients_by_area_is_the_hand_computed_table(app):
    senior = login(app, "senior")
    got = csv_frame(senior.extract("patients-by-area", area_level="city"))
    cells = {(row.client, row.area): row for row in got.itertuples()}
    assert set(cells) == {("UnitedHealthcare", "Boston"), ("UnitedHealthcare", "Quincy"), ("Humana", "Boston"),
                          ("Humana", "Quincy"), ("Humana", "Cambridge"), ("All clients", "Boston"),
                          ("All clients", "Quincy"), ("All clients", "Cambridge")}
    truth = {("UnitedHealthcare", "Boston"): 2, ("UnitedHealthcare", "Quincy"): 2, ("Humana", "Boston"): 2,
             ("Humana", "Quincy"): 1, ("Humana", "Cambridge"): 1, ("All clients", "Boston"): 4,
             ("All clients", "Quincy"): 3, ("All clients", "Cambridge"): 1}
    hidden = {key for key, row in cells.items() if is_true(row.suppressed)}
    for key, row in cells.items():
        if key in hidden:
            assert (row.patients, row.encounters, row.procedures) == ("", "", ""), key
        else:
            assert int(row.patients) == truth[key], key
    # small counts that include UnitedHealthcare patients are hidden; Humana Boston (2 patients, e07 e08 e09,
    # 5 procedures) is shown whatever the complementary choices
    assert {("UnitedHealthcare", "Boston"), ("UnitedHealthcare", "Quincy"), ("All clients", "Boston"),
            ("All clients", "Quincy")} <= hidden
    humana_boston = cells[("Humana", "Boston")]
    assert (humana_boston.patients, humana_boston.encounters, humana_boston.procedures) == ("2", "3", "5")
    # Cambridge: UnitedHealthcare has nobody there, so All clients = Humana = 1 (p09). Hiding one of the two and
    # showing the other hides nothing: both are shown (the count holds no aggregate-only patient) or both hidden.
    cambridge = {key[0]: key in hidden for key in cells if key[1] == "Cambridge"}
    assert cambridge["All clients"] == cambridge["Humana"], (
        f"Cambridge: All clients {'hidden' if cambridge['All clients'] else 'shown'}, Humana "
        f"{'hidden' if cambridge['Humana'] else 'shown'} (both 1): the hidden count equals the shown one")

    figures = answer(senior.callback("management-area-map", {"management-level.value": "city"}))
    bars = traces(figures["management-area-bars"]["figure"])
    assert dict(zip(bars["Humana"]["y"], bars["Humana"]["text"]))["Boston"] == "2"
    uhc = dict(zip(bars["UnitedHealthcare"]["y"], bars["UnitedHealthcare"]["text"]))
    assert uhc["Boston"] == uhc["Quincy"] == LESS
    points = traces(figures["management-area-map"]["figure"])["Patients of detail-visibility clients"]
    expected = {(round(float(lat), 4), round(float(lon), 4)) for pid, *_, lat, lon in PATIENTS
                if pid in ("p06", "p07", "p08", "p09")}
    assert set(zip(points["lat"], points["lon"])) == expected


def test_map_points_are_drawn_once_per_place():
    """Patients who share a home (to 4 decimals, about 11 m) are one marker: the same picture, a fraction of the
    answer (the 100x bench's proximity answer went from 413 KB to 60 KB)."""
    from dashboard.figures.management import proximity_map

    homes = pd.DataFrame({"lat": [42.36011, 42.36012, 42.36011, 42.30001, 42.3], "lon": [-71.05891, -71.05889,
                                                                                      -71.05891, -71.1, -71.1]})
    clusters = pd.DataFrame(columns=["cluster_id", "non_client_patients", "centroid_lat", "centroid_lon",
                                     "top_procedures", "suppressed"])
    hexes = pd.DataFrame(columns=["lat", "lon", "count", "suppressed"])
    figure = proximity_map(clusters, hexes, homes, MIN_CELL, "white-bg")
    points = traces(figure)["Client patients of detail payers"]
    assert sorted(zip(points["lat"], points["lon"])) == [(42.3, -71.1), (42.3601, -71.0589)]


def test_fixture_small_cluster_with_an_uninsured_patient_is_not_located(app):
    senior = login(app, "senior")
    result = answer(senior.callback("management-prox-map", {"management-radius.value": 500,
                                                            "management-min-size.value": 2}))
    table = result["management-prox-table"]["data"]
    assert len(table) == 1
    row = table[0]
    assert row["cluster_id"] == 1 and row["suppressed"] is True
    for column in ("non_client_patients", "centroid_lat", "centroid_lon", "nearest_client_m",
                   "client_patients_within_radius"):
        assert row[column] == LESS, column
    assert not row["top_procedures"]
    assert "Non-client clusters" not in traces(result["management-prox-map"]["figure"])
    got = csv_frame(senior.extract("proximity-clusters", radius_m=500, min_cluster_size=2))
    assert got.to_dict("records") == [{
        "cluster_id": "1", "non_client_patients": "", "centroid_lat": "", "centroid_lon": "", "nearest_client_m": "",
        "client_patients_within_radius": "", "top_procedures": "", "suppressed": "True"}]


# ---------------------------------------------------------------- employees: extracts only


def test_employee_gets_403_on_every_management_callback_even_with_honest_inputs(app):
    employee = login(app, "employee")
    keys = callback_keys(app, ("management-",))
    assert len(keys) == 3
    for key in keys:
        assert all(i.startswith("management-") for i in output_ids(app, key))
        response = employee.callback(key, honest_inputs(start="2020-01-05", end="2021-07-01"))
        assert response.status_code == 403, key
        body = response.get_data(as_text=True)
        assert "lat" not in body and "Boston" not in body and "Humana" not in body
        # a forged outputs list naming the employee's own page does not help
        forged = callback_body(app, key, honest_inputs(), {"outputs": [{"id": "extracts-patients-by-area-csv",
                                                                         "property": "href"}]})
        response = employee.client.post("/_dash-update-component", json=forged, headers={"X-CSRFToken": employee.csrf})
        assert response.status_code == 403, key


def test_employee_gets_403_on_visualisations_client_pages_audit_and_client_extracts(app):
    employee = login(app, "employee")
    for path in ("/management", "/client", "/team", "/admin/audit", "/api/audit"):
        assert employee.client.get(path).status_code == 403, path
    for name in CLIENT_EXTRACTS:
        for fmt in ("csv", "xlsx"):
            response = employee.extract(name, format=fmt)
            assert response.status_code == 403, name
            assert "Colonoscopy" not in response.get_data(as_text=True)
    listed = {item["name"] for item in employee.client.get("/api/extracts").get_json()["extracts"]}
    assert listed == set(INTERNAL_EXTRACTS)
    assert employee.client.get("/extracts").status_code == 200
    for key in callback_keys(app, ("extracts-",)):
        assert employee.callback(key, honest_inputs(start="2020-01-05", end="2021-07-01")).status_code == 200


@pytest.mark.realdata
@pytest.mark.parametrize("name,params", [
    ("patients-by-area", {"area_level": "zip", "start": "2015-03-01", "end": "2019-10-31"}),
    ("patients-by-area", {}),
    ("area-procedures", {"area_level": "county", "start": "2012-01-01", "end": "2020-12-31"}),
    ("area-procedures", {}),
    ("proximity-clusters", {"radius_m": 800, "min_cluster_size": 4}),
    ("proximity-clusters", {}),
])
def test_employee_downloads_equal_senior_downloads(real_app, name, params):
    employee, senior = login(real_app, "employee"), login(real_app, "senior")
    mine, theirs = employee.extract(name, format="csv", **params), senior.extract(name, format="csv", **params)
    assert mine.status_code == theirs.status_code == 200
    assert mine.data == theirs.data, "CSV differs byte for byte"
    assert len(mine.data.splitlines()) > 2
    mine, theirs = xlsx_sheets(employee.extract(name, format="xlsx", **params)), \
        xlsx_sheets(senior.extract(name, format="xlsx", **params))
    pd.testing.assert_frame_equal(mine["data"], theirs["data"])
    assert_same_values(mine["data"], pd.read_csv(io.BytesIO(employee.extract(name, **params).data), dtype=str,
                                                 keep_default_na=False))
    about_mine = mine["about"][mine["about"]["item"] != "generated at (UTC)"].reset_index(drop=True)
    about_theirs = theirs["about"][theirs["about"]["item"] != "generated at (UTC)"].reset_index(drop=True)
    pd.testing.assert_frame_equal(about_mine, about_theirs)


# ---------------------------------------------------------------- what the senior sees = what the extracts hold


@pytest.fixture(scope="module")
def real_viewers(real_app):
    return login(real_app, "senior"), login(real_app, "employee")


@pytest.mark.realdata
@pytest.mark.parametrize("level,start,end", [("city", "2016-01-01", "2019-12-31"), ("zip", "2011-01-02", "2022-02-05"),
                                             ("county", "2021-01-01", "2021-06-30"),
                                             ("county", "2013-01-01", "2018-12-31")])
def test_area_charts_show_what_the_extracts_hold(real_viewers, real_people, level, start, end):
    senior, employee = real_viewers
    inputs = {"management-level.value": level, "management-dates.start_date": start,
              "management-dates.end_date": end}
    areas = answer(senior.callback("management-area-map", inputs))
    rows = csv_frame(get_href(employee, areas["management-area-csv"]["href"]))
    assert rows.equals(csv_frame(employee.extract("patients-by-area", area_level=level, start=start, end=end)))
    assert get_href(employee, areas["management-area-xlsx"]["href"]).status_code == 200
    cell = {(row.client, row.area): row for row in rows.itertuples()}

    bars = areas["management-area-bars"]["figure"]["data"]
    assert {trace["name"] for trace in bars} == set(rows["client"])
    visible = rows[~rows["suppressed"].map(is_true)]
    best = visible.assign(n=visible["patients"].astype(int)).groupby("area")["n"].max()
    for trace in bars:
        assert len(trace["y"]) == min(25, rows["area"].nunique())
        for area, x, text in zip(trace["y"], trace["x"], trace["text"]):
            row = cell.get((trace["name"], area))
            if row is None:
                assert x is None and text == "", (trace["name"], area)
            elif is_true(row.suppressed):
                assert text == LESS, (trace["name"], area)
            else:
                assert x == int(row.patients) and text == f"{int(row.patients):,}", (trace["name"], area)
        drawn = set(trace["y"])
        if len(drawn) < rows["area"].nunique():  # the top areas: none left out is larger than one drawn
            assert best.reindex(sorted(set(best.index) - drawn)).max() <= best.reindex(sorted(drawn)).fillna(0).min()

    # Bubbles: the "All clients" cells of areas with at least 11 residents (a tiny area's centre would sit on a
    # home); smaller areas are only in the bars and the extract.
    residents = real_people[0][{"county": "COUNTY", "city": "CITY", "zip": "ZIP"}[level]].value_counts()
    large = set(residents[(residents >= 11) & (residents.index != "")].index)
    bubbles = traces(areas["management-area-map"]["figure"])["Patients per area (all clients)"]
    expected = {f"{row.area}: {LESS if is_true(row.suppressed) else f'{int(row.patients):,}'} patients"
                for row in rows[(rows["client"] == "All clients") & rows["area"].isin(large)].itertuples()}
    assert set(bubbles["text"]) == expected

    assoc = answer(senior.callback("management-assoc-reading", inputs))
    table = csv_frame(get_href(employee, assoc["management-assoc-csv"]["href"]))
    about = xlsx_sheets(get_href(employee, assoc["management-assoc-xlsx"]["href"]))["about"]
    about = dict(zip(about["item"], about["value"]))
    reading = assoc["management-assoc-reading"]["children"]
    if table.empty:  # too few pairs for a table: no heatmap, no statistics, and the reading says so
        assert assoc["management-assoc-heatmap"]["figure"]["data"] == []
        assert "not enough" in reading and not any(item.startswith("filter: chi-square") for item in about)
        return
    heatmap = assoc["management-assoc-heatmap"]["figure"]["data"][0]
    residual = {(row.area, row.procedure): (None if is_true(row.suppressed) else float(row.std_residual))
                for row in table.itertuples()}
    assert len(residual) == len(table), "two codes share a procedure name"
    assert len(heatmap["y"]) * len(heatmap["x"]) == len(table)
    # axis labels may be shortened for display; the full procedure names ride along as customdata
    full_names = heatmap.get("customdata") or [heatmap["x"]] * len(heatmap["y"])
    for area, values, names in zip(heatmap["y"], heatmap["z"], full_names):
        for procedure, value in zip(names, values):
            want = residual[(area, procedure)]
            assert (value is None) if want is None else value == pytest.approx(want, abs=1e-9), (area, procedure)
    statistic = float(about["filter: chi-square statistic"])
    assert f"Chi-square = {statistic:,.1f} with {int(float(about['filter: chi-square dof']))} degrees" in reading
    assert f"p = {float(about['filter: chi-square p_value']):.3g}" in reading
    assert f"Cramér's V = {float(about['filter: chi-square cramers_v']):.2f}" in reading


@pytest.mark.realdata
@pytest.mark.parametrize("radius,size", [(500, 5), (1200, 3)])
def test_clusters_table_and_map_show_what_the_extract_holds(real_viewers, radius, size):
    senior, employee = real_viewers
    result = answer(senior.callback("management-prox-map", {"management-radius.value": radius,
                                                            "management-min-size.value": size}))
    rows = csv_frame(get_href(employee, result["management-prox-csv"]["href"]))
    assert rows.equals(csv_frame(employee.extract("proximity-clusters", radius_m=radius, min_cluster_size=size)))
    table = result["management-prox-table"]["data"]
    assert len(table) == len(rows) > 0
    assert f"{len(rows):,} clusters of at least {size}" in result["management-prox-summary"]["children"]
    for shown, row in zip(table, rows.to_dict("records")):
        for column, value in row.items():
            if column == "suppressed":
                assert shown[column] is is_true(value)
            elif value == "":
                assert shown[column] in (LESS, ""), (column, shown)
            elif column == "top_procedures":
                assert shown[column] == value
            else:
                assert float(shown[column]) == float(value), (column, shown, row)
    located = {(float(row["centroid_lat"]), float(row["centroid_lon"])) for row in rows.to_dict("records")
               if row["centroid_lat"] != ""}
    clusters = traces(result["management-prox-map"]["figure"]).get("Non-client clusters", {"lat": [], "lon": []})
    assert set(zip(clusters["lat"], clusters["lon"])) == located


# ---------------------------------------------------------------- no row-level output from aggregate payers


@pytest.fixture(scope="module")
def real_people(real_input):
    read = lambda name: pd.read_csv(real_input / f"{name}.csv", encoding="utf-8-sig", dtype=str,  # noqa: E731
                                    keep_default_na=False)
    patients, encounters = read("patients"), read("encounters")
    encounters["payer"] = encounters["PAYER"].map(read("payers").set_index("Id")["NAME"])
    encounters["day"] = encounters["START"].str[:10]
    patients["lat"], patients["lon"] = patients["LAT"].astype(float), patients["LON"].astype(float)
    return patients, encounters


def rounded_homes(patients: pd.DataFrame, ids) -> set:
    chosen = patients[patients["Id"].isin(set(ids))]
    return set(zip(chosen["lat"].round(4), chosen["lon"].round(4)))


@pytest.mark.realdata
@pytest.mark.parametrize("start,end", [("2011-01-02", "2022-02-05"), ("2018-01-01", "2018-12-31")])
def test_map_points_are_only_patients_of_the_detail_client(real_app, real_viewers, real_people, start, end):
    """Rule 3: points only for Humana (detail) patients; UnitedHealthcare-only patients only inside aggregates."""
    patients, encounters = real_people
    senior, employee = real_viewers
    humana = encounters[encounters["payer"] == "Humana"]
    in_window = humana[(humana["day"] >= start) & (humana["day"] <= end)]
    allowed_window, allowed_any = rounded_homes(patients, in_window["PATIENT"]), rounded_homes(patients,
                                                                                                humana["PATIENT"])
    inputs = {"management-level.value": "city", "management-dates.start_date": start,
              "management-dates.end_date": end, "management-radius.value": 500, "management-min-size.value": 5}
    figures = [(answer(senior.callback("management-area-map", inputs))["management-area-map"]["figure"],
                allowed_window),
               (answer(senior.callback("management-prox-map", inputs))["management-prox-map"]["figure"],
                allowed_any)]
    for figure, allowed in figures:
        point_traces = [t for t in figure["data"] if t["type"].startswith("scatter") and
                        t["name"] not in AGGREGATED_TRACES]
        assert point_traces, "no point layer: nothing was checked"
        for trace in point_traces:
            points = set(zip(trace["lat"], trace["lon"]))
            assert points <= allowed, f"{trace['name']}: {len(points - allowed)} points of non-Humana patients"
            assert points == allowed, f"{trace['name']}: Humana patients missing from the points"
    for key in callback_keys(app=real_app, prefixes=("management-",)):
        response = employee.callback(key, inputs)
        assert response.status_code == 403 and '"lat"' not in response.get_data(as_text=True)


@pytest.mark.realdata
@pytest.mark.parametrize("level", ["city", "zip"])
def test_area_bubbles_do_not_locate_a_patient_known_only_through_an_aggregate_client(real_viewers, real_people,
                                                                                      level):
    """An area bubble is drawn at the mean home of the area's residents: for an area where a single patient lives,
    that is the patient's home, at full precision. When that patient is a client patient only through
    UnitedHealthcare (no Humana encounter), the bubble is a map point that exists only because of an aggregate
    payer's encounters (rule 3): the points layer rightly leaves such patients out, the bubble must not put them
    back."""
    patients, encounters = real_people
    senior, _ = real_viewers
    humana = set(encounters.loc[encounters["payer"] == "Humana", "PATIENT"])
    uhc = set(encounters.loc[encounters["payer"] == "UnitedHealthcare", "PATIENT"])
    uhc_only = patients[patients["Id"].isin(uhc - humana)]
    figure = answer(senior.callback("management-area-map", {"management-level.value": level}))
    bubbles = traces(figure["management-area-map"]["figure"])["Patients per area (all clients)"]
    located = []
    for lat, lon, text in zip(bubbles["lat"], bubbles["lon"], bubbles["text"]):
        distance = haversine_m(lat, lon, uhc_only["lat"].to_numpy(), uhc_only["lon"].to_numpy())
        if distance.min() < 1.0:
            located.append(f"{text} (bubble {distance.min():.2g} m from the home of a client patient known only "
                           f"through UnitedHealthcare)")
    assert not located, located


@pytest.fixture(scope="module")
def identifiers(real_input):
    patients = pd.read_csv(real_input / "patients.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    ids = set(patients["Id"])
    names = {value for column in ("FIRST", "LAST", "MAIDEN") for value in patients[column] if len(value) >= 4}
    addresses = {value for value in patients["ADDRESS"] if value}
    return ids, names, addresses


def leaks(text: str, identifiers) -> list[str]:
    ids, names, addresses = identifiers
    found = [f"id {value}" for value in set(UUID.findall(text)) & ids]
    found += [f"name {value}" for value in names if value in text]
    found += [f"address {value}" for value in addresses if value in text]
    return found


@pytest.mark.realdata
def test_no_callback_or_extract_carries_a_patient_id_name_or_address(real_app, real_viewers, identifiers):
    senior, employee = real_viewers
    checked = 0
    for inputs in (honest_inputs(), honest_inputs("2011-01-02", "2022-02-05", "zip", 1500, 2)):
        for key in callback_keys(real_app, ("management-", "extracts-")):
            response = senior.callback(key, inputs)
            assert response.status_code == 200, key
            assert not leaks(response.get_data(as_text=True), identifiers), key
            checked += 1
    for name, params in (("patients-by-area", {"area_level": "zip"}), ("area-procedures", {"area_level": "city"}),
                         ("proximity-clusters", {"radius_m": 300, "min_cluster_size": 2}),
                         ("proximity-clusters", {})):
        response = employee.extract(name, format="csv", **params)
        assert response.status_code == 200
        assert not leaks(response.get_data(as_text=True), identifiers), name
        response = employee.extract(name, format="xlsx", **params)
        assert response.status_code == 200
        assert not leaks(xlsx_text(response.data), identifiers), name
        checked += 2
    assert checked == 18


# ---------------------------------------------------------------- administrators: the audit log, no patient data


def test_admin_reads_the_audit_log_and_nothing_else(app):
    admin = login(app, "admin")
    assert admin.client.get("/admin/audit").status_code == 200
    result = answer(admin.callback("audit-table.data", {}))
    assert isinstance(result["audit-table"]["data"], list)
    for fmt, mime in (("csv", "text/csv"), ("xlsx", "spreadsheetml")):
        response = admin.client.get("/api/audit", query_string={"format": fmt})
        assert response.status_code == 200 and mime in response.content_type
    for path in DATA_PAGES:
        assert admin.client.get(path).status_code == 403, path
    keys = callback_keys(app, DATA_PAGE_PREFIXES)
    assert len(keys) >= 7
    for key in keys:
        response = admin.callback(key, honest_inputs(start="2020-01-05", end="2021-07-01"))
        assert response.status_code == 403, key
    names = {rule.name for rule in policy.EXTRACTS} | set(INTERNAL_EXTRACTS) | set(CLIENT_EXTRACTS)
    for name in sorted(names):
        for fmt in ("csv", "xlsx"):
            assert admin.extract(name, format=fmt).status_code == 403, name
    assert admin.client.get("/api/extracts").get_json()["extracts"] == []


@pytest.mark.realdata
def test_the_audit_log_holds_no_patient_data(real_app, identifiers):
    senior, employee = login(real_app, "senior"), login(real_app, "employee")
    for name in INTERNAL_EXTRACTS:
        employee.extract(name, format="csv")
        senior.extract(name, format="xlsx")
    senior.extract("members", client="Humana")
    employee.extract("members")
    employee.client.get("/management")
    admin = login(real_app, "admin")
    text = admin.client.get("/api/audit", query_string={"format": "csv"}).get_data(as_text=True)
    log = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert {"download", "denied", "login"} <= set(log["event"])
    assert not leaks(text, identifiers)
    assert not leaks(xlsx_text(admin.client.get("/api/audit", query_string={"format": "xlsx"}).data), identifiers)
    table = answer(admin.callback("audit-table.data", {}))["audit-table"]["data"]
    assert not leaks(str(table), identifiers)


def test_audit_page_filters_by_user_event_and_date(app):
    today = datetime.now(UTC).date().isoformat()
    employee = login(app, "employee")
    employee.client.get("/management")  # denied
    assert employee.extract("patients-by-area").status_code == 200  # download
    probe = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', probe.get("/login").text).group(1)
    probe.post("/login", data={"username": "audit-probe", "password": PASSWORD + "x", "csrf_token": token})

    admin = login(app, "admin")

    def table(user=None, event=None, start=today, end=today):
        result = answer(admin.callback("audit-table.data", {"audit-user.value": user, "audit-event.value": event,
                                                            "audit-dates.start_date": start,
                                                            "audit-dates.end_date": end}))
        return result["audit-table"]["data"], result

    rows, result = table(user="employee")
    assert rows and {row["username"] for row in rows} == {"employee"}
    assert {"login", "denied", "download"} <= {row["event"] for row in rows}
    assert result["audit-count"]["children"].startswith(f"{len(rows):,} entries")
    download = csv_frame(get_href(admin, result["audit-download-csv"]["href"]))
    assert len(download) == len(rows) and set(download["username"]) == {"employee"}

    rows, _ = table(event="download")
    assert rows and {row["event"] for row in rows} == {"download"}
    assert any(row["username"] == "employee" and "patients-by-area" in row["params"] for row in rows)

    rows, _ = table(user="employee", event="denied")
    assert rows and all(row["username"] == "employee" and row["event"] == "denied" for row in rows)
    assert any(row["path"] == "/management" and str(row["status"]) == "403" for row in rows)

    rows, _ = table(event="login_failed")
    assert any(row["username"] == "audit-probe" for row in rows)

    rows, _ = table()
    assert rows and all(row["at"][:10] == today for row in rows)
    rows, _ = table(start="2001-01-01", end="2001-01-31")
    assert rows == []
    rows, _ = table(user="employee", start="2001-01-01", end=None)
    assert rows and {row["username"] for row in rows} == {"employee"}


def test_extract_download_links_are_those_of_the_management_charts(app):
    """The senior's download buttons carry the chart's filters; the employee's /extracts links serve the same file."""
    senior, employee = login(app, "senior"), login(app, "employee")
    inputs = honest_inputs(start="2020-01-05", end="2020-12-31", level="zip", radius=700, size=2)
    pairs = [("management-area-map", "extracts-patients-by-area-csv", "management-area-csv",
              "extracts-patients-by-area-csv"),
             ("management-assoc-reading", "extracts-patients-by-area-csv", "management-assoc-csv",
              "extracts-area-procedures-csv"),
             ("management-prox-map", "extracts-proximity-clusters-csv", "management-prox-csv",
              "extracts-proximity-clusters-csv")]
    for chart, page, chart_link, page_link in pairs:
        senior_href = answer(senior.callback(chart, inputs))[chart_link]["href"]
        employee_href = answer(employee.callback(page, inputs))[page_link]["href"]
        assert dict(parse_qsl(urlsplit(senior_href).query)) == dict(parse_qsl(urlsplit(employee_href).query))
        assert urlsplit(senior_href).path == urlsplit(employee_href).path
        assert get_href(employee, employee_href).data == get_href(senior, senior_href).data
    assert np.isclose(700, float(dict(parse_qsl(urlsplit(senior_href).query))["radius_m"]))
