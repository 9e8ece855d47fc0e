"""Fixtures in the flaskr manner: apps built on temporary databases, logged-in clients per role, a CLI runner.

- `app`: the fixture data set (tests/fixture_data.py) in a temporary SQLite file, one account per role.
- `real_app`: the real input (MAT_INPUT_DIR) in a temporary SQLite file (marked `realdata`).
- `pg_url`: a fresh PostgreSQL database for the session (marked `postgres`).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dashboard.app import create_app
from dashboard.config import Settings
from data_access.db import dispose_engines, version_cache
from data_access.loader import load_input
from security.auth import create_account
from tests import fixture_data
from tests.services import PG_ADMIN_URL, postgres_ready, real_input_dir, unavailable

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-" + "x" * 40

# username -> (role, payer, specialty)
ACCOUNTS = {
    "uhc": ("client", "UnitedHealthcare", None),
    "humana": ("client", "Humana", None),
    "humana-onc": ("client", "Humana", "Oncology"),
    "humana-hospice": ("client", "Humana", "Hospice"),
    "senior": ("senior_management", None, None),
    "employee": ("employee", None, None),
    "admin": ("admin", None, None),
}


def pytest_configure(config):
    for marker, text_ in (
        ("realdata", "needs the real input in MAT_INPUT_DIR"),
        ("postgres", "needs PostgreSQL on 127.0.0.1:5432"),
        ("browser", "drives headless Chromium"),
        ("slow", "takes more than a few seconds"),
    ):
        config.addinivalue_line("markers", f"{marker}: {text_}")


def make_settings(database_url: str, **overrides) -> Settings:
    values = {"app_env": "test", "secret_key": SECRET, "database_url": database_url, "map_style": "white-bg",
              "trusted_proxies": 0}
    values.update(overrides)
    return Settings.from_env(env={}, **values)


def create_accounts(engine, accounts=ACCOUNTS) -> None:
    """One account per role; accounts that exist already (a database shared by several apps) are kept."""
    from data_access.accounts import find_account

    for username, (role, payer, specialty) in accounts.items():
        if find_account(engine, username) is None:
            create_account(engine, username, role, PASSWORD, payer, specialty)


def build_app(tmp_dir: Path, input_dir: Path, database_url: str | None = None, **overrides):
    url = database_url or f"sqlite:///{tmp_dir / 'warehouse.db'}"
    settings = make_settings(url, **overrides)
    server = create_app(settings)
    engine = server.extensions["pag"].engine
    load_input(engine, input_dir)
    create_accounts(engine)
    version_cache.clear()
    return server


@pytest.fixture(scope="session")
def fixture_input(tmp_path_factory) -> Path:
    return fixture_data.write(tmp_path_factory.mktemp("fixture-input"))


@pytest.fixture(scope="session")
def app(tmp_path_factory, fixture_input):
    server = build_app(tmp_path_factory.mktemp("app"), fixture_input)
    yield server


@pytest.fixture(scope="session")
def real_input() -> Path:
    path = real_input_dir()
    if path is None:
        unavailable("MAT_INPUT_DIR does not point to the real input CSVs")
    return path


@pytest.fixture(scope="session")
def real_app(tmp_path_factory, real_input):
    return build_app(tmp_path_factory.mktemp("real-app"), real_input)


@pytest.fixture(scope="session")
def pg_url():
    if not postgres_ready():
        unavailable("PostgreSQL is not answering on 127.0.0.1:5432")
    name = f"pag_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg2://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://") + f"/{name}"
    yield url
    dispose_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Viewer:
    """A logged-in test client with helpers to call Dash callbacks and download extracts."""

    client: object
    app: object
    username: str

    @property
    def csrf(self) -> str:
        cookie = self.client.get_cookie("_csrf_token")
        if cookie is None:
            self.client.get("/")
            cookie = self.client.get_cookie("_csrf_token")
        return cookie.value

    def callback(self, output: str, values: dict, *, body_overrides: dict | None = None):
        """POST the callback whose output key contains `output`, with input values by "id.property"."""
        return self.client.post("/_dash-update-component", json=callback_body(self.app, output, values,
                                                                                body_overrides),
                                headers={"X-CSRFToken": self.csrf})

    def extract(self, name: str, **params):
        return self.client.get(f"/api/extracts/{name}", query_string=params)


def callback_key(app, output: str) -> str:
    dash_app = app.extensions["dash"]
    if output in dash_app.callback_map:
        return output
    matches = [key for key in dash_app.callback_map if output in key]
    assert len(matches) == 1, f"{output!r} matches {matches}"
    return matches[0]


def callback_body(app, output: str, values: dict, overrides: dict | None = None) -> dict:
    dash_app = app.extensions["dash"]
    key = callback_key(app, output)
    spec = dash_app.callback_map[key]
    declared = spec["output"] if isinstance(spec["output"], (list, tuple)) else [spec["output"]]
    outputs = [{"id": item.component_id, "property": item.component_property} for item in declared]
    inputs = [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec["inputs"]]
    state = [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec["state"]]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs, "state": state,
            "changedPropIds": []}
    body.update(overrides or {})
    return body


def login(app, username: str, password: str = PASSWORD) -> Viewer:
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
    return Viewer(client, app, username)


def cached_logins(app):
    """`get(username)` -> a Viewer logged in once per username (logins cost a second under load)."""
    cache = {}

    def get(username):
        if username not in cache:
            cache[username] = login(app, username)
        return cache[username]

    return get


@pytest.fixture
def viewer(app):
    """`viewer("uhc")` -> a logged-in Viewer on the fixture app."""
    return lambda username: login(app, username)

