"""Where things are, and the environment the product's processes (CLI and gunicorn) run with.

The harness never imports product code: it drives the app as an operator would, through `flask --app wsgi` and
gunicorn, so a run measures exactly what production runs. The product's configuration variables are removed from
the inherited environment and set explicitly, so that a developer's exported REDIS_URL or MIN_CELL_SIZE cannot make
two runs incomparable without it showing in the results.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEFAULT_WORK_DIR = PROJECT_ROOT / "var" / "bench"
REAL_INPUT = Path(os.environ.get("MAT_INPUT_DIR") or "/work/shared/input")

# Every variable dashboard/config.py reads (DESIGN §4 and the README's configuration table).
PRODUCT_VARIABLES = (
    "APP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAT_INPUT_DIR", "MIN_CELL_SIZE", "CLIENT_PAYERS",
    "INTERNAL_VISIBILITY", "CLIENT_DATE_PRECISION", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS",
    "LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "MAP_STYLE", "TRUSTED_PROXIES",
    "POSTGRES_PREPARED_STATEMENTS",
)


def product_env(database_url: str, secret_key: str, redis_url: str | None = None) -> dict[str, str]:
    """The environment of a production deployment on loopback (no proxy in front, hence TRUSTED_PROXIES=0)."""
    env = {name: value for name, value in os.environ.items() if name not in PRODUCT_VARIABLES}
    env.update(APP_ENV="production", SECRET_KEY=secret_key, TRUSTED_PROXIES="0", DATABASE_URL=database_url,
               PYTHONUNBUFFERED="1")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (VmRSS of /proc/<pid>/status) in MB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def private_mb(pid: int) -> float | None:
    """Memory only this process holds (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup) in MB: what one
    more worker costs, since the libraries' pages that are shared with other processes are not counted."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        fields = {name: rest for name, _, rest in (line.partition(":") for line in lines) if name.isidentifier()}
    except OSError:
        return None
    try:
        return sum(int(fields[name].split()[0]) for name in ("Private_Clean", "Private_Dirty")) / 1024
    except (KeyError, ValueError):
        return None
