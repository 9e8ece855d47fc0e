"""Access to the per-app state (settings, engine, cache, throttle) from inside a request."""
from __future__ import annotations

from flask import current_app, has_request_context, request


def app_state():
    return current_app.extensions["pag"]


def client_address() -> str | None:
    """The caller's address; behind the load balancer ProxyFix has already applied X-Forwarded-For."""
    return request.remote_addr if has_request_context() else None
