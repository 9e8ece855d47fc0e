"""Pure figure builders for the management page (plain Plotly dicts).

Maps only draw aggregated marks (area bubbles, hexagonal bins, cluster centres) for patients PAG staff may see only
in aggregate; individual points are drawn only for patients visible at row level.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashboard.theme import ACCENT, DANGER, DIVERGING, MUTED, PRIMARY, WARNING, base_layout, empty_figure, short
from data_access.management import ALL_CLIENTS
from security.suppression import display

CLIENT_COLOURS = [PRIMARY, ACCENT, "#6a4c93", "#1982c4"]


def area_bars(by_area: pd.DataFrame, min_cell_size: int, limit: int = 25) -> dict:
    """Ranked bars of patients per area, one trace per client (suppressed areas drawn as '<11' stubs)."""
    if by_area.empty:
        return empty_figure("No client patients in this selection")
    ranking = by_area.groupby("area")["patients"].max().fillna(0).sort_values(ascending=False)
    areas = list(ranking.index[:limit])
    traces = []
    for index, (client, part) in enumerate(by_area.groupby("client", sort=False)):
        part = part.set_index("area").reindex(areas)
        suppressed = part["suppressed"].fillna(False).astype(bool)
        values = part["patients"]
        traces.append({
            "type": "bar", "orientation": "h", "name": client, "y": areas,
            "x": [min_cell_size / 2 if s else (None if pd.isna(v) else int(v)) for v, s in zip(values, suppressed)],
            "text": [display(v, s, min_cell_size) if (s or not pd.isna(v)) else "" for v, s in zip(values, suppressed)],
            "textposition": "outside", "cliponaxis": False,
            "marker": {"color": MUTED if client == ALL_CLIENTS else CLIENT_COLOURS[index % len(CLIENT_COLOURS)],
                       "pattern": {"shape": ["/" if s else "" for s in suppressed]}},
            "hovertemplate": "%{y}<br>" + client + ": %{text} patients<extra></extra>",
        })
    return {"data": traces, "layout": base_layout(
        barmode="group", height=max(320, 60 + 18 * len(areas) * max(1, len(traces))),
        yaxis={"autorange": "reversed", "automargin": True}, xaxis={"title": {"text": "Distinct patients"}},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        margin={"l": 10, "r": 40, "t": 30, "b": 40},
    )}


def area_map(by_area: pd.DataFrame, centres: pd.DataFrame, points: pd.DataFrame, min_cell_size: int,
             map_style: str) -> dict:
    """Area bubbles (all clients together, aggregated; only areas large enough to have a centre) and, on top,
    individual points of patients of `detail` client payers only."""
    totals = by_area[by_area["client"] == ALL_CLIENTS]
    merged = totals.merge(centres, on="area", how="inner").dropna(subset=["lat", "lon"])
    traces = []
    if not merged.empty:
        counts = merged["patients"].astype("Float64").fillna(min_cell_size / 2).astype(float)
        labels = [display(v, s, min_cell_size) for v, s in zip(merged["patients"], merged["suppressed"])]
        traces.append({
            "type": "scattermap", "lat": merged["lat"].tolist(), "lon": merged["lon"].tolist(), "mode": "markers",
            "name": "Patients per area (all clients)",
            "marker": {"size": (8 + 40 * np.sqrt(counts / max(counts.max(), 1))).round(1).tolist(),
                       "color": PRIMARY, "opacity": 0.55},
            "text": [f"{area}: {label} patients" for area, label in zip(merged["area"], labels)],
            "hovertemplate": "%{text}<extra></extra>",
        })
    if not points.empty:
        lats, lons = _distinct_points(points)
        traces.append({
            "type": "scattermap", "lat": lats, "lon": lons,
            "mode": "markers", "name": "Patients of detail-visibility clients",
            "marker": {"size": 4, "color": WARNING, "opacity": 0.8}, "hoverinfo": "skip",
        })
    if not traces:
        return empty_figure("No client patients with a known area in this selection")
    lats = [value for trace in traces for value in trace["lat"]]
    lons = [value for trace in traces for value in trace["lon"]]
    return _map_layout(traces, float(np.mean(lats)), float(np.mean(lons)), map_style, zoom=9.5)


def _distinct_points(points: pd.DataFrame) -> tuple[list, list]:
    """Coordinates rounded to 4 decimals (about 11 m), each place once: markers on the same spot draw as one, and
    many patients share a home (in the 100x bench, 21,900 points, 413 KB of every proximity answer, on a few hundred
    places). The points have no hover text, so nothing shown is lost."""
    rounded = points[["lat", "lon"]].round(4).drop_duplicates()
    return rounded["lat"].tolist(), rounded["lon"].tolist()


def _map_layout(traces: list, lat: float, lon: float, map_style: str, zoom: float = 10) -> dict:
    return {"data": traces, "layout": base_layout(
        height=460, margin={"l": 0, "r": 0, "t": 0, "b": 0},
        map={"style": map_style, "center": {"lat": float(lat), "lon": float(lon)}, "zoom": zoom},
        legend={"orientation": "h", "y": 0.01, "x": 0.01, "bgcolor": "rgba(255,255,255,0.8)"},
    )}


def residual_heatmap(matrix: dict | None) -> dict:
    """Adjusted standardized residuals: red = more than expected under independence, blue = fewer."""
    if not matrix:
        return empty_figure("Not enough data for a contingency table in this selection")
    z = [[None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in row]
         for row in matrix["residuals"]]
    limit = max([abs(v) for row in z for v in row if v is not None] or [1])
    return {
        "data": [{
            "type": "heatmap", "z": z, "x": [short(name, 32) for name in matrix["procedures"]], "y": matrix["areas"],
            "customdata": [matrix["procedures"]] * len(matrix["areas"]), "colorscale": DIVERGING,
            "zmin": -limit, "zmax": limit, "zmid": 0, "xgap": 1, "ygap": 1,
            "colorbar": {"title": {"text": "Std. residual"}},
            "hovertemplate": "%{y} × %{customdata}<br>Standardized residual: %{z:.2f}<extra></extra>",
        }],
        "layout": base_layout(height=max(440, 240 + 34 * len(matrix["areas"])),
                              xaxis={"tickangle": -40, "automargin": True, "gridcolor": "rgba(0,0,0,0)"},
                              yaxis={"automargin": True, "gridcolor": "rgba(0,0,0,0)"},
                              margin={"l": 10, "r": 10, "t": 10, "b": 10}),
    }


def proximity_map(clusters: pd.DataFrame, client_hexes: pd.DataFrame, detail_points: pd.DataFrame,
                  min_cell_size: int, map_style: str) -> dict:
    """Client patients as hexagonal bins (aggregated), client patients of detail payers as points, and the
    non-client clusters as circles at their centres."""
    traces = []
    if not client_hexes.empty:
        hidden = client_hexes["suppressed"]
        traces.append({
            "type": "scattermap", "lat": client_hexes["lat"].round(5).tolist(),
            "lon": client_hexes["lon"].round(5).tolist(), "mode": "markers", "name": "Client patients (hexagon bins)",
            "marker": {"size": 18, "color": PRIMARY, "opacity": 0.35},
            "text": [display(v, s, min_cell_size) for v, s in zip(client_hexes["count"], hidden)],
            "hovertemplate": "Client patients here: %{text}<extra></extra>",
        })
    if not detail_points.empty:
        lats, lons = _distinct_points(detail_points)
        traces.append({
            "type": "scattermap", "lat": lats, "lon": lons, "mode": "markers",
            "name": "Client patients of detail payers", "marker": {"size": 4, "color": PRIMARY}, "hoverinfo": "skip",
        })
    located = clusters.dropna(subset=["centroid_lat", "centroid_lon"]) if not clusters.empty else clusters
    if not located.empty:
        sizes = located["non_client_patients"].astype("Float64").fillna(min_cell_size / 2).astype(float)
        traces.append({
            "type": "scattermap", "lat": located["centroid_lat"].astype(float).tolist(),
            "lon": located["centroid_lon"].astype(float).tolist(), "mode": "markers",
            "name": "Non-client clusters", "marker": {"size": (14 + 4 * np.sqrt(sizes)).round(1).tolist(),
                                                       "color": DANGER, "opacity": 0.75},
            # no text labels on the map: they need glyphs from a font server the CSP does not allow
            "text": [str(int(v)) for v in located["cluster_id"]],
            "customdata": [[display(n, s, min_cell_size), c] for n, s, c in zip(
                located["non_client_patients"], located["suppressed"], located["top_procedures"])],
            "hovertemplate": "Cluster %{text}<br>Non-client patients: %{customdata[0]}<br>%{customdata[1]}"
                             "<extra></extra>",
        })
    if not traces:
        return empty_figure("No client patients with coordinates")
    lats = [value for trace in traces for value in trace["lat"]]
    lons = [value for trace in traces for value in trace["lon"]]
    return _map_layout(traces, float(np.mean(lats)), float(np.mean(lons)), map_style, zoom=10)


def association_reading(stats: dict | None, matrix: dict | None) -> str:
    """The chi-square result in plain words, with its limits."""
    if not stats:
        return "There are not enough client patients in this selection to test for an association."
    v = stats["cramers_v"]
    strength = ("negligible" if v < 0.1 else "weak" if v < 0.2 else "moderate" if v < 0.4 else "strong")
    significant = stats["p_value"] < 0.05
    text = (f"Chi-square = {stats['statistic']:,.1f} with {stats['dof']} degrees of freedom, p = "
            f"{stats['p_value']:.3g}, Cramér's V = {v:.2f} (n = {stats['n']:,} patient-procedure pairs). ")
    if significant:
        text += (f"Where patients live and which procedures they had are related, but the association is "
                 f"{strength}. ")
    else:
        text += "The data show no clear relation between where patients live and which procedures they had. "
    if matrix:
        cells = [(abs(value), value, area, procedure)
                 for area, row in zip(matrix["areas"], matrix["residuals"])
                 for procedure, value in zip(matrix["procedures"], row)
                 if value is not None and not (isinstance(value, float) and math.isnan(value))]
        strongest = sorted(cells, reverse=True)[:2]
        if strongest and strongest[0][0] >= 2:
            parts = [f"{procedure} is {'more' if value > 0 else 'less'} common than expected in {area} "
                     f"(residual {value:+.1f})" for _, value, area, procedure in strongest if abs(value) >= 2]
            text += "Most notable: " + "; ".join(parts) + ". "
    text += ("Limits: synthetic records from one hospital; a patient can count in several procedures, so the cells "
             "are not fully independent; this shows association, not cause (age, sex and condition mix differ "
             "between areas).")
    if stats.get("small_expected_share", 0) > 0.2:
        text += " More than a fifth of the cells have expected counts under 5: read the p-value with care."
    return text
