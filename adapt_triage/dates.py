"""Time helpers: ISO 8601 timestamps in UTC and the `--since` syntax (1d, 12h, 2w, DATE)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_RELATIVE_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """Second-precision ISO 8601 in UTC, e.g. 2026-11-30T15:38:31+00:00."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def stored_iso(value: str | datetime | date) -> str:
    """A timestamp as stored: ISO 8601 in UTC at second precision (a bare date stays a date,
    which compares as the start of that day). Raises ValueError on text that is not ISO 8601."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    try:
        return iso(datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time: {value!r}") from None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`1d`, `12h`, `2w`, `30m` (ago), an ISO date `2026-11-01` or an ISO datetime.

    Raises ValueError with a message fit for the user.
    """
    now = now or now_utc()
    match = _RELATIVE_RE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected a duration like 1d, 12h, 2w or a date like 2026-11-01"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def local_text(value: str | datetime | None, *, seconds: bool = False) -> str:
    """A stored ISO 8601 time for people: in the local zone, with the zone's name
    (`2026-11-30 16:38 CET`). JSON output keeps the ISO 8601 UTC text."""
    if not value:
        return ""
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    local = dt.astimezone()
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname() or local.strftime('%z')}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 paper`, `2 papers`, `0 papers` (or the irregular `nouns`)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
