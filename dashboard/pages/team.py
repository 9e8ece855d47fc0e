"""/team: the hospital that treats a client's members and how many members it helped in a chosen time frame,
per specialty (the Humana request, built for any client payer). The hospice wall is the policy's: a member whose
specialty is not Hospice is never offered Hospice, and their scope removes hospice rows before SQL runs."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, html
from flask_login import current_user

from dashboard import components as C
from dashboard import viewer as V
from dashboard.figures import team as F
from data_access import client_reports as R
from security import policy

PAGE = "team"

HELP = """
**Members helped** are your members with at least one encounter in the dates, or, with a specialty selected, at
least one procedure of that specialty. Monthly counts are distinct members within each month, so a member seen in
three months counts in each of them (the total above counts them once). **Claim cost** and **payer coverage** come
from the encounters; **procedure cost** is the sum of the procedures' base costs. Specialties group procedure codes
into clinical areas; you can pick any specialty your access includes.
"""


def layout(**_query):
    if not policy.may_open(current_user.role, PAGE):
        return C.no_access_card("Team reports are for client accounts and senior management.")
    start, end = V.last_twelve_months()
    return html.Div([
        C.page_header("Hospital & team", "team-scope", "", "The hospital treating your members and how many of them "
                      "it helped, for your specialty and the dates you choose."),
        V.client_controls("team", start, end, own_specialty_default=True),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.Div("Hospital", className="pag-card-title"),
                C.loading(html.Div(id="team-hospital")),
            ]), className="shadow-sm h-100"), lg=5, className="mb-3"),
            dbc.Col(dbc.Row([
                dbc.Col(C.kpi_card("Members helped", "team-kpi-members"), sm=6, className="mb-3"),
                dbc.Col(C.kpi_card("Encounters", "team-kpi-encounters"), sm=6, className="mb-3"),
                dbc.Col(C.kpi_card("Procedures", "team-kpi-procedures"), sm=6, className="mb-3"),
                dbc.Col(C.kpi_card("Claim cost", "team-kpi-claim", None), sm=6, className="mb-3"),
                dbc.Col(C.kpi_card("Payer coverage", "team-kpi-coverage"), sm=6, className="mb-3"),
                dbc.Col(C.kpi_card("Procedure cost", "team-kpi-cost"), sm=6, className="mb-3"),
            ]), lg=7),
        ]),
        C.help_block("How these numbers are counted", HELP),
        dbc.Row([
            dbc.Col(C.chart_card("Members helped per month", "team-monthly-graph", None,
                                 C.download_links("team-helped")), lg=12, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(C.chart_card("By encounter class", "team-class-graph", "Encounters and distinct members per "
                                 "class of encounter."), lg=5, className="mb-3"),
            dbc.Col(C.chart_card("Procedures of the selection, most performed first", "team-procedures-graph",
                                 "The 25 most performed; the extracts hold all of them.",
                                 html.Div([C.download_links("team-summary", "Summary"),
                                           C.download_links("team-rows", "Rows")],
                                          className="d-flex flex-wrap gap-2")), lg=7, className="mb-3"),
        ]),
    ])


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _hospital_card(hospitals: list[dict], map_style: str):
    if not hospitals:
        return html.P("No encounters of your members in this selection. Try a wider date range or another "
                      "specialty.", className="text-secondary")
    blocks = []
    for hospital in hospitals:
        blocks.append(html.Div([
            html.Div(hospital["name"].title(), className="fw-semibold", id="team-hospital-name"),
            html.Div(f"{hospital['address'].title()}, {hospital['city'].title()}, {hospital['state']} "
                     f"{hospital['zip']}", className="small text-secondary mb-2"),
            html.Div(f"{plural(hospital['members'], 'member')} helped · {plural(hospital['encounters'], 'encounter')}"
                     f" · {plural(hospital['procedures'], 'procedure')} in the selected dates", className="small mb-2"),
        ]))
    blocks.append(C.graph("team-hospital-map", F.hospital_map(hospitals, map_style), is_map=True))
    return blocks


def register_callbacks(app) -> None:
    @app.callback(
        Output("team-scope", "children"),
        Output("team-hospital", "children"),
        Output("team-kpi-members", "children"),
        Output("team-kpi-encounters", "children"),
        Output("team-kpi-procedures", "children"),
        Output("team-kpi-claim", "children"),
        Output("team-kpi-coverage", "children"),
        Output("team-kpi-cost", "children"),
        Output("team-monthly-graph", "figure"),
        Output("team-class-graph", "figure"),
        Output("team-procedures-graph", "figure"),
        Output("team-helped-csv", "href"),
        Output("team-helped-xlsx", "href"),
        Output("team-summary-csv", "href"),
        Output("team-summary-xlsx", "href"),
        Output("team-rows-csv", "href"),
        Output("team-rows-xlsx", "href"),
        Input("team-payer", "value"),
        Input("team-specialty", "value"),
        Input("team-dates", "start_date"),
        Input("team-dates", "end_date"),
    )
    def update_team(payer, specialty, start, end):
        scope = V.client_scope(payer, specialty)
        window = V.window(start, end)
        return V.memoized("team", scope, {"window": window}, lambda: _team_answer(scope, window))

    def _team_answer(scope, window):
        wh = V.warehouse()
        kpis, hospitals, helped, classes, summary = R.together(
            wh, scope, window, R.kpis, R.hospitals, R.helped_by_month, R.by_encounter_class, R.procedure_summary)
        params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "specialty": scope.specialty,
                  "client": scope.payer if scope.preview else None}
        return (
            scope.describe(), C.plain(_hospital_card(hospitals, V.state().settings.map_style)),
            V.number(kpis["members"]), V.number(kpis["encounters"]), V.number(kpis["procedures"]),
            V.money(kpis["claim_cost"]), V.money(kpis["payer_coverage"]), V.money(kpis["total_cost"]),
            F.monthly_helped(helped), F.encounter_classes(classes),
            F.ranked_procedures(summary),
            *C.extract_urls("patients-helped", **params), *C.extract_urls("procedure-summary", **params),
            *C.extract_urls("procedure-rows", **params),
        )
