"""Client marts (data_access.client_marts): exact for every run of whole months, never used for other windows.

- the builder against distinct counts computed here with pandas, on random data with several organisations,
  hospice rows and specialties (the real data has one organisation, which the builder takes a shortcut for);
- on the real data, every client view answered from the marts equals the same view answered from the base tables,
  for every specialty, both hospice visibilities, client and non-client payers and month-aligned windows;
- which windows the marts answer (whole months after clipping to the data's dates) and which they leave alone.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from data_access import catalog, client_marts
from data_access import client_reports as R
from data_access.client_marts import month_span
from data_access.rls import Window
from data_access.table import Table
from security.scope import Audience, Role, Scope
from tests.sql_recording import statements_during

VIEWS = (R.kpis, R.procedure_summary, R.hospitals, R.helped_by_month, R.by_encounter_class, R.shared_procedures)


# ---------------------------------------------------------------- the builder, on random data


def random_frames(seed: int, organisations: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_enc, n_proc = 400, 900
    months = np.array([202001, 202002, 202003, 202004, 202005, 202012, 202101])
    encounters = pd.DataFrame({
        "encounter_sk": np.arange(1, n_enc + 1),
        "payer_sk": rng.integers(1, 4, n_enc),
        "patient_sk": rng.integers(1, 60, n_enc),
        "organization_sk": rng.integers(1, organisations + 1, n_enc),
        "encounter_class": rng.choice(["ambulatory", "inpatient", "wellness"], n_enc),
        "month": rng.choice(months, n_enc),
        "is_hospice": rng.random(n_enc) < 0.1,
        "total_claim_cost": rng.integers(0, 1000, n_enc).astype(float),
        "payer_coverage": rng.integers(0, 500, n_enc).astype(float),
    })
    owner = rng.integers(0, n_enc, n_proc)
    codes = np.array([f"c{i}" for i in range(12)])
    procedures = pd.DataFrame({
        "encounter_sk": owner + 1,
        "payer_sk": encounters["payer_sk"].to_numpy()[owner],
        "patient_sk": encounters["patient_sk"].to_numpy()[owner],
        "organization_sk": encounters["organization_sk"].to_numpy()[owner],
        "encounter_class": encounters["encounter_class"].to_numpy()[owner],
        "month": rng.choice(months, n_proc),
        "code": rng.choice(codes, n_proc),
        "base_cost": rng.integers(1, 300, n_proc).astype(float),
    })
    procedures["is_hospice"] = procedures["code"].isin(["c0", "c1"]) | encounters["is_hospice"].to_numpy()[owner]
    procedure_codes = pd.DataFrame({"code": codes, "specialty": ["Hospice", "Hospice"] + ["A"] * 5 + ["B"] * 5})
    return {"encounters": encounters, "procedures": procedures, "procedure_codes": procedure_codes}


def mart_distinct(firsts: pd.DataFrame, first: int, last: int, **where) -> dict:
    """The marts' distinct count per key over months first..last (the formula client_reports uses)."""
    rows = firsts[(firsts["month"] >= first) & (firsts["month"] <= last) & (firsts["prev_month"] < first)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return {key: (int(group["entities"].sum()), float(group["claim"].sum())) for key, group in rows.groupby("key")}


@pytest.mark.parametrize("organisations", [1, 3])
@pytest.mark.parametrize("seed", range(3))
def test_first_occurrences_give_exact_distinct_counts(seed, organisations):
    frames = random_frames(seed, organisations)
    marts = client_marts.build(frames)
    firsts = marts["mart_client_firsts"]
    p, e = frames["procedures"], frames["encounters"]
    spec = p["code"].map(dict(zip(frames["procedure_codes"]["code"], frames["procedure_codes"]["specialty"])))
    p = p.assign(specialty=spec)
    e_claim = e.set_index("encounter_sk")["total_claim_cost"]
    months = sorted(set(p["month"]) | set(e["month"]))
    for first, last in [(months[0], months[-1])] + [(a, b) for a in months for b in months if a <= b][::5]:
        for payer in (1, 2, 3):
            for visible in (True, False):
                pw = p[(p["payer_sk"] == payer) & p["month"].between(first, last) & (visible | ~p["is_hospice"])]
                ew = e[(e["payer_sk"] == payer) & e["month"].between(first, last) & (visible | ~e["is_hospice"])]
                where = {"payer_sk": payer, "hospice_visible": visible}

                expected = pw.groupby("code")["patient_sk"].nunique().to_dict()
                got = mart_distinct(firsts, first, last, family="code", specialty="*", **where)
                assert {k: v[0] for k, v in got.items()} == expected

                expected = ew.groupby("organization_sk")["patient_sk"].nunique().to_dict()
                expected = {str(k): v for k, v in expected.items()} | ({"*": ew["patient_sk"].nunique()}
                                                                         if len(ew) else {})
                got = mart_distinct(firsts, first, last, family="enc", specialty="*", **where)
                assert {k: v[0] for k, v in got.items()} == expected

                expected = ew.groupby("encounter_class")["patient_sk"].nunique().to_dict()
                got = mart_distinct(firsts, first, last, family="enc_class", specialty="*", **where)
                assert {k: v[0] for k, v in got.items()} == expected

                for name in ("A", "B", "Hospice"):
                    ps = pw[pw["specialty"] == name]
                    where_s = {**where, "specialty": name}
                    expected = ps.groupby("organization_sk")["patient_sk"].nunique().to_dict()
                    expected = {str(k): v for k, v in expected.items()} | ({"*": ps["patient_sk"].nunique()}
                                                                             if len(ps) else {})
                    got = mart_distinct(firsts, first, last, family="proc", **where_s)
                    assert {k: v[0] for k, v in got.items()} == expected

                    held = ps.drop_duplicates("encounter_sk")
                    expected = {str(k): (len(g), float(e_claim[g["encounter_sk"]].sum()))
                                for k, g in held.groupby("organization_sk")}
                    if len(held):
                        expected["*"] = (len(held), float(e_claim[held["encounter_sk"]].sum()))
                    got = mart_distinct(firsts, first, last, family="spec_enc", **where_s)
                    assert got == expected  # whole-dollar amounts: float sums are exact

                    expected = held.groupby("encounter_class").size().to_dict()
                    got = mart_distinct(firsts, first, last, family="spec_enc_class", **where_s)
                    assert {k: v[0] for k, v in got.items()} == expected

                    expected = ps.groupby("encounter_class")["patient_sk"].nunique().to_dict()
                    got = mart_distinct(firsts, first, last, family="spec_class", **where_s)
                    assert {k: v[0] for k, v in got.items()} == expected


def test_additive_marts_add_up_to_the_frames():
    frames = random_frames(11, 2)
    marts = client_marts.build(frames)
    p, e = frames["procedures"], frames["encounters"]
    assert marts["mart_client_procedures"]["procedures"].sum() == len(p)
    assert marts["mart_client_procedures"]["cost"].sum() == pytest.approx(p["base_cost"].sum())
    assert marts["mart_client_encounters"]["encounters"].sum() == len(e)
    assert marts["mart_client_encounters"]["claim"].sum() == pytest.approx(e["total_claim_cost"].sum())


def test_patient_sets_hold_each_groups_distinct_patients():
    frames = random_frames(12, 2)
    sets = client_marts.build(frames)["mart_code_patients"]
    p = frames["procedures"]
    expected = {key: sorted(set(group["patient_sk"])) for key, group in
                p.groupby(["code", "month", "payer_sk", "is_hospice"])}
    expected.update({(code, client_marts.ALL_MONTHS, payer, hospice): sorted(set(group["patient_sk"]))
                     for (code, payer, hospice), group in p.groupby(["code", "payer_sk", "is_hospice"])})
    expected.update({(code, client_marts.year_set_month(year), payer, hospice): sorted(set(group["patient_sk"]))
                     for (code, year, payer, hospice), group in
                     p.assign(year=p["month"] // 100).groupby(["code", "year", "payer_sk", "is_hospice"])})
    assert len({month for _code, month, _payer, _hospice in expected if month < 0}) > 1  # several years
    found = {(code, month, payer, hospice): np.frombuffer(blob, dtype="<i4").tolist()
             for code, month, payer, hospice, blob in sets.itertuples(index=False)}
    assert found == expected
    assert all(values == sorted(set(values)) for values in found.values())  # sorted, no repeats


@pytest.mark.realdata
def test_patients_on_the_same_procedures_over_windows_that_cut_into_months(real_wh, monkeypatch):
    """A window that cuts into months is answered from the patient sets of its whole months and the procedures of
    the days around them, as the base tables answer it."""
    version = real_wh.version()
    first, last = version.min_date, version.max_date
    windows = [Window(last - timedelta(days=364), last), Window(date(2019, 3, 15), date(2020, 8, 20)),
               Window(date(2020, 5, 3), date(2020, 5, 27)), Window(first - timedelta(days=40), date(2015, 6, 10)),
               Window(date(2021, 11, 2), last + timedelta(days=90)), Window(date(2018, 1, 31), date(2018, 3, 1))]
    checked = 0
    for window in windows:
        for scope in scopes(real_wh):
            if scope.specialty not in (None, "Oncology", "Mental Health & Substance Use"):
                continue
            from_marts = R.shared_procedures.__wrapped__(real_wh, scope, window, top=25)
            with monkeypatch.context() as patch:
                base_tables_only(patch)
                from_tables = R.shared_procedures.__wrapped__(real_wh, scope, window, top=25)
            assert_same_answer(from_marts, from_tables, (scope.describe(), window))
            checked += int(sum(from_marts["raw_by_code"].column("patients")) > 0)
    assert checked >= len(windows) * 3 * 2 * 3 // 2


@pytest.mark.parametrize("start,end,months,edges", [
    (date(2020, 1, 1), date(2020, 12, 31), (202001, 202012), []),
    (date(2020, 1, 15), date(2020, 12, 31), (202002, 202012), [(date(2020, 1, 15), date(2020, 1, 31))]),
    (date(2020, 1, 1), date(2020, 12, 30), (202001, 202011), [(date(2020, 12, 1), date(2020, 12, 30))]),
    (date(2021, 2, 6), date(2022, 2, 5), (202103, 202202), [(date(2021, 2, 6), date(2021, 2, 28))]),
    (date(2020, 5, 3), date(2020, 5, 27), None, [(date(2020, 5, 3), date(2020, 5, 27))]),
    (date(2020, 1, 31), date(2020, 3, 1), (202002, 202002), [(date(2020, 1, 31), date(2020, 1, 31)),
                                                             (date(2020, 3, 1), date(2020, 3, 1))]),
    (date(2000, 1, 1), date(2030, 1, 1), (201101, 202202), []),
    (date(2023, 1, 1), date(2023, 12, 31), None, []),
])
def test_month_split(start, end, months, edges):
    assert client_marts.month_split(start, end, date(2011, 1, 2), date(2022, 2, 5)) == (months, edges)


@pytest.mark.parametrize("first,last,runs", [
    (202001, 202012, [(-2020, -2020)]),
    (201903, 202107, [(-2020, -2020), (201903, 201912), (202101, 202107)]),
    (201901, 202112, [(-2021, -2019)]),
    (201903, 201906, [(201903, 201906)]),
    (201903, 202002, [(201903, 202002)]),  # two partial years, no whole one: one range of months
    (201101, 202202, [(-2022, -2011)]),  # the data's first and last years count as whole: the window has all of them
    (201101, 202201, [(-2021, -2011), (202201, 202201)]),
    (201102, 201112, [(201102, 201112)]),
])
def test_set_runs(first, last, runs):
    assert client_marts.set_runs(first, last, 201101, 202202) == runs
    assert client_marts.set_runs(first, last, 201101, 202202, years=False) == [(first, last)]


def test_year_sets_answer_as_the_month_sets_and_data_without_them_still_answers(tmp_path, fixture_input,
                                                                                  monkeypatch):
    """A window of whole years reads the year sets; data loaded before them (no rows under a negative month) is
    answered from the month sets, with the same numbers."""
    from sqlalchemy import delete

    from data_access.db import get_engine
    from data_access.loader import load_input
    from data_access.schema import mart_code_patients
    from data_access.warehouse import Warehouse
    from tests.sql_recording import executions_during

    wh = Warehouse(get_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    load_input(wh.engine, fixture_input)
    catalog._lookups.clear()
    assert catalog.year_sets_used(wh) is True
    version = wh.version()
    years = range(version.min_date.year, version.max_date.year + 1)
    windows = [Window(date(year, 1, 1), date(year, 12, 31)) for year in years]
    windows += [Window(date(years[0], 3, 1), date(years[-1], 5, 31))]
    asked_runs = []
    set_runs = client_marts.set_runs
    monkeypatch.setattr(client_marts, "set_runs", lambda *args, **kwargs: asked_runs.append(
        set_runs(*args, **kwargs)) or asked_runs[-1])

    def ask(payer: str, window: Window):
        """The answer, and the month ranges its patient sets were read from (None: not read)."""
        scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer, hospice_visible=True)
        found, asked_runs[:] = [], []
        sent = executions_during(wh, lambda: found.append(R.shared_procedures.__wrapped__(wh, scope, window, top=25)))
        read = any("mart_code_patients" in statement for statement, _parameters in sent)
        return found[0], (asked_runs[0] if read and asked_runs else None)

    answers, from_years = {}, 0
    for payer in ("Humana", "UnitedHealthcare"):
        for window in windows:
            answers[(payer, window)], runs = ask(payer, window)
            from_years += int(runs is not None and runs[0][0] < 0)
    assert from_years >= 2 * len(years)  # each year's window, for both clients
    with wh.engine.begin() as connection:
        connection.execute(delete(mart_code_patients).where(mart_code_patients.c.month < 0))
    catalog._lookups.clear()
    assert catalog.year_sets_used(wh) is False and catalog.patient_sets_used(wh) is True
    for (payer, window), expected in answers.items():
        again, runs = ask(payer, window)
        assert runs is None or all(first > 0 for first, _last in runs), (window, runs)
        assert again == expected, (payer, window)


# ---------------------------------------------------------------- which windows


@pytest.mark.parametrize("start,end,expected", [
    (date(2020, 1, 1), date(2020, 12, 31), (202001, 202012)),
    (date(2020, 4, 1), date(2020, 6, 30), (202004, 202006)),
    (date(2020, 2, 1), date(2020, 2, 29), (202002, 202002)),  # leap year
    (date(2011, 1, 2), date(2022, 2, 5), (201101, 202202)),  # the data's own first and last day
    (date(2000, 1, 1), date(2030, 6, 15), (201101, 202202)),  # beyond the data on both sides
    (date(2020, 1, 2), date(2020, 12, 31), None),  # cuts into January
    (date(2020, 1, 1), date(2020, 12, 30), None),  # cuts into December
    (date(2021, 2, 7), date(2022, 2, 5), None),  # "last 12 months"
    (date(2023, 1, 1), date(2023, 12, 31), None),  # after the data
])
def test_month_span(start, end, expected):
    assert month_span(start, end, date(2011, 1, 2), date(2022, 2, 5)) == expected


# ---------------------------------------------------------------- the real data: marts == base tables


def scopes(wh):
    for payer in ("Humana", "UnitedHealthcare", "Medicare"):
        for visible in (True, False):
            for specialty in [None, *catalog.all_specialties(wh)]:
                yield Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer=payer,
                            specialty=specialty, hospice_visible=visible)


def aligned_windows(first: date, last: date, count: int = 6) -> list[Window]:
    rng = random.Random(20261127)
    windows = [Window(first, last), Window(date(2020, 1, 1), date(2020, 12, 31)),
               Window(date(2020, 4, 1), date(2020, 6, 30))]
    while len(windows) < count:
        a, b = sorted(rng.sample(range(first.year * 12 + first.month - 1, last.year * 12 + last.month), 2))
        end = client_marts._month_end(date(b // 12, b % 12 + 1, 1))
        windows.append(Window(date(a // 12, a % 12 + 1, 1), end))
    return windows


@pytest.fixture
def real_wh(real_app, monkeypatch):
    """The real data's warehouse, with the client marts in use (on data this small they are not, see
    catalog.client_marts_used; what they answer must not depend on that)."""
    monkeypatch.setattr(R, "client_marts_used", lambda wh: True)
    return real_app.extensions["pag"].warehouse


@pytest.mark.realdata
def test_every_client_view_from_the_marts_equals_the_base_tables(real_wh, monkeypatch):
    version = real_wh.version()
    compared = 0
    for window in aligned_windows(version.min_date, version.max_date):
        assert R._mart_months(real_wh, window) is not None
        for scope in scopes(real_wh):
            for view in VIEWS:
                from_marts = view.__wrapped__(real_wh, scope, window)
                with monkeypatch.context() as patch:
                    base_tables_only(patch)
                    from_tables = view.__wrapped__(real_wh, scope, window)
                assert_same_answer(from_marts, from_tables, (view.__name__, scope.describe(), window))
                compared += 1
    assert compared >= 6 * 3 * 2 * 16 * len(VIEWS)


def base_tables_only(patch) -> None:
    patch.setattr(R, "_mart_months", lambda wh, window: None)
    patch.setattr(R, "_mart_split", lambda wh, window: (None, []))


def assert_same_answer(from_marts, from_tables, where) -> None:
    if isinstance(from_marts, dict) and isinstance(from_tables, dict):  # shared_procedures: tables by name
        assert from_marts.keys() == from_tables.keys(), where
        for name in from_marts:
            assert_same_answer(from_marts[name], from_tables[name], (*where, name))
    elif isinstance(from_marts, Table):  # sums may differ in the last bits: compared as frames, with a tolerance
        assert isinstance(from_tables, Table) and from_marts.kinds == from_tables.kinds, where
        pd.testing.assert_frame_equal(from_marts.frame(), from_tables.frame(), obj=str(where))
    elif isinstance(from_marts, pd.DataFrame):
        pd.testing.assert_frame_equal(from_marts, from_tables, check_dtype=False, obj=str(where))
    else:
        assert from_marts == from_tables, where


@pytest.mark.realdata
def test_patients_on_the_same_procedures_from_patient_sets_equal_the_base_tables_for_many_codes(real_wh,
                                                                                                monkeypatch):
    """The patient sets answer "patients who follow the same procedures" for up to 50 codes as the base tables do
    (VIEWS above compares the top 10), and their counts are not all suppressed or zero (the check can fail)."""
    version = real_wh.version()
    checked = 0
    for window in aligned_windows(version.min_date, version.max_date, count=3):
        for scope in scopes(real_wh):
            if scope.specialty is not None:
                continue
            for top in (1, 25, 50):
                from_marts = R.shared_procedures.__wrapped__(real_wh, scope, window, top=top)
                with monkeypatch.context() as patch:
                    base_tables_only(patch)
                    from_tables = R.shared_procedures.__wrapped__(real_wh, scope, window, top=top)
                assert_same_answer(from_marts, from_tables, (scope.describe(), window, top))
                checked += int(sum(from_marts["raw_by_code"].column("patients")) > 0)
    assert checked >= 3 * 3 * 2 * 3 - 6  # a payer may have nothing in a quarter, not everywhere


@pytest.mark.realdata
def test_whole_months_read_only_the_marts_and_other_windows_the_tables(real_wh):
    scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer="Humana", specialty="Oncology",
                  hospice_visible=False)
    catalog.all_specialties(real_wh), catalog.specialty_codes(real_wh), catalog.organization_rows(real_wh)
    catalog.code_names(real_wh), catalog.payer_keys(real_wh)
    for window, base in ((Window(date(2019, 1, 1), date(2019, 12, 31)), False),
                         (Window(date(2019, 1, 15), date(2019, 12, 31)), True)):
        for view in VIEWS:
            statements = statements_during(real_wh, lambda v=view, w=window: v.__wrapped__(real_wh, scope, w))
            touched = any(" procedures" in s or " encounters" in s for s in statements)
            assert touched is base, (view.__name__, window, statements)


@pytest.mark.realdata
def test_marts_are_used_only_when_they_are_the_smaller_side(real_app, tmp_path):
    wh = real_app.extensions["pag"].warehouse
    assert catalog.client_marts_used(wh) is False  # the real input: 0.2 M mart rows for 48,000 procedures
    assert R._mart_months(wh, Window(date(2020, 1, 1), date(2020, 12, 31))) is None
    # the patient sets are read at every size (catalog.patient_sets_used)
    assert catalog.patient_sets_used(wh) is True
    assert R._mart_split(wh, Window(date(2020, 1, 1), date(2020, 12, 31))) == ((202001, 202012), [])


def test_marts_are_used_when_smaller_than_the_procedures_and_never_when_missing(tmp_path, fixture_input):
    from sqlalchemy import delete, select, text

    from data_access.db import get_engine
    from data_access.loader import load_input
    from data_access.schema import mart_client_firsts, mart_code_patients
    from data_access.warehouse import Warehouse

    wh = Warehouse(get_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    load_input(wh.engine, fixture_input)
    assert catalog.client_marts_used(wh) is False  # 19 procedures, 326 first-occurrence rows
    with wh.engine.begin() as connection:  # as if the procedures were many more than the mart rows
        connection.execute(text("DELETE FROM mart_client_firsts WHERE rowid NOT IN "
                                "(SELECT rowid FROM mart_client_firsts LIMIT 5)"))
    catalog._lookups.clear()
    assert len(wh.read(select(mart_client_firsts.c.month))) == 5
    assert catalog.client_marts_used(wh) is True
    assert catalog.patient_sets_used(wh) is True
    with wh.engine.begin() as connection:  # data loaded by a loader without marts
        connection.execute(delete(mart_client_firsts))
        connection.execute(delete(mart_code_patients))
    catalog._lookups.clear()
    assert catalog.client_marts_used(wh) is False
    assert catalog.patient_sets_used(wh) is False
    assert R._mart_split(wh, Window(date(2020, 1, 1), date(2020, 12, 31))) == (None, [])
    scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer="Humana", specialty=None,
                  hospice_visible=True)
    assert not R.shared_procedures.__wrapped__(wh, scope, Window(date(2010, 1, 1), date(2030, 12, 31)))[
        "raw_by_code"].empty  # answered from the procedures instead


def test_mart_filters_refuse_an_internal_scope():
    from data_access.rls import client_rows

    wh = SimpleNamespace()
    internal = Scope(viewer="x", role=Role.SENIOR, audience=Audience.INTERNAL)
    with pytest.raises(PermissionError):
        client_rows(wh, internal, months=(202001, 202012))


@pytest.mark.realdata
def test_chart_view_tables_give_the_extracts_their_columns_and_types(real_wh):
    """The chart views answer Tables; `frame()` gives the extracts their columns in order and typed, with data and
    without (a year before the data: an empty extract keeps its types)."""
    version = real_wh.version()
    scope = Scope(viewer="test", role=Role.CLIENT, audience=Audience.CLIENT, payer="Humana", specialty=None,
                  hospice_visible=True)

    def types(table: Table) -> dict:
        return table.frame().dtypes.astype(str).to_dict()

    shared_types = {"rank": "int64", "procedure_code": "str", "procedure": "str", "patient_group": "str"}
    for window, has_rows in ((Window(version.min_date, version.max_date), True),
                             (Window(date(1990, 1, 1), date(1990, 12, 31)), False)):
        summary = R.procedure_summary.__wrapped__(real_wh, scope, window)
        assert (len(summary) > 0) is has_rows
        assert list(types(summary)) == R.SUMMARY_COLUMNS
        assert list(types(summary).values()) == ["str", "str", "int64", "float64", "float64", "int64"]
        helped = R.helped_by_month.__wrapped__(real_wh, scope, window)
        assert (len(helped) == 12) is not has_rows  # every month of the window, with zeros
        assert list(types(helped)) == R.MONTH_COLUMNS
        assert list(types(helped).values()) == ["str", "str"] + ["int64"] * 3 + ["float64"] * 3
        classes = R.by_encounter_class.__wrapped__(real_wh, scope, window)
        assert (len(classes) > 0) is has_rows
        assert types(classes) == {"encounter_class": "str", "encounters": "int64", "patients": "int64"}
        shared = R.shared_procedures.__wrapped__(real_wh, scope, window)
        assert (len(shared["raw_by_code"]) > 0) is has_rows
        assert types(shared["raw_by_code"]) == {**shared_types, "patients": "int64"}
        assert types(shared["by_code"]) == {**shared_types, "patients": "Int64", "suppressed": "bool"}
        assert types(shared["distribution"]) == {"procedures_had": "int64", "patient_group": "str",
                                                 "patients": "Int64", "suppressed": "bool"}
