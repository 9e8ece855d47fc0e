"""Property-based fuzzing of the extract API from its own OpenAPI description, as every role.

Whatever the parameters: never a 500, never a stack trace, and a 200 answer stays inside the caller's scope.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fixture_data
from tests.conftest import ACCOUNTS, build_app, login

PATIENT_IDS = [row[0] for row in fixture_data.PATIENTS]
PERSONAL = [value for row in fixture_data.PATIENTS for value in (row[2], row[3])] + ["Example Street"]
PAYERS = [row[1] for row in fixture_data.PAYERS]


def value_strategy(name: str, schema: dict):
    """Valid values of the parameter's schema, mixed with values of the wrong type and shape."""
    valid = []
    if "enum" in schema:
        valid.append(st.sampled_from(schema["enum"]))
    if schema.get("type") == "integer":
        valid.append(st.integers(schema.get("minimum", -10), schema.get("maximum", 10)).map(str))
    if schema.get("format") == "date":
        valid.append(st.dates().map(lambda day: day.isoformat()))
    if name == "specialty":
        valid.append(st.sampled_from(["Oncology", "Hospice", "Cardiology", "", "all"]))
    if name == "client":
        valid.append(st.sampled_from(PAYERS))
    garbage = st.one_of(
        st.text(max_size=30), st.integers().map(str), st.floats(allow_nan=True).map(str),
        st.sampled_from(["2020-02-30", "1700-01-01", "9999-12-31", "-1", "0", "1e9", "' OR 1=1 --", "../../etc",
                         "%00", "null", "[]"]),
    )
    return st.one_of(*valid, garbage) if valid else garbage


def operations(spec: dict):
    for path, methods in spec["paths"].items():
        operation = methods["get"]
        yield path, {parameter["name"]: parameter["schema"] for parameter in operation.get("parameters", [])}


def check_answer(username: str, response) -> None:
    body = response.get_data(as_text=True) if response.mimetype != "application/vnd.openxmlformats-" \
        "officedocument.spreadsheetml.sheet" else ""
    assert response.status_code in (200, 400, 403, 404), (response.status_code, body[:300])
    assert "Traceback" not in body
    if response.status_code != 200:
        assert response.is_json and "error" in response.json
        return
    for patient_id in PATIENT_IDS:
        assert not re.search(rf"\b{patient_id}\b", body), patient_id
    for value in PERSONAL:
        assert value not in body
    role, payer, specialty = ACCOUNTS[username]
    if role == "client":
        for other in PAYERS:
            if other != payer:
                assert other not in body, f"{username} received {other}"
        if specialty not in (None, "Hospice"):
            assert "385763009" not in body and "Hospice care" not in body


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_app(request, tmp_path_factory, fixture_input):
    """The fixture data on SQLite (the session's app) and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("app")
    return build_app(tmp_path_factory.mktemp("fuzz-pg"), fixture_input, database_url=request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_extract_api_fuzz(engine_app, username):
    viewer = login(engine_app, username)
    spec = viewer.client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    ops = list(operations(spec))
    assert ops, "every role has at least the listing operation"

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def run(data):
        path, parameters = data.draw(st.sampled_from(ops))
        query = {}
        for name, schema in parameters.items():
            if data.draw(st.booleans()):
                query[name] = data.draw(value_strategy(name, schema))
        if data.draw(st.integers(0, 9)) == 0:
            query["unexpected"] = "1"
        response = viewer.client.get(path, query_string=query)
        check_answer(username, response)

    run()


def test_openapi_lists_only_the_viewers_extracts(app):
    employee = login(app, "employee").client.get("/api/openapi.json").json
    assert "/api/extracts/patients-by-area" in employee["paths"]
    assert "/api/extracts/members" not in employee["paths"]
    client = login(app, "uhc").client.get("/api/openapi.json").json
    assert "/api/extracts/members" in client["paths"]
    assert "/api/extracts/patients-by-area" not in client["paths"]
    assert app.test_client().get("/api/openapi.json").status_code == 401
