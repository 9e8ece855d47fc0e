"""The inputs each callback is called with, and which account calls it: a small set a real user would pick.

Inputs are recognised by their component id's suffix (`-dates`, `-specialty`, `-radius`, ...), so a callback added
later is benchmarked with realistic values without a change here; an input nobody recognises keeps the value the
page's layout gives it. Per callback, the combinations of the values below are called in a fixed order that starts
with what a first visit sends (whole range, all specialties, city level, 500 m, size 5), then cycles through the
rest in a shuffled but deterministic order. With fewer combinations than calls, combinations repeat: the p50 then
shows what a repeated question costs (cached or not), the first call what a fresh one costs.

Client pages are called as the UnitedHealthcare client, as the Humana Oncology member and as senior management
previewing each client; the management, extracts and audit pages by senior management, the only role that has
them all. The Humana account comes first on client pages: the first page load (see `measure`) was the
UnitedHealthcare client's, so the first timed call is a question the server has not answered before.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

UHC, HUMANA, SENIOR = "bench-uhc", "bench-humana", "bench-senior"
CLIENT_VIEWERS = ((HUMANA, "Humana"), (UHC, "UnitedHealthcare"), (SENIOR, "UnitedHealthcare"), (SENIOR, "Humana"))
PAGE_VIEWERS = {"client": CLIENT_VIEWERS, "team": CLIENT_VIEWERS}
DEFAULT_VIEWERS = ((SENIOR, None),)  # management, extracts, audit, and any page added later
FLOOR_ACCOUNTS = (UHC, HUMANA, SENIOR)

SPECIALTIES = ("", "Oncology", "Cardiology", "Mental Health & Substance Use")  # "" = every specialty
TOPS = (10, 5, 25)
AREA_LEVELS = ("city", "county", "zip")
RADII_M = (500, 300, 1000)
MIN_CLUSTER_SIZES = (5, 3)
AUDIT_USERS = (None, UHC)
AUDIT_EVENTS = (None, "login")


@dataclass(frozen=True)
class Call:
    account: str
    values: dict  # "component-id.property" -> value
    note: str = ""


def data_date_ranges(first: date, last: date) -> list[tuple[str, date, date]]:
    """Whole range, last 12 months, calendar years 2019-2021, one quarter (as a user picks them)."""
    ranges = [("whole range", first, last), ("last 12 months", max(first, last - timedelta(days=364)), last)]
    ranges += [(str(year), date(year, 1, 1), date(year, 12, 31)) for year in (2019, 2020, 2021)]
    ranges.append(("2020-Q2", date(2020, 4, 1), date(2020, 6, 30)))
    return ranges


def recent_date_ranges(today: date) -> list[tuple[str, date, date]]:
    """For the audit log, which is about now, not about the data's years."""
    return [("last 30 days", today - timedelta(days=30), today), ("last 7 days", today - timedelta(days=7), today)]


def _dimension(input_key: str, page: str, first: date, last: date, today: date):
    """(dimension name, [(note, {input values})]) for one callback input, or None to keep the layout's value."""
    component_id, _, prop = input_key.rpartition(".")
    if component_id.endswith("-dates") and prop in ("start_date", "end_date"):
        ranges = recent_date_ranges(today) if page == "audit" else data_date_ranges(first, last)
        return f"{component_id}", [(name, {f"{component_id}.start_date": start.isoformat(),
                                           f"{component_id}.end_date": end.isoformat()})
                                   for name, start, end in ranges]
    simple = {
        "-specialty": [(value or "all specialties", value) for value in SPECIALTIES],
        "-top": [(f"top {value}", value) for value in TOPS],
        "-level": [(f"by {value}", value) for value in AREA_LEVELS],
        "-radius": [(f"{value} m", value) for value in RADII_M],
        "-min-size": [(f"min {value}", value) for value in MIN_CLUSTER_SIZES],
    }
    if page == "audit":
        simple["-user"] = [(f"user {value or 'all'}", value) for value in AUDIT_USERS]
        simple["-event"] = [(f"event {value or 'all'}", value) for value in AUDIT_EVENTS]
    for suffix, choices in simple.items():
        if component_id.endswith(suffix) and prop == "value":
            return input_key, [(note, {input_key: value}) for note, value in choices]
    return None


def calls_for(spec, defaults: dict, first: date, last: date, today: date | None = None) -> list[Call]:
    """Every combination of realistic inputs for `spec` (a client.CallbackSpec), in the order they are called."""
    today = today or date.today()
    page = spec.page
    payer_inputs = [f"{item['id']}.{item['property']}" for item in spec.inputs
                    if item["id"].endswith("-payer") and item["property"] == "value"]
    viewers = [(f"{account}" + (f" as {payer}" if account == SENIOR and payer else ""),
                {"account": account, **{key: payer for key in payer_inputs if payer}})
               for account, payer in PAGE_VIEWERS.get(page, DEFAULT_VIEWERS)]
    dimensions, seen = [viewers], set()
    for item in spec.inputs + spec.state:
        found = _dimension(f"{item['id']}.{item['property']}", page, first, last, today)
        if found and found[0] not in seen:
            seen.add(found[0])
            dimensions.append(found[1])
    combinations = list(itertools.product(*dimensions))
    rest = combinations[1:]
    random.Random(spec.key).shuffle(rest)
    calls = []
    for combination in [combinations[0], *rest]:
        values = {key: value for key, value in defaults.items()}
        for _note, update in combination:
            values.update(update)
        account = values.pop("account")
        calls.append(Call(account, values, ", ".join(note for note, _ in combination)))
    return calls


def cycle(calls: list[Call]) -> Iterator[Call]:
    return itertools.cycle(calls)


def floor_calls() -> Iterator[Call]:
    """The trivial protected callback with an increasing click count, by each account in turn."""
    for number in itertools.count(1):
        yield Call(FLOOR_ACCOUNTS[number % len(FLOOR_ACCOUNTS)], {"shell-ping.n_clicks": number}, "ping")
