"""Virtual users: one thread and one `requests.Session` each, logged in through /login with the form's CSRF token,
looping over what a person of their role does until the run's deadline.

A user works like the browser does: a page visit is the page's HTML, `/_dash-layout` (the shell), the callback
dependencies, the pages router (the page's layout with its controls' defaults and options), the shell's health
callback and then every data callback of the page with the layout's values. Afterwards the user changes one
control at a time (a date range, a specialty offered in its own dropdown, top N, area level, radius, ...) and Dash
fires the callbacks that take that input; downloads follow the CSV links the callbacks returned (what a click
does) or are built as a script would (`/api/extracts/<name>?format=csv&...`). Now and then the user sends a forged
request (another client, Hospice as an Oncology member, a management callback as an employee, an extract outside
the role), which must be refused with 403 (or 400 for a malformed parameter) and never answered with data.

Every response goes through `checks.Checker` for the user's account and is recorded with its action type, status
and latency. After the deadline no new request starts; requests in flight finish.
"""
from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

import requests

from tests.bench.client import CALLBACK_PATH, CSRF_COOKIE, CallbackSpec, LoopbackCookieJar, component_props
from tests.load.checks import Checker, Finding, Kind

# username -> account kind. One account per kind; several virtual users share an account (own sessions each).
ACCOUNTS: dict[str, Kind] = {
    "load-uhc": Kind("client", "UnitedHealthcare"),
    "load-humana": Kind("client", "Humana"),
    "load-humana-onc": Kind("client", "Humana", "Oncology"),
    "load-humana-hospice": Kind("client", "Humana", "Hospice"),
    "load-senior": Kind("senior_management"),
    "load-employee": Kind("employee"),
    "load-admin": Kind("admin"),
}
# How the virtual users are spread over the accounts (clients are most of the traffic, as in production).
MIX = {"load-uhc": 10, "load-humana": 6, "load-humana-onc": 8, "load-humana-hospice": 6, "load-senior": 12,
       "load-employee": 10, "load-admin": 8}
SENIOR = "load-senior"

TOP_CHOICES = (5, 10, 15, 20, 25, 30)
MANAGEMENT_RADII = (200, 300, 500, 800, 1000, 1500, 2000)
EXTRACT_RADII = (250, 500, 750, 1000, 1500)
MIN_SIZES = (3, 5, 8, 10)
AREA_LEVELS = ("county", "city", "zip")


def role_label(kind: Kind) -> str:
    if kind.role == "client":
        return f"client {kind.payer}" + (f"/{kind.specialty}" if kind.specialty else "")
    return kind.role


def spread(users: int, mix: dict[str, int] = MIX) -> list[str]:
    """`users` account names in the proportions of `mix` (largest remainder; every account once if possible)."""
    total = sum(mix.values())
    if users >= len(mix):
        base = {name: 1 for name in mix}
        rest = users - len(mix)
        shares = {name: rest * weight / total for name, weight in mix.items()}
    else:
        base = {name: 0 for name in mix}
        shares = {name: users * weight / total for name, weight in mix.items()}
    counts = {name: base[name] + int(share) for name, share in shares.items()}
    leftovers = sorted(mix, key=lambda name: shares[name] - int(shares[name]), reverse=True)
    for name in leftovers[:users - sum(counts.values())]:
        counts[name] += 1
    return _interleave(counts)


def _interleave(counts: dict[str, int]) -> list[str]:
    """Round-robin over the accounts, so that the ramp-up starts every kind of user early."""
    left, order = dict(counts), []
    while any(left.values()):
        for name in counts:
            if left[name]:
                order.append(name)
                left[name] -= 1
    return order


# ---------------------------------------------------------------- recording


@dataclass
class Sample:
    at: float  # seconds since the run's start
    role: str
    account: str
    action: str
    method: str
    status: int  # 0: no answer (connection error, timeout)
    ms: float
    size: int
    expected: bool
    forged: bool
    error: str | None = None


@dataclass
class Leak:
    at: float
    role: str
    account: str
    action: str
    method: str
    url: str
    status: int
    findings: list[Finding]

    def as_dict(self) -> dict:
        return {"at_s": round(self.at, 2), "role": self.role, "account": self.account, "action": self.action,
                "method": self.method, "url": self.url, "status": self.status,
                "findings": [finding.as_dict() for finding in self.findings]}


class Recorder:
    def __init__(self, started: float):
        self.started = started
        self.samples: list[Sample] = []
        self.leaks: list[Leak] = []
        self.active_users = 0
        self.in_flight = 0
        self.timeline: list[tuple[float, int, int]] = []  # (t, active users, requests in flight)
        self.canaries: Counter = Counter()  # allowed matches of the leak rules (see checks.Checker.check)
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, sample: Sample, leak: Leak | None = None) -> None:
        with self._lock:
            self.samples.append(sample)
            if leak is not None:
                self.leaks.append(leak)

    def canary(self, names: set[str]) -> None:
        with self._lock:
            self.canaries.update(names)

    def user_active(self, delta: int) -> None:
        with self._lock:
            self.active_users += delta

    def flight(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta

    def tick(self) -> None:
        with self._lock:
            self.timeline.append((round(self.now(), 1), self.active_users, self.in_flight))


# ---------------------------------------------------------------- what the whole run shares


@dataclass
class Site:
    """What the users share: the server, its callbacks, the page paths and senior management's page defaults."""

    base_url: str
    password: str
    specs: list[CallbackSpec]
    page_paths: dict[str, str]  # page key -> path ("client" -> "/client")
    defaults: dict[str, dict]  # page key -> layout values seen by senior management
    client_payers: list[str]
    data_first: date
    data_last: date
    checker: Checker
    recorder: Recorder
    deadline: float  # monotonic: no request starts after it
    timeout: float = 60.0
    think_s: float = 1.0

    @property
    def router(self) -> CallbackSpec:
        return next(spec for spec in self.specs if spec.is_router)

    @property
    def health(self) -> CallbackSpec | None:
        return next((spec for spec in self.specs if spec.key == "shell-status.children"), None)

    def page_specs(self, page: str) -> list[CallbackSpec]:
        return [spec for spec in self.specs if spec.is_data and spec.page == page]

    def spec_for(self, page: str, first_output_prefix: str = "") -> CallbackSpec:
        for spec in self.page_specs(page):
            if spec.output_ids[0].startswith(first_output_prefix):
                return spec
        raise LookupError(f"no callback of {page} writes {first_output_prefix}*")


class Stop(Exception):
    """The deadline has passed: the user stops."""


@dataclass
class Answer:
    status: int
    data: object | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""


# ---------------------------------------------------------------- one virtual user


class VirtualUser(threading.Thread):
    def __init__(self, number: int, username: str, site: Site, start_at: float, seed: int):
        super().__init__(name=f"vu-{number:03d}-{username}", daemon=True)
        self.number, self.username, self.site = number, username, site
        self.kind = ACCOUNTS[username]
        self.role = role_label(self.kind)
        self.start_at = start_at
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.http.cookies = LoopbackCookieJar()
        self.pages: dict[str, dict] = {}  # page key -> current control values
        self.hrefs: list[str] = []  # CSV download links returned by callbacks
        self.logged_in = False
        self.failure: str | None = None

    # -- HTTP

    def call(self, action: str, method: str, path: str, *, expect=(200,), forged: bool = False, **kwargs) -> Answer:
        site, recorder = self.site, self.site.recorder
        if time.monotonic() >= site.deadline:
            raise Stop
        headers = kwargs.pop("headers", {})
        if method == "POST" and path == CALLBACK_PATH:
            headers["X-CSRFToken"] = self.http.cookies.get(CSRF_COOKIE) or ""
        url = path if path.startswith("http") else site.base_url + path
        began, at = time.perf_counter(), recorder.now()
        recorder.flight(+1)
        try:
            response = self.http.request(method, url, headers=headers, timeout=site.timeout, **kwargs)
            body = response.content
        except requests.RequestException as error:
            ms = (time.perf_counter() - began) * 1000
            recorder.add(Sample(at, self.role, self.username, action, method, 0, ms, 0, False, forged,
                                f"{type(error).__name__}: {error}"[:300]))
            return Answer(0)
        finally:
            recorder.flight(-1)
        ms = (time.perf_counter() - began) * 1000
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        expected = status in expect
        error = None if expected else f"HTTP {status}, expected {'/'.join(map(str, expect))}: " \
                                      f"{body[:200].decode('utf-8', 'replace')}"
        findings, canaries = site.checker.check(self.kind, body, content_type)
        if canaries:
            recorder.canary(canaries)
        if forged and 200 <= status < 300:
            findings.insert(0, Finding("forged request answered with data", f"HTTP {status}",
                                       body[:300].decode("utf-8", "replace")))
        leak = Leak(at, self.role, self.username, action, method, _short(url, site.base_url), status,
                    findings) if findings else None
        recorder.add(Sample(at, self.role, self.username, action, method, status, ms, len(body), expected, forged,
                            error), leak)
        data = None
        if "json" in content_type and body:
            try:
                data = response.json()
            except ValueError:
                data = None
        if status == 401 and not forged:
            self.logged_in = False  # the session ended: log in again before the next action
        return Answer(status, data, dict(response.headers), body)

    def callback(self, action: str, spec: CallbackSpec, values: dict, **kwargs) -> Answer:
        answer = self.call(action, "POST", CALLBACK_PATH, json=spec.body(values), **kwargs)
        if answer.status == 200 and isinstance(answer.data, dict):
            for props in (answer.data.get("response") or {}).values():
                for prop, value in (props or {}).items() if isinstance(props, dict) else ():
                    if prop == "href" and isinstance(value, str) and value.startswith("/api/") \
                            and "format=csv" in value:
                        self.hrefs.append(value)
            del self.hrefs[:-40]
        return answer

    # -- the session

    def login(self) -> str:
        """GET /login for the form's csrf_token, POST the form; returns the landing path (the redirect)."""
        page = self.call("login", "GET", "/login")
        if page.status != 200:
            raise RuntimeError(f"GET /login answered {page.status}")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body.decode("utf-8", "replace"))
        if token is None:
            raise RuntimeError("no csrf_token on /login")
        answer = self.call("login", "POST", "/login", expect=(302,), allow_redirects=False,
                           data={"username": self.username, "password": self.site.password, "csrf_token": token[1]})
        if answer.status != 302:
            raise RuntimeError(f"login of {self.username} answered {answer.status}")
        self.logged_in = True
        location = answer.headers.get("Location", "/")
        return location if location.startswith("/") else "/" + location.split("/", 3)[-1]

    # -- pages

    def visit(self, page: str) -> None:
        """Open a page as the browser does, then run its callbacks with the layout's values."""
        site = self.site
        path = site.page_paths[page]
        self.call("page html", "GET", path)
        shell = self.call("dash-layout", "GET", "/_dash-layout")
        self.call("dash-dependencies", "GET", "/_dash-dependencies")
        routed = self.callback("router (page layout)", site.router,
                               {"_pages_location.pathname": path, "_pages_location.search": ""})
        if routed.status != 200:
            return
        values = component_props(shell.data) if shell.data else {}
        values.update(component_props(routed.data))
        self.pages[page] = values
        if site.health is not None:
            self.callback("callback shell-status", site.health, values)
        for spec in site.page_specs(page):
            self.callback(f"callback {spec.output_ids[0]}", spec, values)

    def change(self, page: str) -> None:
        """Change one control of a visited page; Dash fires the callbacks that take it as an input."""
        if page not in self.pages:
            self.visit(page)
            return
        values = self.pages[page]
        specs = self.site.page_specs(page)
        inputs = sorted({f"{item['id']}.{item['property']}" for spec in specs for item in spec.inputs})
        changeable = [key for key in inputs if self._new_value(page, key, values) is not None]
        if not changeable:
            return
        key = self.rng.choice(changeable)
        update = self._new_value(page, key, values)
        values.update(update)
        for spec in specs:
            if any(f"{item['id']}.{item['property']}" in update for item in spec.inputs):
                self.callback(f"callback {spec.output_ids[0]}", spec, values)

    def _new_value(self, page: str, key: str, values: dict) -> dict | None:
        component_id, _, prop = key.rpartition(".")
        rng = self.rng
        if component_id.endswith("-dates") and prop in ("start_date", "end_date"):
            first, last = (date.today() - timedelta(days=60), date.today()) if page == "audit" else \
                (self.site.data_first, self.site.data_last)
            start, end = realistic_range(rng, first, last, recent=page == "audit")
            return {f"{component_id}.start_date": start.isoformat(), f"{component_id}.end_date": end.isoformat()}
        if prop != "value":
            return None
        options = [option.get("value") if isinstance(option, dict) else option
                   for option in values.get(f"{component_id}.options") or []]
        if component_id.endswith("-payer"):
            if self.kind.role != "senior_management" or len(options) < 2:
                return None  # a client's payer picker is hidden: it always sends its own payer
            return {key: rng.choice(options)}
        if component_id.endswith("-specialty"):
            if not options:
                return None
            own = values.get(key)
            choice = own if rng.random() < 0.3 else rng.choice(options)
            return {key: choice}
        if component_id.endswith(("-top", "-level", "-user", "-event")):
            choices = options or (list(TOP_CHOICES) if component_id.endswith("-top") else list(AREA_LEVELS))
            if component_id.endswith(("-user", "-event")):
                choices = [None, *choices]
            return {key: rng.choice(choices)} if choices else None
        if component_id.endswith("-radius"):
            return {key: rng.choice(MANAGEMENT_RADII if page == "management" else EXTRACT_RADII)}
        if component_id.endswith("-min-size"):
            return {key: rng.choice(MIN_SIZES)}
        return None

    # -- downloads

    def download_link(self) -> None:
        """Click a CSV link a callback returned (visit a page first if none was seen yet)."""
        if not self.hrefs:
            pages = [page for page in PAGES_OF[self.kind.role] if page in self.site.page_paths]
            self.visit(self.rng.choice(pages))
            return
        href = self.rng.choice(self.hrefs)
        name = "audit-log" if href.startswith("/api/audit") else href.split("?")[0].rsplit("/", 1)[-1]
        self.call(f"download {name}", "GET", href)

    def download_api(self) -> None:
        """A script's download: `/api/extracts/<name>?format=csv` with realistic filters."""
        rng, site = self.rng, self.site
        if self.kind.role == "admin":
            start, end = realistic_range(rng, date.today() - timedelta(days=60), date.today(), recent=True)
            self.call("download audit-log", "GET", "/api/audit?" + urlencode(
                {"format": "csv", "start": start.isoformat(), "end": end.isoformat()}))
            return
        names = EXTRACTS_OF[self.kind.role]
        name = rng.choice(names)
        start, end = realistic_range(rng, site.data_first, site.data_last)
        params: dict = {"format": "csv"}
        if name != "proximity-clusters":
            params.update(start=start.isoformat(), end=end.isoformat())
        if name in CLIENT_EXTRACTS:
            specialties = self._specialties()
            if specialties and rng.random() < 0.5:
                params["specialty"] = rng.choice(specialties)
            if self.kind.role == "senior_management":
                params["client"] = rng.choice(site.client_payers)
            if name.startswith("shared-procedures"):
                params["top"] = rng.choice(TOP_CHOICES)
        elif name in ("patients-by-area", "area-procedures"):
            params["area_level"] = rng.choice(AREA_LEVELS)
        else:
            params.update(radius_m=rng.choice(EXTRACT_RADII), min_cluster_size=rng.choice(MIN_SIZES))
        self.call(f"download {name}", "GET", f"/api/extracts/{name}?{urlencode(params)}")

    def list_extracts(self) -> None:
        self.call("api extract list", "GET", "/api/extracts")

    def _specialties(self) -> list[str]:
        """The specialties this user's own dropdown offers (from a visited client page)."""
        for page in ("team", "client"):
            options = self.pages.get(page, {}).get(f"{page}-specialty.options")
            if options:
                return [option["value"] for option in options if option.get("value")]
        return []

    # -- forged requests

    def forge(self) -> None:
        _name, run = self.rng.choice(FORGERIES[self.kind.role](self))
        run()

    def _forged_callback(self, action: str, page: str, output_prefix: str, update: dict, expect=(403,)) -> None:
        values = dict(self.pages.get(page) or self.site.defaults.get(page) or {})
        values.update(update)
        self.callback(f"forged: {action}", self.site.spec_for(page, output_prefix), values, expect=expect,
                      forged=True)

    def _forged_get(self, action: str, path: str, expect=(403,)) -> None:
        self.call(f"forged: {action}", "GET", path, expect=expect, forged=True)

    def _other_client(self) -> str:
        others = [payer for payer in self.site.client_payers if payer != self.kind.payer]
        return self.rng.choice(others or ["Aetna"])

    # -- the loop

    def actions(self) -> list[tuple[float, Callable[[], None]]]:
        role, pages = self.kind.role, [page for page in PAGES_OF[self.kind.role] if page in self.site.page_paths]
        weighted: list[tuple[float, Callable[[], None]]] = []
        visit_weight = {"management": 2.0, "extracts": 1.5, "client": 1.5, "team": 1.5, "audit": 1.0}
        for page in pages:
            weighted.append((visit_weight.get(page, 1.0), lambda page=page: self.visit(page)))
            weighted.append((2.5 * visit_weight.get(page, 1.0), lambda page=page: self.change(page)))
        weighted.append(({"client": 3, "senior_management": 2, "employee": 4, "admin": 1}[role], self.download_link))
        weighted.append(({"client": 1.5, "senior_management": 1.5, "employee": 2.5, "admin": 1.5}[role],
                         self.download_api))
        if role != "admin":
            weighted.append((0.3, self.list_extracts))
        total = sum(weight for weight, _ in weighted)
        # forged requests: about 8% of the actions
        weighted.append((total * 0.08, self.forge))
        return weighted

    def run(self) -> None:
        recorder = self.site.recorder
        delay = self.start_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        recorder.user_active(+1)
        try:
            actions = self.actions()
            weights = [weight for weight, _ in actions]
            while time.monotonic() < self.site.deadline:
                if not self.logged_in:
                    try:
                        landing = self.login()
                    except RuntimeError as error:
                        self.failure = str(error)
                        time.sleep(1 + self.rng.random())
                        continue
                    page = next((key for key, path in self.site.page_paths.items() if path == landing), None)
                    if page:
                        self.visit(page)
                    continue
                action = self.rng.choices(actions, weights)[0][1]
                action()
                time.sleep(self.site.think_s * self.rng.uniform(0.3, 1.7))
        except Stop:
            pass
        except Exception as error:  # a bug of the harness must show, not hang the run
            self.failure = f"{type(error).__name__}: {error}"
            recorder.add(Sample(recorder.now(), self.role, self.username, "harness error", "-", 0, 0.0, 0, False,
                                False, self.failure[:300]))
        finally:
            recorder.user_active(-1)


def _short(url: str, base: str) -> str:
    return url[len(base):] if url.startswith(base) else url


def realistic_range(rng: random.Random, first: date, last: date, recent: bool = False) -> tuple[date, date]:
    """What people pick: everything, the last 12 months, a calendar year, a quarter, a month, or any span."""
    if recent:
        days = rng.choice((7, 14, 30, 60))
        return max(first, last - timedelta(days=days)), last
    roll = rng.random()
    if roll < 0.25:
        return first, last
    if roll < 0.45:
        return max(first, last - timedelta(days=364)), last
    if roll < 0.65:
        year = rng.randint(first.year, last.year)
        return max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
    if roll < 0.8:
        year, quarter = rng.randint(first.year, last.year), rng.randint(0, 3)
        start = date(year, 3 * quarter + 1, 1)
        end = (date(year + (quarter == 3), (3 * quarter + 3) % 12 + 1, 1) - timedelta(days=1))
        start, end = max(first, start), min(last, end)
        return (start, end) if start <= end else (first, last)
    span = (last - first).days
    length = rng.randint(30, max(31, min(span, 900)))
    start = first + timedelta(days=rng.randint(0, max(0, span - length)))
    return start, min(last, start + timedelta(days=length))


PAGES_OF = {
    "client": ("client", "team"),
    "senior_management": ("management", "extracts", "client", "team", "audit"),
    "employee": ("extracts",),
    "admin": ("audit",),
}
CLIENT_EXTRACTS = ("procedure-summary", "procedure-rows", "shared-procedures", "shared-procedures-distribution",
                   "members", "patients-helped")
INTERNAL_EXTRACTS = ("patients-by-area", "area-procedures", "proximity-clusters")
EXTRACTS_OF = {
    "client": CLIENT_EXTRACTS,
    "senior_management": CLIENT_EXTRACTS + INTERNAL_EXTRACTS,
    "employee": INTERNAL_EXTRACTS,
    "admin": (),
}


def _client_forgeries(user: VirtualUser):
    other = user._other_client()
    site = user.site
    forgeries = [
        ("another client's callback", lambda: user._forged_callback(
            "callback as another client", "client", "client-scope", {"client-payer.value": other})),
        ("another client's extract", lambda: user._forged_get(
            "extract of another client", f"/api/extracts/procedure-summary?format=csv&client={other}")),
        ("internal extract", lambda: user._forged_get(
            "internal extract as a client", "/api/extracts/patients-by-area?format=csv")),
        ("management callback", lambda: user._forged_callback(
            "management callback as a client", "management", "management-area-map", {})),
        ("management page", lambda: user._forged_get("management page as a client",
                                                     site.page_paths.get("management", "/management"))),
        ("management via the router", lambda: user.callback(
            "forged: router to management as a client", site.router,
            {"_pages_location.pathname": site.page_paths.get("management", "/management"),
             "_pages_location.search": ""}, expect=(403,), forged=True)),
        ("audit api", lambda: user._forged_get("audit log as a client", "/api/audit?format=csv")),
    ]
    if user.kind.hospice_hidden:
        forgeries += [
            ("hospice callback", lambda: user._forged_callback(
                "Hospice callback without hospice access", "team", "team-scope", {"team-specialty.value": "Hospice"})),
            ("hospice callback (client page)", lambda: user._forged_callback(
                "Hospice callback without hospice access", "client", "client-scope",
                {"client-specialty.value": "Hospice"})),
            ("hospice extract", lambda: user._forged_get(
                "Hospice extract without hospice access", "/api/extracts/procedure-rows?format=csv&specialty=Hospice")),
        ] * 2  # the hospice wall is the rule most worth hammering
    return forgeries


def _employee_forgeries(user: VirtualUser):
    site = user.site
    return [
        ("management callback", lambda: user._forged_callback(
            "management callback as an employee", "management", user.rng.choice(
                ["management-area-map", "management-assoc", "management-prox"]), {})),
        ("client callback", lambda: user._forged_callback("client callback as an employee", "client",
                                                          "client-scope", {})),
        ("client extract", lambda: user._forged_get(
            "client extract as an employee", "/api/extracts/procedure-summary?format=csv&client=Humana")),
        ("members extract", lambda: user._forged_get("members extract as an employee",
                                                     "/api/extracts/members?format=csv")),
        ("management page", lambda: user._forged_get("management page as an employee",
                                                     site.page_paths.get("management", "/management"))),
        ("audit page", lambda: user._forged_get("audit page as an employee", site.page_paths.get(
            "audit", "/admin/audit"))),
        ("client parameter on an internal extract", lambda: user._forged_get(
            "client parameter on an internal extract", "/api/extracts/patients-by-area?format=csv&client=Humana",
            expect=(400, 403))),
    ]


def _admin_forgeries(user: VirtualUser):
    return [
        ("management callback", lambda: user._forged_callback("management callback as admin", "management",
                                                              "management-area-map", {})),
        ("client callback", lambda: user._forged_callback("client callback as admin", "client", "client-scope", {})),
        ("extracts callback", lambda: user._forged_callback("extracts callback as admin", "extracts",
                                                            "extracts-patients-by-area", {})),
        ("client extract", lambda: user._forged_get("client extract as admin",
                                                    "/api/extracts/procedure-rows?format=csv")),
        ("internal extract", lambda: user._forged_get("internal extract as admin",
                                                      "/api/extracts/proximity-clusters?format=csv")),
        ("client page", lambda: user._forged_get("client page as admin", user.site.page_paths.get(
            "client", "/client"))),
    ]


def _senior_forgeries(user: VirtualUser):
    return [
        ("not a client payer", lambda: user._forged_get(
            "extract of a payer that is not a client", "/api/extracts/procedure-summary?format=csv&client=Aetna")),
        ("top out of range", lambda: user._forged_get(
            "top out of range", "/api/extracts/shared-procedures?format=csv&top=500", expect=(400,))),
        ("unknown area level", lambda: user._forged_get(
            "unknown area level", "/api/extracts/patients-by-area?format=csv&area_level=planet", expect=(400,))),
        ("radius out of range", lambda: user._forged_callback(
            "radius out of range (callback)", "management", "management-prox", {"management-radius.value": 1},
            expect=(400,))),
        ("unknown parameter", lambda: user._forged_get(
            "unknown parameter", "/api/extracts/members?format=csv&patient_id=x", expect=(400,))),
    ]


FORGERIES = {
    "client": _client_forgeries,
    "employee": _employee_forgeries,
    "admin": _admin_forgeries,
    "senior_management": _senior_forgeries,
}
