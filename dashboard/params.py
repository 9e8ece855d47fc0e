"""Parsing of request parameters shared by callbacks and the extract API: every bad value becomes a 400 with a
message that names the parameter, never a stack trace."""
from __future__ import annotations

from datetime import date

from werkzeug.exceptions import BadRequest

from data_access.rls import Window

AREA_LEVELS = ("county", "city", "zip")
TOP_MAX = 50
RADIUS_RANGE = (100, 5000)
CLUSTER_SIZE_RANGE = (2, 50)


def parse_date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadRequest(f"{name} must be a date written YYYY-MM-DD, got {value[:40]!r}") from None


def check_plausible(value: date | None, name: str) -> date | None:
    """Dates far outside any plausible range are refused rather than silently clamped, so a typo is noticed."""
    if value is not None and not date(1900, 1, 1) <= value <= date(2100, 12, 31):
        raise BadRequest(f"{name} {value.isoformat()} is outside 1900-01-01..2100-12-31")
    return value


def parse_window(start, end, data_start: date | None, data_end: date | None) -> Window:
    """An inclusive date window; missing ends default to the data's range."""
    first = check_plausible(parse_date(start, "start") or data_start or date(2000, 1, 1), "start")
    last = check_plausible(parse_date(end, "end") or data_end or date.today(), "end")
    if first > last:
        raise BadRequest(f"start {first.isoformat()} is after end {last.isoformat()}")
    return Window(first, last)


def parse_int(value, name: str, low: int, high: int, default: int) -> int:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be a whole number")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise BadRequest(f"{name} must be a whole number between {low} and {high}") from None
    if isinstance(value, float) and value != number:
        raise BadRequest(f"{name} must be a whole number")
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {number}")
    return number


def parse_choice(value, name: str, choices: tuple[str, ...], default: str) -> str:
    if value in (None, ""):
        return default
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}")
    return value


def parse_text(value, name: str, max_length: int = 128) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise BadRequest(f"{name} must be a short text")
    return value
