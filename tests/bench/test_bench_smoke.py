"""`make bench` keeps working: the harness in smoke mode (fixture data, SQLite, 5 calls) produces a results file
with the floor and one row per data callback of the app, each with real timings.

The expected callbacks come from the app's own callback map, not from the harness, so a page callback the harness
failed to find (or one added later that it cannot call) fails here. Run as a subprocess, as `make bench` runs it:
the harness starts gunicorn and CLI processes and installs a signal handler, which must not happen inside pytest.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.bench import measure
from tests.bench.env import PROJECT_ROOT


def data_callback_keys(app) -> set[str]:
    """Every page callback: all of the callback map but the pages router and the shell's own callbacks."""
    keys = set()
    for key, spec in app.extensions["dash"].callback_map.items():
        outputs = spec["output"] if isinstance(spec["output"], list | tuple) else [spec["output"]]
        ids = [output.component_id for output in outputs]
        if any(str(component_id).startswith("_pages") for component_id in ids):
            continue
        if all(str(component_id).startswith("shell-") for component_id in ids):
            continue
        keys.add(key)
    return keys


@pytest.mark.slow
def test_smoke_run_writes_a_row_per_data_callback(app, tmp_path):
    result = subprocess.run([sys.executable, "-m", "tests.bench.run", "--smoke", "--work-dir", str(tmp_path)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"harness failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"

    files = sorted(tmp_path.glob("bench-*.json"))
    assert len(files) == 1 and files[0].with_suffix(".md").exists()
    results = json.loads(files[0].read_text())
    [run] = results["runs"]
    assert run["size"] == "fixture" and run["engine"] == "sqlite" and not run.get("error")

    rows = {row["key"]: row for row in run["rows"] if row["kind"] == "data"}
    floor = next(row for row in run["rows"] if row["kind"] == "floor")
    assert floor["key"] == "shell-ping-out.children"
    assert set(rows) == data_callback_keys(app)
    for row in [floor, *rows.values()]:
        assert row["ok"] > 0 and row["p50_ms"] > 0 and row["p95_ms"] > 0 and row["first_ms"] > 0, (
            f"{row['label']}: {row['statuses']} {row['error_examples']}")
        assert row["ratio"] is not None and row["ratio"] > 0
    assert run["first_page_load"]["total_ms"] > 0
    assert run["throughput"]["requests_per_s"] > 0
    assert all(rss > 0 for rss in run["workers_rss_mb"].values())
    # the largest extracts, each downloaded twice, in the table too
    assert len(run["downloads"]) == len(measure.DOWNLOADS)
    for download in run["downloads"]:
        assert download["ok"] and download["statuses"] == [200, 200] and download["bytes"] > 0, download
        assert download["first_ms"] > 0 and download["again_ms"] > 0
    text = files[0].with_suffix(".md").read_text()
    assert "## Downloads" in text and "procedure-rows xlsx (bench-uhc)" in text
