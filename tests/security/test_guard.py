"""The choke point, walked over the whole app: every Flask route and every Dash callback, anonymously and as
each role. New routes and callbacks are picked up automatically from the app's own maps."""
from __future__ import annotations

import pytest

from tests.conftest import ACCOUNTS, callback_body, login

# Expected page access per role, written out here (not read from the policy) so that a policy change that widens
# access fails this test.
PAGE_ACCESS = {
    "/": {"client", "senior_management", "employee", "admin"},
    "/client": {"client", "senior_management"},
    "/team": {"client", "senior_management"},
    "/management": {"senior_management"},
    "/extracts": {"employee", "senior_management"},
    "/admin/audit": {"admin", "senior_management"},
}
PUBLIC = {"/login", "/healthz"}
CONCRETE = {
    "/api/extracts/<name>": "/api/extracts/procedure-summary",
    "/<path:path>": "/client",
    "/assets/<path:filename>": "/assets/app.css",
}
DATA_MARKERS = ("Colonoscopy", "Chemotherapy", "UnitedHealthcare", "Alpha11", "p01")


def flask_routes(app):
    for rule in app.url_map.iter_rules():
        if "<" in rule.rule and rule.rule not in CONCRETE:
            continue  # Dash's component suites: public static files
        path = CONCRETE.get(rule.rule, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_every_route_needs_a_login(app):
    client = app.test_client()
    checked = 0
    for method, path in flask_routes(app):
        response = client.open(path, method=method, json={} if method == "POST" else None)
        if path in PUBLIC or path.startswith("/assets/") or path == "/_favicon.ico":
            continue
        checked += 1
        assert response.status_code in (401, 302), f"{method} {path} answered {response.status_code}"
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
        for marker in DATA_MARKERS:
            assert marker not in response.get_data(as_text=True), f"{method} {path} leaked {marker}"
    assert checked >= 10


def test_every_callback_needs_a_login(app):
    client = app.test_client()
    dash_app = app.extensions["dash"]
    assert len(dash_app.callback_map) >= 10
    for key in dash_app.callback_map:
        response = client.post("/_dash-update-component", json=callback_body(app, key, {}))
        assert response.status_code == 401, key
        assert not any(marker in response.get_data(as_text=True) for marker in DATA_MARKERS)


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_pages_outside_the_role_answer_403(app, username):
    role = ACCOUNTS[username][0]
    viewer = login(app, username)
    for path, roles in PAGE_ACCESS.items():
        response = viewer.client.get(path)
        expected = 200 if role in roles else 403
        assert response.status_code == expected, f"{username} GET {path}: {response.status_code}"


def _page_of(key: str) -> str:
    first = key.strip(".").split(".")[0]
    return first.split("-")[0]


ROLE_PAGES = {
    "client": {"client", "team", "home", "shell"},
    "senior_management": {"client", "team", "management", "extracts", "audit", "home", "shell"},
    "employee": {"extracts", "home", "shell"},
    "admin": {"audit", "home", "shell"},
}


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_callbacks_outside_the_role_answer_403(app, username):
    role = ACCOUNTS[username][0]
    viewer = login(app, username)
    dash_app = app.extensions["dash"]
    for key in dash_app.callback_map:
        page = _page_of(key)
        if page.startswith("_pages"):  # the router: checked by pathname below
            continue
        response = viewer.callback(key, {})
        if page in ROLE_PAGES[role]:
            assert response.status_code not in (401, 403), f"{username} {key}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{username} {key}: {response.status_code}"
            assert not any(marker in response.get_data(as_text=True) for marker in DATA_MARKERS)


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_router_refuses_pages_outside_the_role(app, username):
    role = ACCOUNTS[username][0]
    viewer = login(app, username)
    for path, roles in PAGE_ACCESS.items():
        response = viewer.callback("_pages_content", {"_pages_location.pathname": path, "_pages_location.search": ""})
        expected = 200 if role in roles else 403
        assert response.status_code == expected, f"{username} router {path}: {response.status_code}"


def test_forged_outputs_list_cannot_borrow_another_pages_rights(app):
    """The `outputs` list is the client's; the `output` key decides which function runs and so which rules apply."""
    viewer = login(app, "employee")
    management_key = next(key for key in app.extensions["dash"].callback_map if "management-area-map" in key)
    body = callback_body(app, management_key, {"management-level.value": "city"})
    body["outputs"] = [{"id": "extracts-patients-by-area-csv", "property": "href"}]
    response = viewer.client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": viewer.csrf})
    assert response.status_code in (400, 403)  # refused as malformed before the role is even considered
    assert "patients" not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [
    {"output": "..nope.children..", "outputs": [], "inputs": []},
    {"output": 5},
    "not an object",
    {},
])
def test_malformed_callback_requests_are_400(app, body):
    viewer = login(app, "senior")
    response = viewer.client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": viewer.csrf})
    assert response.status_code == 400


def test_callbacks_need_the_csrf_header(app):
    viewer = login(app, "senior")
    body = callback_body(app, "management-area-map", {"management-level.value": "city"})
    response = viewer.client.post("/_dash-update-component", json=body)
    assert response.status_code == 400


def test_refusals_are_audited(app):
    from sqlalchemy import select

    from data_access import schema

    viewer = login(app, "employee")
    viewer.client.get("/management")
    with app.extensions["pag"].engine.connect() as connection:
        rows = connection.execute(select(schema.audit_log).where(schema.audit_log.c.event == "denied",
                                                                 schema.audit_log.c.username == "employee")).all()
    assert any(row.path == "/management" and row.status == 403 for row in rows)
