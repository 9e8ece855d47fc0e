"""Pure figure builders for the team page: Tables (data_access.table) in, plain Plotly dicts out."""
from __future__ import annotations

from dashboard.theme import ACCENT, PRIMARY, base_layout, empty_figure, short_labels
from data_access.client_reports import frequency_order_of
from data_access.table import Table


def monthly_helped(helped: Table) -> dict:
    """Members helped per month (bars) with encounters (line, right axis)."""
    months, patients, encounters = helped.columns("month", "patients", "encounters")
    if not (any(encounters) or any(patients)):
        return empty_figure("No members helped in this selection")
    return {
        "data": [
            {"type": "bar", "x": months, "y": patients, "name": "Members helped",
             "marker": {"color": PRIMARY},
             "hovertemplate": "%{x}<br>Members helped: %{y:,}<extra></extra>"},
            {"type": "scatter", "mode": "lines+markers", "x": months,
             "y": encounters, "name": "Encounters", "yaxis": "y2",
             "line": {"color": ACCENT, "width": 2}, "marker": {"size": 4},
             "hovertemplate": "%{x}<br>Encounters: %{y:,}<extra></extra>"},
        ],
        "layout": base_layout(
            height=340, bargap=0.15,
            xaxis={"type": "category", "tickangle": -45, "automargin": True, "nticks": 24},
            yaxis={"title": {"text": "Members helped"}, "gridcolor": "#e9ecef", "rangemode": "tozero"},
            yaxis2={"title": {"text": "Encounters"}, "overlaying": "y", "side": "right", "showgrid": False,
                    "rangemode": "tozero"},
            legend={"orientation": "h", "y": 1.1, "x": 0},
            margin={"l": 60, "r": 60, "t": 30, "b": 60},
        ),
    }


def encounter_classes(classes: Table) -> dict:
    if classes.empty:
        return empty_figure("No encounters in this selection")
    names, encounters, patients = classes.columns("encounter_class", "encounters", "patients")
    return {
        "data": [
            {"type": "bar", "orientation": "h", "y": names, "x": encounters, "name": "Encounters",
             "marker": {"color": ACCENT}, "hovertemplate": "%{y}<br>Encounters: %{x:,}<extra></extra>"},
            {"type": "bar", "orientation": "h", "y": names, "x": patients, "name": "Members",
             "marker": {"color": PRIMARY}, "hovertemplate": "%{y}<br>Members: %{x:,}<extra></extra>"},
        ],
        "layout": base_layout(barmode="group", height=max(240, 60 + 44 * len(names)),
                              yaxis={"autorange": "reversed", "automargin": True},
                              legend={"orientation": "h", "y": 1.08, "x": 0},
                              margin={"l": 10, "r": 20, "t": 30, "b": 30}),
    }


def ranked_procedures(summary: Table, limit: int = 25) -> dict:
    """The `limit` procedures performed most often (`client_reports.frequency_order`)."""
    if summary.empty:
        return empty_figure("No procedures of this specialty in the selection")
    codes, *values = summary.columns("procedure_code", "procedure", "procedures_performed", "patients",
                                     "total_cost")
    chosen = frequency_order_of(values[1], codes)[:limit]
    names, performed, patients, costs = ([column[i] for i in chosen] for column in values)
    return {
        "data": [{
            "type": "bar", "orientation": "h", "y": short_labels(names),
            "x": performed, "marker": {"color": PRIMARY},
            "customdata": [list(row) for row in zip(patients, costs, names)],
            "hovertemplate": "<b>%{customdata[2]}</b><br>Performed: %{x:,}<br>Patients: %{customdata[0]:,}"
                             "<br>Total cost: $%{customdata[1]:,.2f}<extra></extra>",
        }],
        "layout": base_layout(height=max(240, 50 + 22 * len(names)), showlegend=False,
                              yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
                              xaxis={"title": {"text": "Times performed"}, "gridcolor": "#e9ecef"},
                              margin={"l": 10, "r": 20, "t": 10, "b": 40}),
    }


def hospital_map(hospitals: list[dict], map_style: str) -> dict:
    points = [h for h in hospitals if h.get("lat") is not None and h.get("lon") is not None]
    if not points:
        return empty_figure("No hospital location")
    return {
        "data": [{
            "type": "scattermap", "lat": [h["lat"] for h in points], "lon": [h["lon"] for h in points],
            "mode": "markers", "marker": {"size": 16, "color": PRIMARY},
            "text": [f"{h['name']}<br>{h['address']}, {h['city']}" for h in points],
            "hovertemplate": "%{text}<extra></extra>",
        }],
        "layout": base_layout(
            height=260, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False,
            map={"style": map_style, "center": {"lat": points[0]["lat"], "lon": points[0]["lon"]}, "zoom": 12},
        ),
    }

