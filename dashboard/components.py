"""Small layout pieces every page uses, so that pages look alike and stay short."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.theme import GRAPH_CONFIG, MAP_CONFIG


def page_header(title: str, scope_id: str, scope_text: str, lead: str) -> html.Div:
    return html.Div([
        html.Div([
            html.H1(title, className="h3 mb-1"),
            dbc.Badge(scope_text, id=scope_id, color="light", text_color="dark",
                      className="pag-scope border ms-2 align-self-center"),
        ], className="d-flex flex-wrap align-items-center"),
        html.P(lead, className="text-secondary mb-3"),
    ])


def kpi_card(label: str, value_id: str, note: str | None = None) -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.Div(label, className="pag-kpi-label"),
        html.Div("–", id=value_id, className="pag-kpi-value"),
        html.Div(note, className="small text-secondary") if note else None,
    ]), className="pag-kpi shadow-sm h-100")


def api_urls(path: str, **params) -> tuple[str, str]:
    """The CSV and the Excel URL of an API download with these filters (empty ones left out), encoded once."""
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    prefix = f"{path}?{query}&" if query else f"{path}?"
    return f"{prefix}format=csv", f"{prefix}format=xlsx"


def extract_urls(name: str, **params) -> tuple[str, str]:
    return api_urls(f"/api/extracts/{name}", **params)


def plain(node):
    """A component tree as the plain data Dash sends for it (`to_plotly_json`, children included).

    A callback answer of plain data is encoded by orjson in one pass; one holding a component makes plotly's
    encoder fail that pass and then walk every value of the answer (figures included) before encoding it again,
    about 0.15 ms on the team page. Plain data also pickles into the cache faster than components."""
    if isinstance(node, Component):
        data = node.to_plotly_json()
        data["props"] = {name: plain(value) for name, value in data["props"].items()}
        return data
    if isinstance(node, (list, tuple)):
        return [plain(item) for item in node]
    return node


def download_links(id_prefix: str, label: str = "Download") -> html.Div:
    """CSV and Excel links of an extract; callbacks set their href with the chart's filters."""
    return html.Div([
        html.Span(f"{label}: ", className="small text-secondary me-1"),
        html.A("CSV", id=f"{id_prefix}-csv", href="#", className="btn btn-outline-secondary btn-sm",
               **{"download": ""}),
        html.A("Excel", id=f"{id_prefix}-xlsx", href="#", className="btn btn-outline-secondary btn-sm",
               **{"download": ""}),
    ], className="pag-downloads d-inline-flex align-items-center")


def chart_card(title: str, graph_id: str, help_text: str | None = None, downloads=None,
               scroll: bool = False, height: int | None = None, is_map: bool = False) -> dbc.Card:
    # Never pass style=None to dcc.Graph: its resize code reads style.height and the page re-renders in a loop.
    chart = dcc.Graph(id=graph_id, config=MAP_CONFIG if is_map else GRAPH_CONFIG,
                      **({"style": {"height": f"{height}px"}} if height else {}))
    body = [
        html.Div([
            html.Div(title, className="pag-card-title"),
            downloads if downloads is not None else None,
        ], className="d-flex flex-wrap justify-content-between align-items-center gap-2"),
        html.P(help_text, className="pag-help mb-2") if help_text else None,
        loading(html.Div(chart, className="pag-scroll" if scroll else None)),
    ]
    return dbc.Card(dbc.CardBody(body), className="shadow-sm h-100")


def loading(child) -> dcc.Loading:
    return dcc.Loading(child, type="default", delay_show=150)


def graph(graph_id: str, figure: dict | None = None, is_map: bool = False) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure, config=MAP_CONFIG if is_map else GRAPH_CONFIG)


def help_block(title: str, markdown: str) -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem(dcc.Markdown(markdown, className="pag-help"), title=title)],
                         start_collapsed=True, className="mb-3")


def no_access_card(message: str) -> dbc.Alert:
    return dbc.Alert([html.H2("This page is not part of your access", className="h5"), html.P(message)],
                     color="warning")
