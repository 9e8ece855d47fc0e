"""The one choke point: a `before_request` hook in front of every route, Dash's callback endpoint included.

- Public: `/login`, `/healthz` and static files (assets, Dash's JavaScript bundles, favicon). Everything else needs
  a valid server-side session: 401 (JSON) for API and Dash requests, a redirect to the login page for browsers.
- Pages: a role may only open the pages the policy grants it (403 otherwise).
- Dash callbacks: every output id carries its page's prefix; a callback runs only if the policy lets the role open
  that page. An output that belongs to no registered page is refused, so a new callback cannot go unprotected.
  Callbacks then build their Scope through the policy, which checks every data parameter (client, specialty).
"""
from __future__ import annotations

from flask import Flask, jsonify, redirect, render_template, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from security.policy import PAGES_BY_PATH, deny, may_call, may_open

PUBLIC_EXACT = {"/login", "/healthz", "/_favicon.ico", "/favicon.ico", "/robots.txt"}
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
ROUTER_OUTPUT = "_pages_content"
JSON_PREFIXES = ("/api/", "/_dash-")


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def wants_json(path: str) -> bool:
    return path.startswith(JSON_PREFIXES)


def init_app(server: Flask, dash_app) -> None:
    callback_path = dash_app.config.requests_pathname_prefix + "_dash-update-component"

    @server.before_request
    def guard():
        path = request.path
        if is_public(path):
            return None
        if not current_user.is_authenticated:
            if wants_json(path) or request.method != "GET":
                return jsonify(error="authentication required: log in first"), 401
            return redirect(f"/login?next={path}")
        if path == callback_path:
            return _authorize_callback(dash_app)
        page = PAGES_BY_PATH.get(path.rstrip("/") or "/")
        if page is not None and not may_open(current_user.role, page.key):
            raise deny("page outside the viewer's role", page=page.key)
        return None


def _check_shape(dash_app, key: str, body: dict) -> None:
    """The request must carry exactly the inputs, state and outputs the callback declares, in order: Dash reads them
    by position, so anything else would reach the callback shifted (or crash it)."""
    spec = dash_app.callback_map[key]
    for part in ("inputs", "state"):
        entries = body.get(part, [])
        declared = spec.get(part, [])
        if not isinstance(entries, list) or len(entries) != len(declared):
            raise BadRequest(f"callback {part} do not match the callback")
        for entry, expected in zip(entries, declared):
            if not isinstance(entry, dict) or entry.get("id") != expected["id"] or \
                    entry.get("property") != expected["property"]:
                raise BadRequest(f"callback {part} do not match the callback")
    outputs = body.get("outputs")
    declared_outputs = _declared_outputs(dash_app, key)
    multi = isinstance(spec["output"], (list, tuple))
    if multi != isinstance(outputs, list):  # Dash sends a list for multi-output callbacks, an object otherwise
        raise BadRequest("callback outputs do not match the callback")
    given = outputs if multi else [outputs]
    if len(given) != len(declared_outputs) or any(
            not isinstance(item, dict) or {"id": item.get("id"), "property": item.get("property")} != expected
            for item, expected in zip(given, declared_outputs)):
        raise BadRequest("callback outputs do not match the callback")


def _declared_outputs(dash_app, key: str) -> list[dict]:
    outputs = dash_app.callback_map[key]["output"]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [{"id": output.component_id, "property": output.component_property} for output in outputs]


def _router_page(dash_app, body: dict):
    """The page the router would render, found the way Dash finds it (its inputs are pathname, then search)."""
    from dash._pages import _path_to_page

    pathname, search = (entry.get("value") for entry in body["inputs"][:2])
    if not isinstance(pathname, str) or not pathname.startswith("/") or not isinstance(search, (str, type(None))):
        raise BadRequest("the page address must be a path")
    page, _variables = _path_to_page(dash_app.strip_relative_path(pathname))
    return PAGES_BY_PATH.get(page.get("path")) if page else None


def _authorize_callback(dash_app):
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise BadRequest("malformed callback request")
    if body["output"] not in dash_app.callback_map:
        raise BadRequest("unknown callback")
    # The ids the callback writes, from the server's own registry: Dash dispatches on the `output` key, so that key
    # (never the client-supplied `outputs` list) decides which page's rules apply. Rights first, shape second.
    ids = [item["id"] for item in _declared_outputs(dash_app, body["output"])]
    if ROUTER_OUTPUT not in ids and not may_call(current_user.role, ids):
        raise deny("callback outside the viewer's role", output=body["output"][:200])
    _check_shape(dash_app, body["output"], body)
    if ROUTER_OUTPUT in ids:
        page = _router_page(dash_app, body)
        if page is not None and not may_open(current_user.role, page.key):
            raise deny("page outside the viewer's role", page=page.key, via="router")
    return None


def forbidden_response(error):
    """403 as JSON for API and Dash requests, as a friendly page for browsers."""
    message = getattr(error, "description", None) or "You do not have access to this."
    if wants_json(request.path):
        return jsonify(error=f"forbidden: {message}"), 403
    return render_template("forbidden.html", message=message), 403


def bad_request_response(error):
    message = getattr(error, "description", "bad request")
    if wants_json(request.path) or request.is_json:
        return jsonify(error=message), 400
    return render_template("error.html", title="Bad request", message=message), 400

