"""The rebalance schedule: parsing and the next run time.

Accepted forms (all with an IANA time zone, UTC when omitted):

- phrases: `"daily 09:00"`, `"weekly monday 09:00 America/New_York"`, `"monthly 1 09:00 UTC"`,
  `"quarterly 1 09:00 Europe/Berlin"` (January, April, July, October);
- a cron line: `"0 9 * * 1"` (minute hour day-of-month month day-of-week, Sunday = 0 or 7), with an
  optional time zone as a sixth word; when both day fields are restricted, either matching
  is enough (as cron does);
- seed 001's mapping: `{type: weekly, day: monday, time: "09:00", timezone: America/New_York}`;
- `{cron: "0 9 * * 1", timezone: UTC}`.

A schedule also has a `cadence` (daily/weekly/monthly/quarterly): the column of seed 000's
frequency matrix its runs stand for. Pure: the caller passes the time ("now"); nothing here reads
a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from keeper.core.spec import Cadence

_DAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_QUARTER_MONTHS = frozenset({1, 4, 7, 10})
_HINT = 'write e.g. "weekly monday 09:00 America/New_York" or a cron line like "0 9 * * 1"'


@dataclass(frozen=True, slots=True)
class Schedule:
    """A set of local wall-clock times in one time zone. Weekdays: Monday = 0."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # days of month; None = any
    months: frozenset[int] | None  # None = any
    weekdays: frozenset[int] | None  # None = any
    tz: str
    cadence: Cadence
    text: str

    def matches_day(self, d: datetime) -> bool:
        if self.months is not None and d.month not in self.months:
            return False
        if self.days is None and self.weekdays is None:
            return True
        if self.days is not None and self.weekdays is not None:
            return d.day in self.days or d.weekday() in self.weekdays
        if self.days is not None:
            return d.day in self.days
        return d.weekday() in self.weekdays  # type: ignore[operator]

    def next_after(self, after: datetime) -> datetime:
        """The first scheduled time strictly after `after` (an aware datetime), in UTC."""
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        zone = ZoneInfo(self.tz)
        local = after.astimezone(zone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(0, 800):
            if self.matches_day(day):
                for h in sorted(self.hours):
                    for m in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, h, m, tzinfo=zone)
                        if candidate.astimezone(UTC) > after.astimezone(UTC):
                            return candidate.astimezone(UTC)
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        raise ValueError(f"schedule {self.text!r} never fires")

    def due(self, last_run: datetime | None, now: datetime) -> bool:
        """Whether a scheduled time passed after `last_run` and at or before `now`."""
        if last_run is None:
            return True
        return self.next_after(last_run) <= now


def parse_schedule(value: Any) -> Schedule:
    """Parse any accepted form; ValueError says what was expected."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        return _from_mapping(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a schedule string or mapping, got {value!r}: {_HINT}")
    words = value.split()
    if words[0].lower() in ("daily", "weekly", "monthly", "quarterly"):
        return _from_phrase(words, value)
    return _from_cron(words, value)


def _from_mapping(m: dict) -> Schedule:
    allowed = {"type", "day", "time", "timezone", "cron"}
    extra = set(m) - allowed
    if extra:
        raise ValueError(
            f"unknown schedule key(s) {sorted(extra)}: use type/day/time/timezone or cron/timezone"
        )
    tz = str(m.get("timezone", "UTC"))
    if "cron" in m:
        return _from_cron(str(m["cron"]).split() + [tz], f"{m['cron']} {tz}")
    kind = str(m.get("type", ""))
    words = [kind]
    if kind in ("weekly", "monthly", "quarterly"):
        if "day" not in m:
            raise ValueError(f"a {kind} schedule needs a day: {_HINT}")
        words.append(str(m["day"]))
    words += [str(m.get("time", "00:00")), tz]
    return _from_phrase(words, " ".join(words))


def _from_phrase(words: list[str], text: str) -> Schedule:
    kind = words[0].lower()
    rest = words[1:]
    days = weekdays = months = None
    if kind == "weekly":
        if not rest or rest[0].lower() not in _DAYS:
            raise ValueError(
                f"{text!r}: a weekly schedule needs a weekday (monday..sunday): {_HINT}"
            )
        weekdays = frozenset({_DAYS[rest.pop(0).lower()]})
        cadence = Cadence.WEEKLY
    elif kind in ("monthly", "quarterly"):
        if not rest or not rest[0].isdigit() or not 1 <= int(rest[0]) <= 28:
            raise ValueError(
                f'{text!r}: a {kind} schedule needs a day of month 1..28: e.g. "{kind} 1 09:00 UTC"'
            )
        days = frozenset({int(rest.pop(0))})
        cadence = Cadence.MONTHLY
        if kind == "quarterly":
            months = _QUARTER_MONTHS
            cadence = Cadence.QUARTERLY
    else:
        cadence = Cadence.DAILY
    if not rest:
        raise ValueError(f"{text!r}: missing the time of day (HH:MM): {_HINT}")
    hour, minute = _clock(rest.pop(0), text)
    tz = _zone(rest.pop(0) if rest else "UTC", text)
    if rest:
        raise ValueError(f"{text!r}: unexpected {' '.join(rest)!r}: {_HINT}")
    return Schedule(
        frozenset({minute}), frozenset({hour}), days, months, weekdays, tz, cadence, text
    )


def _from_cron(words: list[str], text: str) -> Schedule:
    if len(words) not in (5, 6):
        raise ValueError(f"{text!r} is neither a phrase nor a 5-field cron line: {_HINT}")
    tz = _zone(words[5] if len(words) == 6 else "UTC", text)
    minutes = _field(words[0], 0, 59, text, "minute")
    hours = _field(words[1], 0, 23, text, "hour")
    days = _field(words[2], 1, 31, text, "day of month")
    months = _field(words[3], 1, 12, text, "month")
    cron_dow = _field(words[4], 0, 7, text, "day of week")
    weekdays = None if cron_dow is None else frozenset((d - 1) % 7 for d in cron_dow)
    if months is not None and days is not None and len(months) <= 4:
        cadence = Cadence.QUARTERLY
    elif days is not None:
        cadence = Cadence.MONTHLY
    elif weekdays is not None:
        cadence = Cadence.WEEKLY
    else:
        cadence = Cadence.DAILY
    return Schedule(
        minutes or frozenset(range(60)),
        hours or frozenset(range(24)),
        days,
        months,
        weekdays,
        tz,
        cadence,
        text,
    )


def _field(word: str, lo: int, hi: int, text: str, name: str) -> frozenset[int] | None:
    if word == "*":
        return None
    out: set[int] = set()
    for part in word.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            if not s.isdigit() or int(s) == 0:
                raise ValueError(f"{text!r}: bad step in the {name} field")
            step = int(s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            x, y = part.split("-", 1)
            if not (x.isdigit() and y.isdigit()):
                raise ValueError(f"{text!r}: the {name} field must be numbers, ranges, lists or *")
            a, b = int(x), int(y)
        elif part.isdigit():
            a = b = int(part)
        else:
            raise ValueError(f"{text!r}: the {name} field must be numbers, ranges, lists or *")
        if not (lo <= a <= b <= hi):
            raise ValueError(f"{text!r}: the {name} field must be within {lo}..{hi}")
        out.update(range(a, b + 1, step))
    return frozenset(out)


def _clock(word: str, text: str) -> tuple[int, int]:
    parts = word.split(":")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        h, m = int(parts[0]), int(parts[1])
        if 0 <= h <= 23 and 0 <= m <= 59:
            return h, m
    raise ValueError(f"{text!r}: time of day must be HH:MM (24h), got {word!r}")


def _zone(name: str, text: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{text!r}: unknown time zone {name!r}: use an IANA name like America/New_York"
        ) from None
    return name
