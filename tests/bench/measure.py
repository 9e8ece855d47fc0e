"""The timing loops. Every number is a wall-clock round trip seen by the client (send to last byte received), the
way a user waits for it; the ratio to the floor (the trivial protected callback on the same server, measured the
same way in the same run) removes what the machine, HTTP, the session check and Dash's dispatch cost anyway.

Each data call is preceded by a floor call of the same account, and a row's ratio uses the p50 of those
interleaved floor calls: both then see the same machine load, which on a shared machine can move the floor by a
factor of two within minutes. (The separate floor rows at the start and end of a server's run show that drift.)

Calls are sequential (one user at a time) except in `throughput`. A non-200 answer is counted as an error with its
status and first bytes, and kept out of the percentiles; a loop that outruns its time budget stops early and says
how many calls it made.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
import requests

from tests.bench.client import AppSession, CallbackSpec, component_props
from tests.bench.scenarios import SENIOR, UHC, Call


def percentile(samples: list[float], q: float) -> float | None:
    return round(float(np.percentile(samples, q)), 2) if samples else None


@dataclass
class Timing:
    key: str
    label: str
    page: str
    kind: str  # "floor" or "data"
    samples_ms: list[float] = field(default_factory=list)
    floor_samples_ms: list[float] = field(default_factory=list)  # the interleaved floor calls
    first_ms: float | None = None
    first_note: str = ""
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    accounts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stopped_early: bool = False

    @property
    def calls(self) -> int:
        return len(self.samples_ms) + self.errors

    @property
    def p50(self) -> float | None:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.samples_ms, 95)

    def as_dict(self) -> dict:
        return {
            "key": self.key, "label": self.label, "page": self.page, "kind": self.kind, "calls": self.calls,
            "ok": len(self.samples_ms), "errors": self.errors, "statuses": dict(self.statuses),
            "error_examples": self.error_examples, "p50_ms": self.p50, "p95_ms": self.p95,
            "interleaved_floor_p50_ms": percentile(self.floor_samples_ms, 50),
            "min_ms": round(min(self.samples_ms), 2) if self.samples_ms else None,
            "max_ms": round(max(self.samples_ms), 2) if self.samples_ms else None,
            "first_ms": None if self.first_ms is None else round(self.first_ms, 2), "first_call": self.first_note,
            "accounts": dict(self.accounts), "seconds": round(self.seconds, 2), "stopped_early": self.stopped_early,
            "samples_ms": [round(sample, 2) for sample in self.samples_ms],
        }


def _answered(answer) -> bool:
    return answer.ok and isinstance(answer.data, dict) and "response" in answer.data


def time_callback(spec: CallbackSpec, calls: Iterable[Call], sessions: dict[str, AppSession], count: int,
                  kind: str = "data", budget_s: float | None = None, min_calls: int = 10,
                  floor: CallbackSpec | None = None) -> Timing:
    """`count` sequential calls of `spec`, inputs taken in turn from `calls`, each after a call of `floor` (if
    given) by the same account; stops after `budget_s` seconds once `min_calls` calls are done."""
    timing = Timing(spec.key, "floor (shell ping)" if kind == "floor" else spec.label, spec.page, kind)
    clicks = itertools.count(10_000_000)
    began = time.perf_counter()
    for number, call in enumerate(itertools.islice(calls, count)):
        session = sessions[call.account]
        if floor is not None:
            reference = session.callback(floor.body({"shell-ping.n_clicks": next(clicks)}))
            if _answered(reference):
                timing.floor_samples_ms.append(reference.ms)
        answer = session.callback(spec.body(call.values))
        timing.statuses[answer.status] += 1
        timing.accounts[call.account] += 1
        if number == 0:
            timing.first_ms, timing.first_note = answer.ms, call.note
        if _answered(answer):
            timing.samples_ms.append(answer.ms)
        else:
            timing.errors += 1
            if len(timing.error_examples) < 3:
                timing.error_examples.append(f"HTTP {answer.status} for [{call.note}]: {answer.error}")
        timing.seconds = time.perf_counter() - began
        if budget_s is not None and timing.seconds > budget_s and number + 1 >= min_calls and number + 1 < count:
            timing.stopped_early = True
            break
    return timing


def first_page_load(session: AppSession, specs: list[CallbackSpec], path: str) -> dict:
    """What a browser does to show `path`, sequentially: the HTML, the shell layout, the dependencies, the pages
    router (which returns the page's layout), then every server callback that fires on load, with the values the
    layouts give. Static JavaScript and CSS are left out: they are files, not the app."""
    steps, props = [], {}

    def step(name: str, answer) -> None:
        steps.append({"step": name, "status": answer.status, "ms": round(answer.ms, 2)})

    step(f"GET {path}", session.get(path))
    layout = session.get("/_dash-layout")
    step("GET /_dash-layout", layout)
    props.update(component_props(layout.data))
    step("GET /_dash-dependencies", session.get("/_dash-dependencies"))
    router = next(spec for spec in specs if spec.is_router)
    page = session.page_layout(router, path)
    step(f"router {path}", page)
    if page.ok:
        props.update(component_props(page.data))
    present = {key.rpartition(".")[0] for key in props}
    props.update({"_pages_location.pathname": path, "_pages_location.search": ""})
    for spec in specs:
        if spec.is_router or spec.clientside or spec.prevent_initial_call:
            continue
        if all(item["id"] in present for item in spec.inputs):
            step(spec.label, session.callback(spec.body(props)))
    return {"path": path, "account": session.username, "total_ms": round(sum(s["ms"] for s in steps), 2),
            "all_ok": all(s["status"] == 200 for s in steps), "steps": steps}


def throughput(session: AppSession, spec: CallbackSpec, clients: int = 8, seconds: float = 5.0) -> dict:
    """Requests per second of `spec` with `clients` concurrent clients (threads, each with its own connection,
    all on one account's session) for about `seconds`."""
    counter = itertools.count(1_000_000)
    lock = threading.Lock()
    latencies: list[float] = []
    errors = Counter()
    twins = [session.clone() for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work(twin: AppSession) -> None:
        start.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                clicks = next(counter)
            answer = twin.callback(spec.body({"shell-ping.n_clicks": clicks}))
            with lock:
                if _answered(answer):
                    latencies.append(answer.ms)
                else:
                    errors[answer.status] += 1

    threads = [threading.Thread(target=work, args=(twin,), daemon=True) for twin in twins]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"clients": clients, "seconds": round(elapsed, 2), "ok": len(latencies), "errors": dict(errors),
            "requests_per_s": round(len(latencies) / elapsed, 1), "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95)}


# The largest extracts a user can ask for: a client's every procedure and member over the whole range (the
# defaults: no dates), in both formats, and a proximity clustering with settings that are not precomputed. Each is
# downloaded twice: a first request computes it, the second finds the answer in the per-scope cache when the same
# worker serves it. (account, extract, parameters)
DOWNLOADS = (
    (UHC, "procedure-rows", {"format": "csv"}),
    (UHC, "procedure-rows", {"format": "xlsx"}),
    (UHC, "members", {"format": "csv"}),
    (UHC, "members", {"format": "xlsx"}),
    (SENIOR, "proximity-clusters", {"format": "xlsx", "radius_m": 1000, "min_cluster_size": 4}),
)


def downloads(sessions: dict[str, AppSession]) -> list[dict]:
    """Each of DOWNLOADS twice, timed to the last byte: {label, statuses, bytes, first_ms, again_ms}."""
    rows = []
    for account, name, params in DOWNLOADS:
        session = sessions[account]
        url = f"{session.base_url}/api/extracts/{name}?{urlencode(params)}"
        timings, statuses, size, errors = [], [], 0, []
        for _ in range(2):
            began = time.perf_counter()
            try:
                response = session.http.get(url, timeout=session.timeout)
                size = len(response.content)
                statuses.append(response.status_code)
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            except requests.RequestException as error:
                statuses.append(0)
                errors.append(f"{type(error).__name__}: {error}"[:300])
            timings.append(round((time.perf_counter() - began) * 1000, 2))
        rows.append({"label": f"{name} {params['format']} ({account})", "statuses": statuses,
                     "ok": not errors, "errors": errors, "bytes": size, "first_ms": timings[0],
                     "again_ms": timings[1]})
    return rows
