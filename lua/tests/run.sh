#!/usr/bin/env bash
# Checks the pure parts of lua/gpool.lua under Lua 5.1, the Lua inside Redis:
#   unit_check.lua   validation, `<shown>` escaping, fingerprints, quota-day edges
#   day_check.lua    the quota day against Python's zoneinfo (the IANA time zone database):
#                    every hour of 2020-2035 in America/Los_Angeles, and every offset change
#                    (and the seconds either side) of every zone the library knows
# Prints each check's '<n> passed, <m> failed' line; exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
library="$here/../gpool.lua"
lua="${LUA:-lua5.1}"

command -v "$lua" >/dev/null || { echo "run.sh: $lua not found (apt-get install lua5.1)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 not found" >&2; exit 1; }
# zoneinfo reads the system's database; a machine without the tzdata package has none.
if ! python3 -c 'from zoneinfo import ZoneInfo; ZoneInfo("America/Los_Angeles")' 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tzdata </dev/null
    fi
    python3 -c 'from zoneinfo import ZoneInfo; ZoneInfo("America/Los_Angeles")' || {
        echo "run.sh: python3 has no time zone database: apt-get install tzdata" >&2; exit 1; }
fi

truth="$(mktemp)"
trap 'rm -f "$truth"' EXIT

status=0
if ! out="$("$lua" "$here/unit_check.lua" "$library")"; then
    status=1
fi
echo "unit_check: $out"

python3 "$here/day_truth.py" "$library" > "$truth"
if ! out="$("$lua" "$here/day_check.lua" "$library" "$truth")"; then
    status=1
fi
echo "day_check: $out"

exit $status
