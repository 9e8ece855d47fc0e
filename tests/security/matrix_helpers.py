"""Building blocks of the negative-test matrix (tests/security/test_matrix.py, issue 7).

- `declared_maps()`: the app's own Flask routes and Dash callback map, read from a bare app at collection time, so
  that every route and every callback is a parametrized case without anyone listing them.
- `GENERATORS`: per input kind (matched on the component id and property a callback declares), an honest value for
  a caller and the forged variants with the statuses they may get. A callback input that no generator matches makes
  `test_every_callback_input_has_a_generator` fail with a message naming it.
- `callback_cases` / `route_cases`: the cases of one callback or route for one caller.
- `scope_problems`: what a response body (JSON, HTML, CSV or Excel) must never contain for a caller.

Expectations (pages, extracts per role) are written out here rather than read from security/policy.py, so that a
policy change that widens access fails the matrix.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from tests import fixture_data
from tests.conftest import ACCOUNTS

# ---------------------------------------------------------------------------------------------------- callers

PAYER_NAMES = tuple(row[1] for row in fixture_data.PAYERS)  # NO_INSURANCE included
PATIENT_IDS = tuple(row[0] for row in fixture_data.PATIENTS)
PATIENT_WORDS = tuple(value for row in fixture_data.PATIENTS for value in (row[2], row[3])) + ("Example Street",)
PROCEDURE_MARKERS = tuple(sorted({code for _, (code, _, _) in fixture_data.PROCEDURES}
                                 | {"Colonoscopy", "Chemotherapy", "Renal dialysis", "Depression screening",
                                    "Hospice care"}))
HOSPICE_CODES = ("385763009", "58000006", "305336008")
HOSPICE_ALLOWED_PHRASE = "hospice hidden"
PATIENT_ID_RE = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(PATIENT_IDS) + r")(?![A-Za-z0-9])")
TRACEBACK_RE = re.compile(r'Traceback|File \\?"/')  # also as escaped inside JSON

CLIENT, SENIOR, EMPLOYEE, ADMIN = "client", "senior_management", "employee", "admin"

# Which pages each role opens (DESIGN §1 and §3), written out. Component ids carry their page's key as prefix.
PAGE_ACCESS = {
    "/": {CLIENT, SENIOR, EMPLOYEE, ADMIN},
    "/client": {CLIENT, SENIOR},
    "/team": {CLIENT, SENIOR},
    "/management": {SENIOR},
    "/extracts": {EMPLOYEE, SENIOR},
    "/admin/audit": {ADMIN, SENIOR},
}
PAGE_KEYS = {"/": "home", "/client": "client", "/team": "team", "/management": "management", "/extracts": "extracts",
             "/admin/audit": "audit"}
ROLE_PAGES = {role: {PAGE_KEYS[path] for path, roles in PAGE_ACCESS.items() if role in roles} | {"shell"}
              for role in (CLIENT, SENIOR, EMPLOYEE, ADMIN)}
# DESIGN §5 extract table, written out.
CLIENT_EXTRACTS = {"procedure-summary", "procedure-rows", "shared-procedures", "shared-procedures-distribution",
                   "members", "patients-helped"}
INTERNAL_EXTRACTS = {"patients-by-area", "area-procedures", "proximity-clusters"}
EXTRACT_ACCESS = {**{name: {CLIENT, SENIOR} for name in CLIENT_EXTRACTS},
                  **{name: {SENIOR, EMPLOYEE} for name in INTERNAL_EXTRACTS}}
DATA_PAGES = {"client", "team", "management", "extracts"}


@dataclass(frozen=True)
class Caller:
    username: str
    role: str
    payer: str | None
    specialty: str | None

    @property
    def is_client(self) -> bool:
        return self.role == CLIENT

    @property
    def hides_hospice(self) -> bool:
        return self.is_client and self.specialty not in (None, "Hospice")


CALLERS = {name: Caller(name, *values) for name, values in ACCOUNTS.items()}

OK = frozenset({200})
BAD = frozenset({400})
DENIED = frozenset({403})
OK_OR_BAD = frozenset({200, 400})
SAFE = frozenset({200, 400, 403})


# ---------------------------------------------------------------------------------------------------- the app's maps


@dataclass(frozen=True)
class Input:
    id: Any
    property: str

    @property
    def key(self) -> str:
        return f"{id_text(self.id)}.{self.property}"


@dataclass(frozen=True)
class CallbackSpec:
    key: str  # the callback map key ("..a.children...b.figure..")
    name: str  # short, for test ids: the first output ("client-scope.children")
    outputs: tuple[tuple[str, str], ...]
    inputs: tuple[Input, ...]
    state: tuple[Input, ...]

    @property
    def output_ids(self) -> tuple[str, ...]:
        return tuple(component for component, _ in self.outputs)

    @property
    def is_router(self) -> bool:
        return "_pages_content" in self.output_ids


def id_text(component_id) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True)
    return str(component_id)


def page_of(component_id) -> str | None:
    if isinstance(component_id, dict):
        component_id = component_id.get("type", "")
    if not isinstance(component_id, str) or "-" not in component_id:
        return None
    return component_id.split("-", 1)[0]


def callback_specs(dash_app) -> list[CallbackSpec]:
    specs = []
    for key, spec in dash_app.callback_map.items():
        declared = spec["output"] if isinstance(spec["output"], (list, tuple)) else [spec["output"]]
        outputs = tuple((item.component_id, item.component_property) for item in declared)
        specs.append(CallbackSpec(
            key=key, name=f"{id_text(outputs[0][0])}.{outputs[0][1]}", outputs=outputs,
            inputs=tuple(Input(item["id"], item["property"]) for item in spec["inputs"]),
            state=tuple(Input(item["id"], item["property"]) for item in spec["state"]),
        ))
    return specs


def callback_permitted(role: str, spec: CallbackSpec) -> bool:
    """Expected by the written-out page table: every output on a page the role opens (shell: everyone)."""
    pages = {page_of(component) for component in spec.output_ids}
    return bool(pages) and None not in pages and pages <= ROLE_PAGES[role]


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    path: str  # concrete
    public: bool


# Concrete paths for rules with variables. A new rule with a variable and no entry here fails
# `test_every_route_has_a_concrete_form`.
CONCRETE = {
    "/assets/<path:filename>": ["/assets/app.css"],
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>":
        ["/_dash-component-suites/dash/dash-renderer/build/dash_renderer.min.js"],
    "/api/extracts/<name>": [f"/api/extracts/{name}" for name in sorted(EXTRACT_ACCESS)]
    + ["/api/extracts/no-such-extract"],
    "/<path:path>": [path for path in PAGE_ACCESS if path != "/"] + ["/no-such-page", "/admin", "/client/"],
}
PUBLIC_PATHS = {"/login", "/healthz", "/_favicon.ico"}
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")


def routes(server) -> tuple[list[Route], list[str]]:
    """Every (method, concrete path) of the Flask url_map; and the rules that have no concrete form."""
    found, missing = [], []
    for rule in sorted(server.url_map.iter_rules(), key=lambda item: item.rule):
        if "<" in rule.rule:
            paths = CONCRETE.get(rule.rule)
            if paths is None:
                missing.append(rule.rule)
                continue
        else:
            paths = [rule.rule]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path in paths:
                public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
                found.append(Route(method, rule.rule, path, public))
    return found, missing


@dataclass(frozen=True)
class DeclaredMaps:
    callbacks: tuple[CallbackSpec, ...]
    routes: tuple[Route, ...]
    unconcrete_rules: tuple[str, ...]
    client_payers: tuple[str, ...]


@cache
def declared_maps() -> DeclaredMaps:
    """The maps of a bare app (no data needed), built once at collection time. One request lets Dash add its pages
    router callback, as it does on a live server's first request."""
    from dashboard.app import create_app
    from tests.conftest import make_settings

    directory = Path(tempfile.mkdtemp(prefix="matrix-maps-"))
    try:
        server = create_app(make_settings(f"sqlite:///{directory / 'maps.db'}"))
        server.test_client().get("/healthz")
        found, missing = routes(server)
        maps = DeclaredMaps(tuple(callback_specs(server.extensions["dash"])), tuple(found), tuple(missing),
                            tuple(server.extensions["pag"].settings.client_payers))
        server.extensions["pag"].engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return maps


# ---------------------------------------------------------------------------------------------------- generators


@dataclass(frozen=True)
class Variant:
    label: str
    value: Any
    expect: frozenset


@dataclass(frozen=True)
class Kind:
    """One kind of callback input: its honest value for a caller and its forged variants."""

    name: str
    honest: Callable[[Caller, DeclaredMaps], Any]
    variants: Callable[[Caller, DeclaredMaps], list[Variant]]


TODAY = date.today().isoformat()
WRONG_TYPES = [Variant("list", ["x"], BAD), Variant("dict", {"x": 1}, BAD), Variant("number", 7, BAD)]


def _payer_honest(caller, maps):
    return caller.payer if caller.is_client else maps.client_payers[0]


def _payer_variants(caller, maps):
    own = _payer_honest(caller, maps)
    found = []
    for name in PAYER_NAMES:
        if name == own:
            continue
        if caller.is_client:
            expect = DENIED  # DESIGN §3.1: outside the scope -> 403
        else:
            expect = OK if name in maps.client_payers else DENIED
        found.append(Variant(f"payer:{name}", name, expect))
    found += [
        Variant("payer:lowercase-own", own.lower(), DENIED),
        Variant("payer:empty", "", OK),
        Variant("payer:null", None, OK),
        Variant("payer:list-other", [name for name in maps.client_payers if name != own][:1], BAD),
        Variant("payer:dict", {"payer": own}, BAD),
        Variant("payer:number", 1, BAD),
        Variant("payer:long", "U" * 5000, BAD),
    ]
    return found


def _specialty_honest(caller, maps):
    return caller.specialty or ""


def _specialty_variants(caller, maps):
    return [
        Variant("specialty:Hospice", "Hospice", DENIED if caller.hides_hospice else OK),
        Variant("specialty:Oncology", "Oncology", OK),
        Variant("specialty:all", "all", OK),
        Variant("specialty:unknown", "Astrology", BAD),
        Variant("specialty:sql", "Oncology' OR '1'='1", BAD),
        Variant("specialty:list-hospice", ["Hospice"], BAD if not caller.hides_hospice else frozenset({400, 403})),
        Variant("specialty:dict", {"specialty": "Hospice"}, BAD if not caller.hides_hospice else
                frozenset({400, 403})),
        Variant("specialty:number", 385763009, BAD),
    ]


def _start_variants(caller, maps):
    return [
        Variant("date:far-past", "1800-01-01", OK_OR_BAD),
        Variant("date:far-future", "9999-12-31", OK_OR_BAD),
        Variant("date:impossible", "2020-02-30", BAD),
        Variant("date:words", "last tuesday", BAD),
        Variant("date:datetime", "2020-01-01T00:00:00", OK_OR_BAD),
        Variant("date:empty", "", OK),
        Variant("date:long", "2" * 5000, BAD),
        Variant("date:list", ["2020-01-01"], BAD),
        Variant("date:dict", {"date": "2020-01-01"}, BAD),
        Variant("date:number", 20200101, BAD),
    ]


def _end_variants(caller, maps):
    return [
        Variant("date:far-future", "9999-12-31", OK_OR_BAD),
        Variant("date:impossible", "2021-13-01", BAD),
        Variant("date:list", ["2021-12-31"], BAD),
        Variant("date:number", 20211231, BAD),
    ]


def _number_variants(low: int, high: int, honest: int):
    def variants(caller, maps):
        return [
            Variant("n:max", high, OK), Variant("n:min", low, OK), Variant("n:above-max", high + 1, BAD),
            Variant("n:huge", 10 ** 9, BAD), Variant("n:negative", -1, BAD), Variant("n:zero", 0, BAD),
            Variant("n:text-number", str(honest), OK_OR_BAD), Variant("n:text", "ten", BAD),
            Variant("n:fraction", 2.5, BAD), Variant("n:bool", True, BAD),
            Variant("n:infinity", float("inf"), BAD), Variant("n:nan", float("nan"), BAD),
            Variant("n:list", [honest], BAD), Variant("n:dict", {"n": honest}, BAD), Variant("n:null", None, OK),
        ]
    return variants


def _level_variants(caller, maps):
    return [Variant("level:county", "county", OK), Variant("level:zip", "zip", OK),
            Variant("level:unknown", "state", BAD), Variant("level:empty", "", OK),
            Variant("level:list", ["city"], BAD), Variant("level:dict", {"level": "city"}, BAD),
            Variant("level:number", 3, BAD)]


def _audit_text_variants(real: str):
    def variants(caller, maps):
        return [Variant("text:real", real, OK), Variant("text:sql", "' OR 1=1 --", OK_OR_BAD),
                Variant("text:wildcard", "%", OK_OR_BAD), Variant("text:long", "a" * 5000, BAD),
                *[Variant(f"text:{item.label}", item.value, item.expect) for item in WRONG_TYPES]]
    return variants


def _counter_variants(caller, maps):
    return [Variant("counter:negative", -1, OK_OR_BAD), Variant("counter:huge", 10 ** 18, OK_OR_BAD),
            Variant("counter:text", "x", OK_OR_BAD), Variant("counter:list", [1], OK_OR_BAD),
            Variant("counter:dict", {"n": 1}, OK_OR_BAD)]


def _pathname_variants(caller, maps):
    found = [Variant(f"page:{path}", path, OK if caller.role in roles else DENIED)
             for path, roles in PAGE_ACCESS.items()]
    found += [
        Variant("path:unknown", "/no-such-page", OK),
        Variant("path:double-slash", "//management", SAFE),
        Variant("path:trailing-slash", "/management/", SAFE),
        Variant("path:uppercase", "/MANAGEMENT", SAFE),
        Variant("path:leading-space", " /management", SAFE),
        Variant("path:dot-segment", "/client/../management", SAFE),
        Variant("path:encoded", "/%6Danagement", SAFE),
        Variant("path:query", "/admin/audit?x=1", SAFE),
        Variant("path:null", None, SAFE),
        Variant("path:list", ["/management"], frozenset({400, 403})),
        Variant("path:dict", {"pathname": "/management"}, frozenset({400, 403})),
        Variant("path:number", 5, frozenset({400, 403})),
    ]
    return found


def _search_variants(caller, maps):
    return [Variant("search:forged-scope", "?client=Aetna&specialty=Hospice&payer=Medicare", SAFE),
            Variant("search:list", ["?client=Aetna"], frozenset({400})),
            Variant("search:number", 5, frozenset({400}))]


def _store_variants(caller, maps):
    return [Variant("store:forged", {"client": "Aetna", "specialty": "Hospice"}, SAFE),
            Variant("store:text", "x", SAFE)]


@dataclass(frozen=True)
class Generator:
    description: str
    matches: Callable[[Input], bool]
    kind: Kind


def _suffix(suffix: str, prop: str = "value") -> Callable[[Input], bool]:
    return lambda item: isinstance(item.id, str) and item.id.endswith(suffix) and item.property == prop


GENERATORS: tuple[Generator, ...] = (
    Generator("property start_date -> dates", lambda item: item.property == "start_date",
              Kind("start-date", lambda c, m: "2020-01-01", _start_variants)),
    Generator("property end_date -> dates", lambda item: item.property == "end_date",
              Kind("end-date", lambda c, m: TODAY, _end_variants)),
    Generator("*-payer.value -> payer names", _suffix("-payer"), Kind("payer", _payer_honest, _payer_variants)),
    Generator("*-specialty.value -> specialties", _suffix("-specialty"),
              Kind("specialty", _specialty_honest, _specialty_variants)),
    Generator("*-top.value -> N (1..50)", _suffix("-top"), Kind("top", lambda c, m: 10, _number_variants(1, 50, 10))),
    Generator("*-radius.value -> metres (100..5000)", _suffix("-radius"),
              Kind("radius", lambda c, m: 500, _number_variants(100, 5000, 500))),
    Generator("*-min-size.value -> cluster size (2..50)", _suffix("-min-size"),
              Kind("min-size", lambda c, m: 5, _number_variants(2, 50, 5))),
    Generator("*-level.value -> county/city/zip", _suffix("-level"),
              Kind("level", lambda c, m: "city", _level_variants)),
    Generator("audit-user.value -> user names", _suffix("audit-user"),
              Kind("audit-user", lambda c, m: None, _audit_text_variants("senior"))),
    Generator("audit-event.value -> event names", _suffix("audit-event"),
              Kind("audit-event", lambda c, m: None, _audit_text_variants("denied"))),
    Generator("*.n_clicks / *.n_intervals -> counters", lambda item: item.property in ("n_clicks", "n_intervals"),
              Kind("counter", lambda c, m: 1, _counter_variants)),
    Generator("_pages_location.pathname -> page paths",
              lambda item: item.id == "_pages_location" and item.property == "pathname",
              Kind("pathname", lambda c, m: "/", _pathname_variants)),
    Generator("_pages_location.search -> query strings",
              lambda item: item.id == "_pages_location" and item.property == "search",
              Kind("search", lambda c, m: "", _search_variants)),
    Generator("*.data of a dcc.Store -> store contents", lambda item: item.property == "data",
              Kind("store", lambda c, m: {}, _store_variants)),
)


def generator_for(item: Input) -> Generator | None:
    return next((generator for generator in GENERATORS if generator.matches(item)), None)


def uncovered_inputs(specs) -> list[str]:
    return [f"callback {spec.name!r} ({spec.key}): input {item.key} has no generator"
            for spec in specs for item in (*spec.inputs, *spec.state) if generator_for(item) is None]


# ---------------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    label: str
    values: dict  # "id.property" -> value
    expect: frozenset
    body_edit: str | None = None  # how the request body is malformed (see `edit_body`)
    honest: bool = False
    requested_payer: Any = None
    requested_specialty: Any = None


BODY_EDITS = {
    # label: (expected when the callback may run, description)
    "missing-last-input": (OK_OR_BAD, "the last input entry is left out"),
    "missing-all-inputs": (OK_OR_BAD, "inputs is an empty list"),
    "extra-unknown-input": (OK_OR_BAD, "an input entry the callback does not declare is appended"),
    "inputs-reversed": (SAFE, "the input entries are sent in reverse order"),
    "inputs-not-a-list": (BAD, "inputs is an object"),
    "input-entries-not-objects": (BAD, "the input entries are numbers"),
    "input-values-missing": (OK_OR_BAD, "the entries have no value key"),
    "outputs-truncated": (OK_OR_BAD, "the outputs list names only the first output"),
}


def edit_body(body: dict, edit: str | None) -> dict:
    body = dict(body)
    inputs = list(body["inputs"])
    if edit is None:
        return body
    if edit == "missing-last-input":
        body["inputs"] = inputs[:-1]
    elif edit == "missing-all-inputs":
        body["inputs"] = []
    elif edit == "extra-unknown-input":
        body["inputs"] = inputs + [{"id": "matrix-unknown", "property": "value", "value": "Aetna"}]
    elif edit == "inputs-reversed":
        body["inputs"] = inputs[::-1]
    elif edit == "inputs-not-a-list":
        body["inputs"] = {"id": "x", "property": "value", "value": 1}
    elif edit == "input-entries-not-objects":
        body["inputs"] = list(range(len(inputs)))
    elif edit == "input-values-missing":
        body["inputs"] = [{key: value for key, value in item.items() if key != "value"} for item in inputs]
    elif edit == "outputs-truncated":
        outputs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
        body["outputs"] = outputs[:1]
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(edit)
    return body


def callback_cases(spec: CallbackSpec, caller: Caller, maps: DeclaredMaps) -> list[Case]:
    """Honest values for every input, then each input forged in turn, then malformed bodies."""
    items = (*spec.inputs, *spec.state)
    honest = {}
    for item in items:
        generator = generator_for(item)
        if generator is None:
            return []  # reported by test_every_callback_input_has_a_generator
        honest[item.key] = generator.kind.honest(caller, maps)
    payer_key = next((item.key for item in items if _suffix("-payer")(item)), None)
    specialty_key = next((item.key for item in items if _suffix("-specialty")(item)), None)
    cases = []
    if not spec.is_router:
        cases.append(Case("honest", honest, OK, honest=True, requested_payer=honest.get(payer_key),
                          requested_specialty=honest.get(specialty_key)))
    for item in items:
        for variant in generator_for(item).kind.variants(caller, maps):
            values = {**honest, item.key: variant.value}
            cases.append(Case(f"{item.key}={variant.label}", values, variant.expect,
                              honest=variant.label.startswith("page:"), requested_payer=values.get(payer_key),
                              requested_specialty=values.get(specialty_key)))
    starts = [item for item in items if item.property == "start_date"]
    for start in starts:
        end = f"{id_text(start.id)}.end_date"
        if end in honest:
            cases.append(Case(f"{id_text(start.id)}.dates=reversed", {**honest, start.key: "2021-12-31",
                                                                       end: "2020-01-01"}, OK_OR_BAD))
            cases.append(Case(f"{id_text(start.id)}.dates=empty-window", {**honest, start.key: "2035-01-01",
                                                                           end: "2035-12-31"}, OK))
    base = cases[0].values if cases else honest
    if spec.is_router:
        base = {**honest, "_pages_location.pathname": "/client"}
    for edit, (expect, _) in BODY_EDITS.items():
        cases.append(Case(f"body={edit}", base, expect, body_edit=edit, requested_payer=base.get(payer_key),
                          requested_specialty=base.get(specialty_key)))
    if not callback_permitted(caller.role, spec) and not spec.is_router:
        cases = [replace(case, expect=DENIED) for case in cases]
    return cases


def callback_request_body(spec: CallbackSpec, values: dict, edit: str | None) -> dict:
    outputs = [{"id": component, "property": prop} for component, prop in spec.outputs]
    body = {
        "output": spec.key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{"id": item.id, "property": item.property, "value": values.get(item.key)} for item in spec.inputs],
        "state": [{"id": item.id, "property": item.property, "value": values.get(item.key)} for item in spec.state],
        "changedPropIds": [spec.inputs[0].key] if spec.inputs else [],
    }
    return edit_body(body, edit)


# ---------------------------------------------------------------------------------------------------- route cases


@dataclass(frozen=True)
class RouteCase:
    label: str
    query: dict
    expect: frozenset
    honest: bool = False


EXTRACT_PARAM_VARIANTS = {
    # parameter (as in security/policy.py EXTRACTS[].parameters) -> forged values
    "client": "payer",
    "specialty": [("Hospice", "hospice"), ("Astrology", BAD)],
    "start": [("1800-01-01", OK_OR_BAD), ("2020-02-30", BAD), ("yesterday", BAD)],
    "end": [("9999-12-31", OK_OR_BAD)],
    "top": [(str(10 ** 9), BAD), ("-1", BAD), ("inf", BAD)],
    "area_level": [("state", BAD)],
    "radius_m": [("-1", BAD), (str(10 ** 9), BAD), ("inf", BAD)],
    "min_cluster_size": [("0", BAD), ("1e9", BAD)],
}


def _route_base_expect(route: Route, caller: Caller) -> frozenset:
    path, method, role = route.path, route.method, caller.role
    if route.rule == "/api/extracts/<name>":
        name = path.rsplit("/", 1)[1]
        if name not in EXTRACT_ACCESS:
            return frozenset({403, 404})
        return OK if role in EXTRACT_ACCESS[name] else DENIED
    if path in PAGE_ACCESS and method == "GET":
        return OK if role in PAGE_ACCESS[path] else DENIED
    fixed = {
        ("GET", "/login"): frozenset({302}),
        ("POST", "/login"): BAD,  # no CSRF token
        ("POST", "/logout"): BAD,  # no CSRF token: the shared session must survive
        ("GET", "/logout"): frozenset({405}),
        ("GET", "/api/audit"): OK if role in PAGE_ACCESS["/admin/audit"] else DENIED,
        ("POST", "/_dash-update-component"): BAD,  # body {}
        ("GET", "/client/"): OK if role in PAGE_ACCESS["/client"] else DENIED,
    }
    return fixed.get((method, path), frozenset({200, 404}))


def route_cases(route: Route, caller: Caller, maps: DeclaredMaps) -> list[RouteCase]:
    base = _route_base_expect(route, caller)
    cases = [RouteCase("honest", {}, base, honest=True)]
    if route.rule != "/api/extracts/<name>" or route.path.rsplit("/", 1)[1] not in EXTRACT_ACCESS:
        if route.path == "/api/audit" and base == OK:
            cases += [RouteCase("user=long", {"user": "a" * 5000}, BAD),
                      RouteCase("start=impossible", {"start": "2020-02-30"}, BAD),
                      RouteCase("end=far-future", {"end": "9999-12-31"}, OK_OR_BAD),
                      RouteCase("format=pdf", {"format": "pdf"}, BAD)]
        return cases
    from security.policy import EXTRACTS_BY_NAME

    name = route.path.rsplit("/", 1)[1]
    rule = EXTRACTS_BY_NAME.get(name)
    allowed = base == OK

    def expect(value: frozenset) -> frozenset:
        return value if allowed else frozenset({400, 403}) if value == BAD else DENIED

    cases.append(RouteCase("format=xlsx", {"format": "xlsx"}, expect(OK), honest=True))
    cases.append(RouteCase("format=pdf", {"format": "pdf"}, expect(BAD)))
    cases.append(RouteCase("unknown-parameter", {"payer": "Aetna"}, expect(BAD)))
    for parameter in (rule.parameters if rule else ()):
        variants = EXTRACT_PARAM_VARIANTS.get(parameter, [])
        if variants == "payer":
            own = _payer_honest(caller, maps)
            variants = [(name_, DENIED if caller.is_client or name_ not in maps.client_payers else OK)
                        for name_ in PAYER_NAMES if name_ != own]
        for value, wanted in variants:
            if wanted == "hospice":
                wanted = DENIED if caller.hides_hospice else OK
            cases.append(RouteCase(f"{parameter}={value}", {parameter: value}, expect(wanted)))
    return cases


# ---------------------------------------------------------------------------------------------------- scans


def response_text(response) -> str:
    """Everything a response carries, as text: Excel files unzipped, JSON also decoded (no \\u escapes)."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    text = data.decode("utf-8", "replace")
    if response.is_json:
        try:
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return text


def component_ids(node, found=None) -> set:
    found = set() if found is None else found
    if isinstance(node, dict):
        if "id" in node and isinstance(node["id"], (str, dict)):
            found.add(id_text(node["id"]))
        for value in node.values():
            component_ids(value, found)
    elif isinstance(node, list):
        for value in node:
            component_ids(value, found)
    return found


def _around(text: str, word: str, width: int = 70) -> str:
    at = text.find(word)
    return text[max(0, at - width):at + len(word) + width].replace("\n", " ") if at >= 0 else ""


def previews_without_hospice(caller: Caller, requested_specialty) -> bool:
    """Senior management previewing a client "as a member of specialty X" gets that member's hospice rule
    (security/policy.py client_scope): any named specialty but Hospice hides hospice data."""
    return (caller.role == SENIOR and isinstance(requested_specialty, str)
            and requested_specialty not in ("", "Hospice"))


def scope_problems(caller: Caller | None, response, *, requested_payer=None, requested_specialty=None,
                   maps: DeclaredMaps | None = None) -> list[str]:
    """Restricted values in a response, for a caller (None: anonymous, who may see nothing at all)."""
    text = response_text(response)
    problems = []
    if TRACEBACK_RE.search(text):
        problems.append("stack trace in the body")
    ids = sorted(set(PATIENT_ID_RE.findall(text)))
    if ids:
        problems.append(f"patient ids {ids}")
    if ids:
        problems[-1] += f" in ...{_around(text, ids[0])}..."
    words = [word for word in PATIENT_WORDS if word in text]
    if words:
        problems.append(f"patient names/streets {words} in ...{_around(text, words[0])}...")
    if caller is None or caller.role == ADMIN:
        markers = [marker for marker in PROCEDURE_MARKERS if marker in text]
        if markers:
            problems.append(f"procedure data {markers} in ...{_around(text, markers[0])}...")
    if caller is None:
        payers = [name for name in PAYER_NAMES if name in text]
        if payers:
            problems.append(f"payer names {payers} in ...{_around(text, payers[0])}...")
        return problems
    if caller.is_client:
        others = [name for name in PAYER_NAMES if name != caller.payer and name in text]
        if others:
            problems.append(f"other payers named to a client: {others} in ...{_around(text, others[0])}...")
    if caller.hides_hospice or previews_without_hospice(caller, requested_specialty):
        codes = [code for code in HOSPICE_CODES if code in text]
        lowered = text.lower().replace(HOSPICE_ALLOWED_PHRASE, "")
        if codes or "hospice" in lowered:
            context = _around(lowered, "hospice") or _around(text, codes[0])
            problems.append(f"hospice data for a member without hospice: codes {codes} in ...{context}...")
    if response.is_json and response.status_code == 200:
        try:
            payload = json.loads(response.get_data(as_text=True))
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("response"), dict):
            problems += _callback_answer_problems(caller, payload["response"], requested_payer, maps)
    return problems


def _callback_answer_problems(caller: Caller, answer: dict, requested_payer, maps) -> list[str]:
    problems = []
    # Page layouts (the router's answer) and outputs: no component of a page outside the role.
    foreign = sorted(component for component in component_ids(answer) | set(answer)
                     if page_of(component) in PAGE_KEYS.values() and page_of(component) not in ROLE_PAGES[caller.role])
    if foreign:
        problems.append(f"components of pages outside the role: {foreign[:8]}")
    for component, props in answer.items():
        if not (isinstance(component, str) and component.endswith("-scope") and isinstance(props, dict)):
            continue
        shown = str(props.get("children"))
        if not shown:
            continue
        if caller.is_client:
            expected = caller.payer
        elif isinstance(requested_payer, str) and requested_payer in (maps.client_payers if maps else ()):
            expected = requested_payer
        else:
            expected = maps.client_payers[0] if maps else None
        if expected and expected not in shown:
            problems.append(f"{component} says {shown!r}, not the scope's payer {expected!r}")
    return problems


def api_links(node, found=None) -> list[str]:
    """Every /api/... `href` in a callback answer (the download buttons)."""
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "href" and isinstance(value, str) and value.startswith("/api/"):
                found.append(value)
            else:
                api_links(value, found)
    elif isinstance(node, list):
        for value in node:
            api_links(value, found)
    return found
