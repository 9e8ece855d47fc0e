"""Targets, the printed table, and the Markdown and JSON files under var/bench/.

The targets are the issue's. They are printed next to the measured ratios as PASS/FAIL for the reader; they never
change the exit status (DESIGN §7: speed is reported as ratios, not asserted). A target applies to a size only
(1x and 100x), so 10x rows show none. A row without timings (every call failed) fails its targets.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

CLIENT_PAGES = ("client", "team")
ANALYSIS_PAGES = ("management", "extracts")
LOAD_LIMITS_S = {"postgres": 30, "sqlite": 45}  # at 100x
WORKER_RSS_LIMIT_MB = 250  # at 100x
REFERENCE_FACTOR = 10  # at 100x, every page at least this many times faster than the common approach
FIRST_CALL_LIMIT_MS = 300  # management analyses at 100x


def _target(name: str, value, limit, passed: bool | None) -> dict:
    return {"target": name, "value": value, "limit": limit,
            "result": "n/a" if passed is None else ("PASS" if passed else "FAIL")}


def _at_most(name: str, value, limit) -> dict:
    return _target(name, value, limit, None if value is None else value <= limit)


def row_targets(row: dict, multiplier: int | None) -> list[dict]:
    """The issue's targets for one data callback row at one size."""
    targets, page, ratio = [], row["page"], row.get("ratio")
    if row["kind"] == "repeat":
        # the issue asks repeated management analyses at 100x to stay within 2x the floor; the other repeated
        # rows are shown for reading (the client and team targets are judged on the first-time questions)
        if page in ANALYSIS_PAGES and multiplier == 100:
            targets.append(_at_most("p50/floor", ratio, 2))
        return targets
    if row["kind"] != "data":
        return targets
    if page in CLIENT_PAGES and multiplier in (1, 100):
        targets.append(_at_most("p50/floor", ratio, 1.5 if multiplier == 1 else 2))
    if page in ANALYSIS_PAGES and multiplier in (1, 100):
        targets.append(_at_most("p50/floor", ratio, 2))
        if multiplier == 100:
            targets.append(_at_most("first ms", row.get("first_ms"), FIRST_CALL_LIMIT_MS))
    if multiplier == 100:
        factor = row.get("vs_reference")
        targets.append(_target("x faster than common approach", factor, REFERENCE_FACTOR,
                               None if factor is None else factor >= REFERENCE_FACTOR))
    if row.get("ok", 0) == 0:
        for target in targets:
            target["result"] = "FAIL"
    return targets


def run_targets(run: dict) -> list[dict]:
    if run.get("multiplier") != 100:
        return []
    targets = []
    # the load itself, as the command reports it; precomputing the default views afterwards is reported apart
    load = (run.get("load") or {}).get("reported_seconds") or (run.get("load") or {}).get("seconds")
    targets.append(_at_most(f"load 100x {run['engine']} s", load, LOAD_LIMITS_S[run["engine"]]))
    for pid, rss in (run.get("workers_rss_mb") or {}).items():
        targets.append(_at_most(f"worker {pid} RSS MB", rss, WORKER_RSS_LIMIT_MB))
    return targets


def evaluate(results: dict, with_targets: bool) -> None:
    """Add ratios, the comparison with the common approach and (unless smoke) the targets to `results`."""
    references = results.get("reference", {})
    for run in results["runs"]:
        rows = run.get("rows", [])
        floor = next((row for row in rows if row["kind"] == "floor"), None)
        floor_p50 = floor and floor.get("p50_ms")
        reference_p50 = (references.get(run["size"]) or {}).get("p50_ms")
        run["floor_p50_ms"] = floor_p50
        for row in rows:
            p50 = row.get("p50_ms")
            # data rows: against the floor calls interleaved with them (same moment, same load); floor rows:
            # against the first floor row, which shows how much the floor drifted during the run
            own_floor = row.get("interleaved_floor_p50_ms") or floor_p50
            row["ratio"] = round(p50 / own_floor, 2) if p50 and own_floor else None
            row["ratio_to_first_floor"] = round(p50 / floor_p50, 2) if p50 and floor_p50 else None
            row["vs_reference"] = (round(reference_p50 / p50, 1) if p50 and reference_p50 and row["kind"] == "data"
                                   else None)
            row["targets"] = row_targets(row, run.get("multiplier")) if with_targets else []
        run["targets"] = run_targets(run) if with_targets else []
    all_targets = [t for run in results["runs"] for t in run["targets"]]
    all_targets += [t for run in results["runs"] for row in run.get("rows", []) for t in row["targets"]]
    results["target_summary"] = {result: sum(t["result"] == result for t in all_targets)
                                 for result in ("PASS", "FAIL", "n/a")}


# ---------------------------------------------------------------- rendering


def number(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table padded to line up in a terminal too."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)) + " |"

    return [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *map(line, rows)]


def _short_target(target: dict) -> str:
    names = {"p50/floor": f"≤{target['limit']}x floor", "first ms": f"1st ≤{target['limit']} ms",
             "x faster than common approach": f"≥{target['limit']}x ref"}
    return f"{names.get(target['target'], target['target'])} {target['result']}"


def main_table(results: dict) -> list[str]:
    header = ["size", "engine", "callback", "calls", "err", "p50 ms", "p95 ms", "floor p50", "x floor", "first ms",
              "x ref", "targets"]
    rows = []
    for run in results["runs"]:
        for row in run.get("rows", []):
            calls = f"{row['calls']}" + ("*" if row.get("stopped_early") else "")
            rows.append([run["size"], run["engine"], row["label"], calls, str(row["errors"] or ""),
                         number(row["p50_ms"]), number(row["p95_ms"]),
                         number(row.get("interleaved_floor_p50_ms") or run.get("floor_p50_ms")),
                         number(row.get("ratio"), 2),
                         number(row["first_ms"]), number(row.get("vs_reference")),
                         "; ".join(_short_target(t) for t in row.get("targets", []))])
    return _table(header, rows)


def runs_table(results: dict) -> list[str]:
    header = ["size", "engine", "load s (command)", "load s (loader)", "warm s", "warehouse MB", "worker RSS MB",
              "worker private MB", "floor p50 ms", "floor rps (8 clients)", "first /client load ms", "targets"]
    rows = []
    for run in results["runs"]:
        load = run.get("load") or {}
        rss = ", ".join(number(value) for value in (run.get("workers_rss_mb") or {}).values())
        private = ", ".join(number(value) for value in (run.get("workers_private_mb") or {}).values())
        rows.append([run["size"], run["engine"], number(load.get("seconds")), number(load.get("reported_seconds")),
                     number(load.get("warm_seconds")),
                     number(run["warehouse_bytes"] / 2**20 if run.get("warehouse_bytes") else None),
                     rss or "–", private or "–", number(run.get("floor_p50_ms")),
                     number((run.get("throughput") or {}).get("requests_per_s")),
                     number((run.get("first_page_load") or {}).get("total_ms")),
                     "; ".join(f"{t['target']} {t['result']}" for t in run.get("targets", []))])
    return _table(header, rows)


def downloads_table(results: dict) -> list[str]:
    header = ["size", "engine", "extract", "MB", "first ms", "again ms", "status"]
    rows = [[run["size"], run["engine"], row["label"], number(row["bytes"] / 2**20, 2), number(row["first_ms"]),
             number(row["again_ms"]), ", ".join(str(status) for status in row["statuses"])]
            for run in results["runs"] for row in run.get("downloads", [])]
    return _table(header, rows)


def reference_table(results: dict) -> list[str]:
    header = ["size", "read CSVs s", "summary p50 ms", "calls", "RSS growth MB"]
    rows = [[size, number(ref["read_seconds"], 2), number(ref["p50_ms"]), str(ref["calls"]),
             number(ref["rss_growth_mb"])] for size, ref in results.get("reference", {}).items()]
    return _table(header, rows)


def problems(results: dict) -> list[str]:
    lines = [f"- the run failed: {results['error']}"] if results.get("error") else []
    if results.get("interrupted"):
        lines.append("- the run was interrupted; the tables hold what was measured until then")
    for run in results["runs"]:
        where = f"{run['size']} {run['engine']}"
        if run.get("error"):
            lines.append(f"- {where}: run failed: {run['error']}")
        for row in run.get("rows", []):
            for example in row.get("error_examples", []):
                lines.append(f"- {where} {row['label']}: {example}")
            if row.get("stopped_early"):
                lines.append(f"- {where} {row['label']}: stopped after {row['calls']} calls (time budget)")
        page = run.get("first_page_load") or {}
        for step in page.get("steps", []):
            if step["status"] != 200:
                lines.append(f"- {where} first page load: {step['step']} answered {step['status']}")
        if (run.get("throughput") or {}).get("errors"):
            lines.append(f"- {where} throughput: errors {run['throughput']['errors']}")
        for download in run.get("downloads", []):
            for error in download["errors"]:
                lines.append(f"- {where} download {download['label']}: {error}")
        for line in run.get("log_problems", []):
            lines.append(f"- {where} gunicorn log: {line}")
    return lines or ["- none"]


def render(results: dict) -> str:
    summary = results.get("target_summary", {})
    machine = results["machine"]
    loads = " → ".join(f"{values[0]:.1f}" for values in (machine.get("load_average_at_start"),
                                                          machine.get("load_average_at_end")) if values)
    out = [f"# Benchmark {results['started_at']}", "",
           f"`{results['command']}` · {machine['cpus']} CPUs (load average {loads or '?'}) · "
           f"{results['calls']} calls per callback · took {number(results.get('duration_s'), 0)} s", "",
           "p50/p95: sequential round trips seen by the client, in ms. floor p50: the trivial protected callback "
           "(shell ping) on the same server, called by the same account just before each call of the row (floor "
           "rows: measured on their own at the start and the end). x floor: p50 / floor p50 (floor rows: / the "
           "first floor row). first: the row's first call on a fresh server. x ref: p50 of the common approach "
           "(global pandas DataFrames) / p50. * = stopped early by the time budget.", "",
           *main_table(results), "", "## Loads, sizes, memory, throughput", "", *runs_table(results), "",
           "## Downloads (the largest extracts, asked twice; first: computed, again: from the cache of the worker "
           "that answers)", "", *downloads_table(results), "",
           "## Common approach (pandas on global DataFrames, in the harness process)", "", *reference_table(results),
           ""]
    if summary and (summary.get("PASS") or summary.get("FAIL")):
        out += [f"Targets (informative): {summary.get('PASS', 0)} PASS, {summary.get('FAIL', 0)} FAIL, "
                f"{summary.get('n/a', 0)} n/a.", ""]
    out += ["## Problems seen", "", *problems(results), ""]
    return "\n".join(out)


def write(results: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    markdown, data = out_dir / f"bench-{stamp}.md", out_dir / f"bench-{stamp}.json"
    markdown.write_text(render(results))
    data.write_text(json.dumps(results, indent=2, default=str))
    return markdown, data
