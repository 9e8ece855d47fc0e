"""Pages: each module has `PAGE` (its key in the policy), `layout(**query)` and `register_callbacks(app)`.

Pages are registered explicitly by the factory instead of by Dash's folder scan, and callbacks are attached to the
app being built (`app.callback`), so that several apps can live in one process (tests on SQLite and PostgreSQL).
"""
from __future__ import annotations

import dash

from security.policy import PAGES_BY_KEY


def register(app: dash.Dash) -> None:
    from dashboard.pages import audit, client, extracts, home, management, not_found, team

    for module in (home, client, team, management, extracts, audit):
        rule = PAGES_BY_KEY[module.PAGE]
        dash.register_page(module.__name__, path=rule.path, title=f"{rule.title} · PAG Reporting", name=rule.title,
                           layout=module.layout, order=list(PAGES_BY_KEY).index(rule.key))
        module.register_callbacks(app)
    # Dash shows the page whose module name ends in "not_found_404" for unknown paths.
    dash.register_page("dashboard.pages.not_found_404", path="/_not-found", layout=not_found.layout,
                       title="Not found · PAG Reporting")
