"""Login, logout, sessions, throttling, CSRF and start-up refusal in production."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from dashboard.config import PROJECT_ROOT, ConfigError, Settings
from data_access import schema
from tests.conftest import PASSWORD, build_app, login


def csrf_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def post_login(client, username, password, token=None, **environ):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token if token is not None else csrf_token(client)},
                       environ_base=environ)


def audit_events(app, username=None):
    query = select(schema.audit_log.c.event, schema.audit_log.c.username)
    with app.extensions["pag"].engine.connect() as connection:
        rows = connection.execute(query).all()
    return [event for event, name in rows if username is None or name == username]


def test_login_page_is_public_and_has_csrf_field(app):
    response = app.test_client().get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text


def test_login_lands_on_the_role_page_and_is_audited(app):
    client = app.test_client()
    response = post_login(client, "uhc", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/client")
    assert "login" in audit_events(app, "uhc")


@pytest.mark.parametrize("username,password", [("uhc", "wrong password!!"), ("nobody", PASSWORD), ("", "")])
def test_wrong_credentials_get_one_generic_message(app, username, password):
    client = app.test_client()
    response = post_login(client, username, password, REMOTE_ADDR=f"10.9.0.{len(username)}")
    assert response.status_code == 401
    assert "Invalid username or password." in response.text
    assert "nobody" not in response.text.replace('value="nobody"', "")


def test_failed_login_is_audited(app):
    post_login(app.test_client(), "senior", "not the password", REMOTE_ADDR="10.9.1.1")
    assert "login_failed" in audit_events(app, "senior")


def test_login_without_csrf_token_is_rejected(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "uhc", "password": PASSWORD})
    assert response.status_code == 400
    response = client.post("/login", data={"username": "uhc", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400


def test_throttling_per_account(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, login_max_failures=3)
    for attempt in range(3):
        assert post_login(app.test_client(), "employee", "bad password!!",
                          REMOTE_ADDR=f"10.0.0.{attempt}").status_code == 401
    # even the right password from a fresh address waits: the account is throttled
    response = post_login(app.test_client(), "employee", PASSWORD, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "login_throttled" in audit_events(app)
    # another account from another address is not affected
    assert post_login(app.test_client(), "admin", PASSWORD, REMOTE_ADDR="10.0.1.1").status_code == 302


def test_throttling_per_address(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, login_max_failures=3)
    for name in ("a1", "a2", "a3"):
        assert post_login(app.test_client(), name, "bad password!!", REMOTE_ADDR="10.1.1.1").status_code == 401
    assert post_login(app.test_client(), "admin", PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 429
    assert post_login(app.test_client(), "admin", PASSWORD, REMOTE_ADDR="10.1.1.2").status_code == 302


def test_session_cookie_flags(app):
    client = app.test_client()
    response = post_login(client, "uhc", PASSWORD)
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("pag_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # not in test/development


def test_secure_cookie_in_production(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, app_env="production")
    client = app.test_client()
    response = post_login(client, "uhc", PASSWORD, **{"wsgi.url_scheme": "https"})
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("pag_session="))
    assert "Secure" in cookie
    assert app.test_client().get("/login", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_session_cookie_rotates_at_login(app):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("pag_session").value
    post_login(client, "uhc", PASSWORD)
    assert client.get_cookie("pag_session").value != before


def test_logout_ends_the_session_on_the_server(app):
    viewer = login(app, "uhc")
    stolen = viewer.client.get_cookie("pag_session").value
    assert viewer.client.get("/api/extracts").status_code == 200
    response = viewer.client.post("/logout", data={"csrf_token": viewer.csrf})
    assert response.status_code == 302
    assert "logout" in audit_events(app, "uhc")
    # replaying the old cookie does not bring the session back
    thief = app.test_client()
    thief.set_cookie("pag_session", stolen)
    assert thief.get("/api/extracts").status_code == 401


def test_logout_needs_post_and_csrf(app):
    viewer = login(app, "uhc")
    assert viewer.client.get("/logout").status_code == 405
    assert viewer.client.post("/logout").status_code == 400
    assert viewer.client.get("/api/extracts").status_code == 200


def test_idle_session_expires(app):
    viewer = login(app, "uhc")
    engine = app.extensions["pag"].engine
    with engine.begin() as connection:
        connection.execute(update(schema.user_sessions).values(
            last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
    assert viewer.client.get("/api/extracts").status_code == 401
    assert "session_expired" in audit_events(app, "uhc")


def test_absolute_session_lifetime(app):
    viewer = login(app, "humana")
    engine = app.extensions["pag"].engine
    with engine.begin() as connection:
        connection.execute(update(schema.user_sessions).values(created_at=datetime.now(UTC) - timedelta(hours=13)))
    assert viewer.client.get("/api/extracts").status_code == 401


def test_disabled_account_is_logged_out(app):
    from data_access.accounts import set_disabled

    viewer = login(app, "humana-hospice")
    engine = app.extensions["pag"].engine
    set_disabled(engine, "humana-hospice")
    try:
        assert viewer.client.get("/api/extracts").status_code == 401
        response = post_login(app.test_client(), "humana-hospice", PASSWORD, REMOTE_ADDR="10.7.7.7")
        assert response.status_code == 401
    finally:
        set_disabled(engine, "humana-hospice", False)


def test_passwords_are_stored_with_argon2(app):
    with app.extensions["pag"].engine.connect() as connection:
        hashes = connection.execute(select(schema.users.c.password_hash)).scalars().all()
    assert hashes and all(value.startswith("$argon2id$") for value in hashes)
    assert all(PASSWORD not in value for value in hashes)


def test_open_redirect_is_refused(app):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login", data={"username": "uhc", "password": PASSWORD, "csrf_token": token,
                                           "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/client")


def test_production_needs_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env(env={"APP_ENV": "production"})
    with pytest.raises(ConfigError):
        Settings.from_env(env={"APP_ENV": "production", "SECRET_KEY": "short"})
    assert Settings.from_env(env={"APP_ENV": "production", "SECRET_KEY": "k" * 40}).production


def test_production_start_without_secret_key_exits(tmp_path):
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_never_creates_demo_accounts(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, app_env="production")
    result = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert result.exit_code != 0
    assert "never creates demo accounts" in result.output
