"""The HTTP API: `/healthz` for the load balancer and `/api/extracts` for downloads and client scripts."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from dashboard import extracts as X
from dashboard import params as P
from data_access.db import WarehouseUnavailable, read_current_version
from security import audit, policy

bp = Blueprint("api", __name__)

MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.get("/healthz")
def healthz():
    """200 when the warehouse answers (with its data version), 503 otherwise. Public, no patient data."""
    state = current_app.extensions["pag"]
    try:
        version = read_current_version(state.engine)
    except WarehouseUnavailable:
        return jsonify(status="unavailable", error="the warehouse database does not answer"), 503
    except Exception:
        return jsonify(status="unavailable", error="the warehouse cannot be read"), 503
    if version is None:
        return jsonify(status="no-data", data_version=None), 503
    return jsonify(status="ok", data_version=version.token, loaded_at=version.loaded_at.isoformat(),
                   source=version.source)


@bp.get("/api/extracts")
def list_extracts():
    return jsonify(extracts=[
        {"name": rule.name, "title": rule.title, "description": rule.description, "parameters": list(rule.parameters),
         "formats": list(MIME), "url": f"/api/extracts/{rule.name}"}
        for rule in policy.extracts_for(current_user.role)
    ])


@bp.get("/api/openapi.json")
def openapi():
    from dashboard.openapi import spec_for

    return jsonify(spec_for(current_user.role))


@bp.get("/api/extracts/<name>")
def download(name: str):
    args = request.args
    known = {"format", *X.ExtractRequest.__dataclass_fields__}
    unknown = sorted(set(args) - known)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    fmt = P.parse_choice(args.get("format"), "format", tuple(MIME), "csv")
    extract_request = X.ExtractRequest(**{key: args.get(key) for key in X.ExtractRequest.__dataclass_fields__})
    extract = X.build_extract(current_user, name, extract_request)
    settings = current_app.extensions["pag"].settings
    body = X.to_csv(extract) if fmt == "csv" else X.to_xlsx(extract, settings.min_cell_size)
    audit.record("download", status=200, rows=len(extract.frame),
                 params={"extract": name, "format": fmt, **extract.filters})
    dates = f"_{extract.filters['start']}_{extract.filters['end']}" if "start" in extract.filters else ""
    filename = f"{name}{dates}.{fmt}"
    return Response(body, mimetype=MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Data-Version": extract.data_version,
    })


@bp.get("/api/audit")
def download_audit():
    """The audit log as CSV or Excel, with the audit page's filters (admin and senior management)."""
    policy.require_page(current_user, "audit")
    from dashboard.pages.audit import audit_frame

    unknown = sorted(set(request.args) - {"user", "event", "start", "end", "format"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    args = request.args
    fmt = P.parse_choice(args.get("format"), "format", tuple(MIME), "csv")
    frame = audit_frame(args.get("user"), args.get("event"), args.get("start"), args.get("end"))
    if fmt == "csv":
        body = frame.to_csv(index=False).encode("utf-8")
    else:
        body = X.xlsx_of({"audit": frame})
    audit.record("download", status=200, rows=len(frame), params={"extract": "audit-log", "format": fmt,
                                                                   **{k: v for k, v in args.items() if k != "format"}})
    disposition = f'attachment; filename="audit-log.{fmt}"'
    return Response(body, mimetype=MIME[fmt], headers={"Content-Disposition": disposition})
