"""/extracts: the data behind the management reports, as CSV and Excel, for PAG employees (who never see the
charts) and senior management. Same filters, same queries, same numbers as /management."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html
from flask_login import current_user

from dashboard import components as C
from dashboard import extracts as X
from dashboard import params as P
from dashboard import viewer as V
from data_access import management as M
from security import policy

PAGE = "extracts"
INTERNAL_EXTRACTS = ("patients-by-area", "area-procedures", "proximity-clusters")

COLUMN_NOTES = {
    "patients-by-area": "area_level, area, client, patients, encounters, procedures, suppressed",
    "area-procedures": "area, procedure_code, procedure, patients, expected, std_residual, suppressed "
                       "(the chi-square statistics are in the Excel file's about sheet)",
    "proximity-clusters": "cluster_id, non_client_patients, centroid_lat, centroid_lon, nearest_client_m, "
                          "client_patients_within_radius, top_procedures, suppressed",
}


def _extract_card(name: str, filters) -> dbc.Card:
    rule = policy.EXTRACTS_BY_NAME[name]
    return dbc.Card(dbc.CardBody([
        html.Div([html.H2(rule.title, className="h6 mb-0"), C.download_links(f"extracts-{name}")],
                 className="d-flex justify-content-between flex-wrap gap-2 align-items-center"),
        html.P(rule.description, className="pag-help mt-2 mb-1"),
        html.P([html.Span("Columns: ", className="fw-semibold"), COLUMN_NOTES[name]], className="small mb-1"),
        filters,
        C.loading(html.Div(id=f"extracts-{name}-rows", className="small text-secondary")),
    ]), className="shadow-sm mb-3")


def layout(**_query):
    if not policy.may_open(current_user.role, PAGE):
        return C.no_access_card("Extracts are for PAG employees and senior management.")
    first, last = V.data_range()
    area_filters = dbc.Row([
        dbc.Col([dbc.Label("Area", className="small mb-1"),
                 dbc.RadioItems(id="extracts-level", options=[
                     {"label": "County", "value": "county"}, {"label": "City", "value": "city"},
                     {"label": "ZIP code", "value": "zip"}], value="city", inline=True)], md="auto"),
        dbc.Col([dbc.Label("Service dates", className="small mb-1"),
                 html.Div(dcc.DatePickerRange(id="extracts-dates", min_date_allowed=first, max_date_allowed=last,
                                              start_date=first, end_date=last, display_format="D MMM YYYY"))],
                md="auto"),
    ], className="g-3 align-items-end")
    proximity_filters = dbc.Row([
        dbc.Col([dbc.Label("Radius (metres, 100–5000)", className="small mb-1"),
                 dbc.Input(id="extracts-radius", type="number", min=100, max=5000, step=50, value=500)], md=3),
        dbc.Col([dbc.Label("Minimum cluster size (2–50)", className="small mb-1"),
                 dbc.Input(id="extracts-min-size", type="number", min=2, max=50, step=1, value=5)], md=3),
    ], className="g-3 mb-2")
    return html.Div([
        C.page_header("Extracts", "extracts-scope", V.internal_scope().describe(),
                      "The raw data behind the management reports. Filters apply to the downloads; the same files "
                      "are available to scripts at /api/extracts."),
        dbc.Card(dbc.CardBody([html.Div("Filters for the area extracts", className="pag-card-title"),
                               area_filters]), className="shadow-sm mb-3"),
        _extract_card("patients-by-area", None),
        _extract_card("area-procedures", None),
        _extract_card("proximity-clusters", proximity_filters),
        html.P(["Scripts: ", html.Code("GET /api/extracts"), " lists what you may download; ",
                html.Code("GET /api/extracts/<name>?format=csv|xlsx&start=YYYY-MM-DD&end=YYYY-MM-DD&area_level=city"),
                " returns a file."], className="small text-secondary"),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output("extracts-patients-by-area-csv", "href"),
        Output("extracts-patients-by-area-xlsx", "href"),
        Output("extracts-patients-by-area-rows", "children"),
        Output("extracts-area-procedures-csv", "href"),
        Output("extracts-area-procedures-xlsx", "href"),
        Output("extracts-area-procedures-rows", "children"),
        Input("extracts-level", "value"),
        Input("extracts-dates", "start_date"),
        Input("extracts-dates", "end_date"),
    )
    def update_area_extracts(level, start, end):
        scope = V.internal_scope()
        level = P.parse_choice(level, "area level", P.AREA_LEVELS, "city")
        window = V.window(start, end)
        wh = V.warehouse()
        by_area = M.patients_by_area(wh, scope, window, area_level=level)
        association = M.area_procedures(wh, scope, window, area_level=level)["table"]
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "area_level": level}
        return (
            *C.extract_urls("patients-by-area", **params),
            f"{len(by_area):,} rows with these filters.",
            *C.extract_urls("area-procedures", **params),
            f"{len(association):,} rows with these filters.",
        )

    @app.callback(
        Output("extracts-proximity-clusters-csv", "href"),
        Output("extracts-proximity-clusters-xlsx", "href"),
        Output("extracts-proximity-clusters-rows", "children"),
        Input("extracts-radius", "value"),
        Input("extracts-min-size", "value"),
    )
    def update_proximity_extract(radius, min_size):
        scope = V.internal_scope()
        radius, min_size = X.proximity_parameters(X.ExtractRequest(radius_m=radius, min_cluster_size=min_size))
        clusters = M.proximity(V.warehouse(), scope, radius_m=radius, min_cluster_size=min_size)["clusters"]
        params = {"radius_m": radius, "min_cluster_size": min_size}
        return (
            *C.extract_urls("proximity-clusters", **params),
            f"{len(clusters):,} clusters with these settings.",
        )
