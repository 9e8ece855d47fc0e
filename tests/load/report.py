"""The figures of a run: totals, errors, latency percentiles overall and per action type, requests/s, leaks, per
role counts; printed as a table and written to var/load/loadtest-<UTC time>.md and .json.

Definitions:
- a *request* is one HTTP request sent by a virtual user (setup and discovery are not counted);
- an *error* is a request without the expected status: no answer (connection error, timeout), a 5xx, or any status
  other than the expected one (200 for allowed actions, 302 for the login form, 403/400 for forged requests);
- a *leak* is a response that breaks the viewer's scope (see `checks`), including a forged request answered
  with 2xx; one response with several findings counts once;
- latency is wall time from sending to the last byte received, for every answered request (errors included,
  so that a slow refusal counts); requests/s is requests over the time from the first request to the last answer.

The run fails (exit status 1) when leaks > 0, any 5xx, or errors > 0.5 % of requests.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.measure import percentile

MAX_ERROR_RATE = 0.005
LEAKS_SHOWN = 5


def _latency(samples) -> dict:
    values = [sample.ms for sample in samples if sample.status]
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95), "p99_ms": percentile(values, 99),
            "max_ms": round(max(values), 1) if values else None}


def _row(samples) -> dict:
    statuses = Counter(sample.status for sample in samples)
    return {"requests": len(samples), "errors": sum(not sample.expected for sample in samples),
            "http_5xx": sum(count for status, count in statuses.items() if status >= 500),
            "no_answer": statuses.get(0, 0),
            "statuses": {str(status): count for status, count in sorted(statuses.items())},
            **_latency(samples)}


def summarize(results: dict, recorder, users, window, options) -> dict:
    samples = list(recorder.samples) if recorder else []
    leaks = list(recorder.leaks) if recorder else []
    total = len(samples)
    overall = _row(samples)
    if samples:
        first = min(sample.at for sample in samples)
        last = max(sample.at + sample.ms / 1000 for sample in samples)
        span = max(last - first, 1e-9)
    else:
        span = 0.0
    by_action = defaultdict(list)
    by_role = defaultdict(list)
    for sample in samples:
        by_action[sample.action].append(sample)
        by_role[sample.role].append(sample)
    leaks_by_role = Counter(leak.role for leak in leaks)
    users_by_role = Counter(user.role for user in users)
    roles = {}
    for role in sorted(set(by_role) | set(users_by_role)):
        rows = by_role.get(role, [])
        forged = [sample for sample in rows if sample.forged]
        roles[role] = {"users": users_by_role.get(role, 0), **_row(rows), "forged": len(forged),
                       "forged_refused": sum(sample.status in (400, 403) for sample in forged),
                       "leaks": leaks_by_role.get(role, 0)}
    actions = {action: _row(rows) for action, rows in sorted(by_action.items())}
    timeline = recorder.timeline if recorder else []
    steady = [point for point in timeline if window and window[0] <= point[0] <= window[1]]
    errors_seen = Counter(f"{sample.role} | {sample.action} | {sample.error}" for sample in samples
                          if not sample.expected)
    summary = {
        **results,
        "options": {key: str(value) if isinstance(value, Path) else value for key, value in vars(options).items()},
        "totals": {
            "requests": total, "errors": overall["errors"], "error_rate": round(overall["errors"] / total, 5)
            if total else None, "http_5xx": overall["http_5xx"], "no_answer": overall["no_answer"],
            "leaks": len(leaks), "requests_per_s": round(total / span, 1) if span else None,
            "measured_seconds": round(span, 1), "forged": sum(sample.forged for sample in samples),
            "forged_refused": sum(sample.forged and sample.status in (400, 403) for sample in samples),
            "statuses": overall["statuses"], **_latency(samples),
        },
        "concurrency": {
            "users": len(users),
            "steady_window_s": list(window) if window else None,
            "min_active_users_in_window": min((point[1] for point in steady), default=None),
            "max_active_users": max((point[1] for point in timeline), default=None),
            "max_in_flight": max((point[2] for point in timeline), default=None),
            "users_failed": [f"{user.name}: {user.failure}" for user in users if user.failure][:10],
        },
        "actions": actions,
        "roles": roles,
        "canaries": dict(recorder.canaries) if recorder else {},
        "leak_rules": dict(Counter(finding.rule for leak in leaks for finding in leak.findings)),
        "leak_actions": dict(Counter(f"{leak.role} | {leak.action}" for leak in leaks).most_common()),
        "leaks": [leak.as_dict() for leak in leaks[:50]],
        "error_examples": [{"count": count, "what": text[:400]} for text, count in errors_seen.most_common(15)],
    }
    summary["verdict"] = verdict(summary)
    return summary


def verdict(summary: dict) -> dict:
    totals = summary["totals"]
    reasons = []
    if summary.get("error"):
        reasons.append(f"the run failed: {summary['error']}")
    if not totals["requests"]:
        reasons.append("no request was made")
    if totals["leaks"]:
        reasons.append(f"{totals['leaks']} leak(s)")
    if totals["http_5xx"]:
        reasons.append(f"{totals['http_5xx']} 5xx answer(s)")
    if totals["error_rate"] is not None and totals["error_rate"] > MAX_ERROR_RATE:
        reasons.append(f"error rate {totals['error_rate']:.2%} > {MAX_ERROR_RATE:.1%}")
    if summary.get("interrupted"):
        reasons.append("interrupted")
    return {"passed": not reasons, "reasons": reasons}


# ---------------------------------------------------------------- text


def _ms(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        lines = ["", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return lines + ["| " + " | ".join(cells) + " |" for cells in rows] + [""]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    def fmt(cells):
        return "  ".join(str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
                         for index, (cell, width) in enumerate(zip(cells, widths)))
    return [fmt(header), "  ".join("-" * width for width in widths)] + [fmt(cells) for cells in rows]


def render(summary: dict, markdown: bool = False) -> str:
    totals, conc = summary["totals"], summary["concurrency"]
    h = (lambda text: f"\n## {text}\n") if markdown else (lambda text: f"\n{text}\n" + "-" * len(text))
    out = []
    title = f"Load test {summary.get('started_at', '')} ({summary['options']['engine']})"
    out.append(f"# {title}\n" if markdown else f"{title}\n{'=' * len(title)}")
    out.append(f"command: `{summary.get('command', '')}`" if markdown else f"command: {summary.get('command', '')}")
    setup = summary.get("setup", {})
    out.append(f"server: {setup.get('gunicorn', '-')}, APP_ENV=production, warehouse {setup.get('warehouse', '-')}, "
               f"Redis {setup.get('redis', '-')}, data {setup.get('data_range', '-')}, "
               f"load {setup.get('load_seconds', '-')} s; machine {summary.get('machine', {})}")
    result = "PASS" if summary["verdict"]["passed"] else "FAIL: " + "; ".join(summary["verdict"]["reasons"])
    out.append(h("Result"))
    out.append(f"**{result}**" if markdown else result)
    rows = [
        ["requests", f"{totals['requests']:,}"],
        ["errors", f"{totals['errors']:,} ({(totals['error_rate'] or 0):.3%})"],
        ["  of which no answer", f"{totals['no_answer']:,}"],
        ["5xx", f"{totals['http_5xx']:,}"],
        ["leaks", f"{totals['leaks']:,}"],
        ["forged requests (refused)", f"{totals['forged']:,} ({totals['forged_refused']:,})"],
        ["requests/s", f"{totals['requests_per_s']}"],
        ["latency p50 / p95 / p99 / max ms", f"{_ms(totals['p50_ms'])} / {_ms(totals['p95_ms'])} / "
                                             f"{_ms(totals['p99_ms'])} / {_ms(totals['max_ms'])}"],
        ["virtual users (min active in steady window)", f"{conc['users']} ({conc['min_active_users_in_window']})"],
        ["measured seconds", f"{totals['measured_seconds']}"],
        ["max requests in flight", f"{conc['max_in_flight']}"],
        ["load generator CPU s (of measured s x cpus)", f"{summary.get('client_cpu_s', '-')}"],
        ["statuses", ", ".join(f"{k}: {v:,}" for k, v in totals["statuses"].items())],
    ]
    out += _table(["figure", "value"], rows, markdown)
    out.append(h("Per role"))
    out += _table(["role", "users", "requests", "errors", "5xx", "forged (refused)", "leaks", "p50", "p95", "p99"],
                  [[role, str(row["users"]), f"{row['requests']:,}", str(row["errors"]), str(row["http_5xx"]),
                    f"{row['forged']} ({row['forged_refused']})", str(row["leaks"]), _ms(row["p50_ms"]),
                    _ms(row["p95_ms"]), _ms(row["p99_ms"])] for role, row in summary["roles"].items()], markdown)
    out.append(h("Per action type (ms)"))
    out += _table(["action", "requests", "errors", "p50", "p95", "p99", "max", "statuses"],
                  [[action, f"{row['requests']:,}", str(row["errors"]), _ms(row["p50_ms"]), _ms(row["p95_ms"]),
                    _ms(row["p99_ms"]), _ms(row["max_ms"]),
                    " ".join(f"{k}:{v}" for k, v in row["statuses"].items())]
                   for action, row in summary["actions"].items()], markdown)
    canaries = summary.get("canaries") or {}
    out.append(h("Checks seen firing where the data is allowed (responses)"))
    out.append(", ".join(f"{name}: {count:,}" for name, count in sorted(canaries.items())) or "none")
    if summary["leaks"]:
        out.append(h(f"Leaks ({totals['leaks']}; by rule: {summary['leak_rules']})"))
        out += [f"- {count} × {what}" for what, count in summary["leak_actions"].items()]
        out.append(f"\nthe first {LEAKS_SHOWN} in full:")
        for leak in summary["leaks"][:LEAKS_SHOWN]:
            out.append(("```\n" if markdown else "") + json.dumps(leak, indent=2, ensure_ascii=False)
                       + ("\n```" if markdown else ""))
    if summary["error_examples"]:
        out.append(h("Errors (role | action | what), most frequent first"))
        out += [f"- {item['count']} × {item['what']}" for item in summary["error_examples"]]
    problems = setup.get("log_problems") or []
    out.append(h("gunicorn log"))
    out.append(f"{setup.get('gunicorn_log', '-')}: " + (f"{len(problems)} problem line(s)" if problems
                                                          else "no tracebacks, errors or worker timeouts"))
    out += [f"- {line}" for line in problems[:15]]
    if setup.get("worker_pids_at_start") and setup.get("worker_pids_at_end") is not None and \
            setup["worker_pids_at_start"] != setup["worker_pids_at_end"]:
        out.append(f"workers restarted during the run: {setup['worker_pids_at_start']} -> "
                   f"{setup['worker_pids_at_end']}")
    if conc["users_failed"]:
        out.append(h("Users that reported a failure"))
        out += [f"- {line}" for line in conc["users_failed"]]
    return "\n".join(out) + "\n"


def write(summary: dict, work_dir: Path) -> tuple[Path, Path]:
    work_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    markdown, data = work_dir / f"loadtest-{stamp}.md", work_dir / f"loadtest-{stamp}.json"
    markdown.write_text(render(summary, markdown=True))
    data.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return markdown, data
