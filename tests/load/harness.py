"""Setting up and running one load test: warehouse, accounts, Redis, gunicorn, discovery, the virtual users.

Like `make bench`, the harness drives the product as an operator does (the `flask --app wsgi` CLI and gunicorn in
subprocesses, the app's own HTTP interface) and never imports product code, so it tests what production runs.
The bench's helpers are reused: the production environment (`tests.bench.env.product_env`), the CLI runner and
loader (`tests.bench.loading`), the gunicorn lifecycle (`tests.bench.server.Gunicorn`, given `--threads` through
gunicorn's own `GUNICORN_CMD_ARGS`), the logged-in session and Dash callback bodies (`tests.bench.client`).
"""
from __future__ import annotations

import json
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg2
import redis

from tests.bench import loading
from tests.bench.client import AppSession, component_props
from tests.bench.env import PROJECT_ROOT, VENV_BIN, product_env
from tests.bench.server import Gunicorn
from tests.load.checks import Checker, Forbidden
from tests.load.users import ACCOUNTS, SENIOR, Recorder, Site, VirtualUser, spread
from tests.services import PG_ADMIN_URL, postgres_ready, redis_ready

PG_DATABASE = "pag_load"
# High enough that no login of the run is ever throttled (the users log in from one address).
LOGIN_MAX_FAILURES = 1_000_000


@dataclass
class Warehouse:
    engine: str
    url: str
    path: Path | None = None
    database: str | None = None

    def discard(self) -> None:
        """Drop the PostgreSQL database (the SQLite file stays under var/load/ for inspection)."""
        if self.database:
            with _pg_admin() as connection, connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _pg_admin():
    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return _Closing(connection)


class _Closing:
    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self.connection

    def __exit__(self, *_exc):
        self.connection.close()


def fresh_warehouse(engine: str, work_dir: Path, database: str = PG_DATABASE) -> Warehouse:
    if engine == "sqlite":
        path = work_dir / "warehouse.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            stale.unlink(missing_ok=True)
        return Warehouse("sqlite", f"sqlite:///{path}", path=path)
    if not postgres_ready():
        raise RuntimeError("PostgreSQL is not answering on 127.0.0.1:5432")
    with _pg_admin() as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{database}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    return Warehouse("postgres", f"{base}/{database}", database=database)


def fresh_redis(db: int) -> str:
    if not redis_ready():
        raise RuntimeError("Redis is not answering on 127.0.0.1:6379")
    url = f"redis://127.0.0.1:6379/{db}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def environment(warehouse: Warehouse, redis_url: str, threads: int) -> dict[str, str]:
    env = product_env(warehouse.url, secrets.token_urlsafe(36), redis_url)  # SECRET_KEY: 48 random characters
    env["LOGIN_MAX_FAILURES"] = str(LOGIN_MAX_FAILURES)
    env["GUNICORN_CMD_ARGS"] = f"--threads {threads}"
    return env


def create_accounts(env: dict[str, str], password: str) -> str:
    """The product's `users create` command for every account, in one process (see `accounts_cli`)."""
    commands = []
    for username, kind in ACCOUNTS.items():
        args = ["users", "create", username, "--role", kind.role, "--password-stdin"]
        if kind.payer:
            args += ["--payer", kind.payer]
        if kind.specialty:
            args += ["--specialty", kind.specialty]
        commands.append(args)
    result = subprocess.run([str(VENV_BIN / "python"), "-m", "tests.load.accounts_cli", json.dumps(commands)],
                            cwd=PROJECT_ROOT, env=env, input=password + "\n", capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"creating the accounts failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Discovery:
    specs: list
    page_paths: dict[str, str]
    defaults: dict[str, dict]
    client_payers: list[str]
    data_first: date
    data_last: date


def discover(base_url: str, password: str) -> Discovery:
    """As senior management (who may open every page): the callbacks, the page paths (navbar links), each page's
    layout values, the client payers (the preview picker) and the data's date range."""
    senior = AppSession(base_url, SENIOR, password, timeout=120).login()
    specs = senior.dependencies()
    shell = component_props(senior.get("/_dash-layout").data)
    paths = {key[len("shell-nav-"):-len(".href")]: value for key, value in shell.items()
             if key.startswith("shell-nav-") and key.endswith(".href")}
    router = next(spec for spec in specs if spec.is_router)
    defaults = {}
    for page, path in paths.items():
        answer = senior.page_layout(router, path)
        if not answer.ok:
            raise RuntimeError(f"senior management cannot open {path}: HTTP {answer.status} {answer.error}")
        defaults[page] = {**shell, **component_props(answer.data)}
    client = defaults.get("client", {})
    payers = [option["value"] for option in client.get("client-payer.options") or []]
    first = client.get("client-dates.min_date_allowed") or defaults.get("management", {}).get(
        "management-dates.min_date_allowed")
    last = client.get("client-dates.max_date_allowed") or defaults.get("management", {}).get(
        "management-dates.max_date_allowed")
    if not (payers and first and last):
        raise RuntimeError("could not read the client payers and the data's date range from the pages")
    return Discovery(specs, paths, defaults, payers, date.fromisoformat(str(first)[:10]),
                     date.fromisoformat(str(last)[:10]))


@dataclass
class Options:
    users: int = 60
    duration: float = 120.0
    ramp: float = 10.0
    think: float = 1.0
    engine: str = "sqlite"
    workers: int = 4
    threads: int = 2
    redis_db: int = 14
    timeout: float = 60.0
    seed: int = 7
    input_dir: Path = Path("/work/shared/input")
    work_dir: Path = Path("var/load")
    pg_database: str = PG_DATABASE


@dataclass
class RunState:
    """What a run has found out so far (kept even when the run is interrupted)."""

    setup: dict = field(default_factory=dict)
    recorder: Recorder | None = None
    users: list[VirtualUser] = field(default_factory=list)
    site: Site | None = None
    server: Gunicorn | None = None
    window: tuple[float, float] | None = None  # seconds since start: every user started .. deadline


def run_users(state: RunState, discovery: Discovery, base_url: str, password: str, checker: Checker,
              options: Options, say) -> None:
    started = time.monotonic()
    recorder = Recorder(started)
    deadline = started + options.ramp + options.duration
    site = Site(base_url, password, discovery.specs, discovery.page_paths, discovery.defaults,
                discovery.client_payers, discovery.data_first, discovery.data_last, checker, recorder, deadline,
                timeout=options.timeout, think_s=options.think)
    state.recorder, state.site = recorder, site
    state.window = (options.ramp, options.ramp + options.duration)
    accounts = spread(options.users)
    step = options.ramp / max(1, len(accounts))
    state.users = [VirtualUser(number, username, site, started + number * step, options.seed * 1000 + number)
                   for number, username in enumerate(accounts)]
    for user in state.users:
        user.start()
    next_report = started + 15
    while any(user.is_alive() for user in state.users):
        recorder.tick()
        now = time.monotonic()
        if now >= next_report and now < deadline:
            done = len(recorder.samples)
            say(f"    t={now - started:5.0f} s  users {recorder.active_users:3d}  in flight {recorder.in_flight:3d}  "
                f"requests {done:6d}  leaks {len(recorder.leaks)}")
            next_report += 15
        if now > deadline + options.timeout + 30:
            say("    some users did not stop: giving up on them")
            break
        time.sleep(1.0)


def stop_users(state: RunState) -> None:
    """Make every user stop at its next request (Ctrl-C)."""
    if state.site is not None:
        state.site.deadline = time.monotonic()
    for user in state.users:
        user.join(timeout=state.site.timeout + 5 if state.site else 5)


def setup_and_run(options: Options, state: RunState, say) -> None:
    work_dir = options.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    phases = state.setup["phases_s"] = {}

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 1)
        clock = now

    forbidden = Forbidden.load(options.input_dir)
    checker = Checker(forbidden)
    phase("read input")
    state.setup["forbidden"] = {"payer_names": len(forbidden.payer_names), "patient_ids": len(forbidden.patient_ids),
                                "patient_names": sum(len(v) for v in forbidden.name_anchors.values()),
                                "hospice_codes": sorted(forbidden.hospice_codes),
                                "hospice_descriptions": list(forbidden.hospice_descriptions)}
    warehouse = fresh_warehouse(options.engine, work_dir, options.pg_database)
    state.setup["warehouse"] = warehouse.url.split("@")[-1]
    try:
        redis_url = fresh_redis(options.redis_db)
        state.setup["redis"] = redis_url
        env = environment(warehouse, redis_url, options.threads)
        say(f"    loading {options.input_dir} into {options.engine} ...")
        began = time.perf_counter()
        load = loading.load(options.input_dir, env)
        state.setup["load_seconds"] = round(time.perf_counter() - began, 1)
        phase("load")
        state.setup["row_counts"] = load.counts
        password = secrets.token_urlsafe(24)
        began = time.perf_counter()
        create_accounts(env, password)
        phase("accounts")
        state.setup["accounts"] = {name: vars(kind) for name, kind in ACCOUNTS.items()}
        say(f"    loaded in {state.setup['load_seconds']} s; {len(ACCOUNTS)} accounts in "
            f"{time.perf_counter() - began:.1f} s")
        log = work_dir / "logs" / f"gunicorn-{options.engine}-{time.strftime('%Y%m%dT%H%M%S')}.log"
        state.setup["gunicorn_log"] = str(log)
        state.setup["gunicorn"] = f"gunicorn -w {options.workers} --threads {options.threads} wsgi:server"
        server = Gunicorn(env, log, workers=options.workers)
        state.server = server
        with server:
            phase("gunicorn start")
            state.setup["worker_pids_at_start"] = server.worker_pids()
            say(f"    gunicorn -w {options.workers} --threads {options.threads} on {server.url}, "
                f"workers {server.worker_pids()}")
            discovery = discover(server.url, password)
            state.setup["pages"] = discovery.page_paths
            state.setup["client_payers"] = discovery.client_payers
            state.setup["data_range"] = [discovery.data_first.isoformat(), discovery.data_last.isoformat()]
            phase("discovery")
            say(f"    {options.users} users for {options.duration:.0f} s (+{options.ramp:.0f} s ramp-up), "
                f"think time ~{options.think} s")
            run_users(state, discovery, server.url, password, checker, options, say)
            phase("users")
            state.setup["workers_rss_mb"] = server.worker_rss_mb()
            state.setup["worker_pids_at_end"] = server.worker_pids()
        phase("gunicorn stop")
        state.setup["log_problems"] = server.log_problems(limit=30)
    finally:
        stop_users(state)
        warehouse.discard()
        if warehouse.database:
            say(f"    dropped {warehouse.database}")
