"""The OpenAPI 3.1 description of the extract API, as this viewer may use it (only their extracts are listed)."""
from __future__ import annotations

from dashboard import params as P
from security import policy

PARAMETERS = {
    "start": {"type": "string", "format": "date", "description": "First service date, YYYY-MM-DD (default: the "
                                                                   "first date in the data)"},
    "end": {"type": "string", "format": "date", "description": "Last service date, inclusive (default: the last "
                                                                 "date in the data)"},
    "specialty": {"type": "string", "description": "A specialty you may see (default: all of them)"},
    "client": {"type": "string", "description": "Senior management: the client to preview (client accounts: "
                                                 "their own payer only)"},
    "top": {"type": "integer", "minimum": 1, "maximum": P.TOP_MAX, "default": 10,
            "description": "N of the client's top procedures"},
    "area_level": {"type": "string", "enum": list(P.AREA_LEVELS), "default": "city"},
    "radius_m": {"type": "integer", "minimum": P.RADIUS_RANGE[0], "maximum": P.RADIUS_RANGE[1], "default": 500},
    "min_cluster_size": {"type": "integer", "minimum": P.CLUSTER_SIZE_RANGE[0],
                         "maximum": P.CLUSTER_SIZE_RANGE[1], "default": 5},
}
ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _error(description: str) -> dict:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def spec_for(role) -> dict:
    paths = {
        "/api/extracts": {"get": {
            "operationId": "listExtracts", "summary": "The extracts you may download",
            "responses": {"200": {"description": "List of extracts", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"extracts": {"type": "array", "items": {"type": "object"}}}}}}},
                "401": _error("Not logged in")},
        }},
    }
    for rule in policy.extracts_for(role):
        parameters = [{"name": "format", "in": "query", "required": False,
                       "schema": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"}}]
        parameters += [{"name": name, "in": "query", "required": False, "schema": PARAMETERS[name]}
                       for name in rule.parameters]
        paths[f"/api/extracts/{rule.name}"] = {"get": {
            "operationId": "extract_" + rule.name.replace("-", "_"), "summary": rule.title,
            "description": rule.description, "parameters": parameters,
            "responses": {
                "200": {"description": "The extract", "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}}}},
                "400": _error("A parameter is invalid; the message names it"),
                "401": _error("Not logged in"),
                "403": _error("Outside your scope (logged in the audit log)"),
                "503": _error("The warehouse is unavailable"),
            },
        }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "PAG Reporting extract API", "version": "1.0.0",
                 "description": "Authenticate with the session cookie of a login (POST /login). Every answer is "
                                "limited to your scope; downloads are audit-logged."},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR},
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "pag_session"}}},
        "security": [{"session": []}],
    }
