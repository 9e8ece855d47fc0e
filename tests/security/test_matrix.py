"""The full negative-test matrix (issue 7), generated from the app itself.

Every Flask route (`url_map`) and every Dash callback (`callback_map`) is called
  (a) anonymously, (b) with an expired session, (c) with a tampered session cookie, and
  (d) as every role, with honest inputs and with forged ones (another payer, Hospice for a member without hospice,
      unknown specialties, out-of-range and malformed dates, huge and negative N, wrong types, missing and extra
      input entries, malformed callback bodies),
on the SQLite fixture app and on PostgreSQL. Inputs come from the callback map's declared inputs through the
generator table of tests/security/matrix_helpers.py, so a new callback is covered without editing this file, and
an input kind without a generator fails `test_every_callback_input_has_a_generator`.

Every call must answer 401/403/400, or 200 inside the caller's scope: never a 500, never a stack trace, never a
patient's id, name or street (clients, staff, administrators), never another payer's name to a client, never
hospice data to a member without hospice, never a component of a page outside the role, and the scope badge of a
client view names the scope's payer. Answers scanned include the page layouts (/_dash-layout and the pages router
for every path, with their dropdown options), figures (hover text), dcc.Store contents, error bodies, and the
extracts behind every download link of an honest answer.

This goes beyond tests/security/test_guard.py (which checks status codes of empty bodies): here the bodies are
forged and the answers are read.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import create_engine, text, update

from data_access import schema
from tests.conftest import ACCOUNTS, build_app, login
from tests.security import matrix_helpers as H
from tests.services import PG_ADMIN_URL

MAPS = H.declared_maps()
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
USERNAMES = sorted(ACCOUNTS)
CSRF_HEADER = "X-CSRFToken"


# ---------------------------------------------------------------------------------------------------- fixtures


class Registry:
    """Apps and logged-in clients shared by the whole module: one login per role per app."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.apps = {}
        self.viewers = {}
        self.expired = {}
        self.pg_databases = []

    def postgres_app(self, pg_url, fixture_input):
        # `pg_url` is shared by the session and other modules create the same accounts on it (build_app would
        # refuse: "account exists already"), so the matrix takes a fresh database of its own on that server.
        name = f"pag_matrix_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg2://"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.pg_databases.append(name)
        url = pg_url.rsplit("/", 1)[0] + f"/{name}"
        return build_app(self.tmp_path_factory.mktemp("matrix-pg"), fixture_input, database_url=url)

    def viewer(self, backend, username):
        key = (backend, username)
        if key not in self.viewers:
            self.viewers[key] = login(self.apps[backend], username)
        return self.viewers[key]

    def expired_viewer(self, backend, username):
        """A separate login whose session row is pushed 31 minutes into the past before every use."""
        key = (backend, username)
        if key not in self.expired:
            viewer = login(self.apps[backend], username)
            csrf = viewer.csrf
            self.expired[key] = (viewer, token_hash_of(self.apps[backend], viewer), csrf)
        viewer, token_hash, csrf = self.expired[key]
        engine = self.apps[backend].extensions["pag"].engine
        with engine.begin() as connection:
            connection.execute(update(schema.user_sessions).where(schema.user_sessions.c.token_hash == token_hash)
                               .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31), revoked_at=None))
        return viewer, csrf

    def close(self):
        for backend, app in self.apps.items():
            if backend == "postgres":
                app.extensions["pag"].engine.dispose()
        if self.pg_databases:
            admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg2://"),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                for name in self.pg_databases:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = Registry(tmp_path_factory)
    yield reg
    reg.close()


@pytest.fixture
def env(request, registry, backend):
    """(backend name, app, registry) for one parametrized backend; the PostgreSQL app is built on first use."""
    if backend not in registry.apps:
        if backend == "sqlite":
            registry.apps[backend] = request.getfixturevalue("app")
        else:
            registry.apps[backend] = registry.postgres_app(request.getfixturevalue("pg_url"),
                                                           request.getfixturevalue("fixture_input"))
    return backend, registry.apps[backend], registry


def session_serializer(app):
    return app.session_interface.get_signing_serializer(app)


def token_hash_of(app, viewer) -> str:
    session = session_serializer(app).loads(viewer.client.get_cookie("pag_session").value)
    return hashlib.sha256(session["_user_id"].encode()).hexdigest()


def _flip(segment: str, at: int) -> str:
    at = at % len(segment)
    replacement = "B" if segment[at] == "A" else "A"
    return segment[:at] + replacement + segment[at + 1:]


def tampered_cookie(app, viewer, how: str) -> str:
    """A tampered `pag_session` cookie made from a valid one (or from scratch)."""
    value = viewer.client.get_cookie("pag_session").value
    prefix = "." if value.startswith(".") else ""
    payload, stamp, signature = value.lstrip(".").rsplit(".", 2)
    if how == "flipped-payload":
        return prefix + ".".join([_flip(payload, len(payload) // 2), stamp, signature])
    if how == "flipped-signature":
        return prefix + ".".join([payload, stamp, _flip(signature, len(signature) // 2)])
    if how == "flipped-timestamp":
        return prefix + ".".join([payload, _flip(stamp, 1), signature])
    if how == "other-secret":
        other = Flask("matrix-other-secret")
        other.secret_key = "another-secret-" + "y" * 40
        return session_serializer(other).dumps(session_serializer(app).loads(value))
    if how == "forged-token":  # the right secret but a session token the server never issued
        return session_serializer(app).dumps({"_user_id": secrets.token_urlsafe(32), "_fresh": True})
    if how == "garbage":
        return "not-a-session"
    raise AssertionError(how)


TAMPERINGS = ("flipped-payload", "flipped-signature", "flipped-timestamp", "other-secret", "forged-token", "garbage")
UNAUTH_STATES = ["anonymous", *[f"expired:{name}" for name in USERNAMES], *[f"tampered:{how}" for how in TAMPERINGS]]


# ---------------------------------------------------------------------------------------------------- calling


def post_callback(client, spec, values, edit, csrf):
    body = H.callback_request_body(spec, values, edit)
    headers = {CSRF_HEADER: csrf} if csrf else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def open_route(client, route, query=None):
    if route.method == "POST":
        return client.open(route.path, method="POST", json={}, query_string=query)
    return client.open(route.path, method=route.method, query_string=query)


def is_json_path(path: str) -> bool:
    return path.startswith(("/api/", "/_dash-"))


def report(where: str, response, expected, problems) -> str:
    body = response.get_data()[:400]
    return (f"{where}: status {response.status_code} (expected one of {sorted(expected)}); "
            f"problems: {problems or 'none'}; body: {body!r}")


def check(where, response, expected, caller, *, requested_payer=None, requested_specialty=None, json_errors=True):
    """The status is one of `expected`, and the body holds nothing outside the caller's scope. Refusals of the API
    and of Dash requests are JSON `{"error": ...}` (DESIGN §5)."""
    problems = H.scope_problems(caller, response, requested_payer=requested_payer,
                                requested_specialty=requested_specialty, maps=MAPS)
    if response.status_code >= 500:
        problems.insert(0, "server error")
    elif response.status_code >= 400 and json_errors:
        payload = response.get_json(silent=True)
        if not (isinstance(payload, dict) and isinstance(payload.get("error"), str)):
            problems.append("the refusal is not a JSON {'error': ...}")
    assert response.status_code in expected and not problems, report(where, response, expected, problems)


# ---------------------------------------------------------------------------------------------------- coverage


def test_every_callback_input_has_a_generator(app):
    """A new input kind without a generator fails here, naming the callback and the input."""
    app.test_client().get("/healthz")  # lets Dash add its router callback, as on a live server
    live = H.callback_specs(app.extensions["dash"])
    missing = H.uncovered_inputs(live)
    assert not missing, ("inputs without a generator in tests/security/matrix_helpers.py GENERATORS "
                         "(add one for the new kind):\n  " + "\n  ".join(missing))
    assert {spec.key for spec in live} == {spec.key for spec in MAPS.callbacks}, \
        "the collection-time callback map differs from the fixture app's"
    assert len(MAPS.callbacks) >= 12


def test_every_route_has_a_concrete_form(app):
    found, missing = H.routes(app)
    assert not missing, f"url_map rules with variables and no entry in matrix_helpers.CONCRETE: {missing}"
    assert {(route.method, route.path) for route in found} == {(route.method, route.path) for route in MAPS.routes}


@pytest.mark.parametrize("username,body,flagged", [
    ("humana-onc", {"a": "Hospice care (regime/therapy)"}, True),
    ("humana-onc", {"a": "385763009"}, True),
    ("humana-onc", {"a": "Humana \u00b7 Oncology \u00b7 hospice hidden"}, False),
    ("humana-hospice", {"a": "Hospice care"}, False),
    ("uhc", {"a": "Other insurers", "b": "No insurance"}, False),
    ("uhc", {"a": "Aetna"}, True),
    ("uhc", {"a": "NO_INSURANCE"}, True),
    ("humana", {"options": [{"label": "UnitedHealthcare"}]}, True),
    ("senior", {"a": "Humana, Aetna, Medicare"}, False),
    ("senior", {"a": "patient p07"}, True),
    ("senior", {"a": "stop07 top01 p16"}, False),
    ("employee", {"a": "12 Example Street"}, True),
    ("admin", {"a": "Colonoscopy"}, True),
    ("admin", {"a": "login failed for senior"}, False),
    ("uhc", {"response": {"management-area-map": {"figure": {}}}}, True),
    ("uhc", {"response": {"client-scope": {"children": "Humana \u00b7 all specialties"}}}, True),
    ("senior", {"a": 'File "/work/x.py", line 1'}, True),
])
def test_the_scanner_flags_restricted_values(username, body, flagged):
    """The scanner itself, on answers written here: it must catch what the matrix relies on it to catch."""
    response = Flask("scanner").response_class(json.dumps(body, ensure_ascii=True), mimetype="application/json")
    problems = H.scope_problems(H.CALLERS[username], response, maps=MAPS)
    assert bool(problems) is flagged, problems


def test_matrix_size_is_what_the_app_declares():
    calls = len(UNAUTH_PARAMS) + len(CALLBACK_PARAMS) + len(ROUTE_PARAMS)
    assert calls > 1000, calls
    callbacks = {param.values[0].key for param in CALLBACK_PARAMS}
    assert callbacks == {spec.key for spec in MAPS.callbacks}
    routes = {(param.values[0].method, param.values[0].path) for param in ROUTE_PARAMS}
    assert routes == {(route.method, route.path) for route in MAPS.routes}
    admin_data = [param.id for param in CALLBACK_PARAMS if param.values[1] == "admin"
                  and {H.page_of(component) for component in param.values[0].output_ids} & H.DATA_PAGES
                  and param.values[2].expect != H.DENIED]
    assert not admin_data, f"the administrator must get 403 from every data callback: {admin_data[:5]}"
    for username in USERNAMES:  # every role meets every callback and every route
        assert {param.values[0].key for param in CALLBACK_PARAMS if param.values[1] == username} == callbacks
        assert {(param.values[0].method, param.values[0].path) for param in ROUTE_PARAMS
                if param.values[1] == username} == routes


# ---------------------------------------------------------------------------------------------------- (a)-(c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_controls_the_refused_sessions_would_otherwise_work(env):
    """Controls for the states below: the same session 29 minutes idle still works, and the untampered cookie
    works on a fresh client, so their 401s come from expiry and tampering, not from a broken setup."""
    backend, app, registry = env
    viewer, _ = registry.expired_viewer(backend, "senior")
    engine = app.extensions["pag"].engine
    token_hash = token_hash_of(app, viewer)
    with engine.begin() as connection:
        connection.execute(update(schema.user_sessions).where(schema.user_sessions.c.token_hash == token_hash)
                           .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=29), revoked_at=None))
    assert viewer.client.get("/api/extracts").status_code == 200
    base = registry.viewer(backend, "senior")
    client = app.test_client()
    client.set_cookie("pag_session", base.client.get_cookie("pag_session").value)
    assert client.get("/api/extracts").status_code == 200
    for how in TAMPERINGS:
        client = app.test_client()
        client.set_cookie("pag_session", tampered_cookie(app, base, how))
        assert client.get("/api/extracts").status_code == 401, how


def _unauth_params():
    params = []
    for state in UNAUTH_STATES:
        for route in MAPS.routes:
            params.append(pytest.param(state, "route", route, id=f"{state}|{route.method} {route.path}"))
        for spec in MAPS.callbacks:
            params.append(pytest.param(state, "callback", spec, id=f"{state}|callback {spec.name}"))
    return params


UNAUTH_PARAMS = _unauth_params()


@pytest.mark.parametrize("state,what,target", UNAUTH_PARAMS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_without_a_valid_session(env, state, what, target):
    backend, app, registry = env
    csrf = None
    if state == "anonymous":
        client = app.test_client()
        caller_for_values = H.CALLERS["senior"]
    elif state.startswith("expired:"):
        username = state.split(":", 1)[1]
        client, csrf = registry.expired_viewer(backend, username)
        client = client.client
        caller_for_values = H.CALLERS[username]
    else:
        base = registry.viewer(backend, "senior")
        client = app.test_client()
        client.set_cookie("pag_session", tampered_cookie(app, base, state.split(":", 1)[1]))
        csrf = base.csrf
        caller_for_values = H.CALLERS["senior"]
    where = f"[{backend}] {state} {what} {getattr(target, 'path', None) or target.name}"
    if what == "callback":
        values = H.callback_cases(target, caller_for_values, MAPS)
        values = values[0].values if values else {}
        response = post_callback(client, target, values, None, csrf)
        check(where, response, {401}, None)
        return
    response = open_route(client, target)
    if target.public:
        expected = {200, 302, 400, 404, 405}
    elif target.method != "GET" or target.path.startswith(("/api/", "/_dash-")):
        expected = {401}
    else:
        expected = {302}
    check(where, response, expected, None, json_errors=is_json_path(target.path))
    if response.status_code == 302 and not target.public:
        assert response.headers["Location"].startswith("/login"), report(where, response, expected, [])


# ---------------------------------------------------------------------------------------------------- (d) callbacks


def _callback_params():
    params = []
    for spec in MAPS.callbacks:
        for username in USERNAMES:
            for case in H.callback_cases(spec, H.CALLERS[username], MAPS):
                params.append(pytest.param(spec, username, case, id=f"{spec.name}|{username}|{case.label}"))
    return params


CALLBACK_PARAMS = _callback_params()


@pytest.mark.parametrize("spec,username,case", CALLBACK_PARAMS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_as_role(env, spec, username, case):
    backend, app, registry = env
    viewer = registry.viewer(backend, username)
    caller = H.CALLERS[username]
    response = post_callback(viewer.client, spec, case.values, case.body_edit, viewer.csrf)
    where = f"[{backend}] callback {spec.name} as {username}, case {case.label}"
    scope = {"requested_payer": case.requested_payer, "requested_specialty": case.requested_specialty}
    check(where, response, case.expect, caller, **scope)
    if case.honest and response.status_code == 200:
        # the extracts behind the answer's download buttons, as the same viewer
        for link in sorted(set(H.api_links(response.get_json()))):
            download = viewer.client.get(link)
            check(f"{where}, download {link}", download, {200}, caller, **scope)


# ---------------------------------------------------------------------------------------------------- (d) routes


def _route_params():
    params = []
    for route in MAPS.routes:
        for username in USERNAMES:
            for case in H.route_cases(route, H.CALLERS[username], MAPS):
                params.append(pytest.param(route, username, case,
                                           id=f"{route.method} {route.path}|{username}|{case.label}"))
    return params


ROUTE_PARAMS = _route_params()


@pytest.mark.parametrize("route,username,case", ROUTE_PARAMS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_route_as_role(env, route, username, case):
    backend, app, registry = env
    viewer = registry.viewer(backend, username)
    response = open_route(viewer.client, route, case.query)
    where = f"[{backend}] {route.method} {route.path} as {username}, case {case.label}"
    check(where, response, case.expect, H.CALLERS[username], requested_payer=case.query.get("client"),
          requested_specialty=case.query.get("specialty"), json_errors=is_json_path(route.path))


def test_the_shared_sessions_survived(registry):
    """The matrix never logs its viewers out (POST /logout is sent without CSRF): a 401 above is the app's."""
    for (backend, username), viewer in registry.viewers.items():
        assert viewer.client.get("/api/extracts").status_code == 200, (backend, username)
