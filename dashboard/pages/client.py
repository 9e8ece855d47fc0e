"""/client: a client's procedures by total cost and by frequency, the patients who follow the same procedures,
and the client's extracts (the UnitedHealthcare request, built for any client payer)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html
from flask_login import current_user

from dashboard import components as C
from dashboard import params as P
from dashboard import viewer as V
from dashboard.figures import client as F
from data_access import client_reports as R
from security import policy

PAGE = "client"
TOP_CHOICES = (5, 10, 15, 20, 25, 30)

HOW_TO_READ = """
**What "patients who follow the same procedures" means here.** The request asks for patients who follow the same
procedures as the client's most performed ones. We take your **top N procedures by how often they were performed**
for your members in the selected dates (N is yours to choose). For each of them we count the distinct patients in the
whole data set who had it in those dates, split by who paid for it:

* **Your members** – patients who had it in an encounter you paid;
* **Other insurers** – patients who had it only through other insurers (never named);
* **No insurance** – patients who had it only without insurance.

The second chart counts patients by how many of the N procedures they had (for your members, only the ones you paid
for). Counts of other insurers' and uninsured patients between 1 and 10 are shown as **<11**, and a second small
count is hidden with them where a total would otherwise give the first away.
"""


def layout(**_query):
    if not policy.may_open(current_user.role, PAGE):
        return C.no_access_card("Client reports are for client accounts and senior management.")
    first, last = V.data_range()
    top = dbc.Col([
        dbc.Label("Top N for the last chart", html_for="client-top", className="small mb-1"),
        dcc.Dropdown(id="client-top", options=[{"label": str(n), "value": n} for n in TOP_CHOICES], value=10,
                     clearable=False, style={"width": "6rem"}),
    ], md="auto")
    return html.Div([
        C.page_header("Procedures & costs", "client-scope", "", "Which procedures your members had, what they "
                      "cost, and which patients elsewhere follow the same procedures."),
        V.client_controls("client", first, last, own_specialty_default=False, extra=top),
        dbc.Row([
            dbc.Col(C.kpi_card("Members", "client-kpi-members", "with an encounter you paid"), md=3, sm=6,
                    className="mb-3"),
            dbc.Col(C.kpi_card("Encounters", "client-kpi-encounters"), md=3, sm=6, className="mb-3"),
            dbc.Col(C.kpi_card("Procedures", "client-kpi-procedures"), md=3, sm=6, className="mb-3"),
            dbc.Col(C.kpi_card("Total procedure cost", "client-kpi-cost", "sum of procedure base costs"), md=3,
                    sm=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(C.chart_card(
                "Procedures by total cost", "client-cost-graph",
                "All procedures of your members, highest total cost first. Hover for count, average cost and "
                "patients.", C.download_links("client-summary"), scroll=True), lg=12, className="mb-3"),
            dbc.Col(C.chart_card(
                "How often each procedure was performed", "client-frequency-graph",
                "The same procedures, most performed first; the same numbers as the extract above.",
                C.download_links("client-summary-freq"), scroll=True), lg=12, className="mb-3"),
        ]),
        dbc.Card(dbc.CardBody([
            html.Div([
                html.Div("Rows behind these charts", className="pag-card-title"),
                C.download_links("client-rows", "Procedure rows"),
                C.download_links("client-members", "Members (de-identified)"),
            ], className="d-flex flex-wrap justify-content-between gap-2 align-items-center"),
            html.P(["Every procedure with a pseudonymous patient key (stable for your organisation), and one row per "
                    "member with birth year, gender, race, ethnicity, county and 3-digit ZIP. ",
                    html.Span(id="client-members-count")], className="pag-help mb-0 mt-2"),
        ]), className="shadow-sm mb-3"),
        html.H2("Patients who follow the same procedures", className="h5 mt-2"),
        C.help_block("How to read this", HOW_TO_READ),
        dbc.Row([
            dbc.Col(C.chart_card("Patients who had each of your top procedures", "client-shared-graph",
                                 None, C.download_links("client-shared")), lg=7, className="mb-3"),
            dbc.Col(C.chart_card("Patients by how many of the top procedures they had", "client-dist-graph",
                                 None, C.download_links("client-dist")), lg=5, className="mb-3"),
        ]),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output("client-scope", "children"),
        Output("client-kpi-members", "children"),
        Output("client-kpi-encounters", "children"),
        Output("client-kpi-procedures", "children"),
        Output("client-kpi-cost", "children"),
        Output("client-cost-graph", "figure"),
        Output("client-frequency-graph", "figure"),
        Output("client-summary-csv", "href"),
        Output("client-summary-xlsx", "href"),
        Output("client-summary-freq-csv", "href"),
        Output("client-summary-freq-xlsx", "href"),
        Output("client-rows-csv", "href"),
        Output("client-rows-xlsx", "href"),
        Output("client-members-csv", "href"),
        Output("client-members-xlsx", "href"),
        Output("client-members-count", "children"),
        Input("client-payer", "value"),
        Input("client-specialty", "value"),
        Input("client-dates", "start_date"),
        Input("client-dates", "end_date"),
    )
    def update_summary(payer, specialty, start, end):
        scope = V.client_scope(payer, specialty)
        window = V.window(start, end)
        return V.memoized("client-summary", scope, {"window": window}, lambda: _summary_answer(scope, window))

    def _summary_answer(scope, window):
        wh = V.warehouse()
        kpis, summary = R.together(wh, scope, window, R.kpis, R.procedure_summary)
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "specialty": scope.specialty,
                  "client": scope.payer if scope.preview else None}
        summary_links = C.extract_urls("procedure-summary", **params)
        return (
            scope.describe(), V.number(kpis["members"]), V.number(kpis["encounters"]), V.number(kpis["procedures"]),
            V.money(kpis["total_cost"]), *F.summary_bars(summary),
            *summary_links, *summary_links, *C.extract_urls("procedure-rows", **params),
            *C.extract_urls("members", **params),
            f"{kpis['members']:,} members in this selection.",
        )

    @app.callback(
        Output("client-shared-graph", "figure"),
        Output("client-dist-graph", "figure"),
        Output("client-shared-csv", "href"),
        Output("client-shared-xlsx", "href"),
        Output("client-dist-csv", "href"),
        Output("client-dist-xlsx", "href"),
        Input("client-payer", "value"),
        Input("client-specialty", "value"),
        Input("client-dates", "start_date"),
        Input("client-dates", "end_date"),
        Input("client-top", "value"),
    )
    def update_shared(payer, specialty, start, end, top):
        scope = V.client_scope(payer, specialty)
        window = V.window(start, end)
        top = P.parse_int(top, "top", 1, P.TOP_MAX, 10)
        return V.memoized("client-shared", scope, {"window": window, "top": top},
                          lambda: _shared_answer(scope, window, top))

    def _shared_answer(scope, window, top):
        shared = R.shared_procedures(V.warehouse(), scope, window, top=top)
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "specialty": scope.specialty,
                  "client": scope.payer if scope.preview else None, "top": top}
        return (
            F.shared_bars(shared["by_code"], scope.min_cell_size),
            F.distribution_bars(shared["distribution"], scope.min_cell_size),
            *C.extract_urls("shared-procedures", **params), *C.extract_urls("shared-procedures-distribution", **params),
        )
