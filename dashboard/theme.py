"""Colours and figure defaults shared by every page, so that one group has one colour everywhere."""
from __future__ import annotations

PRIMARY = "#1f4e79"
ACCENT = "#2a9d8f"
MUTED = "#8d99ae"
WARNING = "#e9a23b"
DANGER = "#c8553d"
GRID = "#e9ecef"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

GROUP_COLOURS = {
    "this_client": PRIMARY,
    "other_insurers": MUTED,
    "no_insurance": WARNING,
}
GROUP_LABELS = {
    "this_client": "Your members",
    "other_insurers": "Other insurers",
    "no_insurance": "No insurance",
}
SEQUENTIAL = [[0.0, "#e8f1f8"], [0.5, "#6fa8d6"], [1.0, PRIMARY]]
DIVERGING = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]

# No mode bar on charts (their data comes with CSV/Excel downloads); maps keep it for zooming.
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}
MAP_CONFIG = {"displaylogo": False, "scrollZoom": True, "responsive": True,
              "modeBarButtonsToRemove": ["lasso2d", "select2d", "toImage"]}


def short(label: str, limit: int = 42) -> str:
    """Axis labels stay readable; the full name is in the hover text."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def short_labels(labels, limit: int = 42) -> list[str]:
    """`short` for a whole axis, keeping labels distinct: Plotly draws equal category labels on one row, so a
    label whose shortened form collides with another's keeps its full text."""
    labels = list(labels)
    shortened = [short(label, limit) for label in labels]
    counts: dict[str, int] = {}
    for label in shortened:
        counts[label] = counts.get(label, 0) + 1
    return [full if counts[cut] > 1 else cut for full, cut in zip(labels, shortened)]


def base_layout(**overrides) -> dict:
    layout = {
        "font": {"family": FONT, "size": 12, "color": "#212529"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 10, "r": 20, "t": 10, "b": 40},
        "hoverlabel": {"bgcolor": "white", "font": {"family": FONT}},
        "xaxis": {"gridcolor": GRID, "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": GRID, "zeroline": False, "automargin": True},
        "legend": {"orientation": "h", "y": -0.15},
    }
    layout.update(overrides)
    return layout


def empty_figure(message: str) -> dict:
    return {
        "data": [],
        "layout": base_layout(
            xaxis={"visible": False}, yaxis={"visible": False}, height=220,
            annotations=[{"text": message, "showarrow": False, "font": {"size": 14, "color": MUTED},
                          "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}],
        ),
    }
