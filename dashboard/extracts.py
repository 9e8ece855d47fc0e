"""Extracts: the data behind each chart as CSV or Excel, built through the same policy and queries as the charts.

`build_extract` is used by the API (`/api/extracts/<name>`) and therefore by every download button on the pages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from flask import current_app
from werkzeug.exceptions import BadRequest, NotFound, UnprocessableEntity

from dashboard import params as P
from dashboard import xlsx
from data_access import catalog, client_reports, management
from security import policy
from security.scope import Audience, Scope


@dataclass
class ExtractRequest:
    start: str | None = None
    end: str | None = None
    specialty: str | None = None
    client: str | None = None
    top: str | int | None = None
    area_level: str | None = None
    radius_m: str | int | None = None
    min_cluster_size: str | int | None = None


@dataclass
class Extract:
    name: str
    title: str
    frame: pd.DataFrame
    filters: dict
    scope: Scope
    data_version: str
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def suppressed_rows(self) -> int:
        return int(self.frame["suppressed"].sum()) if "suppressed" in self.frame else 0


def _state():
    return current_app.extensions["pag"]


def resolve_scope(account, rule: policy.ExtractRule, request: ExtractRequest) -> Scope:
    wh = _state().warehouse
    if rule.audience is Audience.CLIENT:
        return policy.client_scope(account, client=P.parse_text(request.client, "client"),
                                   specialty=P.parse_text(request.specialty, "specialty"),
                                   known_specialties=catalog.all_specialties(wh))
    if request.client or request.specialty:
        raise BadRequest("client and specialty do not apply to this extract")
    return policy.internal_scope(account, catalog.payer_keys(wh))


def build_extract(account, name: str, request: ExtractRequest) -> Extract:
    rule = policy.EXTRACTS_BY_NAME.get(name)
    if rule is None:
        raise NotFound(f"no extract named {name!r}")
    if not policy.may_download(account.role, name):
        raise policy.deny("extract outside the viewer's role", extract=name)
    unused = [key for key, value in vars(request).items() if value not in (None, "") and key not in rule.parameters]
    if unused:
        raise BadRequest(f"parameter(s) {', '.join(unused)} do not apply to the {name} extract")
    state = _state()
    wh = state.warehouse
    version = wh.version()
    scope = resolve_scope(account, rule, request)
    window = P.parse_window(request.start, request.end, version.min_date, version.max_date)
    filters = {"start": window.start.isoformat(), "end": window.end.isoformat()}
    if rule.audience is Audience.CLIENT:
        filters.update(client=scope.payer, specialty=scope.specialty or "all visible")
    frame = BUILDERS[name](wh, scope, window, request, filters, state.settings)
    return Extract(name, rule.title, frame, filters, scope, version.token)


def _procedure_summary(wh, scope, window, request, filters, settings):
    return client_reports.procedure_summary(wh, scope, window).frame()


def _procedure_rows(wh, scope, window, request, filters, settings):
    return client_reports.procedure_rows(wh, scope, window, date_precision=settings.client_date_precision)


def _top(request, filters) -> int:
    top = P.parse_int(request.top, "top", 1, P.TOP_MAX, 10)
    filters["top"] = top
    return top


def _shared(wh, scope, window, request, filters, settings):
    return client_reports.shared_procedures(wh, scope, window, top=_top(request, filters))["by_code"].frame()


def _shared_distribution(wh, scope, window, request, filters, settings):
    return client_reports.shared_procedures(wh, scope, window, top=_top(request, filters))["distribution"].frame()


def _members(wh, scope, window, request, filters, settings):
    return client_reports.members(wh, scope, window)


def _patients_helped(wh, scope, window, request, filters, settings):
    return client_reports.helped_by_month(wh, scope, window).frame()


def _area_level(request, filters) -> str:
    level = P.parse_choice(request.area_level, "area_level", P.AREA_LEVELS, "city")
    filters["area_level"] = level
    return level


def _patients_by_area(wh, scope, window, request, filters, settings):
    return management.patients_by_area(wh, scope, window, area_level=_area_level(request, filters))


def _area_procedures(wh, scope, window, request, filters, settings):
    result = management.area_procedures(wh, scope, window, area_level=_area_level(request, filters))
    if result["stats"]:
        filters.update({f"chi-square {key}": value for key, value in result["stats"].items()})
    return result["table"]


def proximity_parameters(request) -> tuple[int, int]:
    radius = P.parse_int(request.radius_m, "radius_m", *P.RADIUS_RANGE, 500)
    size = P.parse_int(request.min_cluster_size, "min_cluster_size", *P.CLUSTER_SIZE_RANGE, 5)
    return radius, size


def _proximity_clusters(wh, scope, window, request, filters, settings):
    radius, size = proximity_parameters(request)
    filters.pop("start"), filters.pop("end")  # home addresses have no dates
    filters.update(radius_m=radius, min_cluster_size=size)
    return management.proximity(wh, scope, radius_m=radius, min_cluster_size=size)["clusters"]


BUILDERS = {
    "procedure-summary": _procedure_summary,
    "procedure-rows": _procedure_rows,
    "shared-procedures": _shared,
    "shared-procedures-distribution": _shared_distribution,
    "members": _members,
    "patients-helped": _patients_helped,
    "patients-by-area": _patients_by_area,
    "area-procedures": _area_procedures,
    "proximity-clusters": _proximity_clusters,
}


# ---------------------------------------------------------------- file formats


def to_csv(extract: Extract) -> bytes:
    return extract.frame.to_csv(index=False).encode("utf-8")


def about_rows(extract: Extract, min_cell_size: int) -> list[tuple[str, str]]:
    rows = [
        ("extract", extract.name),
        ("title", extract.title),
        ("generated at (UTC)", extract.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("data version", extract.data_version),
        ("viewer scope", extract.scope.describe()),
        ("rows", str(len(extract.frame))),
    ]
    rows += [(f"filter: {key}", str(value)) for key, value in extract.filters.items()]
    if "suppressed" in extract.frame:
        rows.append(("suppression", f"patient counts between 1 and {min_cell_size - 1} that include patients outside "
                                    f"your row-level access are left empty with suppressed = TRUE, and so are "
                                    f"complementary cells that would let them be recomputed "
                                    f"({extract.suppressed_rows} suppressed)"))
    if extract.scope.audience is Audience.CLIENT:
        rows.append(("privacy", "patients appear under a pseudonymous key for your organisation only; no names, "
                                "addresses, exact birth dates, patient ids or coordinates"))
    return rows


def to_xlsx(extract: Extract, min_cell_size: int) -> bytes:
    about = pd.DataFrame(about_rows(extract, min_cell_size), columns=["item", "value"])
    return xlsx_of({"data": extract.frame, "about": about})


def xlsx_of(sheets: dict[str, pd.DataFrame]) -> bytes:
    """The sheets as a workbook; an extract longer than an Excel sheet is refused with a message that says so
    (422: the request is valid, the format cannot carry the answer) instead of failing half-way."""
    try:
        return xlsx.workbook(sheets)
    except xlsx.TooManyRows as error:
        raise UnprocessableEntity(f"{error}: download this extract as CSV (format=csv) or narrow its filters") \
            from error
