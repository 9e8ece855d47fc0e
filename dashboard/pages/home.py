"""Home: the reports this viewer may open, with one line on each."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html
from flask_login import current_user

from dashboard.layout import account_scope_text
from security import policy

PAGE = "home"


def layout(**_query):
    account = current_user
    cards = [
        dbc.Col(dbc.Card(dbc.CardBody([
            html.H2(page.title, className="h5"),
            html.P(page.description, className="text-secondary small"),
            html.A("Open", href=page.path, className="btn btn-primary btn-sm", id=f"home-open-{page.key}"),
        ]), className="shadow-sm h-100"), md=6, lg=4, className="mb-3")
        for page in policy.pages_for(account.role) if page.key != PAGE
    ]
    return html.Div([
        html.H1(f"Welcome, {account.username}", className="h3"),
        html.P(f"{account.role.label} · {account_scope_text(account)}", className="text-secondary",
               id="home-scope"),
        dbc.Row(cards),
    ])


def register_callbacks(app) -> None:
    """The home page has no callbacks."""
