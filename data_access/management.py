"""Management analytics (the third request): clients' patients by area, area of residence vs procedures, and
non-client patients living close to client patients. Internal scopes only.

Internal visibility (DESIGN §3 rule 3): payers marked `aggregate` (UnitedHealthcare and NO_INSURANCE by default)
contribute to counts but never to row-level output (points, patient lists); their patient counts between 1 and
MIN_CELL_SIZE - 1 are suppressed, with complementary suppression.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc
from sqlalchemy import Integer, bindparam, case, distinct, func, select

from data_access import client_marts
from data_access.catalog import code_names, patient_sets_used, payer_keys
from data_access.geo import SphereIndex, dbscan, hex_cells, hex_centres
from data_access.rls import Window
from data_access.schema import encounters, mart_code_patients, mart_patient_payers, patients, procedures
from data_access.warehouse import Warehouse, scoped_query
from security.scope import Audience, Scope
from security.suppression import suppress

AREA_COLUMNS = {"county": patients.c.county, "city": patients.c.city, "zip": patients.c.zip}
ALL_CLIENTS = "All clients"
UNKNOWN_AREA = "Unknown"


def _client_sks(wh: Warehouse, scope: Scope) -> dict[str, int]:
    keys = payer_keys(wh)
    return {name: keys[name] for name in sorted(scope.client_payers) if name in keys}


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


# ---------------------------------------------------------------- 1. clients' patients by area


@scoped_query(Audience.INTERNAL)
def patients_by_area(wh: Warehouse, scope: Scope, window: Window, area_level: str = "city") -> pd.DataFrame:
    """Distinct patients reached by each client's encounters in the window (and by either client), per area of
    residence, with those encounters and the clients' procedures of the window (each by its own START day)."""
    area = AREA_COLUMNS[area_level]
    clients = _client_sks(wh, scope)
    names = {sk: name for name, sk in clients.items()}
    e, p, pt = encounters, procedures, patients
    reached = [e.c.payer_sk.in_(list(clients.values())), e.c.service_date >= window.start,
               e.c.service_date <= window.end]
    by_client = _frame(wh.read(
        select(e.c.payer_sk, area, func.count(distinct(e.c.patient_sk)), func.count())
        .select_from(e.join(pt, pt.c.patient_sk == e.c.patient_sk)).where(*reached).group_by(e.c.payer_sk, area)
    ), ["payer_sk", "area", "patients", "encounters"])
    either = _frame(wh.read(
        select(area, func.count(distinct(e.c.patient_sk)), func.count())
        .select_from(e.join(pt, pt.c.patient_sk == e.c.patient_sk)).where(*reached).group_by(area)
    ), ["area", "patients", "encounters"])
    performed = _frame(wh.read(
        select(p.c.payer_sk, area, func.count())
        .select_from(p.join(pt, pt.c.patient_sk == p.c.patient_sk))
        .where(p.c.payer_sk.in_(list(clients.values())), p.c.service_date >= window.start,
               p.c.service_date <= window.end)
        .group_by(p.c.payer_sk, area)
    ), ["payer_sk", "area", "procedures"])
    for frame in (by_client, either, performed):
        frame["area"] = frame["area"].fillna(UNKNOWN_AREA)
    by_client["client"] = by_client.pop("payer_sk").map(names)
    performed["client"] = performed.pop("payer_sk").map(names)
    either["client"] = ALL_CLIENTS
    performed = pd.concat([performed, performed.groupby("area", as_index=False)["procedures"].sum()
                          .assign(client=ALL_CLIENTS)])
    frame = pd.concat([by_client, either]).merge(performed, on=["client", "area"], how="outer")
    frame = frame.groupby(["client", "area"], as_index=False)[["patients", "encounters", "procedures"]].sum()
    frame.insert(0, "area_level", area_level)

    # A count is sensitive when it includes patients of an aggregate payer: an aggregate client's cells, and the
    # "All clients" cells of areas where an aggregate client has patients.
    aggregate_clients = {name for name in clients if name in scope.aggregate_payers}
    in_aggregate = frame[frame["client"].isin(aggregate_clients) & (frame["patients"] > 0)]["area"]
    sensitive = frame["client"].isin(aggregate_clients) | (
        (frame["client"] == ALL_CLIENTS) & frame["area"].isin(set(in_aggregate)))
    out = suppress(frame, "patients", scope.min_cell_size, sensitive=sensitive, groups=[["client"], ["area"]])
    for column in ("encounters", "procedures"):  # small activity counts would bound a hidden patient count
        out[column] = out[column].astype("Int64").mask(out["suppressed"])
    order = {name: index for index, name in enumerate([*clients, ALL_CLIENTS])}
    out = out.assign(_order=out["client"].map(order), _sort=out["patients"].astype("Float64").fillna(-1))
    out = out.sort_values(["_order", "_sort", "area"], ascending=[True, False, True])
    return out[["area_level", "area", "client", "patients", "encounters", "procedures", "suppressed"]]\
        .reset_index(drop=True)


@scoped_query(Audience.INTERNAL)
def area_centres(wh: Warehouse, scope: Scope, area_level: str = "city") -> pd.DataFrame:
    """Where an area's aggregated mark is drawn: the mean coordinates of its residents, rounded, and only for
    areas with at least MIN_CELL_SIZE residents (the centre of a tiny area would sit on somebody's home)."""
    area = AREA_COLUMNS[area_level]
    pt = patients
    rows = wh.read(select(area, func.avg(pt.c.lat), func.avg(pt.c.lon), func.count()).group_by(area))
    frame = _frame(rows, ["area", "lat", "lon", "residents"])
    frame["area"] = frame["area"].fillna(UNKNOWN_AREA)
    frame = frame[(frame["residents"] >= scope.min_cell_size) & (frame["area"] != UNKNOWN_AREA)]
    return frame.assign(lat=frame["lat"].round(3), lon=frame["lon"].round(3))[["area", "lat", "lon"]]\
        .reset_index(drop=True)


@scoped_query(Audience.INTERNAL)
def detail_client_points(wh: Warehouse, scope: Scope, window: Window) -> pd.DataFrame:
    """Home coordinates of clients' patients reached in the window through a `detail` client payer only.

    Patients known only through an aggregate payer are never returned as points."""
    clients = _client_sks(wh, scope)
    detail = [sk for name, sk in clients.items() if name in scope.detail_payers]
    if not detail:
        return pd.DataFrame(columns=["lat", "lon"])
    e, pt = encounters, patients
    rows = wh.read(
        select(pt.c.lat, pt.c.lon).where(pt.c.patient_sk.in_(
            select(e.c.patient_sk).where(e.c.payer_sk.in_(detail), e.c.service_date >= window.start,
                                         e.c.service_date <= window.end))))
    return _frame(rows, ["lat", "lon"])


@scoped_query(Audience.INTERNAL)
def client_hexes(wh: Warehouse, scope: Scope, size_m: int = 600) -> pd.DataFrame:
    """Patients in contact with a client, counted in hexagons: how client patients are drawn on the proximity map.
    A hexagon's count is suppressed when small and it holds a patient PAG staff may only see in aggregate."""
    people = _patient_roles(wh, scope)
    clients = people[people["is_client"]]
    if clients.empty:
        return pd.DataFrame(columns=["lat", "lon", "count", "suppressed"])
    cells = hex_cells(clients["lat"], clients["lon"], size_m)
    cells["aggregate_only"] = ~clients["client_row_visible"].to_numpy()
    grouped = cells.groupby(["q", "r"], as_index=False).agg(count=("aggregate_only", "size"),
                                                            sensitive=("aggregate_only", "any"))
    grouped = grouped.join(hex_centres(grouped, size_m))
    out = suppress(grouped, "count", scope.min_cell_size, sensitive=grouped["sensitive"])
    return out[["lat", "lon", "count", "suppressed"]]


# ---------------------------------------------------------------- 2. area of residence vs procedures

MIN_AREA_PAIRS = 30
MIN_PROCEDURE_PAIRS = 30
MAX_AREAS = 12
MAX_PROCEDURES = 15
OTHER_AREAS = "Other areas"
OTHER_PROCEDURES = "Other procedures"


def merge_sparse(pairs: pd.DataFrame) -> pd.DataFrame:
    """Merge sparse areas and procedures into "other" so that the chi-square test is valid.

    `pairs`: columns area, procedure_code, patients (patient-procedure pairs). Kept: the areas with at least
    MIN_AREA_PAIRS pairs (at most MAX_AREAS, largest first) and the procedures with at least MIN_PROCEDURE_PAIRS
    (at most MAX_PROCEDURES, largest first); the rest become "Other areas" / "Other procedures". Ties break by name.
    """
    def keep(column: str, minimum: int, limit: int) -> set:
        totals = pairs.groupby(column)["patients"].sum().reset_index()
        totals = totals[totals["patients"] >= minimum].sort_values(["patients", column], ascending=[False, True])
        return set(totals[column].head(limit))

    areas = keep("area", MIN_AREA_PAIRS, MAX_AREAS)
    codes = keep("procedure_code", MIN_PROCEDURE_PAIRS, MAX_PROCEDURES)
    merged = pairs.assign(
        area=pairs["area"].where(pairs["area"].isin(areas), OTHER_AREAS),
        procedure_code=pairs["procedure_code"].where(pairs["procedure_code"].isin(codes), OTHER_PROCEDURES),
    )
    return merged.groupby(["area", "procedure_code"], as_index=False)["patients"].sum()


def chi_square(table: pd.DataFrame) -> dict:
    """Chi-square test of independence on an areas x procedures table of counts (no continuity correction),
    with Cramér's V and adjusted standardized residuals ((O - E) / sqrt(E (1 - row/n) (1 - col/n)))."""
    observed = table.to_numpy(dtype=float)
    n = observed.sum()
    rows, cols = observed.shape
    # scipy.stats.chi2_contingency(correction=False), written out: scipy.stats costs every worker 30 MB to import
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    if (expected == 0).any():
        raise ValueError("a row or column of the contingency table is empty")
    dof = (rows - 1) * (cols - 1)
    statistic = float(((observed - expected) ** 2 / expected).sum()) if dof else 0.0
    p_value = float(chdtrc(dof, statistic)) if dof else 1.0
    cramers_v = float(np.sqrt(statistic / (n * (min(rows, cols) - 1)))) if min(rows, cols) > 1 else float("nan")
    row_share = observed.sum(axis=1, keepdims=True) / n
    col_share = observed.sum(axis=0, keepdims=True) / n
    residuals = (observed - expected) / np.sqrt(expected * (1 - row_share) * (1 - col_share))
    return {
        "statistic": float(statistic), "p_value": float(p_value), "dof": int(dof), "n": int(n),
        "cramers_v": cramers_v, "expected": expected, "residuals": residuals,
        "small_expected_share": float((expected < 5).mean()),
    }


@scoped_query(Audience.INTERNAL)
def area_procedures(wh: Warehouse, scope: Scope, window: Window, area_level: str = "city") -> dict:
    """Contingency table of the clients' patients' area of residence by procedure, with the chi-square test.

    Cells count patient-procedure pairs: for one procedure code, the distinct patients of the area who had it
    through a client's encounter in the window; merged cells add those up. Returns the long table (the
    `area-procedures` extract, suppressed), the statistics and the matrix for the heatmap.
    """
    area = AREA_COLUMNS[area_level]
    clients = list(_client_sks(wh, scope).values())
    p, pt = procedures, patients
    rows = wh.read(
        select(area, p.c.code, func.count(distinct(p.c.patient_sk)))
        .select_from(p.join(pt, pt.c.patient_sk == p.c.patient_sk))
        .where(p.c.payer_sk.in_(clients), p.c.service_date >= window.start, p.c.service_date <= window.end)
        .group_by(area, p.c.code)
    )
    pairs = _frame(rows, ["area", "procedure_code", "patients"])
    pairs["area"] = pairs["area"].fillna(UNKNOWN_AREA)
    pairs = pairs.groupby(["area", "procedure_code"], as_index=False)["patients"].sum()
    empty = {"table": pd.DataFrame(columns=["area", "procedure_code", "procedure", "patients", "expected",
                                            "std_residual", "suppressed"]), "stats": None, "matrix": None}
    if pairs.empty:
        return empty
    merged = merge_sparse(pairs)
    matrix = merged.pivot(index="area", columns="procedure_code", values="patients").fillna(0)
    matrix = matrix.loc[matrix.sum(axis=1) > 0, matrix.sum(axis=0) > 0]
    if min(matrix.shape) < 2:
        return empty
    stats = chi_square(matrix)
    names = {**code_names(wh), OTHER_PROCEDURES: OTHER_PROCEDURES}
    long = matrix.stack().rename("patients").reset_index()
    long["expected"] = stats["expected"].ravel().round(3)
    long["std_residual"] = stats["residuals"].ravel().round(3)
    long.insert(2, "procedure", long["procedure_code"].map(names))
    long["patients"] = long["patients"].astype(int)
    # Suppression: counts include aggregate payers' patients whenever a client payer is `aggregate`. The expected
    # count and residual of a hidden cell would give its count back, so they are hidden with it; rows and columns
    # are groups with derivable totals (the expected counts reveal the margins).
    sensitive = bool(set(scope.client_payers) & scope.aggregate_payers)
    table = suppress(long, "patients", scope.min_cell_size, sensitive=sensitive,
                     groups=[["area"], ["procedure_code"]])
    table["expected"] = table["expected"].mask(table["suppressed"])
    table["std_residual"] = table["std_residual"].mask(table["suppressed"])
    display = table.pivot(index="area", columns="procedure_code", values="std_residual").reindex(
        index=matrix.index, columns=matrix.columns)
    return {
        "table": table[["area", "procedure_code", "procedure", "patients", "expected", "std_residual",
                        "suppressed"]].reset_index(drop=True),
        "stats": {key: stats[key] for key in ("statistic", "p_value", "dof", "n", "cramers_v",
                                              "small_expected_share")},
        "matrix": {"areas": list(matrix.index), "codes": list(matrix.columns),
                   "procedures": [names.get(code, code) for code in matrix.columns],
                   "residuals": display.to_numpy().tolist()},
    }


# ---------------------------------------------------------------- 3. non-client patients near client patients


def _patient_roles(wh: Warehouse, scope: Scope) -> pd.DataFrame:
    """Every patient with coordinates: in contact with a client or not, and what PAG staff may see of them at
    row level. `client_row_visible`: in contact with a client through a `detail` client payer (so a point can show
    them as a client patient); `row_visible`: has an encounter with any `detail` payer."""
    keys = payer_keys(wh)
    client_sks = [keys[name] for name in scope.client_payers if name in keys]
    detail_client_sks = [keys[name] for name in scope.client_payers & scope.detail_payers if name in keys]
    detail_sks = [keys[name] for name in scope.detail_payers if name in keys]
    pp, pt = mart_patient_payers, patients

    def encounters_with(payer_sks):
        return func.coalesce(func.sum(case((pp.c.payer_sk.in_(payer_sks), pp.c.encounters), else_=0)), 0)

    contacts = (select(pp.c.patient_sk, encounters_with(client_sks).label("client"),
                       encounters_with(detail_client_sks).label("detail_client"),
                       encounters_with(detail_sks).label("detail"))
                .group_by(pp.c.patient_sk).subquery())
    rows = wh.read(
        select(pt.c.patient_sk, pt.c.lat, pt.c.lon, func.coalesce(contacts.c.client, 0),
               func.coalesce(contacts.c.detail_client, 0), func.coalesce(contacts.c.detail, 0))
        .select_from(pt.outerjoin(contacts, contacts.c.patient_sk == pt.c.patient_sk))
        .where(pt.c.lat.is_not(None), pt.c.lon.is_not(None))
    )
    frame = _frame(rows, ["patient_sk", "lat", "lon", "client_encounters", "detail_client_encounters",
                          "detail_encounters"])
    frame["is_client"] = frame["client_encounters"] > 0
    frame["client_row_visible"] = frame["detail_client_encounters"] > 0
    frame["row_visible"] = frame["detail_encounters"] > 0
    return frame


@scoped_query(Audience.INTERNAL)
def detail_client_homes(wh: Warehouse, scope: Scope) -> pd.DataFrame:
    """Coordinates of client patients PAG staff may see as points (in contact through a `detail` client payer)."""
    people = _patient_roles(wh, scope)
    return people.loc[people["client_row_visible"], ["lat", "lon"]].reset_index(drop=True)


@scoped_query(Audience.INTERNAL)
def proximity(wh: Warehouse, scope: Scope, radius_m: int = 500, min_cluster_size: int = 5) -> dict:
    """What the page and the `proximity-clusters` extract show: the clusters table and the number of non-client
    patients near clients (see `proximity_with_members`). Cached, and stored for the default settings, without the
    per-patient membership: no home's coordinates go into Redis or `mart_results`, and a 100x answer stays small
    (the membership made 1.4-3.7 MB of each pickled answer, most of a worker's query cache after the bench)."""
    result = proximity_with_members(wh, scope, radius_m=radius_m, min_cluster_size=min_cluster_size)
    return {"clusters": result["clusters"], "near_count": result["near_count"]}


@scoped_query(Audience.INTERNAL, cache=False)
def proximity_with_members(wh: Warehouse, scope: Scope, radius_m: int = 500, min_cluster_size: int = 5) -> dict:
    """Non-client patients living within `radius_m` of a client patient, grouped by DBSCAN (haversine metric,
    eps = radius, min_samples = min_cluster_size) into clusters.

    Returns the clusters table, the non-client patients' membership ("near": patient keys, homes, distance to the
    nearest client patient, cluster; internal only: never cached, exported or drawn; the tests check it) and the
    number of non-client patients near clients.
    """
    people = _patient_roles(wh, scope)
    clients = people[people["is_client"]].reset_index(drop=True)
    others = people[~people["is_client"]].reset_index(drop=True)
    empty_clusters = pd.DataFrame(columns=[
        "cluster_id", "non_client_patients", "centroid_lat", "centroid_lon", "nearest_client_m",
        "client_patients_within_radius", "top_procedures", "suppressed"])
    if clients.empty or others.empty:
        return {"clusters": empty_clusters, "near": others.assign(nearest_client_m=np.nan, cluster=-1).iloc[0:0],
                "near_count": 0}
    homes = SphereIndex(clients["lat"], clients["lon"])
    others["nearest_client_m"] = homes.nearest_m(others["lat"], others["lon"])
    near = others[others["nearest_client_m"] <= radius_m].reset_index(drop=True)
    near["cluster"] = dbscan(near["lat"], near["lon"], radius_m, min_cluster_size)

    top = _top_procedures(wh, near)
    records = []
    for label in sorted(set(near["cluster"]) - {-1}):
        members = near[near["cluster"] == label]
        centre_lat, centre_lon = float(members["lat"].mean()), float(members["lon"].mean())
        client_count = int(homes.within(members["lat"], members["lon"], radius_m).size)
        centre_distance = homes.nearest_m([centre_lat], [centre_lon])[0]
        records.append({
            "cluster_id": int(label) + 1, "non_client_patients": int(len(members)),
            "centroid_lat": round(centre_lat, 5), "centroid_lon": round(centre_lon, 5),
            "nearest_client_m": round(float(centre_distance), 1),
            "client_patients_within_radius": client_count,
            "top_procedures": top.get(label, ""),
            # the cluster holds patients PAG staff may only see in aggregate
            "sensitive": bool((~members["row_visible"]).any()),
        })
    clusters = pd.DataFrame(records) if records else empty_clusters.assign(sensitive=[])
    if not clusters.empty:
        clusters = suppress(clusters, "non_client_patients", scope.min_cell_size, sensitive=clusters["sensitive"])
        hidden = clusters["suppressed"]
        # A small cluster of aggregate-only patients is reported, but not located or described.
        for column in ("centroid_lat", "centroid_lon", "nearest_client_m", "client_patients_within_radius"):
            clusters[column] = clusters[column].astype("Float64").mask(hidden)
        clusters["top_procedures"] = clusters["top_procedures"].where(~hidden, "")
        if scope.aggregate_payers & scope.client_payers:
            # client patients within the radius may include patients of an aggregate client payer
            within = clusters["client_patients_within_radius"]
            small = (within >= 1) & (within < scope.min_cell_size)
            clusters["client_patients_within_radius"] = within.mask(small)
            clusters["suppressed"] = clusters["suppressed"] | small.fillna(False).astype(bool)
    return {"clusters": clusters[empty_clusters.columns].reset_index(drop=True), "near": near,
            "near_count": int(len(near))}


# Patients per statement of `_member_codes_from_procedures`: always this many bind values (the last batch padded),
# so that every batch is the same SQL text. A single IN list of every clustered patient (tens of thousands at 100x)
# was a new statement for each clustering, each kept prepared in the driver's statement cache: 20 MB more resident
# per worker.
PATIENT_BATCH = 1000
_PATIENT_BATCH_KEYS = bindparam("batch_patient_sks", expanding=True, type_=Integer)


def _top_procedures(wh: Warehouse, near: pd.DataFrame, limit: int = 3) -> dict[int, str]:
    """The most common procedures (by distinct patients) of each cluster's members, as text."""
    clustered = near[near["cluster"] >= 0]
    if clustered.empty:
        return {}
    members = clustered["patient_sk"].to_numpy(dtype=np.int64)
    cluster_of = clustered["cluster"].to_numpy(dtype=np.int64)
    if patient_sets_used(wh):
        pairs, codes = _member_codes_from_sets(wh, members, cluster_of)
    else:
        pairs, codes = _member_codes_from_procedures(wh, members, cluster_of)
    # one entry per distinct (member, code), as cluster << 32 | code: entries per (cluster, code) are its patients
    pairs, counts = np.unique(pairs, return_counts=True)
    if not len(pairs):
        return {}
    table = pd.DataFrame({"cluster": pairs >> 32, "code": codes[pairs & 0xFFFFFFFF], "n": counts})
    best = table.sort_values(["cluster", "n", "code"], ascending=[True, False, True]).groupby("cluster").head(limit)
    names = code_names(wh)
    result = {}
    for label, group in best.groupby("cluster", sort=True):
        result[int(label)] = "; ".join(f"{names.get(code, code)} ({n})" for code, n in zip(group["code"], group["n"]))
    return result


def _member_codes_from_sets(wh: Warehouse, members: np.ndarray, cluster_of: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(cluster << 32 | code) of each member and code they had (once per member and code) and the codes, from the
    whole-range patient sets (client_marts.patient_sets): one statement of about a thousand sets whatever the
    number of members (at 100x the real data the procedures of 56,000 members were 467,000 rows in 57 statements,
    2 s of a 1,000 m question; the sets are 5 MB)."""
    m = mart_code_patients
    sets_of: dict[str, list[np.ndarray]] = {}  # a code's sets, one per payer and hospice flag
    for code, blob in wh.read(select(m.c.code, m.c.patients).where(m.c.month == client_marts.ALL_MONTHS)):
        sets_of.setdefault(code, []).append(np.frombuffer(blob, dtype=client_marts.PATIENT_SET_DTYPE))
    codes = np.array(sorted(sets_of), dtype=object)
    cluster_at = np.full(int(members.max()) + 1, -1, dtype=np.int64)
    cluster_at[members] = cluster_of
    parts = [np.zeros(0, dtype=np.int64)]
    for index, code in enumerate(codes):
        patient = np.unique(np.concatenate(sets_of[code])).astype(np.int64)  # sets of a code may share a patient
        cluster = cluster_at[patient[patient < len(cluster_at)]]
        parts.append(cluster[cluster >= 0] << 32 | index)
    return np.concatenate(parts), codes


def _member_codes_from_procedures(wh: Warehouse, members: np.ndarray, cluster_of: np.ndarray
                                  ) -> tuple[np.ndarray, np.ndarray]:
    """`_member_codes_from_sets` for data loaded without patient sets: the members' procedures, PATIENT_BATCH
    members per statement."""
    p = procedures
    position = pd.Index(members)
    keys = np.sort(members)
    padded = np.concatenate([keys, np.full(-len(keys) % PATIENT_BATCH, -1, dtype=keys.dtype)])  # -1: no patient
    statement = select(p.c.patient_sk, p.c.code).where(p.c.patient_sk.in_(_PATIENT_BATCH_KEYS)).distinct()
    code_ids: dict[str, int] = {}
    parts = [np.zeros(0, dtype=np.int64)]
    with wh.session():
        for batch in padded.reshape(-1, PATIENT_BATCH):
            rows = wh.read(statement, {"batch_patient_sks": batch.tolist()})
            patient = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            code = np.fromiter((code_ids.setdefault(row[1], len(code_ids)) for row in rows), dtype=np.int64,
                               count=len(rows))
            parts.append(cluster_of[position.get_indexer(patient)] * (1 << 32) + code)
    return np.concatenate(parts), np.array(list(code_ids), dtype=object)
