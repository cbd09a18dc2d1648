"""Hours of operation: is a schedule open at a given moment."""

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from scenarios.models import HoursOfOperation


def is_open(hours: HoursOfOperation, *, at: datetime | None = None) -> bool:
    """Open when `at` (default now), in the schedule's time zone, is not a holiday and falls
    inside one of that weekday's intervals. A close time of 00:00 means the end of the day."""
    try:
        zone = ZoneInfo(hours.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = (at or timezone.now()).astimezone(zone)
    if hours.holidays.filter(date=local.date()).exists():
        return False
    now = local.time()
    for row in hours.weekly.filter(weekday=local.weekday()):
        closes = row.closes_at if row.closes_at != time(0, 0) else time.max
        if row.opens_at <= now < closes:
            return True
    return False
