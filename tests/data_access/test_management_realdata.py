"""Issue 5 acceptance on the real data (MAT_INPUT_DIR): the management analytics against answers computed here,
independently of the product, straight from the CSVs.

- clients' patients by area (county, city, ZIP; several date ranges) against pandas, suppression included;
- area of residence vs procedures: the contingency table rebuilt here (merging rule re-implemented), the chi-square
  test against scipy.stats.chi2_contingency, expected counts and adjusted standardized residuals;
- proximity: the "near" non-client patients against a brute-force haversine pass over every pair of patients, and the
  DBSCAN clusters against a brute-force DBSCAN written here;
- the clustering time of the real data (cold cache), printed, never asserted.

Definitions (DESIGN §2, §3 and the issue): client payers UnitedHealthcare and Humana; internal visibility
`aggregate` for UnitedHealthcare and NO_INSURANCE; MIN_CELL_SIZE 11.
"""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2_contingency
from sqlalchemy import select

from data_access import management as M
from data_access.catalog import code_names, payer_keys
from data_access.schema import patients as patients_table
from security import policy
from security.scope import Role
from tests.conftest import login
from tests.figure_reading import csv_frame, xlsx_sheets
from tests.sql_recording import executions_during

pytestmark = pytest.mark.realdata

CLIENTS = ("UnitedHealthcare", "Humana")
AGGREGATE_PAYERS = {"UnitedHealthcare", "NO_INSURANCE"}
ALL_CLIENTS = "All clients"
UNKNOWN = "Unknown"
MIN_CELL = 11
EARTH_RADIUS_M = 6_371_008.8
LEVEL_COLUMNS = {"county": "COUNTY", "city": "CITY", "zip": "ZIP"}
# (start, end); None = the extract's default (the whole range of the data)
WINDOWS = [(None, None), ("2016-01-01", "2018-12-31"), ("2021-01-01", "2021-06-30")]
# Distances within this of the radius are "on the boundary": float rounding may put them on either side.
BOUNDARY_M = 1e-6


# ---------------------------------------------------------------- the CSVs, read independently of the product


@dataclass
class Csvs:
    patients: pd.DataFrame
    encounters: pd.DataFrame  # + payer (name), day
    procedures: pd.DataFrame  # + payer (name of the encounter's payer), day


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def csvs(real_input) -> Csvs:
    payer_names = read(real_input / "payers.csv").set_index("Id")["NAME"]
    patients = read(real_input / "patients.csv")
    patients["lat"] = patients["LAT"].astype(float)
    patients["lon"] = patients["LON"].astype(float)
    encounters = read(real_input / "encounters.csv")
    encounters["payer"] = encounters["PAYER"].map(payer_names)
    encounters["day"] = encounters["START"].str[:10]
    procedures = read(real_input / "procedures.csv")
    procedures["payer"] = procedures["ENCOUNTER"].map(encounters.set_index("Id")["payer"])
    procedures["day"] = procedures["START"].str[:10]
    assert procedures["payer"].notna().all()
    return Csvs(patients, encounters, procedures)


def in_window(frame: pd.DataFrame, start, end) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    if start:
        mask &= frame["day"] >= start
    if end:
        mask &= frame["day"] <= end
    return mask


def area_of(csvs: Csvs, level: str) -> pd.Series:
    return csvs.patients.set_index("Id")[LEVEL_COLUMNS[level]].replace("", UNKNOWN)


def window_params(start, end) -> dict:
    return {key: value for key, value in (("start", start), ("end", end)) if value}


@pytest.fixture(scope="module")
def senior(real_app):
    return login(real_app, "senior")






def is_true(value: str) -> bool:
    assert value in ("True", "False", "TRUE", "FALSE"), value
    return value in ("True", "TRUE")


def assert_never_one_suppressed(frame: pd.DataFrame, truth: pd.Series, group: str, what: str,
                                label: str = "client") -> None:
    """Within every group, the number of suppressed cells is never exactly one unless the others are all zero:
    otherwise the hidden count follows from the group's other cells and its (published or derivable) total."""
    for key, part in frame.groupby(group):
        hidden = part["suppressed"].sum()
        if hidden == 1:
            others = truth.loc[part.index[~part["suppressed"]]]
            cells = {row[label]: (int(truth.loc[i]), "hidden" if row["suppressed"] else "shown")
                     for i, row in part.iterrows()}
            assert (others == 0).all(), f"{what}: exactly one suppressed cell in {group}={key!r}, the others " \
                                        f"shown: {cells} (true counts)"


# ---------------------------------------------------------------- 1. clients' patients by area


def expected_by_area(csvs: Csvs, level: str, start, end) -> pd.DataFrame:
    """Per (client, area): distinct patients, encounters (START day in the window) and those encounters'
    procedures, for each client payer and for "All clients"."""
    areas = area_of(csvs, level)
    enc = csvs.encounters[csvs.encounters["payer"].isin(CLIENTS) & in_window(csvs.encounters, start, end)].copy()
    enc["area"] = enc["PATIENT"].map(areas)
    enc["procedures"] = enc["Id"].map(csvs.procedures.groupby("ENCOUNTER").size()).fillna(0).astype(int)
    parts = []
    for client, rows in [(name, enc[enc["payer"] == name]) for name in CLIENTS] + [(ALL_CLIENTS, enc)]:
        grouped = rows.groupby("area").agg(patients=("PATIENT", "nunique"), encounters=("Id", "size"),
                                           procedures=("procedures", "sum")).reset_index()
        parts.append(grouped.assign(client=client))
    return pd.concat(parts, ignore_index=True).set_index(["client", "area"])


@pytest.mark.parametrize("start,end", WINDOWS)
@pytest.mark.parametrize("level", ["county", "city", "zip"])
def test_patients_by_area_equals_pandas_with_suppression(csvs, senior, level, start, end):
    expected = expected_by_area(csvs, level, start, end)
    got = csv_frame(senior.extract("patients-by-area", area_level=level, **window_params(start, end)))
    assert list(got.columns)[:7] == ["area_level", "area", "client", "patients", "encounters", "procedures",
                                     "suppressed"]
    assert (got["area_level"] == level).all()
    got["suppressed"] = got["suppressed"].map(is_true)
    got = got.set_index(["client", "area"])
    assert not got.index.duplicated().any()
    assert set(got.index) == set(expected.index), "the (client, area) cells differ from pandas"
    truth = expected.loc[got.index, "patients"]

    shown = got[~got["suppressed"]]
    for column in ("patients", "encounters"):
        assert shown[column].astype(int).to_dict() == expected.loc[shown.index, column].to_dict(), column
    hidden = got[got["suppressed"]]
    assert (hidden[["patients", "encounters", "procedures"]] == "").all().all(), \
        "a suppressed cell still shows a count (patients, encounters or procedures)"

    # primary suppression: every count in 1..10 that includes UnitedHealthcare (aggregate) patients is hidden:
    # UnitedHealthcare's own cells, and All clients wherever UnitedHealthcare has patients in the area
    cells = got.reset_index()
    cells_truth = pd.Series(truth.to_numpy(), index=cells.index)
    uhc_areas = set(expected.loc["UnitedHealthcare"].index[expected.loc["UnitedHealthcare", "patients"] > 0])
    sensitive = (cells["client"] == "UnitedHealthcare") | ((cells["client"] == ALL_CLIENTS)
                                                           & cells["area"].isin(uhc_areas))
    small = (cells_truth >= 1) & (cells_truth < MIN_CELL)
    shown_small = cells[sensitive & small & ~cells["suppressed"]]
    assert shown_small.empty, f"small counts with aggregate-payer patients are shown: {shown_small.head()}"
    # every suppressed cell is a small UnitedHealthcare / All clients count, or a complement (another cell of its
    # client or of its area is hidden too); Humana (detail) is never suppressed on its own merit
    for position in np.flatnonzero(cells["suppressed"].to_numpy()):
        row = cells.iloc[position]
        primary = row["client"] != "Humana" and 1 <= cells_truth.iloc[position] < MIN_CELL
        if not primary:
            same_client = cells[(cells["client"] == row["client"]) & cells["suppressed"]]
            same_area = cells[(cells["area"] == row["area"]) & cells["suppressed"]]
            assert len(same_client) >= 2 or len(same_area) >= 2, f"{row['client']}/{row['area']} is suppressed " \
                                                                 f"({cells_truth.iloc[position]}) for no reason"
    # suppressed cells cannot be recovered from totals
    for group, label in (("client", "area"), ("area", "client")):
        assert_never_one_suppressed(cells, cells_truth, group, f"patients-by-area {level} {start}..{end}", label)
    if start is None:
        assert not shown.empty


@pytest.mark.parametrize("start,end", [("2016-01-01", "2020-12-25"), ("2020-12-26", "2021-12-31")])
def test_patients_by_area_counts_procedures_by_their_own_start_day(csvs, senior, start, end):
    """DESIGN §2: "a procedure belongs to the day of its START". The procedures column of a window counts the
    client-paid procedures whose START day is in the window (as area-procedures does), not the procedures of the
    encounters that started in it (8,766 procedures of the real data start on another day than their encounter;
    these windows cut between a client encounter of 2020-12-23 and its six procedures of 2020-12-27)."""
    areas = area_of(csvs, "city")
    proc = csvs.procedures[csvs.procedures["payer"].isin(CLIENTS) & in_window(csvs.procedures, start, end)].copy()
    proc["area"] = proc["PATIENT"].map(areas)
    by_encounter_day = expected_by_area(csvs, "city", start, end)["procedures"]
    assert by_encounter_day.loc[ALL_CLIENTS].sum() != len(proc), "the window does not tell the definitions apart"
    expected = {(client, area): n for client in CLIENTS for area, n in
                proc[proc["payer"] == client].groupby("area").size().items()}
    expected.update({(ALL_CLIENTS, area): n for area, n in proc.groupby("area").size().items()})
    got = csv_frame(senior.extract("patients-by-area", area_level="city", start=start, end=end))
    got = got[got["suppressed"].map(is_true).eq(False)]
    wrong = {(row.client, row.area): (int(row.procedures), expected.get((row.client, row.area), 0))
             for row in got.itertuples() if int(row.procedures) != expected.get((row.client, row.area), 0)}
    assert not wrong, f"{len(wrong)} cells (got, expected by procedure START): {dict(list(wrong.items())[:6])}"


# ---------------------------------------------------------------- 2. area of residence vs procedures


def expected_contingency(csvs: Csvs, level: str, start, end) -> pd.DataFrame:
    """Areas x procedure codes of patient-procedure pairs, sparse rows and columns merged (rule re-implemented)."""
    areas = area_of(csvs, level)
    proc = csvs.procedures[csvs.procedures["payer"].isin(CLIENTS) & in_window(csvs.procedures, start, end)].copy()
    proc["area"] = proc["PATIENT"].map(areas)
    pairs = proc.groupby(["area", "CODE"])["PATIENT"].nunique()

    def kept(totals: pd.Series, minimum: int, limit: int) -> set:
        ranked = sorted(((-int(n), name) for name, n in totals.items() if n >= minimum))
        return {name for _, name in ranked[:limit]}

    keep_areas = kept(pairs.groupby(level="area").sum(), 30, 12)
    keep_codes = kept(pairs.groupby(level="CODE").sum(), 30, 15)
    long = pairs.rename("patients").reset_index()
    long["area"] = [a if a in keep_areas else "Other areas" for a in long["area"]]
    long["CODE"] = [c if c in keep_codes else "Other procedures" for c in long["CODE"]]
    table = long.groupby(["area", "CODE"])["patients"].sum().unstack(fill_value=0)
    return table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]


@pytest.mark.parametrize("start,end", WINDOWS[:2])
@pytest.mark.parametrize("level", ["county", "city", "zip"])
def test_area_procedures_chi_square_equals_scipy(csvs, senior, level, start, end):
    table = expected_contingency(csvs, level, start, end)
    assert min(table.shape) >= 2
    observed = table.to_numpy(dtype=float)
    statistic, p_value, dof, expected = chi2_contingency(observed, correction=False)
    n = observed.sum()
    cramers_v = np.sqrt(statistic / (n * (min(observed.shape) - 1)))
    rows = observed.sum(axis=1, keepdims=True) / n
    cols = observed.sum(axis=0, keepdims=True) / n
    residuals = (observed - expected) / np.sqrt(expected * (1 - rows) * (1 - cols))

    sheets = xlsx_sheets(senior.extract("area-procedures", area_level=level, format="xlsx",
                                        **window_params(start, end)))
    about = dict(zip(sheets["about"]["item"], sheets["about"]["value"]))
    assert float(about["filter: chi-square statistic"]) == pytest.approx(statistic, rel=1e-9)
    assert float(about["filter: chi-square p_value"]) == pytest.approx(p_value, rel=1e-6, abs=1e-300)
    assert int(float(about["filter: chi-square dof"])) == dof
    assert int(float(about["filter: chi-square n"])) == int(n)
    assert float(about["filter: chi-square cramers_v"]) == pytest.approx(cramers_v, rel=1e-9)

    got = csv_frame(senior.extract("area-procedures", area_level=level, **window_params(start, end)))
    csv_data = got.copy()
    got["suppressed"] = got["suppressed"].map(is_true)
    assert set(zip(got["area"], got["procedure_code"])) == {(a, c) for a in table.index for c in table.columns}
    assert len(got) == table.size
    position = {(a, c): (i, j) for i, a in enumerate(table.index) for j, c in enumerate(table.columns)}
    truth = pd.Series([observed[position[(a, c)]] for a, c in zip(got["area"], got["procedure_code"])],
                      index=got.index)
    for _, row in got.iterrows():
        i, j = position[(row["area"], row["procedure_code"])]
        if row["suppressed"]:
            assert row["patients"] == row["expected"] == row["std_residual"] == "", (row["area"], row["procedure"])
            continue
        assert int(row["patients"]) == observed[i, j], (row["area"], row["procedure_code"])
        assert float(row["expected"]) == pytest.approx(expected[i, j], abs=6e-4), (row["area"], row["procedure"])
        assert float(row["std_residual"]) == pytest.approx(residuals[i, j], abs=6e-4), (row["area"],
                                                                                          row["procedure"])
    # UnitedHealthcare is `aggregate`: every count in 1..10 is hidden; the rest only as complements
    small = (truth >= 1) & (truth < MIN_CELL)
    assert got.loc[small, "suppressed"].all()
    for group, label in (("area", "procedure_code"), ("procedure_code", "area")):
        assert_never_one_suppressed(got, truth, group, f"area-procedures {level} {start}..{end}", label)
    for index in got.index[got["suppressed"] & ~small]:
        row = got.loc[index]
        assert (got[(got["area"] == row["area"])]["suppressed"].sum() >= 2
                or got[(got["procedure_code"] == row["procedure_code"])]["suppressed"].sum() >= 2)
    # the Excel data sheet is the CSV
    pd.testing.assert_frame_equal(sheets["data"].reset_index(drop=True), csv_data.reset_index(drop=True),
                                  check_dtype=False)


# ---------------------------------------------------------------- 3. proximity (brute force)


def haversine_matrix(lat_a, lon_a, lat_b, lon_b) -> np.ndarray:
    la, lo, lb, ob = (np.radians(np.asarray(v, dtype=float)) for v in (lat_a, lon_a, lat_b, lon_b))
    a = (np.sin((lb[None, :] - la[:, None]) / 2) ** 2
         + np.cos(la)[:, None] * np.cos(lb)[None, :] * np.sin((ob[None, :] - lo[:, None]) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@dataclass
class People:
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    is_client: np.ndarray
    aggregate_only: np.ndarray  # no encounter with a `detail` payer
    distance: np.ndarray  # all pairs, metres


@pytest.fixture(scope="module")
def people(csvs) -> People:
    pt = csvs.patients
    enc = csvs.encounters
    clients = set(enc.loc[enc["payer"].isin(CLIENTS), "PATIENT"])
    detail = set(enc.loc[~enc["payer"].isin(AGGREGATE_PAYERS), "PATIENT"])
    ids = pt["Id"].to_numpy()
    return People(ids, pt["lat"].to_numpy(), pt["lon"].to_numpy(), np.array([i in clients for i in ids]),
                  np.array([i not in detail for i in ids]),
                  haversine_matrix(pt["lat"], pt["lon"], pt["lat"], pt["lon"]))


@pytest.fixture(scope="module")
def product(real_app):
    """`run(radius, size)` -> the product's proximity result with the senior's scope, near patients as ids."""
    wh = real_app.extensions["pag"].warehouse
    with real_app.app_context():
        scope = policy.internal_scope(SimpleNamespace(role=Role.SENIOR, username="senior"), payer_keys(wh))
    ids = dict(wh.read(select(patients_table.c.patient_sk, patients_table.c.patient_id)))

    def run(radius: int, size: int):
        result = M.proximity_with_members(wh, scope, radius_m=radius, min_cluster_size=size)
        near = result["near"].assign(patient_id=result["near"]["patient_sk"].map(ids))
        return result, near

    return SimpleNamespace(run=run, wh=wh, scope=scope)


def expected_near(people: People, radius: float):
    """Non-client patients within `radius` of some client patient's home: (ids, distance to the nearest)."""
    others = np.flatnonzero(~people.is_client)
    nearest = people.distance[np.ix_(others, np.flatnonzero(people.is_client))].min(axis=1)
    return others, nearest


@pytest.mark.parametrize("radius", [500, 1500])
def test_near_non_client_patients_equal_a_brute_force_haversine_pass(people, product, radius):
    others, nearest = expected_near(people, radius)
    expected = set(people.ids[others[nearest <= radius]])
    boundary = set(people.ids[others[np.abs(nearest - radius) < BOUNDARY_M]])
    result, near = product.run(radius, 5)
    got = set(near["patient_id"])
    assert len(got) == len(near), "a patient appears twice among the near patients"
    assert not (got - set(people.ids[others])), "a client patient is counted as a non-client patient"
    assert (got ^ expected) <= boundary, (f"radius {radius}: missing {sorted(expected - got)[:5]}, "
                                          f"extra {sorted(got - expected)[:5]}")
    assert result["near_count"] == len(got)
    distance_of = dict(zip(people.ids[others], nearest))
    assert np.allclose(near["nearest_client_m"], near["patient_id"].map(distance_of), atol=1e-3)
    assert len(expected) > 20  # the real data has non-client patients near client patients


def test_the_cached_proximity_answer_holds_the_clusters_and_no_patient(product):
    """What the page, the extract and the query cache get: the clusters and the count, equal to the full result's;
    the per-patient membership (keys and homes) never reaches the cache, Redis or `mart_results`."""
    wh, scope = product.wh, product.scope
    full, _near = product.run(500, 5)
    wh.cache.memory.clear()
    shown = M.proximity(wh, scope, radius_m=500, min_cluster_size=5)
    assert set(shown) == {"clusters", "near_count"}
    pd.testing.assert_frame_equal(shown["clusters"], full["clusters"])
    assert shown["near_count"] == full["near_count"] == len(full["near"]) > 0
    stored = [pickle.loads(value) for value in wh.cache.memory._items.values()]
    assert any(isinstance(value, dict) and "near_count" in value for value in stored)
    assert not any(isinstance(value, dict) and "near" in value for value in stored)


def brute_force_dbscan(distance: np.ndarray, eps: float, min_samples: int):
    """Core points (>= min_samples neighbours within eps, itself included), clusters = connected components of
    core points; returns (core mask, component label of each core point or -1, adjacency)."""
    adjacency = distance <= eps
    core = adjacency.sum(axis=1) >= min_samples
    core_index = np.flatnonzero(core)
    _, components = connected_components(csr_matrix(adjacency[np.ix_(core_index, core_index)]), directed=False)
    labels = np.full(len(distance), -1)
    labels[core_index] = components
    return core, labels, adjacency


@pytest.mark.parametrize("radius,size", [(500, 5), (1500, 8), (500, 3)])
def test_dbscan_clusters_equal_a_brute_force_dbscan(people, product, radius, size):
    result, near = product.run(radius, size)
    position = {pid: i for i, pid in enumerate(people.ids)}
    members = np.array([position[pid] for pid in near["patient_id"]])
    core, components, adjacency = brute_force_dbscan(people.distance[np.ix_(members, members)], radius, size)
    labels = near["cluster"].to_numpy()
    assert core.sum() > 0, "no core point: the case proves nothing"

    # core points: the same partition
    got_parts = {frozenset(np.flatnonzero(core & (labels == label))) for label in set(labels[core])}
    want_parts = {frozenset(np.flatnonzero(components == c)) for c in set(components[core])}
    assert -1 not in set(labels[core]), "a core point is left unclustered"
    assert got_parts == want_parts
    # border points are in a cluster of one of their core neighbours; the others are noise
    for i in np.flatnonzero(~core):
        core_neighbours = np.flatnonzero(adjacency[i] & core)
        if len(core_neighbours):
            assert labels[i] in set(labels[core_neighbours]), f"border point {i} is in a non-adjacent cluster"
        else:
            assert labels[i] == -1, f"point {i} has no core neighbour but is clustered"

    # the clusters table describes the same clusters
    clusters = result["clusters"]
    assert sorted(clusters["cluster_id"].astype(int)) == sorted(int(label) + 1 for label in set(labels) - {-1})
    clients = np.flatnonzero(people.is_client)
    for row in clusters.itertuples():
        part = members[labels == row.cluster_id - 1]
        if pd.isna(row.non_client_patients):
            assert row.suppressed
            continue
        assert row.non_client_patients == len(part)
        if pd.isna(row.centroid_lat):
            continue
        lat, lon = people.lat[part].mean(), people.lon[part].mean()
        assert float(row.centroid_lat) == pytest.approx(lat, abs=6e-6)
        assert float(row.centroid_lon) == pytest.approx(lon, abs=6e-6)
        centre = haversine_matrix([lat], [lon], people.lat[clients], people.lon[clients]).min()
        assert float(row.nearest_client_m) == pytest.approx(centre, abs=0.06)
        within = (people.distance[np.ix_(part, clients)] <= radius).any(axis=0).sum()
        if not pd.isna(row.client_patients_within_radius):
            assert int(row.client_patients_within_radius) == within
        else:
            assert 1 <= within < MIN_CELL and row.suppressed


@pytest.mark.parametrize("radius,size", [(500, 5), (500, 2), (1500, 3)])
def test_small_clusters_with_aggregate_only_patients_have_no_centroid(people, product, senior, radius, size):
    """DESIGN §3 rules 3-4: a cluster of fewer than 11 patients that holds a patient the PAG may only see in
    aggregate (uninsured only) is counted as "<11" and neither located nor described."""
    result, near = product.run(radius, size)
    aggregate_only = dict(zip(people.ids, people.aggregate_only))
    got = csv_frame(senior.extract("proximity-clusters", radius_m=radius, min_cluster_size=size))
    got["suppressed"] = got["suppressed"].map(is_true)
    rows = got.set_index(got["cluster_id"].astype(int))
    checked = 0
    for label, part in near[near["cluster"] >= 0].groupby("cluster"):
        row = rows.loc[int(label) + 1]
        if len(part) < MIN_CELL and part["patient_id"].map(aggregate_only).any():
            checked += 1
            assert row["suppressed"]
            for column in ("non_client_patients", "centroid_lat", "centroid_lon", "nearest_client_m",
                           "top_procedures"):
                assert row[column] == "", f"cluster {label + 1}: {column} = {row[column]!r}"
        elif row["non_client_patients"] != "":
            assert int(float(row["non_client_patients"])) == len(part)
    if (radius, size) == (500, 2):
        assert checked > 0, "the case should hold small clusters with uninsured-only patients"


@pytest.mark.parametrize("radius,size", [(500, 5), (1500, 3)])
def test_top_procedures_of_each_cluster_equal_pandas_on_the_csvs(csvs, product, radius, size):
    """A cluster's "top procedures": the three codes most of its members had (distinct patients, any date and
    payer), ties by code, each with its patient count; counted here with pandas on procedures.csv."""
    result, near = product.run(radius, size)
    names = code_names(product.wh)
    pairs = csvs.procedures[["PATIENT", "CODE"]].drop_duplicates()
    members = near.loc[near["cluster"] >= 0, ["patient_id", "cluster"]]
    counts = (pairs.merge(members, left_on="PATIENT", right_on="patient_id").groupby(["cluster", "CODE"]).size()
              .reset_index(name="n").sort_values(["cluster", "n", "CODE"], ascending=[True, False, True]))
    expected = {int(label) + 1: "; ".join(f"{names.get(code, code)} ({n})" for code, n in zip(top["CODE"], top["n"]))
                for label, top in counts.groupby("cluster").head(3).groupby("cluster")}
    described = 0
    for row in result["clusters"].itertuples():
        if pd.isna(row.centroid_lat):  # a small cluster of aggregate-only patients: not described
            assert row.top_procedures == "", f"cluster {row.cluster_id}"
        else:
            described += bool(row.top_procedures)
            # members without any procedure leave it empty
            assert row.top_procedures == expected.get(row.cluster_id, ""), f"cluster {row.cluster_id}"
    assert described > 0


@pytest.mark.parametrize("radius,size", [(500, 2), (1500, 3)])
def test_top_procedures_from_patient_sets_equal_those_from_the_procedures(product, monkeypatch, radius, size):
    """The whole-range patient sets (one statement) and the members' procedures (data loaded without sets) give
    the same clusters table, and the sets path reads no procedure."""
    runs = []
    executions = executions_during(product.wh, lambda: runs.append(product.run(radius, size)))
    from_sets = runs[0][0]["clusters"]
    assert not [text for text, _parameters in executions if "FROM procedures" in text]
    assert [text for text, _parameters in executions if "FROM mart_code_patients" in text]
    monkeypatch.setattr(M, "patient_sets_used", lambda _wh: False)
    from_procedures = product.run(radius, size)[0]["clusters"]
    assert (from_sets["top_procedures"] != "").sum() > 3
    pd.testing.assert_frame_equal(from_sets, from_procedures)


def test_top_procedures_read_the_same_statement_whatever_the_number_of_members(product, monkeypatch):
    """The members' procedures are read PATIENT_BATCH keys per statement, the last batch padded: one SQL text for
    any clustering, so that the driver's statement cache does not keep a new, ever larger statement per clustering
    (a worker kept 20 MB more at 100x). That is the path of data loaded without patient sets; a small batch here
    makes the real data take several batches."""
    monkeypatch.setattr(M, "PATIENT_BATCH", 7)
    monkeypatch.setattr(M, "patient_sets_used", lambda _wh: False)
    texts = {}
    for radius, size in ((500, 5), (1500, 3)):
        runs = []
        executions = executions_during(product.wh, lambda r=radius, n=size, out=runs: out.append(product.run(r, n)))
        _result, near = runs[0]
        seen = [(text, len(parameters)) for text, parameters in executions if "FROM procedures" in text]
        members = int((near["cluster"] >= 0).sum())
        assert len(seen) == -(-members // 7) > 1
        texts[radius] = {text for text, _count in seen}
        assert {count for _text, count in seen} == {7}
    assert len(texts[500] | texts[1500]) == 1


def test_clustering_time_of_the_real_data_at_default_settings(product):
    """Measured, printed (`-s`), never asserted (DESIGN §7: speed is reported, not asserted). Cold: the membership
    is never cached; scipy.spatial is imported first so that its import time is not counted."""
    import scipy.spatial  # noqa: F401

    timings = []
    for _ in range(3):
        began = time.perf_counter()
        result, near = product.run(500, 5)
        timings.append(time.perf_counter() - began)
    print(f"\n[clustering time] real data, radius 500 m, min cluster size 5, cold cache: "
          f"{', '.join(f'{t * 1000:.0f}' for t in timings)} ms (median {sorted(timings)[1] * 1000:.0f} ms; "
          f"{len(near)} near non-client patients, {len(result['clusters'])} clusters)")
    assert len(result["clusters"]) > 0
