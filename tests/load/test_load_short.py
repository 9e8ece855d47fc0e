"""`make loadtest` in short: ~10 users of every role for 15 s on SQLite and on PostgreSQL, with the same scope
checks on every response; no leak and no 5xx allowed.

Run as a subprocess, as `make loadtest` runs it: the harness starts gunicorn and CLI processes and installs a
signal handler, which must not happen inside pytest. It uses Redis database 13 (the full run uses 14, the other
tests 15), so it can run while a full load test does. About 35 s on two cores.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.bench.env import PROJECT_ROOT
from tests.services import postgres_ready, redis_ready, unavailable

ROLES = {"client UnitedHealthcare", "client Humana", "client Humana/Oncology", "client Humana/Hospice",
         "senior_management", "employee", "admin"}


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_short_load_run_leaks_nothing_and_never_fails(real_input, tmp_path, engine):
    if not redis_ready():
        unavailable("Redis is not answering on 127.0.0.1:6379")
    if engine == "postgres" and not postgres_ready():
        unavailable("PostgreSQL is not answering on 127.0.0.1:5432")
    command = [sys.executable, "-m", "tests.load.run", "--users", "10", "--duration", "15", "--ramp", "2",
               "--redis-db", "13", "--input", str(real_input), "--work-dir", str(tmp_path), "--engine", engine,
               "--pg-database", "pag_load_short"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
    output = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"

    files = sorted(tmp_path.glob("loadtest-*.json"))
    assert len(files) == 1 and files[0].with_suffix(".md").exists(), f"no results written:\n{output}"
    summary = json.loads(files[0].read_text())
    assert not summary.get("error"), f"the run failed: {summary['error']}\n{output}"
    totals = summary["totals"]

    assert totals["leaks"] == 0, (
        f"{totals['leaks']} responses broke their viewer's scope ({summary['leak_rules']}); first ones:\n"
        + json.dumps(summary["leaks"][:3], indent=2, ensure_ascii=False))
    assert totals["http_5xx"] == 0, f"5xx answers:\n{json.dumps(summary['error_examples'], indent=2)}"
    assert totals["forged_refused"] == totals["forged"], "a forged request was not refused with 403/400"

    # the run really exercised every role, and the checks really looked at the data
    assert totals["requests"] > 100, output
    assert {role for role, row in summary["roles"].items() if row["requests"]} == ROLES
    # every user logged in and worked (how many were active at the same second depends on the machine's load)
    assert summary["concurrency"]["max_active_users"] == 10
    assert not summary["concurrency"]["users_failed"]
    assert sum(summary["canaries"].values()) > 0, "the scope checks never saw allowed hospice/payer/figure data"
