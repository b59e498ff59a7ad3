"""The staff's working hours (``SUPPORT_HOURS``), in the shop's time zone: whether someone
answers now, when they will, and how much working time passed between two moments (the
reminder counts only that, so a question asked on Friday night is not "late" on Saturday).

The setting is a list of ``DAYS HH:MM-HH:MM`` separated by ``;`` — days a name (``Mon``) or
a range (``Mon-Fri``), in English or Russian (``Пн-Пт``), e.g.
``Mon-Fri 09:00-20:00; Sat 10:00-16:00``. Empty: around the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RUSSIAN_DAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_SPAN = re.compile(
    r"(?P<first>[^\W\d_]{2,3})(?:\s*[-–]\s*(?P<last>[^\W\d_]{2,3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})"
)
_LOOKAHEAD_DAYS = 8  # a week and a day: every weekly schedule opens within it


@dataclass(frozen=True)
class Span:
    """Days ``first``..``last`` (0 = Monday), each from ``start`` to ``end``."""

    first: int
    last: int
    start: time
    end: time

    def days(self) -> range:
        return range(self.first, self.last + 1)


@dataclass(frozen=True)
class WorkingHours:
    spans: tuple[Span, ...]  # empty: around the clock

    @property
    def always(self) -> bool:
        return not self.spans

    def _periods(self, day: datetime) -> list[tuple[datetime, datetime]]:
        """The working periods of the (local) date of ``day``."""
        periods = []
        for span in self.spans:
            if day.weekday() in span.days():
                start = day.replace(hour=span.start.hour, minute=span.start.minute)
                end = day.replace(hour=span.end.hour, minute=span.end.minute)
                periods.append((start, end))
        return sorted(periods)

    def is_open(self, at: datetime, zone: ZoneInfo) -> bool:
        if self.always:
            return True
        local = at.astimezone(zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return any(start <= local < end for start, end in self._periods(midnight))

    def next_opening(self, at: datetime, zone: ZoneInfo) -> datetime:
        """When the staff are next at work (``at`` itself if they are now), in ``zone``."""
        local = at.astimezone(zone)
        if self.is_open(at, zone):
            return local
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(_LOOKAHEAD_DAYS):
            day = (midnight + timedelta(days=offset)).replace(tzinfo=zone)
            for start, _end in self._periods(day):
                if start > local:
                    return start
        raise ValueError("working hours never open")  # parse() refuses such schedules

    def working_time(self, start: datetime, end: datetime, zone: ZoneInfo) -> timedelta:
        """How much of ``start``..``end`` fell within working hours."""
        if end <= start:
            return timedelta()
        if self.always:
            return end - start
        total = timedelta()
        day = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            for period_start, period_end in self._periods(day):
                overlap = min(period_end, end) - max(period_start, start)
                if overlap > timedelta():
                    total += overlap
            day = (day + timedelta(days=1)).replace(tzinfo=zone)
        return total


def _day(name: str) -> int:
    folded = name.casefold()
    for names in (DAY_NAMES, _RUSSIAN_DAYS):
        if folded in names:
            return names.index(folded)
    raise ValueError(f"unknown day {name!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _time(value: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{value} is not a time of day")
    return time(hours, minutes)


def parse(text: str) -> WorkingHours:
    """``SUPPORT_HOURS`` read; ValueError naming what is wrong."""
    spans = []
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        match = _SPAN.fullmatch(part)
        if match is None:
            raise ValueError(f"{part!r} is not like 'Mon-Fri 09:00-20:00'")
        first = _day(match["first"])
        last = _day(match["last"]) if match["last"] else first
        start, end = _time(match["start"]), _time(match["end"])
        if last < first:
            raise ValueError(f"{part!r}: the days run backwards")
        if end <= start:
            raise ValueError(f"{part!r}: the end is not after the start")
        spans.append(Span(first, last, start, end))
    return WorkingHours(tuple(spans))
