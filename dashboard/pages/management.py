"""/management: senior management's detailed reports (the third request): clients' patients by area, area of
residence vs procedures, and non-client patients living close to client patients."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, dash_table, dcc, html
from flask_login import current_user

from dashboard import components as C
from dashboard import params as P
from dashboard import viewer as V
from dashboard.figures import management as F
from data_access import management as M
from security import policy

PAGE = "management"

AREA_HELP = """
Distinct patients reached by each client's encounters in the selected dates, by where they live. **All clients**
counts a patient once even if both clients paid for them. Patients of payers the PAG may only see in aggregate
(UnitedHealthcare and uninsured patients by default) appear only inside area totals, never as points: the orange
points are patients of clients the PAG may see in detail. Counts between 1 and 10 that include aggregate-only
patients are shown as <11, and so is a second count wherever a total would give them away.
"""

ASSOCIATION_HELP = """
Each cell counts, for one procedure, the distinct clients' patients of an area who had it in the dates
(merged cells add those up). Areas and procedures with fewer than 30 such pairs are merged into "Other areas" and
"Other procedures" (at most 12 areas and 15 procedures) so that expected counts are large enough for the test.
The heatmap shows **adjusted standardized residuals**: red cells have more patients than independence would predict,
blue fewer; beyond ±2 is unusual.
"""

PROXIMITY_HELP = """
**How the grouping works.** Client patients are patients with at least one encounter paid by a client. For every
other patient we compute the great-circle (haversine) distance to the nearest client patient's home and keep those
within the radius. These nearby non-client patients are grouped with **DBSCAN** using the haversine metric: a
patient with at least *minimum cluster size* nearby patients (itself included) within the radius starts or extends a
cluster; patients without enough neighbours are left unclustered. Client patients are drawn as hexagon counts
(aggregated); only clients the PAG may see in detail are drawn as points; clusters as circles at their centre.
"""


def layout(**_query):
    if not policy.may_open(current_user.role, PAGE):
        return C.no_access_card("Management analytics are for senior management.")
    first, last = V.data_range()
    scope = V.internal_scope()
    controls = dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([dbc.Label("Area", className="small mb-1"),
                 dbc.RadioItems(id="management-level", options=[
                     {"label": "County", "value": "county"}, {"label": "City", "value": "city"},
                     {"label": "ZIP code", "value": "zip"}], value="city", inline=True)], md="auto"),
        dbc.Col([dbc.Label("Service dates", className="small mb-1"),
                 html.Div(dcc.DatePickerRange(id="management-dates", min_date_allowed=first, max_date_allowed=last,
                                              start_date=first, end_date=last, display_format="D MMM YYYY"))],
                md="auto"),
    ], className="g-3 align-items-end")), className="shadow-sm mb-3")
    proximity_controls = dbc.Row([
        dbc.Col([dbc.Label("Radius (metres)", className="small mb-1"),
                 dcc.Slider(id="management-radius", min=100, max=5000, step=100, value=500,
                            marks={100: "100 m", 500: "500", 1000: "1 km", 2500: "2.5 km", 5000: "5 km"},
                            tooltip={"placement": "bottom"})], md=7),
        dbc.Col([dbc.Label("Minimum cluster size", className="small mb-1"),
                 dcc.Slider(id="management-min-size", min=2, max=20, step=1, value=5,
                            marks={2: "2", 5: "5", 10: "10", 20: "20"}, tooltip={"placement": "bottom"})], md=5),
    ], className="g-3 mb-2")
    return html.Div([
        C.page_header("Management analytics", "management-scope", scope.describe(),
                      "Where the clients' patients live, whether area and procedures are related, and which "
                      "non-client patients live close to client patients."),
        controls,
        html.H2("1. Clients' patients by area", className="h5"),
        C.help_block("How to read this", AREA_HELP),
        dbc.Row([
            dbc.Col(C.chart_card("Map", "management-area-map", None, C.download_links("management-area"),
                                 is_map=True), lg=6,
                    className="mb-3"),
            dbc.Col(C.chart_card("Ranked areas (top 25)", "management-area-bars", None), lg=6, className="mb-3"),
        ]),
        html.H2("2. Area of residence vs procedures", className="h5 mt-2"),
        C.help_block("How the test is built", ASSOCIATION_HELP),
        dbc.Card(dbc.CardBody([
            html.Div([html.Div("What the test says", className="pag-card-title"),
                      C.download_links("management-assoc")], className="d-flex justify-content-between flex-wrap"),
            C.loading(html.P(id="management-assoc-reading", className="mb-0 mt-2")),
        ]), className="shadow-sm mb-3"),
        C.chart_card("Standardized residuals: areas × procedures", "management-assoc-heatmap", None),
        html.H2("3. Non-client patients close to client patients", className="h5 mt-4"),
        C.help_block("How the grouping works", PROXIMITY_HELP),
        dbc.Card(dbc.CardBody([proximity_controls, C.loading(html.Div(id="management-prox-summary",
                                                                      className="small text-secondary"))]),
                 className="shadow-sm mb-3"),
        dbc.Row([
            dbc.Col(C.chart_card("Map", "management-prox-map", None, C.download_links("management-prox"),
                                 is_map=True), lg=7,
                    className="mb-3"),
            dbc.Col(dbc.Card(dbc.CardBody([
                html.Div("Clusters", className="pag-card-title"),
                C.loading(dash_table.DataTable(
                    id="management-prox-table", page_size=12, sort_action="native",
                    columns=[{"name": name, "id": key} for key, name in (
                        ("cluster_id", "Cluster"), ("non_client_patients", "Non-client patients"),
                        ("nearest_client_m", "Centre to nearest client (m)"),
                        ("client_patients_within_radius", "Client patients within radius"),
                        ("top_procedures", "Most common procedures"))],
                    style_cell={"fontSize": "0.8rem", "fontFamily": "inherit", "textAlign": "left",
                                "whiteSpace": "normal", "height": "auto"},
                    style_header={"fontWeight": "600", "backgroundColor": "#f1f3f5"},
                )),
            ]), className="shadow-sm h-100"), lg=5, className="mb-3"),
        ]),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output("management-area-map", "figure"),
        Output("management-area-bars", "figure"),
        Output("management-area-csv", "href"),
        Output("management-area-xlsx", "href"),
        Input("management-level", "value"),
        Input("management-dates", "start_date"),
        Input("management-dates", "end_date"),
    )
    def update_areas(level, start, end):
        scope = V.internal_scope()
        level = P.parse_choice(level, "area level", P.AREA_LEVELS, "city")
        window = V.window(start, end)
        return V.memoized("management-areas", scope, {"level": level, "window": window},
                          lambda: _areas_answer(scope, level, window))

    def _areas_answer(scope, level, window):
        wh = V.warehouse()
        by_area = M.patients_by_area(wh, scope, window, area_level=level)
        centres = M.area_centres(wh, scope, area_level=level)
        points = M.detail_client_points(wh, scope, window)
        style = V.state().settings.map_style
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "area_level": level}
        return (
            F.area_map(by_area, centres, points, scope.min_cell_size, style),
            F.area_bars(by_area, scope.min_cell_size),
            *C.extract_urls("patients-by-area", **params),
        )

    @app.callback(
        Output("management-assoc-reading", "children"),
        Output("management-assoc-heatmap", "figure"),
        Output("management-assoc-csv", "href"),
        Output("management-assoc-xlsx", "href"),
        Input("management-level", "value"),
        Input("management-dates", "start_date"),
        Input("management-dates", "end_date"),
    )
    def update_association(level, start, end):
        scope = V.internal_scope()
        level = P.parse_choice(level, "area level", P.AREA_LEVELS, "city")
        window = V.window(start, end)
        return V.memoized("management-association", scope, {"level": level, "window": window},
                          lambda: _association_answer(scope, level, window))

    def _association_answer(scope, level, window):
        result = M.area_procedures(V.warehouse(), scope, window, area_level=level)
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "area_level": level}
        return (
            F.association_reading(result["stats"], result["matrix"]), F.residual_heatmap(result["matrix"]),
            *C.extract_urls("area-procedures", **params),
        )

    @app.callback(
        Output("management-prox-map", "figure"),
        Output("management-prox-table", "data"),
        Output("management-prox-summary", "children"),
        Output("management-prox-csv", "href"),
        Output("management-prox-xlsx", "href"),
        Input("management-radius", "value"),
        Input("management-min-size", "value"),
    )
    def update_proximity(radius, min_size):
        scope = V.internal_scope()
        radius = P.parse_int(radius, "radius", *P.RADIUS_RANGE, 500)
        min_size = P.parse_int(min_size, "minimum cluster size", *P.CLUSTER_SIZE_RANGE, 5)
        return V.memoized("management-proximity", scope, {"radius_m": radius, "min_cluster_size": min_size},
                          lambda: _proximity_answer(scope, radius, min_size))

    def _proximity_answer(scope, radius, min_size):
        wh = V.warehouse()
        began = time.perf_counter()
        result = M.proximity(wh, scope, radius_m=radius, min_cluster_size=min_size)
        seconds = time.perf_counter() - began
        clusters = result["clusters"]
        hexes = M.client_hexes(wh, scope)
        homes = M.detail_client_homes(wh, scope)
        near = result["near_count"]
        near_text = f"{near:,}" if near == 0 or near >= scope.min_cell_size else f"<{scope.min_cell_size}"
        summary = (f"{near_text} non-client patients live within {radius:,} m of a client patient; "
                   f"{len(clusters):,} clusters of at least {min_size}. Computed in {seconds * 1000:,.0f} ms.")
        params = {"radius_m": radius, "min_cluster_size": min_size}
        table = clusters.astype(object).where(clusters.notna(), "<" + str(scope.min_cell_size))
        return (
            F.proximity_map(clusters, hexes, homes, scope.min_cell_size, V.state().settings.map_style),
            table.to_dict("records"), summary,
            *C.extract_urls("proximity-clusters", **params),
        )
