"""Pure figure builders for the client page: Tables (data_access.table) in, plain Plotly figure dicts out (no
plotly.express on the hot path: a dict costs well under a millisecond, px about 17 ms per chart)."""
from __future__ import annotations

from dashboard.theme import (
    ACCENT,
    GROUP_COLOURS,
    GROUP_LABELS,
    PRIMARY,
    base_layout,
    empty_figure,
    short,
    short_labels,
)
from data_access.client_reports import frequency_order_of
from data_access.table import Table
from security.suppression import display

ROW_HEIGHT = 22


def _bar_height(rows: int) -> int:
    return max(260, 60 + ROW_HEIGHT * rows)


HOVER = (
    "<b>%{customdata[5]}</b><br>Code %{customdata[4]}<br>Performed: %{customdata[0]:,}"
    "<br>Total cost: $%{customdata[1]:,.2f}<br>Average cost: $%{customdata[2]:,.2f}"
    "<br>Distinct patients: %{customdata[3]:,}<extra></extra>"
)
HOVER_COLUMNS = ("procedures_performed", "total_cost", "average_cost", "patients", "procedure_code", "procedure")


def summary_bars(summary: Table) -> tuple[dict, dict]:
    """The procedure summary twice: by total cost (highest at the top) and by how often each procedure was performed
    (most at the top, `client_reports.frequency_order`)."""
    if summary.empty:
        return empty_figure("No procedures in this selection"), empty_figure("No procedures in this selection")
    columns = dict(zip(HOVER_COLUMNS, summary.columns(*HOVER_COLUMNS)))
    labels = short_labels(columns["procedure"])
    hover = [list(row) for row in zip(*columns.values())]
    order = frequency_order_of(columns["procedures_performed"], columns["procedure_code"])
    by_cost = _bars(columns["total_cost"], labels, hover, PRIMARY, "Total cost", {"tickprefix": "$"})
    by_frequency = _bars([columns["procedures_performed"][i] for i in order], [labels[i] for i in order],
                         [hover[i] for i in order], ACCENT, "Times performed", {})
    return by_cost, by_frequency


def _bars(x: list, y: list, hover: list, colour: str, name: str, xaxis: dict) -> dict:
    return {
        "data": [{
            "type": "bar", "orientation": "h", "x": x, "y": y, "customdata": hover, "hovertemplate": HOVER,
            "marker": {"color": colour}, "name": name,
        }],
        "layout": base_layout(
            height=_bar_height(len(y)), showlegend=False,
            yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
            xaxis={**xaxis, "gridcolor": "#e9ecef", "side": "top"},
            margin={"l": 10, "r": 20, "t": 40, "b": 20},
        ),
    }


def _group_traces(groups: list, keys: list, patients: list, suppressed: list, order: list, labels: list,
                  min_cell_size: int) -> list[dict]:
    """One bar trace per patient group over the categories `order` (drawn as `labels`); cells come as parallel
    lists (group, category key, patients or None, suppressed)."""
    cells = {(group, key): (value, bool(hidden))
             for group, key, value, hidden in zip(groups, keys, patients, suppressed)}
    traces = []
    for group, colour in GROUP_COLOURS.items():
        values = [cells.get((group, key), (None, False)) for key in order]
        # A suppressed cell is drawn as a short hatched stub labelled "<11": visible, but carrying no number.
        x = [min_cell_size / 2 if hidden else (None if _missing(value) else int(value)) for value, hidden in values]
        text = [display(value, hidden, min_cell_size) if (hidden or not _missing(value)) else ""
                for value, hidden in values]
        traces.append({
            "type": "bar", "orientation": "h", "name": GROUP_LABELS[group], "y": labels, "x": x,
            "text": text, "textposition": "outside", "cliponaxis": False,
            "marker": {"color": colour, "pattern": {"shape": ["/" if hidden else "" for _, hidden in values]}},
            "hovertemplate": "%{y}<br>" + GROUP_LABELS[group] + ": %{text}<extra></extra>",
        })
    return traces


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def shared_bars(by_code: Table, min_cell_size: int) -> dict:
    """For each of the top procedures: patients who had it, by group (suppressed cells shown as <11)."""
    if by_code.empty:
        return empty_figure("No procedures in this selection")
    ranks, codes, names, groups, patients, suppressed = by_code.columns(
        "rank", "procedure_code", "procedure", "patient_group", "patients", "suppressed")
    first = {}
    for rank, code, name in zip(ranks, codes, names):
        first.setdefault(code, (rank, name))
    order = sorted(first, key=lambda code: first[code][0])
    labels = [f"{first[code][0]}. {short(first[code][1], 38)}" for code in order]
    traces = _group_traces(groups, codes, patients, suppressed, order, labels, min_cell_size)
    return {
        "data": traces,
        "layout": base_layout(
            barmode="group", height=max(320, 70 + 60 * len(labels)),
            yaxis={"autorange": "reversed", "automargin": True},
            xaxis={"title": {"text": "Distinct patients"}, "gridcolor": "#e9ecef"},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"l": 10, "r": 40, "t": 30, "b": 40},
        ),
    }


def distribution_bars(distribution: Table, min_cell_size: int) -> dict:
    """Patients by how many of the top procedures they had."""
    if distribution.empty:
        return empty_figure("No procedures in this selection")
    had, groups, patients, suppressed = distribution.columns("procedures_had", "patient_group", "patients",
                                                             "suppressed")
    counts = sorted(set(had))
    labels = [f"{k} of them" for k in counts]
    traces = _group_traces(groups, had, patients, suppressed, counts, labels, min_cell_size)
    return {
        "data": traces,
        "layout": base_layout(
            barmode="group", height=max(300, 60 + 40 * len(labels)),
            yaxis={"autorange": "reversed", "automargin": True, "title": {"text": "Top procedures had"}},
            xaxis={"title": {"text": "Patients"}, "gridcolor": "#e9ecef"},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"l": 10, "r": 40, "t": 30, "b": 40},
        ),
    }
