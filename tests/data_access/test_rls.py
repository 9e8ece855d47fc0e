"""Row-level security as statements built once (data_access.rls, client_reports._run).

The client filters are required bind parameters without a default: a statement built from them cannot run without
values, and statements kept across requests (one per question and filter shape) answer each scope with its own
values, never with those of the scope that built them.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from data_access import client_reports as R
from data_access.rls import Window, client_rows, procedure_clauses
from security.scope import Audience, Role, Scope

WHOLE = Window(date(1900, 1, 1), date(2100, 12, 31))


def client(payer: str, specialty: str | None = None, hospice_visible: bool = True) -> Scope:
    return Scope(viewer="t", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer, specialty=specialty,
                 hospice_visible=hospice_visible, pseudonym_key=b"k")


def same(a, b) -> bool:
    return a.equals(b) if isinstance(a, pd.DataFrame) else a == b


def test_a_statement_from_the_client_filters_does_not_run_without_values(app):
    wh = app.extensions["pag"].warehouse
    statement = select(func.count()).where(*procedure_clauses((True, "all")))
    with pytest.raises(StatementError, match="rls_payer_sk"):
        wh.read(statement)


def test_the_shape_decides_the_filters_and_the_values_fill_them(app):
    wh = app.extensions["pag"].warehouse
    rows = client_rows(wh, client("Humana", "Oncology", hospice_visible=False), WHOLE)
    assert rows.shape == (False, "codes")
    assert rows.values["rls_start"] == WHOLE.start and rows.values["rls_codes"]
    unknown = client_rows(wh, client("Humana", "No such specialty"), WHOLE)
    assert unknown.shape == (True, "none") and "rls_codes" not in unknown.values
    with pytest.raises(PermissionError):
        client_rows(wh, Scope(viewer="t", role=Role.SENIOR, audience=Audience.INTERNAL), WHOLE)


@pytest.mark.parametrize("view", [R.kpis, R.procedure_summary, R.hospitals, R.helped_by_month,
                                  R.by_encounter_class])
def test_kept_statements_answer_each_scope_with_its_own_values(app, view, monkeypatch):
    """Answers computed one after another with the kept statements equal answers computed with freshly built
    statements, for scopes of two payers and both hospice visibilities (same shapes, different values)."""
    wh = app.extensions["pag"].warehouse
    scopes = [client(payer, None, hospice) for payer in ("Humana", "UnitedHealthcare") for hospice in (True, False)]
    version = wh.version()
    window = Window(version.min_date, version.max_date)
    kept = []
    for scope in scopes:
        wh.cache.clear()
        kept.append(view.__wrapped__(wh, scope, window))
    for scope, answer in zip(scopes, kept):
        monkeypatch.setattr(R, "_TEMPLATES", {})
        fresh = view.__wrapped__(wh, scope, window)
        assert same(answer, fresh), scope
    assert not same(kept[0], kept[2]), "two payers with the same answer would prove nothing"


@pytest.mark.parametrize("payer, specialty, hospice_visible, expected", [
    ("UnitedHealthcare", None, True, (4, 5, 5, 6600.0)),
    ("Humana", None, False, (3, 4, 4, 11000.0)),
    ("Humana", None, True, (4, 5, 7, 11900.0)),
    ("Humana", "Oncology", False, (1, 2, 2, 10000.0)),
])
def test_kept_statements_give_the_stated_figures_in_any_order(app, payer, specialty, hospice_visible, expected):
    """The fixture's hand-computed KPIs (tests/fixture_data.py), asked after other scopes built the statements."""
    wh = app.extensions["pag"].warehouse
    for other in ("Humana", "UnitedHealthcare"):
        R.kpis.__wrapped__(wh, client(other, specialty, hospice_visible), WHOLE)
    found = R.kpis.__wrapped__(wh, client(payer, specialty, hospice_visible), WHOLE)
    assert (found["members"], found["encounters"], found["procedures"], found["total_cost"]) == expected
