"""`python -m tests.load.run` (`make loadtest`): a bounded load test of the app as production serves it, with every
response checked against its viewer's scope.

gunicorn (4 workers x 2 threads by default, APP_ENV=production, a random 48-character SECRET_KEY, Redis db 14
flushed first) serves a warehouse freshly loaded from the real input (SQLite under var/load/, or a PostgreSQL
database `pag_load` that is dropped afterwards). 60 virtual users of every role log in through /login and for
120 s open their pages, change filters, download extracts and now and then forge a request outside their scope.
The run prints totals, errors, latency percentiles (overall and per action type), requests/s, leaks and per role
counts, and writes var/load/loadtest-<UTC time>.md and .json. Exit status 1 when there is a leak, a 5xx answer or
more than 0.5 % errors; 2 when the run itself could not be set up.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.env import PROJECT_ROOT, REAL_INPUT
from tests.load import harness, report

DEFAULT_WORK_DIR = PROJECT_ROOT / "var" / "load"


def parse_args(argv: list[str] | None) -> harness.Options:
    parser = argparse.ArgumentParser(prog="python -m tests.load.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=60, help="concurrent virtual users (60)")
    parser.add_argument("--duration", type=float, default=120.0,
                        help="seconds with every user active, after the ramp-up (120)")
    parser.add_argument("--ramp", type=float, default=None, help="seconds over which users start (users/6, max 10)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's actions, s (1.0)")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite", help="warehouse (sqlite)")
    parser.add_argument("--pg-database", default=harness.PG_DATABASE,
                        help=f"PostgreSQL database to create and drop ({harness.PG_DATABASE})")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker (2)")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database number, flushed first (14)")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, s (60)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the users' choices (7)")
    parser.add_argument("--input", type=Path, default=REAL_INPUT, help=f"the real input ({REAL_INPUT})")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR,
                        help="SQLite warehouse, gunicorn log and results (var/load)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.duration <= 0 or args.workers < 1 or args.threads < 1:
        parser.error("--users, --duration, --workers and --threads must be positive")
    ramp = min(10.0, args.users / 6) if args.ramp is None else args.ramp
    return harness.Options(users=args.users, duration=args.duration, ramp=ramp, think=args.think,
                           engine=args.engine, workers=args.workers, threads=args.threads, redis_db=args.redis_db,
                           timeout=args.timeout, seed=args.seed, input_dir=args.input.resolve(),
                           work_dir=args.work_dir.resolve(), pg_database=args.pg_database)


def say(text: str) -> None:
    print(text, flush=True)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    results = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join(["python -m tests.load.run",
                             shlex.join(sys.argv[1:] if argv is None else argv)]).strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_start": [round(value, 2) for value in os.getloadavg()]},
    }
    state = harness.RunState()
    results["setup"] = state.setup
    say(f"== load test: {options.users} users, {options.duration:.0f} s, {options.engine}")
    status = 0
    began, cpu_began = time.perf_counter(), time.process_time()
    try:
        harness.setup_and_run(options, state, say)
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the users and gunicorn, writing what was measured")
        results["interrupted"] = True
        status = 130
    except Exception as error:
        results["error"] = f"{type(error).__name__}: {error}"[:3000]
        say(f"FAILED: {results['error']}\n{traceback.format_exc()}")
        status = 2
    results["duration_s"] = round(time.perf_counter() - began, 1)
    # CPU used by this process (the 60 users and their checks): on a small machine it competes with gunicorn
    results["client_cpu_s"] = round(time.process_time() - cpu_began, 1)
    results["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    summary = report.summarize(results, state.recorder, state.users, state.window, options)
    markdown, data = report.write(summary, options.work_dir)
    say("\n" + report.render(summary))
    say(f"written: {markdown}\n         {data}")
    if status:
        return status
    return 0 if summary["verdict"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
