"""`python -m tests.bench.run` (`make bench`): every page's data callbacks timed against the floor, per data size and
warehouse engine, in one run; printed, and written to var/bench/bench-<UTC time>.md and .json.

For each size (1x = the real input, 10x, 100x re-keyed copies) and engine (SQLite, PostgreSQL): a fresh warehouse
loaded with the product's CLI (timed), three accounts, gunicorn as in production, a first page load, the floor,
every data callback with realistic inputs, the floor again, throughput with 8 clients, worker memory. Per size,
the common approach (global pandas DataFrames) is timed for comparison.

`--smoke` is the seconds-long version the test suite runs: the tests' fixture data, SQLite, 5 calls, no targets.
A run that is interrupted (Ctrl-C, SIGTERM) or fails still stops gunicorn, drops its PostgreSQL databases, and
writes what it measured. The exit status is 0 unless a size/engine run failed; targets never fail the run.
"""
from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import signal
import sys
import time
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from tests.bench import datasets, loading, measure, reference, report, scenarios
from tests.bench.client import FLOOR_KEY, AppSession, component_props
from tests.bench.env import DEFAULT_WORK_DIR, REAL_INPUT, product_env
from tests.bench.server import Gunicorn

ENGINES = ("sqlite", "postgres")
REPEATED_CALLS = 24  # distinct questions asked again after the first pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100", help="data sizes as multiples of the real input (1,10,100)")
    parser.add_argument("--engines", default="sqlite,postgres", help="warehouse engines (sqlite,postgres)")
    parser.add_argument("--calls", type=int, default=100, help="calls per callback (100)")
    parser.add_argument("--smoke", action="store_true", help="fixture data, SQLite, 5 calls, no targets (< 60 s)")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds per callback before it stops early (after at least 10 calls; 300)")
    parser.add_argument("--throughput-seconds", type=float, default=5.0, help="length of the throughput test (5)")
    parser.add_argument("--reference-calls", type=int, default=5, help="calls of the common approach per size (5)")
    parser.add_argument("--input", type=Path, default=REAL_INPUT, help=f"the real input ({REAL_INPUT})")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR,
                        help="data cache, SQLite files, logs and results (var/bench)")
    parser.add_argument("--redis-url", default=None, help="give the app REDIS_URL (default: no Redis)")
    options = parser.parse_args(argv)
    if options.smoke:
        options.engines, options.calls, options.throughput_seconds = "sqlite", 5, 1.0
    options.sizes = [int(size) for size in options.sizes.split(",") if size.strip()]
    options.engines = [engine.strip() for engine in options.engines.split(",") if engine.strip()]
    unknown = set(options.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}")
    if options.calls < 1 or any(size < 1 for size in options.sizes):
        parser.error("--calls and --sizes must be positive")
    return options


def say(text: str) -> None:
    print(text, flush=True)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


# ---------------------------------------------------------------- one server


def page_setup(sessions: dict[str, AppSession], specs) -> tuple[dict[str, dict], date, date]:
    """Each page's layout values (through the router, as an account that may open it) and the data's date range.

    Page paths come from the navbar of senior management (`shell-nav-<page>` links), who may open every page with
    data callbacks, so the harness needs no list of routes."""
    senior = sessions[scenarios.SENIOR]
    shell = component_props(senior.get("/_dash-layout").data)
    paths = {key[len("shell-nav-"):-len(".href")]: value for key, value in shell.items()
             if key.startswith("shell-nav-") and key.endswith(".href")}
    router = next(spec for spec in specs if spec.is_router)
    defaults: dict[str, dict] = {}
    for page in sorted({spec.page for spec in specs if spec.is_data}):
        account = (scenarios.PAGE_VIEWERS.get(page) or scenarios.DEFAULT_VIEWERS)[0][0]
        answer = sessions[account].page_layout(router, paths.get(page, f"/{page}"))
        defaults[page] = component_props(answer.data) if answer.ok else {}
    first, last = date(2011, 1, 1), date.today()
    for props in defaults.values():
        low = next((v for k, v in props.items() if k.endswith("-dates.min_date_allowed") and v), None)
        high = next((v for k, v in props.items() if k.endswith("-dates.max_date_allowed") and v), None)
        if low and high:
            first, last = date.fromisoformat(str(low)[:10]), date.fromisoformat(str(high)[:10])
            break
    return defaults, first, last


def measure_server(server: Gunicorn, run: dict, options, password: str) -> None:
    sessions = {name: AppSession(server.url, name, password).login() for name in loading.ACCOUNTS}
    specs = sessions[scenarios.SENIOR].dependencies()
    floor_spec = next(spec for spec in specs if spec.key == FLOOR_KEY)
    data_specs = [spec for spec in specs if spec.is_data]

    run["first_page_load"] = page = measure.first_page_load(sessions[scenarios.UHC], specs, "/client")
    say(f"    first page load /client: {page['total_ms']:,.0f} ms ({len(page['steps'])} requests)")
    defaults, first, last = page_setup(sessions, specs)
    run["data_range"] = [first.isoformat(), last.isoformat()]

    def timed(spec, calls, kind="data", label=None):
        timing = measure.time_callback(spec, calls, sessions, options.calls, kind=kind,
                                       budget_s=None if options.smoke else options.budget,
                                       floor=floor_spec if kind in ("data", "repeat") else None)
        if label:
            timing.label = label
        row = timing.as_dict()
        run["rows"].append(row)
        errors = f", {row['errors']} errors {row['statuses']}" if row["errors"] else ""
        floor = row.get("interleaved_floor_p50_ms")
        floor = f"  floor {report.number(floor):>5} ms" if floor else ""
        say(f"    {row['label']:<46} p50 {report.number(row['p50_ms']):>8} ms  p95 "
            f"{report.number(row['p95_ms']):>8} ms  first {report.number(row['first_ms']):>8} ms{floor}  "
            f"({row['calls']} calls, {row['seconds']:.0f} s{errors})")

    timed(floor_spec, scenarios.floor_calls(), kind="floor")
    for spec in data_specs:
        calls = scenarios.calls_for(spec, defaults.get(spec.page, {}), first, last)
        timed(spec, scenarios.cycle(calls))
        # The same questions asked again (as a user going back to a view, or a colleague asking it): answered
        # from the per-scope cache if the worker that computed them serves them, recomputed otherwise.
        timed(spec, scenarios.cycle(calls[:REPEATED_CALLS]), kind="repeat", label=f"{spec.label} (repeated)")
    timed(floor_spec, scenarios.floor_calls(), kind="floor-again", label="floor again (end of run)")
    run["downloads"] = measure.downloads(sessions)
    for download in run["downloads"]:
        say(f"    download {download['label']:<44} {download['bytes'] / 2**20:6.1f} MB  first "
            f"{report.number(download['first_ms']):>8} ms  again {report.number(download['again_ms']):>8} ms"
            + (f"  {download['errors']}" if download["errors"] else ""))
    run["throughput"] = measure.throughput(sessions[scenarios.SENIOR], floor_spec,
                                           seconds=options.throughput_seconds)
    say(f"    throughput (floor, 8 clients): {run['throughput']['requests_per_s']} requests/s")
    run["workers_rss_mb"] = server.worker_rss_mb()
    run["workers_private_mb"] = server.worker_private_mb()
    run["relogins"] = sum(session.relogins for session in sessions.values())
    say(f"    worker RSS: {run['workers_rss_mb']} MB, private: {run['workers_private_mb']} MB")


# ---------------------------------------------------------------- one size and engine


def bench_one(run: dict, dataset: datasets.Dataset, engine: str, options, secret_key: str) -> None:
    """Fill `run` (already part of the results, so an interrupted run keeps what it measured)."""
    say(f"\n== {dataset.label} on {engine}")
    password = secrets.token_urlsafe(24)
    warehouse = None
    try:
        warehouse = loading.fresh_warehouse(engine, dataset.label, options.work_dir)
        env = product_env(warehouse.url, secret_key, options.redis_url)
        say(f"    loading {dataset.path} ...")
        load = loading.load(dataset.path, env)
        run["load"] = {"seconds": load.seconds, "reported_seconds": load.reported_seconds, "counts": load.counts,
                       "warm_seconds": load.warm_seconds}
        say(f"    loaded in {load.seconds:.1f} s (the command reports {load.reported_seconds} s for the load and "
            f"{load.warm_seconds} s for precomputing the default views)")
        loading.create_accounts(env, password)
        run["warehouse_bytes"] = warehouse.size_bytes()
        log = options.work_dir / "logs" / f"gunicorn-{dataset.label}-{engine}.log"
        with Gunicorn(env, log) as server:
            say(f"    gunicorn on {server.url}, workers {server.worker_pids()}")
            try:
                measure_server(server, run, options, password)
            finally:
                run["workers_rss_mb"] = run.get("workers_rss_mb") or server.worker_rss_mb()
        run["log_problems"] = server.log_problems()
        run["gunicorn_log"] = str(log)
    except Exception as error:  # one failed size/engine must not lose the others' results
        run["error"] = f"{type(error).__name__}: {error}"[:2000]
        say(f"    FAILED: {run['error']}\n{traceback.format_exc()}")
    finally:
        if warehouse is not None:
            loading.discard(warehouse)


# ---------------------------------------------------------------- the whole run


def prepare_datasets(options):
    """The data sets in ascending size, each made (or found in the cache) just before it is measured."""
    data_dir = options.work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if options.smoke:
        yield datasets.fixture(data_dir)
        return
    for size in sorted(set(options.sizes)):
        say(f"\n== data set {size}x")
        yield datasets.scaled(options.input, size, data_dir, progress=say)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.perf_counter()
    results = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join(["python -m tests.bench.run", shlex.join(sys.argv[1:] if argv is None else argv)]).strip(),
        "smoke": options.smoke, "calls": options.calls, "engines": options.engines, "budget_s": options.budget,
        "redis": bool(options.redis_url),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": [round(value, 2) for value in os.getloadavg()]},
        "datasets": [], "reference": {}, "runs": [],
    }
    secret_key = secrets.token_urlsafe(36)  # 48 characters, the same for the CLI and every worker of a run
    status = 0
    try:
        for dataset in prepare_datasets(options):
            results["datasets"].append(dataset.as_dict())
            say(f"\n== common approach at {dataset.label}")
            results["reference"][dataset.label] = ref = reference.measure(dataset.path, options.reference_calls)
            say(f"    read {ref['read_seconds']} s, summary p50 {ref['p50_ms']} ms, RSS +{ref['rss_growth_mb']} MB")
            for engine in options.engines:
                run = {"size": dataset.label, "multiplier": dataset.multiplier, "engine": engine, "rows": []}
                results["runs"].append(run)
                bench_one(run, dataset, engine, options, secret_key)
                status = status or (1 if run.get("error") else 0)
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up and writing what was measured")
        results["interrupted"] = True
        status = 130
    except Exception as error:  # e.g. the data could not be prepared: still clean up and report
        results["error"] = f"{type(error).__name__}: {error}"
        say(f"FAILED: {results['error']}\n{traceback.format_exc()}")
        status = 1
    finally:
        dropped = loading.drop_all()
        if dropped:
            say(f"dropped {', '.join(dropped)}")
    results["duration_s"] = round(time.perf_counter() - began, 1)
    results["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    report.evaluate(results, with_targets=not options.smoke)
    markdown, data = report.write(results, options.work_dir)
    say("\n" + report.render(results))
    say(f"written: {markdown}\n         {data}")
    return status


if __name__ == "__main__":
    sys.exit(main())
