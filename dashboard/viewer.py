"""What page callbacks share: the warehouse handle, the viewer's scope from the picked values (checked by the
policy, never trusted), the date window, and the client/specialty/date pickers of the client pages."""
from __future__ import annotations

from datetime import date, timedelta

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app
from flask_login import current_user

from dashboard import params as P
from data_access import catalog
from data_access.rls import Window
from security import policy
from security.scope import Role, Scope

ALL = ""  # the dropdown value for "all specialties I may see"


def state():
    return current_app.extensions["pag"]


def warehouse():
    return state().warehouse


def client_scope(payer: str | None, specialty: str | None) -> Scope:
    return policy.client_scope(current_user, client=P.parse_text(payer, "client"),
                               specialty=P.parse_text(specialty, "specialty"),
                               known_specialties=catalog.all_specialties(warehouse()))


def internal_scope() -> Scope:
    return policy.internal_scope(current_user, catalog.payer_keys(warehouse()))


def window(start, end) -> Window:
    version = warehouse().version()
    return P.parse_window(start, end, version.min_date, version.max_date)


def memoized(view: str, scope: Scope, params: dict, build):
    """A page callback's whole answer, cached under its scope, its parameters and the data version.

    The policy has already run (the caller built `scope` through it); only the answer is reused, never across
    scopes. A preview by senior management differs from the client's own view in its links, so it is part of the
    key."""
    wh = warehouse()
    key = wh.cache.key(f"view:{view}", scope.cache_key + wh.settings_key, {**params, "preview": scope.preview},
                       wh.version().token)
    answer = wh.cache.get(key)
    if answer is None:
        with wh.session():
            answer = build()
        wh.cache.set(key, answer)
    return answer


def data_range() -> tuple[date, date]:
    version = warehouse().version()
    return version.min_date, version.max_date


def last_twelve_months() -> tuple[date, date]:
    return last_twelve_months_of(*data_range())


def last_twelve_months_of(first: date, last: date) -> tuple[date, date]:
    """The default window of the team page: the 365 days up to the last date in the data."""
    return max(first, last - timedelta(days=364)), last


def specialty_options(scope: Scope) -> list[dict]:
    options = [{"label": "All specialties", "value": ALL}]
    options += [{"label": name, "value": name} for name in catalog.visible_specialties(warehouse(), scope)]
    return options


def client_controls(prefix: str, default_start: date, default_end: date, own_specialty_default: bool,
                    extra=None) -> dbc.Card:
    """Client picker (senior management only), specialty dropdown and date range, ids `<prefix>-...`."""
    account = current_user
    senior = account.role is Role.SENIOR
    # A client account is offered its own payer only: other clients are competitors, never named to it.
    payers = list(policy.client_payers()) if senior else [account.payer]
    payer = payers[0]
    default_specialty = account.specialty if (own_specialty_default and account.specialty) else ALL
    scope = client_scope(payer, None)
    first, last = data_range()
    columns = [
        dbc.Col([
            dbc.Label("Client", html_for=f"{prefix}-payer", className="small mb-1"),
            dcc.Dropdown(id=f"{prefix}-payer", options=[{"label": name, "value": name} for name in payers],
                         value=payer, clearable=False),
        ], md=3, **({} if senior else {"style": {"display": "none"}})),
        dbc.Col([
            dbc.Label("Specialty" if not senior else "Specialty (preview as a member of it)",
                      html_for=f"{prefix}-specialty", className="small mb-1"),
            dcc.Dropdown(id=f"{prefix}-specialty", options=specialty_options(scope), value=default_specialty,
                         clearable=False),
        ], md=3),
        dbc.Col([
            dbc.Label("Service dates", html_for=f"{prefix}-dates", className="small mb-1"),
            html.Div(dcc.DatePickerRange(
                id=f"{prefix}-dates", min_date_allowed=first, max_date_allowed=last, start_date=default_start,
                end_date=default_end, display_format="D MMM YYYY", first_day_of_week=1,
                initial_visible_month=default_end,
            )),
        ], md="auto"),
    ]
    if extra is not None:
        columns.append(extra)
    return dbc.Card(dbc.CardBody(dbc.Row(columns, className="g-3 align-items-end")), className="shadow-sm mb-3")


def money(value: float) -> str:
    return f"${value:,.0f}"


def number(value: int) -> str:
    return f"{value:,}"
