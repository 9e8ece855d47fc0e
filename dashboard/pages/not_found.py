"""The page for unknown addresses."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def layout(**_query):
    return dbc.Alert([html.H1("Page not found", className="h5"), html.P("There is no page at this address."),
                      html.A("Back to your reports", href="/", className="btn btn-primary btn-sm")], color="light")
