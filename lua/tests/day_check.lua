-- Compares the quota day that lua/gpool.lua computes with the time zone database's answer.
--
-- Usage: lua5.1 day_check.lua <gpool.lua> <truth file>
-- The truth file (written by day_truth.py) has one instant a line:
--   <zone> <unix time> <YYYY-MM-DD> <unix time of the next local midnight> <unix time of
--   the day's own local midnight>
-- The day's start matters as much as its end: the library reuses a day's label for every
-- time from its start to its end.
-- Prints each mismatch (the first 20), then '<n> passed, <m> failed'; exits 1 on any
-- mismatch or when the truth file holds no line.

local library, truth = arg[1], arg[2]
local gpool = dofile(library)

local passed, failed = 0, 0
local handle = assert(io.open(truth, 'r'))
for row in handle:lines() do
  local name, unix, label, ends_at, starts_at = row:match('^(%S+) (%d+) (%S+) (%d+) (%-?%d+)$')
  if name == nil then
    error('unreadable line in ' .. truth .. ': ' .. row)
  end
  unix, ends_at, starts_at = tonumber(unix), tonumber(ends_at), tonumber(starts_at)
  local zone = gpool.ZONES[name]
  local got_label, got_end, got_start
  if zone then
    got_label, got_end, got_start = gpool.quota_day(zone, unix)
  end
  if got_label == label and got_end == ends_at and got_start == starts_at then
    passed = passed + 1
  else
    failed = failed + 1
    if failed <= 20 then
      print(string.format('%s at %d: want %s from %d to %d, got %s from %s to %s', name, unix,
        label, starts_at, ends_at, tostring(got_label), tostring(got_start), tostring(got_end)))
    end
  end
end
handle:close()

print(string.format('%d passed, %d failed', passed, failed))
if failed > 0 or passed == 0 then
  os.exit(1)
end
