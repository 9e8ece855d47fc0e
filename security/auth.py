"""Accounts, login, logout and server-side sessions.

The signed session cookie holds only a random session token; the session itself lives in `user_sessions`, so that
logout, a disabled account or a new password end it on the server, and idle and absolute timeouts are enforced there.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from data_access import accounts
from security import audit
from security.context import app_state, client_address
from security.passwords import hash_password, verify_password
from security.scope import Role

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.session_protection = None  # sessions are validated server-side instead (IP changes behind LBs)

SESSION_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class Account:
    """The logged-in account, as every policy decision sees it."""

    username: str
    role: Role
    payer: str | None
    specialty: str | None
    token: str = ""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@login_manager.user_loader
def load_account(token: str) -> Account | None:
    state = app_state()
    row = accounts.find_session(state.engine, token_hash(token))
    if row is None or row.revoked or row.account.disabled:
        return None
    now = datetime.now(UTC)
    settings = state.settings
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - row.created_at > timedelta(hours=settings.session_max_hours)
    if idle or too_old:
        accounts.revoke_session(state.engine, row.token_hash)
        audit.record("session_expired", username=row.account.username, role=row.account.role,
                     detail="idle timeout" if idle else "absolute lifetime reached")
        return None
    if (now - row.last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
        accounts.touch_session(state.engine, row.token_hash, now)
    account = row.account
    return Account(account.username, Role(account.role), account.payer, account.specialty, token)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    state = app_state()
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url)
        return render_template("login.html", next=next_url, error=None, demo=state.demo_data)

    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    address = client_address()
    wait = state.throttle.retry_after(username, address)
    if wait:
        audit.record("login_throttled", status=429, username=username or None, params={"retry_after": wait})
        response = render_template("login.html", next=next_url, demo=state.demo_data,
                                   error=f"Too many failed attempts. Try again in {wait // 60 + 1} minute(s).")
        return response, 429, {"Retry-After": str(wait)}

    row = accounts.find_account(state.engine, username) if username else None
    ok = verify_password(row.password_hash if row else None, password) and row is not None and not row.disabled
    if not ok:
        state.throttle.failed(username, address)
        audit.record("login_failed", status=401, username=username or None)
        # One message for unknown user, wrong password and disabled account: nothing to enumerate.
        return render_template("login.html", next=next_url, demo=state.demo_data,
                               error="Invalid username or password."), 401

    state.throttle.succeeded(username, address)
    session.clear()  # a new cookie for the new session (no fixation)
    token = secrets.token_urlsafe(32)
    accounts.open_session(state.engine, token_hash(token), row.user_id, address)
    account = Account(row.username, Role(row.role), row.payer, row.specialty, token)
    login_user(account)
    session.permanent = True
    audit.record("login", status=200, username=row.username, role=row.role)
    from security.policy import landing_page

    target = next_url if next_url != "/" else landing_page(account.role).path
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.revoke_session(app_state().engine, token_hash(current_user.token))
        audit.record("logout", status=200)
    logout_user()
    session.clear()
    return redirect("/login")


@bp.route("/logout", methods=["GET"])
def logout_get():
    abort(405)


def create_account(engine, username: str, role: str, password: str, payer: str | None = None,
                   specialty: str | None = None, client_payers: tuple[str, ...] = ()) -> int:
    """Validate and store a new account (used by the `users create` command and the demo accounts)."""
    role_value = Role(role)
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError("usernames are 1-64 letters, digits, '-', '_' or '.'")
    if role_value is Role.CLIENT:
        if not payer:
            raise ValueError("client accounts need --payer")
        if client_payers and payer not in client_payers:
            raise ValueError(f"{payer!r} is not a client payer (CLIENT_PAYERS: {', '.join(client_payers)})")
    elif payer or specialty:
        raise ValueError("only client accounts have a payer and a specialty")
    if accounts.find_account(engine, username):
        raise ValueError(f"account {username!r} exists already")
    return accounts.create_account(engine, username, hash_password(password), role_value.value, payer, specialty)
