"""client_reports.together: several window queries of one page answer read in one statement, each answer the same
as when asked alone and cached under its own key, the scope checked as for every query."""
from __future__ import annotations

from datetime import date

import pytest

from data_access import catalog
from data_access import client_reports as R
from data_access.rls import Window
from data_access.warehouse import ScopeError
from security.scope import Audience, Role, Scope
from tests.sql_recording import statements_during

WINDOW_QUERIES = (R.kpis, R.hospitals, R.helped_by_month, R.by_encounter_class, R.procedure_summary)


def client_scope(payer="Humana", specialty=None, hospice_visible=False) -> Scope:
    return Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer, specialty=specialty,
                 hospice_visible=hospice_visible)


def assert_same(together, alone, where) -> None:
    if hasattr(together, "equals"):
        assert together.equals(alone), (where, together, alone)
        assert list(together.dtypes) == list(alone.dtypes), where
    else:
        assert together == alone, where


@pytest.fixture
def wh(app):
    warehouse = app.extensions["pag"].warehouse
    warehouse.cache.clear()
    # the catalog (payers, codes, organisations) is read once per data version, not per answer
    catalog.payer_keys(warehouse), catalog.specialty_codes(warehouse), catalog.code_names(warehouse)
    catalog.organization_rows(warehouse), catalog.client_marts_used(warehouse)
    yield warehouse
    warehouse.cache.clear()


@pytest.mark.parametrize("marts", [False, True], ids=["base tables", "marts"])
def test_together_answers_as_each_query_alone(wh, monkeypatch, marts):
    monkeypatch.setattr(R, "client_marts_used", lambda _wh: marts)
    version = wh.version()
    windows = [Window(version.min_date, version.max_date), Window(date(2020, 1, 1), date(2020, 12, 31)),
               Window(date(2019, 3, 15), date(2021, 8, 20))]
    compared = 0
    for window in windows:
        for scope in (client_scope(), client_scope("UnitedHealthcare", hospice_visible=True),
                      client_scope(specialty="Oncology"), client_scope(specialty="Hospice", hospice_visible=True),
                      client_scope(specialty="No such specialty")):
            wh.cache.clear()
            answers = R.together(wh, scope, window, *WINDOW_QUERIES)
            for query, answer in zip(WINDOW_QUERIES, answers):
                assert_same(answer, query.__wrapped__(wh, scope, window), (query.__name__, scope, window))
                compared += 1
    assert compared == 3 * 5 * len(WINDOW_QUERIES)
    # the check can fail: the answers are not all empty
    assert R.together(wh, client_scope(), windows[0], R.kpis)[0]["procedures"] > 0


def test_together_reads_once_and_caches_each_answer_under_its_own_key(wh):
    scope, window = client_scope(), Window(date(2019, 1, 1), date(2021, 12, 31))
    statements = statements_during(wh, lambda: R.together(wh, scope, window, *WINDOW_QUERIES))
    assert len(statements) == 1, statements
    # asked alone afterwards (as the extracts do), each answer comes from the cache
    assert statements_during(wh, lambda: [query(wh, scope, window) for query in WINDOW_QUERIES]) == []
    # an answer cached already is not read again: only the others are
    other = Window(date(2020, 1, 1), date(2020, 6, 30))
    R.kpis(wh, scope, other)
    statements = statements_during(wh, lambda: R.together(wh, scope, other, R.kpis, R.procedure_summary))
    assert len(statements) == 1 and "GROUP BY procedures.code" in statements[0], statements
    assert "encounters" not in statements[0], statements[0]  # the KPIs' encounter count was not read again


def test_together_never_serves_one_scopes_answers_to_another(wh):
    window = Window(date(2019, 1, 1), date(2021, 12, 31))
    humana = R.together(wh, client_scope("Humana"), window, R.kpis, R.procedure_summary)
    united = R.together(wh, client_scope("UnitedHealthcare"), window, R.kpis, R.procedure_summary)
    assert humana[0] == R.kpis.__wrapped__(wh, client_scope("Humana"), window)
    assert united[0] == R.kpis.__wrapped__(wh, client_scope("UnitedHealthcare"), window)
    assert humana[0] != united[0]


def test_together_checks_the_scope_as_every_query_does(wh):
    window = Window(date(2019, 1, 1), date(2021, 12, 31))
    internal = Scope(viewer="test", role=Role.SENIOR, audience=Audience.INTERNAL, payer=None, specialty=None,
                     hospice_visible=True)
    with pytest.raises(ScopeError):
        R.together(wh, internal, window, R.kpis, R.procedure_summary)
    with pytest.raises(ScopeError):
        R.together(wh, "Humana", window, R.kpis)
    assert statements_during(wh, lambda: pytest.raises(ScopeError, R.together, wh, internal, window, R.kpis)) == []
