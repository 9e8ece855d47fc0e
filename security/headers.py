"""Security headers suited to a Dash app, and the CSRF cookie Dash's renderer reads.

The Content-Security-Policy allows only this origin's scripts plus the hashes of Dash's own inline bootstrap
scripts (`Dash.csp_hashes()`); inline styles are allowed because React sets style attributes; map tiles come from
the configured tile host. Browser tests run the app under this policy, so a policy that breaks the app fails them.
"""
from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import generate_csrf

MAP_TILE_HOSTS = "https://*.basemaps.cartocdn.com https://tile.openstreetmap.org https://*.tile.openstreetmap.org"
CSRF_COOKIE = "_csrf_token"


def content_security_policy(script_hashes: list[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])  # csp_hashes() come quoted
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {MAP_TILE_HOSTS}",
        f"connect-src 'self' {MAP_TILE_HOSTS}",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_app(server: Flask, dash_app, production: bool) -> None:
    policy: dict[str, str] = {}

    @server.after_request
    def add_headers(response):
        if "csp" not in policy:
            policy["csp"] = content_security_policy(dash_app.csp_hashes())
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy["csp"])
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            headers.setdefault("Cache-Control", "no-store")
        # Dash's renderer sends this cookie back as the X-CSRFToken header on every callback (double submit).
        if (request.method == "GET" and response.mimetype == "text/html") or request.path == "/login":
            response.set_cookie(CSRF_COOKIE, generate_csrf(), secure=production, samesite="Lax", httponly=False)
        return response
