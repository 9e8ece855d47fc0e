"""/admin/audit: the audit log for administrators and senior management, filterable and downloadable."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dash_bootstrap_components as dbc
from dash import Input, Output, dash_table, dcc, html
from flask_login import current_user

from dashboard import components as C
from dashboard import params as P
from dashboard import viewer as V
from data_access import accounts
from security import policy

PAGE = "audit"
COLUMNS = ["at", "username", "role", "event", "status", "path", "rows", "params", "detail", "address"]


def audit_frame(username=None, event=None, start=None, end=None):
    """The filtered audit log as display-ready text (shared by the page and /api/audit)."""
    first = P.check_plausible(P.parse_date(start, "start"), "start")
    last = P.check_plausible(P.parse_date(end, "end"), "end")
    frame = accounts.read_audit(
        V.state().engine, username=P.parse_text(username, "user", 64), event=P.parse_text(event, "event", 32),
        start=datetime.combine(first, datetime.min.time(), UTC) if first else None,
        end=datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) if last else None,
    )
    frame["at"] = frame["at"].astype(str).str[:19]
    frame["params"] = frame["params"].map(lambda value: "" if value is None else str(value))
    return frame


def layout(**_query):
    if not policy.may_open(current_user.role, PAGE):
        return C.no_access_card("The audit log is for administrators and senior management.")
    names, events = accounts.audit_facets(V.state().engine)
    today = date.today()
    controls = dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([dbc.Label("User", className="small mb-1"),
                 dcc.Dropdown(id="audit-user", options=names, placeholder="Everyone")], md=3),
        dbc.Col([dbc.Label("Event", className="small mb-1"),
                 dcc.Dropdown(id="audit-event", options=events, placeholder="All events")], md=3),
        dbc.Col([dbc.Label("Dates", className="small mb-1"),
                 html.Div(dcc.DatePickerRange(id="audit-dates", start_date=today - timedelta(days=30),
                                              end_date=today, display_format="D MMM YYYY"))], md="auto"),
        dbc.Col(C.download_links("audit-download"), md="auto", className="ms-auto"),
    ], className="g-3 align-items-end")), className="shadow-sm mb-3")
    return html.Div([
        C.page_header("Audit log", "audit-scope", "No patient data", "Logins, failed logins, downloads and refused "
                      "requests: who, when, what, with which parameters and how many rows."),
        controls,
        html.Div(id="audit-count", className="small text-secondary mb-2"),
        C.loading(dash_table.DataTable(
            id="audit-table", columns=[{"name": name, "id": name} for name in COLUMNS], page_size=25,
            sort_action="native", filter_action="native", style_table={"overflowX": "auto"},
            style_cell={"fontSize": "0.8rem", "fontFamily": "inherit", "textAlign": "left", "maxWidth": "22rem",
                        "overflow": "hidden", "textOverflow": "ellipsis"},
            style_header={"fontWeight": "600", "backgroundColor": "#f1f3f5"},
            tooltip_duration=None,
        )),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output("audit-table", "data"),
        Output("audit-count", "children"),
        Output("audit-download-csv", "href"),
        Output("audit-download-xlsx", "href"),
        Input("audit-user", "value"),
        Input("audit-event", "value"),
        Input("audit-dates", "start_date"),
        Input("audit-dates", "end_date"),
    )
    def update_audit(username, event, start, end):
        frame = audit_frame(username, event, start, end)
        query = {"user": username, "event": event, "start": (start or "")[:10], "end": (end or "")[:10]}
        return (
            frame[COLUMNS].to_dict("records"), f"{len(frame):,} entries (newest first, at most 5,000).",
            *C.api_urls("/api/audit", **query),
        )
