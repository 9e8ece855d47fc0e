"""The application factory: Flask first, then configuration, security, the API, and Dash on top."""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import dash
from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import memory
from dashboard.config import PROJECT_ROOT, Settings
from dashboard.state import build_state
from data_access.db import WarehouseUnavailable, init_schema, is_unavailable
from data_access.warehouse import NoData
from security import guard, headers
from security.auth import bp as auth_bp
from security.auth import login_manager

log = logging.getLogger("pag")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask server with the Dash app mounted on it; `settings` overrides the environment (tests)."""
    settings = settings or Settings.from_env()
    server = Flask("dashboard", template_folder=str(PROJECT_ROOT / "security" / "templates"), static_folder=None)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="pag_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
        # The session's own lifetime bounds the token; an hourly expiry would break long-open dashboards.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.production,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        TESTING=settings.app_env == "test",
    )
    if settings.trusted_proxies:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                                   x_host=settings.trusted_proxies)
    state = build_state(settings)
    server.extensions["pag"] = state
    try:
        init_schema(state.engine)
    except Exception as error:  # the database may be down at start: the app starts anyway and recovers later
        log.warning("could not create the schema at start-up (%s); continuing", error)

    from dashboard import cli

    cli.init_app(server)
    # No template context processor: it would load the user (a database query) while rendering an error page.
    login_manager.init_app(server, add_context_processor=False)
    server.register_blueprint(auth_bp)
    from dashboard.api import bp as api_bp

    server.register_blueprint(api_bp)

    dash_app = _build_dash(server)
    _one_connection_per_request(server, state.warehouse)
    # Order matters: the guard runs before CSRF checks, so anonymous requests get 401, not a CSRF error.
    guard.init_app(server, dash_app)
    CSRFProtect(server)
    headers.init_app(server, dash_app, settings.production)
    memory.init_app(server)
    _register_error_handlers(server)
    server.extensions["dash"] = dash_app
    return server


def _one_connection_per_request(server: Flask, warehouse) -> None:
    """Every read of a request on one pooled connection, checked out on the first read and returned at the end:
    the login's session lookup and a callback's queries then share one checkout (a ping and a rollback on
    PostgreSQL, about 0.2 ms), so that a data callback pays for it once, as the floor does. Registered before the
    guard, which loads the user."""
    @server.before_request
    def open_reads():
        reads = contextlib.ExitStack()
        reads.enter_context(warehouse.session())
        g.pag_reads = reads

    @server.teardown_request
    def close_reads(_error):
        reads = g.pop("pag_reads", None)
        if reads is not None:
            reads.close()


def _build_dash(server: Flask) -> dash.Dash:
    from dashboard import layout, pages

    dash_app = dash.Dash(
        "dashboard",
        server=server,
        use_pages=True,
        pages_folder="",
        assets_folder=str(PROJECT_ROOT / "assets"),
        suppress_callback_exceptions=True,
        title="PAG Reporting",
        update_title=None,
        serve_locally=True,
        compress=False,
    )
    pages.register(dash_app)
    dash_app.layout = layout.shell
    layout.register_callbacks(dash_app)
    return dash_app


def _register_error_handlers(server: Flask) -> None:
    def wants_json() -> bool:
        return guard.wants_json(request.path) or request.is_json

    @server.errorhandler(Forbidden)
    def forbidden(error):
        return guard.forbidden_response(error)

    @server.errorhandler(CSRFError)
    def csrf_error(error):
        message = "the form or request expired or lacks its security token; reload the page and try again"
        if wants_json():
            return jsonify(error=message), 400
        return render_template("error.html", title="Please try again", message=message), 400

    @server.errorhandler(BadRequest)
    def bad_request(error):
        return guard.bad_request_response(error)

    @server.errorhandler(NotFound)
    def not_found(error):
        if wants_json():
            return jsonify(error="not found"), 404
        return render_template("error.html", title="Not found", message="There is no page at this address."), 404

    @server.errorhandler(NoData)
    def no_data(error):
        message = "No data has been loaded yet. An administrator needs to run `flask --app wsgi load-data`."
        if wants_json():
            return jsonify(error=message), 503
        return render_template("error.html", title="No data yet", message=message), 503

    @server.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            if wants_json():
                return jsonify(error=error.description), error.code
            return render_template("error.html", title=error.name, message=error.description), error.code
        if isinstance(error, WarehouseUnavailable) or is_unavailable(error):
            log.error("warehouse unavailable: %s", error)
            message = "The reporting database is not answering. The page will work again as soon as it is back."
            if wants_json():
                return jsonify(error=message), 503, {"Retry-After": "10"}
            return render_template("error.html", title="Temporarily unavailable", message=message), 503
        # Never a stack trace to the browser: log it, answer with a reference-free generic message.
        log.exception("unhandled error on %s", request.path)
        if wants_json():
            return jsonify(error="internal error; it has been logged"), 500
        return render_template("error.html", title="Something went wrong",
                               message="The error has been logged. Please try again."), 500
