"""Writes the quota days that the time zone database gives, one line per instant:

    <zone> <unix time> <YYYY-MM-DD> <unix time of the next local midnight> <unix time of
    the day's own local midnight>

for lua/tests/day_check.lua to compare with lua/gpool.lua. Every hour of 2020 to 2035 in
America/Los_Angeles, and for every zone the library knows (read from the file's ZONES
table): every offset change from the zone's `exact_since` year to 2099 with the seconds
either side, and noon of the 1st of each month over the same years. Python's zoneinfo
keeps daylight saving time after 2099 where the module's tables stop, so nothing later is
written.

Usage: python3 day_truth.py <path to gpool.lua> > truth.txt
"""

import re
import sys
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LAST_YEAR = 2099


def zones_of(library):
    """(name, exact_since) for every entry of the ZONES table in the library."""
    text = open(library, encoding="utf-8").read()
    table = text[text.index("local ZONES = {"):]
    table = table[: table.index("\n}\n")]
    return [(name, int(year)) for name, year in
            re.findall(r"\['([^']+)'\] = \{[^}]*exact_since = (\d+)", table)]


def utc(y, m, d, h=0):
    return int(datetime(y, m, d, h, tzinfo=timezone.utc).timestamp())


def line(zone, name, t):
    local = datetime.fromtimestamp(t, zone)
    day = local.date()
    nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return f"{name} {t} {day.isoformat()} {int(nxt.timestamp())} {int(start.timestamp())}"


def transitions(zone, start, end):
    """Unix times in [start, end) at which the zone's UTC offset changes."""
    def offset(t):
        return datetime.fromtimestamp(t, zone).utcoffset()

    found = []
    step = 6 * 3600
    t = start
    previous = offset(t)
    while t < end:
        n = min(t + step, end)
        current = offset(n)
        if current != previous:
            lo, hi = t, n
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == previous:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            previous = current
        t = n
    return found


def main():
    out = []
    pacific = ZoneInfo("America/Los_Angeles")
    for t in range(utc(2020, 1, 1), utc(2036, 1, 1), 3600):
        out.append(line(pacific, "America/Los_Angeles", t))
    for name, since in zones_of(sys.argv[1]):
        zone = ZoneInfo(name)
        start, end = utc(since, 1, 1), utc(LAST_YEAR + 1, 1, 1) - 86400
        for t in transitions(zone, start, end):
            for s in (t - 1, t, t + 1):
                out.append(line(zone, name, s))
        for y in range(since, LAST_YEAR + 1):
            for m in range(1, 13):
                out.append(line(zone, name, utc(y, m, 1, 12)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
