"""The "common approach" the app is compared with: a typical Dash app reads the CSVs into global DataFrames at
start-up and answers every callback with pandas on them.

`CommonApproach` is written the way such apps usually are (plain `pd.read_csv`, full-frame merges, a groupby per
call) and answers one question the app's /client page answers: one client's procedures by code with how many,
total BASE_COST and distinct patients. It runs in the harness process, so its memory is measured as that process's
RSS growth: what every worker of such an app would hold. Sizes run in ascending order, the smallest first thing in
the process, and freed memory is handed back to the OS before each baseline, so the growth is not hidden by memory
an earlier step freed.
"""
from __future__ import annotations

import ctypes
import gc
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tests.bench.env import rss_mb

TABLES = ("patients", "encounters", "procedures", "payers", "organizations")


class CommonApproach:
    def __init__(self, input_dir: Path):
        self.frames = {name: pd.read_csv(input_dir / f"{name}.csv") for name in TABLES}

    def procedure_summary(self, client: str) -> pd.DataFrame:
        procedures, encounters, payers = (self.frames[name] for name in ("procedures", "encounters", "payers"))
        merged = procedures.merge(encounters, left_on="ENCOUNTER", right_on="Id", suffixes=("", "_encounter"))
        merged = merged.merge(payers, left_on="PAYER", right_on="Id", suffixes=("", "_payer"))
        mine = merged[merged["NAME"] == client]
        summary = mine.groupby("CODE").agg(procedures=("CODE", "size"), total_cost=("BASE_COST", "sum"),
                                           patients=("PATIENT", "nunique"))
        return summary.sort_values("total_cost", ascending=False)


def _release_freed_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so that the baseline RSS is what is really in use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the baseline is then a little high
        pass


def measure(input_dir: Path, calls: int = 5, client: str = "UnitedHealthcare") -> dict:
    _release_freed_memory()
    before = rss_mb(os.getpid())
    began = time.perf_counter()
    app = CommonApproach(input_dir)
    read_seconds = time.perf_counter() - began
    samples, rows = [], 0
    for _ in range(calls):
        began = time.perf_counter()
        rows = len(app.procedure_summary(client))
        samples.append((time.perf_counter() - began) * 1000)
    after = rss_mb(os.getpid())
    del app
    _release_freed_memory()
    return {
        "client": client, "calls": calls, "read_seconds": round(read_seconds, 2),
        "p50_ms": round(float(np.percentile(samples, 50)), 2), "samples_ms": [round(s, 2) for s in samples],
        "rows": rows, "rss_growth_mb": round(after - before, 1) if before and after else None,
    }
