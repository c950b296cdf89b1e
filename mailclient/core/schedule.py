"""When a message is to be sent later: the quick choices and the times people type."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from mailclient.core.errors import InvalidInput

MORNING = time(8, 0)
# What --at and the Send Later dialog accept, besides ISO 8601 with a time zone.
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def quick_times(now: datetime) -> list[tuple[str, datetime]]:
    """The choices offered first: in an hour, tomorrow morning, Monday morning (local time)."""
    now = now.astimezone()
    tomorrow = datetime.combine(now.date() + timedelta(days=1), MORNING, now.tzinfo)
    days_to_monday = (7 - now.weekday()) % 7 or 7
    monday = datetime.combine(now.date() + timedelta(days=days_to_monday), MORNING, now.tzinfo)
    choices = [
        ("In one hour", (now + timedelta(hours=1)).replace(second=0, microsecond=0)),
        (f"Tomorrow morning ({tomorrow:%a %H:%M})", tomorrow),
    ]
    if monday != tomorrow:
        choices.append((f"Monday morning ({monday:%d %b %H:%M})", monday))
    return choices


def parse_send_time(text: str, now: datetime) -> datetime:
    """A time typed as "2026-12-24 09:00" (local) or in ISO 8601; refuses one in the past."""
    text = text.strip()
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        for pattern in _FORMATS:
            try:
                when = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if when is None:
        raise InvalidInput("--at", f"{text!r} is not a time like 2026-12-24 09:00")
    when = when.astimezone() if when.tzinfo is None else when
    if when <= now:
        raise InvalidInput("--at", f"{when:%Y-%m-%d %H:%M} has already passed")
    return when
