"""A logged-in browser stand-in: real HTTP with `requests`, and Dash callback bodies as the renderer builds them.

The callbacks to measure come from the served `/_dash-dependencies` (what the browser itself reads) rather than
from importing the product: the list is then exactly the one of the server under test, new callbacks are measured
without touching the harness, and the harness process holds no product state.

Login follows a browser: GET /login for the form's csrf_token, POST the form, GET the landing page (which sets the
`_csrf_token` cookie that Dash's renderer echoes as the X-CSRFToken header).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import requests
from requests.cookies import RequestsCookieJar

CALLBACK_PATH = "/_dash-update-component"
ROUTER_OUTPUT = "_pages_content"
SHELL_PREFIX = "shell-"
FLOOR_KEY = "shell-ping-out.children"
CSRF_COOKIE = "_csrf_token"


class LoopbackCookieJar(RequestsCookieJar):
    """Keeps Secure cookies usable over plain HTTP. The app runs with APP_ENV=production, whose cookies are Secure;
    the bench talks to it on loopback without TLS (a browser would be behind a TLS-terminating proxy). The flag is
    dropped when a cookie is stored, because requests copies the jar into a default one for every request, so a
    cookie policy on the session's jar would not be consulted."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


@dataclass
class Answer:
    status: int  # 0 when the connection failed
    ms: float
    data: dict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class CallbackSpec:
    """One entry of /_dash-dependencies."""

    key: str
    inputs: list[dict]
    state: list[dict]
    prevent_initial_call: bool = False
    clientside: bool = False
    outputs: list[dict] = field(default_factory=list)

    @classmethod
    def from_dependency(cls, item: dict) -> CallbackSpec:
        return cls(key=item["output"], inputs=item.get("inputs", []), state=item.get("state", []),
                   prevent_initial_call=bool(item.get("prevent_initial_call")),
                   clientside=bool(item.get("clientside_function")), outputs=parse_output_key(item["output"]))

    @property
    def multi(self) -> bool:
        return self.key.startswith("..")

    @property
    def output_ids(self) -> list[str]:
        return [output["id"] for output in self.outputs]

    @property
    def page(self) -> str:
        """The page the callback writes to: its first output id's prefix (the policy's convention)."""
        first = self.output_ids[0] if self.outputs else ""
        return first.split("-", 1)[0] if "-" in first else first

    @property
    def label(self) -> str:
        first = self.outputs[0]["id"] if self.outputs else self.key
        more = f" +{len(self.outputs) - 1}" if len(self.outputs) > 1 else ""
        return f"{self.page}: {first}{more}"

    @property
    def is_router(self) -> bool:
        return any(output_id.startswith("_pages") for output_id in self.output_ids)

    @property
    def is_shell(self) -> bool:
        return all(output_id.startswith(SHELL_PREFIX) for output_id in self.output_ids)

    @property
    def is_data(self) -> bool:
        """A page's own server callback: what the bench measures (not the router, the shell or clientside)."""
        return not (self.is_router or self.is_shell or self.clientside)

    def body(self, values: dict) -> dict:
        """The request body for input/state values given by "id.property" (missing ones are sent as null)."""
        def with_values(items):
            return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

        outputs = self.outputs if self.multi else self.outputs[0]
        return {"output": self.key, "outputs": outputs, "inputs": with_values(self.inputs),
                "state": with_values(self.state), "changedPropIds": []}


def parse_output_key(key: str) -> list[dict]:
    """`..a.children...b.figure..` (several outputs) or `a.children` (one) -> [{"id", "property"}, ...]."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        component_id, _, prop = part.rpartition(".")
        outputs.append({"id": component_id, "property": prop})
    return outputs


def component_props(layout) -> dict[str, object]:
    """Every property of every component with an id in a Dash layout JSON, as {"id.property": value}."""
    found: dict[str, object] = {}

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and "type" in node:
                component_id = props.get("id")
                if isinstance(component_id, str):
                    for name, value in props.items():
                        if name != "children":  # "x.id" is kept: it says the component exists
                            found[f"{component_id}.{name}"] = value
                walk(props.get("children"))
                for value in props.values():
                    if isinstance(value, dict | list):
                        walk(value)
            else:
                for value in node.values():
                    walk(value)

    walk(layout)
    return found


class AppSession:
    """One account's browser session against the server at `base_url`."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 300):
        self.base_url, self.username, self.password, self.timeout = base_url, username, password, timeout
        self.http = self._new_http()
        self.relogins = 0

    @staticmethod
    def _new_http() -> requests.Session:
        http = requests.Session()
        http.cookies = LoopbackCookieJar()
        return http

    def login(self) -> AppSession:
        page = self.http.get(f"{self.base_url}/login", timeout=self.timeout)
        page.raise_for_status()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError("no csrf_token input on /login")
        answer = self.http.post(f"{self.base_url}/login", timeout=self.timeout, allow_redirects=False,
                                data={"username": self.username, "password": self.password,
                                      "csrf_token": token[1]})
        if answer.status_code != 302:
            raise RuntimeError(f"login of {self.username} failed with HTTP {answer.status_code}")
        landing = self.http.get(f"{self.base_url}{answer.headers.get('Location', '/')}"
                                if answer.headers.get("Location", "/").startswith("/")
                                else answer.headers["Location"], timeout=self.timeout)
        landing.raise_for_status()
        if self.http.cookies.get(CSRF_COOKIE) is None:
            raise RuntimeError(f"no {CSRF_COOKIE} cookie after logging in {self.username}")
        return self

    def clone(self) -> AppSession:
        """Another connection pool on the same server session (for concurrent clients of one account)."""
        twin = AppSession(self.base_url, self.username, self.password, self.timeout)
        twin.http.cookies.update(self.http.cookies)
        return twin

    def get(self, path: str) -> Answer:
        began = time.perf_counter()
        try:
            response = self.http.get(f"{self.base_url}{path}", timeout=self.timeout)
        except requests.RequestException as error:
            return Answer(0, (time.perf_counter() - began) * 1000, error=f"{type(error).__name__}: {error}"[:300])
        ms = (time.perf_counter() - began) * 1000
        data = None
        if response.headers.get("Content-Type", "").startswith("application/json"):
            data = response.json()
        return Answer(response.status_code, ms, data, None if response.ok else response.text[:300])

    def callback(self, body: dict, retry_login: bool = True) -> Answer:
        """POST one callback; timed from sending to the last byte of the answer."""
        headers = {"X-CSRFToken": self.http.cookies.get(CSRF_COOKIE) or ""}
        began = time.perf_counter()
        try:
            response = self.http.post(f"{self.base_url}{CALLBACK_PATH}", json=body, headers=headers,
                                      timeout=self.timeout)
            content = response.content
        except requests.RequestException as error:
            return Answer(0, (time.perf_counter() - began) * 1000, error=f"{type(error).__name__}: {error}"[:300])
        ms = (time.perf_counter() - began) * 1000
        if response.status_code == 401 and retry_login:  # the session idled out during a long run
            self.relogins += 1
            self.login()
            return self.callback(body, retry_login=False)
        if response.status_code != 200:
            return Answer(response.status_code, ms, error=content[:300].decode("utf-8", "replace"))
        try:
            return Answer(200, ms, json.loads(content))
        except ValueError:
            return Answer(200, ms, error="answer is not JSON")

    def dependencies(self) -> list[CallbackSpec]:
        answer = self.get("/_dash-dependencies")
        if not answer.ok or not isinstance(answer.data, list):
            raise RuntimeError(f"/_dash-dependencies answered {answer.status}: {answer.error}")
        return [CallbackSpec.from_dependency(item) for item in answer.data]

    def page_layout(self, router: CallbackSpec, path: str) -> Answer:
        """What the Dash pages router returns for `path` (the page's layout, in `data["response"]`)."""
        values = {"_pages_location.pathname": path, "_pages_location.search": ""}
        return self.callback(router.body(values))
