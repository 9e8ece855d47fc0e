"""The load test's scope checks catch what they must and nothing else (fast; no server).

A synthetic input (two payers, two patients) and specialty file stand in for the real ones, so each rule is shown
firing on a response that breaks it, including data hidden in Plotly's base64 typed arrays, and staying silent on
what the viewer may see.
"""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.load.checks import Checker, Forbidden, Kind

UHC = Kind("client", "UnitedHealthcare")
HUMANA = Kind("client", "Humana")
ONCOLOGY = Kind("client", "Humana", "Oncology")
HOSPICE = Kind("client", "Humana", "Hospice")
EMPLOYEE, ADMIN, SENIOR = Kind("employee"), Kind("admin"), Kind("senior_management")
PATIENT_ID = "5605b66b-e92d-c16c-1b83-b8bf7040d51f"


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> Checker:
    folder = tmp_path_factory.mktemp("input")
    (folder / "payers.csv").write_text(
        "\ufeffId,NAME,ADDRESS\n"
        "d47b3510-2895-3b70-9897-342d681c769d,Humana,500 West Main St\n"
        "5059a55e-5d6e-34d1-b6cb-d83d16e57bcf,UnitedHealthcare,9800 Healthcare Lane\n"
        "b1c428d6-4f07-31e0-90f0-68ffa6ff8c76,NO_INSURANCE,\n", encoding="utf-8")
    (folder / "patients.csv").write_text(
        "\ufeffId,FIRST,LAST,MAIDEN\n"
        f"{PATIENT_ID},Nikita578,Erdman779,Leannon79\n"
        "6e5ae27c-8038-7988-e2c0-25a103f01bfa,José María211,Delgadillo349,\n", encoding="utf-8")
    specialties = folder / "procedure_specialties.csv"
    specialties.write_text("code,specialty,description\n385763009,Hospice,Hospice care (regime/therapy)\n"
                           "58000006,Hospice,Patient discharge (procedure)\n"
                           "76601001,General,Intramuscular injection\n", encoding="utf-8")
    return Checker(Forbidden.load(folder, specialties))


def rules(checker, kind, payload, content_type="application/json"):
    body = payload if isinstance(payload, bytes) else (
        json.dumps(payload).encode() if content_type == "application/json" else payload.encode())
    findings, _canaries = checker.check(kind, body, content_type)
    return sorted({finding.rule for finding in findings})


def typed(values, dtype="i4") -> dict:
    return {"dtype": dtype, "bdata": base64.b64encode(np.array(values, dtype=dtype).tobytes()).decode()}


def test_other_payers_are_never_named_to_a_client(checker):
    answer = {"response": {"x": {"children": "Other insurers: 12, No insurance: <11, Humana: 40"}}}
    assert rules(checker, UHC, answer) == ["another payer named to a client"]
    assert rules(checker, HUMANA, answer) == []  # its own name
    assert rules(checker, HUMANA, "payer,n\nNO_INSURANCE,3\n", "text/csv") == ["another payer named to a client"]
    assert rules(checker, UHC, {"x": "HUMANA"}) == ["another payer named to a client"]
    # the shared-procedures extracts' group codes (DESIGN §5) are not payer names
    assert rules(checker, UHC, "rank,patient_group\n1,other_insurers\n1,no_insurance\n", "text/csv") == []
    assert rules(checker, SENIOR, answer) == []


def test_patient_ids_and_names_are_found_in_any_format(checker):
    assert rules(checker, UHC, f"patient_key,x\n{PATIENT_ID},1\n", "text/csv") == ["patient id"]
    # JSON escapes the accents; the check compares decoded text. A multi-word first name is matched whole.
    assert rules(checker, SENIOR, {"text": ["José María211 was here"]}) == ["patient name"]
    assert rules(checker, ADMIN, "<td>Erdman779</td>", "text/html") == ["patient name"]
    # a name followed by more digits is another token, and a lone first word is not a name
    assert rules(checker, UHC, {"text": "Erdman7790 María211x José"}) == []


def test_hospice_is_hidden_from_an_oncology_member_even_in_typed_arrays(checker):
    figure = {"response": {"g": {"figure": {"data": [{"type": "bar", "customdata": typed([76601001, 385763009])}],
                                            "layout": {}}}}}
    assert rules(checker, ONCOLOGY, figure) == ["hospice code sent to a member without hospice access"]
    assert rules(checker, ONCOLOGY, {"children": "Humana · Oncology · hospice hidden"}) == []
    assert rules(checker, ONCOLOGY, {"options": [{"label": "Hospice", "value": "Hospice"}]}) == [
        "'hospice' sent to a member without hospice access"]
    assert rules(checker, ONCOLOGY, "code,procedure\n58000006,Patient discharge\n", "text/csv") == [
        "hospice code sent to a member without hospice access",
        "hospice procedure sent to a member without hospice access"]
    assert rules(checker, ONCOLOGY, {"cost": 1385763009.5}) == []  # a longer number is not the code
    assert rules(checker, HOSPICE, figure) == [] and rules(checker, UHC, figure) == []


def test_figures_are_refused_to_employees_and_admins(checker):
    layout = {"props": {"children": [{"type": "Graph", "namespace": "dash_core_components", "props": {}}]}}
    callback = {"response": {"m": {"figure": {"data": [], "layout": {}}}}}
    for kind in (EMPLOYEE, ADMIN):
        assert rules(checker, kind, layout) == ["figure sent to a role without visualisations"]
        assert rules(checker, kind, callback) == ["figure sent to a role without visualisations"]
        assert rules(checker, kind, {"response": {"e": {"href": "/api/extracts/x?format=csv"}}}) == []
    assert rules(checker, SENIOR, callback) == []


def test_canaries_show_the_rules_see_allowed_content(checker):
    figure = {"data": [{"customdata": typed([385763009])}], "layout": {}}
    _findings, canaries = checker.check(HOSPICE, json.dumps(figure).encode(), "application/json")
    assert canaries == {"hospice terms (Humana/Hospice)", "figures (client)"}
    _findings, canaries = checker.check(SENIOR, b'{"x": "aggregates only for NO_INSURANCE"}', "application/json")
    assert "payer names (senior management)" in canaries
