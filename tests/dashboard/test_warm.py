"""Warming after a load: the pages' default views are stored for every worker, and a new load drops them."""
from __future__ import annotations

from sqlalchemy import func, select

from data_access import client_reports, schema
from data_access.loader import load_input
from data_access.rls import Window
from security import policy
from security.auth import Account
from security.scope import Role
from tests import fixture_data
from tests.conftest import build_app


def stored_rows(app) -> int:
    with app.extensions["pag"].engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema.mart_results)).scalar()


def test_load_data_warms_the_default_views_and_the_next_load_drops_them(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input)
    assert stored_rows(app) == 0  # build_app loads without warming
    result = app.test_cli_runner().invoke(args=["warm-cache"])
    assert result.exit_code == 0, result.output
    assert stored_rows(app) > 10

    state = app.extensions["pag"]
    with app.app_context():
        scope = policy.client_scope(Account("x", Role.CLIENT, "Humana", "Oncology"))
        version = state.warehouse.version()
        whole = Window(version.min_date, version.max_date)
        state.warehouse.cache.memory.clear()
        # served from mart_results: identical to a fresh computation
        stored = client_reports.kpis(state.warehouse, scope, whole)
        fresh = client_reports.kpis.__wrapped__(state.warehouse, scope, whole)
    assert stored == fresh == {"members": 3, "encounters": 4, "procedures": 4, "total_cost": 11000.0,
                               "claim_cost": 11700.0, "payer_coverage": 11300.0}

    rows = fixture_data.rows()
    rows["procedures"] = rows["procedures"][:-1]
    load_input(state.engine, fixture_data.write(tmp_path / "next", rows))
    assert stored_rows(app) == 0
