"""A fresh warehouse per size and engine, loaded and given accounts through the product's own CLI.

Loads run `flask --app wsgi load-data --input DIR` in a subprocess, as an operator would, so the timing includes
everything a real load pays (start-up, validation, transform, one transaction). The warehouse is always new: a
reused one would answer "input unchanged" and time nothing. PostgreSQL databases are named `pag_bench_<size>`,
created here and dropped by `drop_all` (the CLI calls it in a `finally`, so Ctrl-C and errors drop them too).
"""
from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.bench.env import PROJECT_ROOT, VENV_BIN
from tests.services import PG_ADMIN_URL, postgres_ready

# username -> (role, payer, specialty): a client without specialty, a client member of one specialty (hospice
# hidden), and senior management (previews both clients, runs the management analyses).
ACCOUNTS = {
    "bench-uhc": ("client", "UnitedHealthcare", None),
    "bench-humana": ("client", "Humana", "Oncology"),
    "bench-senior": ("senior_management", None, None),
}
_created_databases: set[str] = set()


@dataclass
class Warehouse:
    engine: str  # "sqlite" or "postgres"
    label: str  # data set label, e.g. "10x"
    url: str
    path: Path | None = None  # the SQLite file
    database: str | None = None  # the PostgreSQL database

    def size_bytes(self) -> int:
        """SQLite: the file plus its write-ahead log; PostgreSQL: pg_database_size."""
        if self.engine == "sqlite":
            return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        with _admin() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(%s)", (self.database,))
            return int(cursor.fetchone()[0])


@dataclass
class LoadTiming:
    seconds: float  # wall time of the whole CLI command
    reported_seconds: float | None  # what the command itself reports (without interpreter start-up)
    counts: dict[str, int]
    output: str
    warm_seconds: float | None = None  # precomputing the default views after the load (reported separately)


@contextmanager
def _admin():
    """An autocommit connection to the admin database (CREATE/DROP DATABASE cannot run in a transaction, and
    psycopg2's own `with connection` would open one)."""
    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def _drop(name: str) -> None:
    with _admin() as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_warehouse(engine: str, label: str, work_dir: Path) -> Warehouse:
    """An empty warehouse for one data set: a new SQLite file, or a new PostgreSQL database."""
    if engine == "sqlite":
        path = work_dir / f"warehouse-{label}.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            stale.unlink(missing_ok=True)
        return Warehouse(engine, label, f"sqlite:///{path}", path=path)
    if engine != "postgres":
        raise ValueError(f"unknown engine {engine!r}")
    if not postgres_ready():
        raise RuntimeError("PostgreSQL is not answering on 127.0.0.1:5432")
    name = f"pag_bench_{label}"
    _drop(name)
    with _admin() as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    _created_databases.add(name)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    return Warehouse(engine, label, f"{base}/{name}", database=name)


def discard(warehouse: Warehouse) -> None:
    """Drop a PostgreSQL bench database (a 100x one takes gigabytes); SQLite files stay for inspection."""
    if warehouse.database:
        _drop(warehouse.database)
        _created_databases.discard(warehouse.database)


def drop_all() -> list[str]:
    """Drop every database this process created and has not dropped yet; returns their names."""
    dropped = []
    for name in sorted(_created_databases):
        try:
            _drop(name)
            dropped.append(name)
        except psycopg2.Error as error:
            print(f"  could not drop {name}: {error}")
    _created_databases.clear()
    return dropped


def flask(args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 3600) -> str:
    """Run `flask --app wsgi ARGS` in the project; raise with its output when it fails."""
    command = [str(VENV_BIN / "flask"), "--app", "wsgi", *args]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, input=stdin, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"`flask --app wsgi {' '.join(args)}` failed ({result.returncode}):\n"
                           f"{result.stdout}\n{result.stderr}")
    return result.stdout


def load(input_dir: Path, env: dict[str, str]) -> LoadTiming:
    began = time.perf_counter()
    output = flask(["load-data", "--input", str(input_dir)], env)
    seconds = time.perf_counter() - began
    reported = re.search(r"Loaded data version \d+ in ([\d.]+) s", output)
    warmed = re.search(r"Precomputed \d+ default views in ([\d.]+) s", output)
    counts = {match[1]: int(match[2].replace(",", ""))
              for match in re.finditer(r"^\s+(\w+)\s+([\d,]+)\s*$", output, flags=re.MULTILINE)}
    return LoadTiming(round(seconds, 2), float(reported[1]) if reported else None, counts, output,
                      float(warmed[1]) if warmed else None)


def create_accounts(env: dict[str, str], password: str) -> None:
    """`flask --app wsgi users create` per account, the three at once: each command spends seconds importing the
    app and milliseconds writing its row."""
    def create(item):
        username, (role, payer, specialty) = item
        args = ["users", "create", username, "--role", role, "--password-stdin"]
        if payer:
            args += ["--payer", payer]
        if specialty:
            args += ["--specialty", specialty]
        flask(args, env, stdin=password + "\n", timeout=300)

    with ThreadPoolExecutor(len(ACCOUNTS)) as pool:
        list(pool.map(create, ACCOUNTS.items()))
