#!lua name=gpool
--[[
  gpool: the API-key pool as a Redis Functions library, for servers that cannot load the
  module. It keeps the same keys as the module (docs/keys.md) and answers every command
  with the same reply and the same error text (docs/commands.md).

  Calling convention: one function per command, the pool name as the only declared key,
  the command's other arguments as ARGV.

    GPOOL.NEXT <pool> <class>         FCALL gpool_next 1 <pool> <class>
    GPOOL.ADD <pool> <apikey> ...     FCALL gpool_add 1 <pool> <apikey> ...
    GPOOL.STATUS <pool>               FCALL_RO gpool_status 1 <pool>
    GPOOL.DEBUG CLOCK <unix>|REAL     FCALL gpool_debug 0 CLOCK <unix>|REAL

  gpool_usage and gpool_status write nothing and carry the no-writes flag, so FCALL_RO
  and replicas accept them.

  Why the pool name, and not a real key name such as gpool:{<pool>}:ring, is the declared
  key: a pool name cannot contain a brace, so Redis Cluster hashes the bare name exactly as
  it hashes every gpool:{<pool>}:... key (whose hash tag is the name). The declared key
  therefore routes the call to the slot that holds every key the function touches, and
  FCALL takes the same words as the module's command. The function derives the key names
  itself; the one thing this costs is ACL: a user limited by key patterns needs both the
  bare pool name and gpool:{<pool>}:* in its patterns, where the module needs only the
  pool name. A call that declares no key or several keys is refused, because it would be
  routed by the wrong words.

  Configuration is the two lines below, which a loader may rewrite before FUNCTION LOAD
  (lua/configure.sh does it with the module's option words):

    TIMEZONE     the zone whose midnight ends the quota day (the module's `timezone`).
                 Redis Lua has no time zone database, so the zones are written out in
                 ZONES below; any other name refuses the load.
    DEBUG_CLOCK  whether gpool_debug may pin the clock (the module's `debug-clock`).
                 Only someone allowed to run FUNCTION LOAD can change it, as only the
                 operator who loads the module can, so a client cannot move the clock
                 of a production pool.

  The pinned clock lives in this library's Lua state, like the module's in its process
  memory: it is lost when the library is loaded again or the server restarts, and it is
  never written to the data set or replicated.

  The pure parts (names, fingerprints, quota days) come first and need nothing from Redis;
  run under plain Lua 5.1 (no `redis` global) the file returns them as a table, which is
  how lua/tests/ checks the quota day against a time zone database.
]]

local TIMEZONE = 'America/Los_Angeles'
local DEBUG_CLOCK = false

-- Names and arguments ---------------------------------------------------------------

local NAME_MAX = 128
local API_KEY_MAX = 512
local SHOWN_MAX = 32
local MAX_COUNT = 1000000000
local MAX_UNIX_TIME = 253402300799

-- Whether s is a valid pool or class name: 1 to 128 letters, digits, '_', '-', '.', ':'.
local function is_valid_name(s)
  return #s >= 1 and #s <= NAME_MAX and s:find('^[A-Za-z0-9_%-%.:]+$') ~= nil
end

-- Whether s is a valid API key: 1 to 512 bytes from 0x21 to 0x7E.
local function is_valid_api_key(s)
  return #s >= 1 and #s <= API_KEY_MAX and s:find('^[\33-\126]+$') ~= nil
end

-- A bad argument as error texts show it: its first 32 bytes, every byte outside 0x21 to
-- 0x7E (and ' and \) written as \xNN, then '...' when the argument was longer.
local function shown(s)
  local out = s:sub(1, SHOWN_MAX):gsub('.', function(c)
    local b = c:byte()
    if b < 0x21 or b > 0x7e or c == "'" or c == '\\' then
      return string.format('\\x%02x', b)
    end
  end)
  if #s > SHOWN_MAX then
    out = out .. '...'
  end
  return out
end

-- How a key is shown wherever the key itself must not appear: '...' and its last
-- characters, at most 8 of them and never more than half the key.
local function fingerprint(key)
  local n = math.min(8, math.floor(#key / 2))
  return '...' .. key:sub(#key - n + 1)
end

-- A non-negative decimal of at most 12 digits (leading zeros allowed; no sign, space or
-- exponent), or nil.
local function decimal(s)
  if #s == 0 or #s > 12 or s:find('^%d+$') == nil then
    return nil
  end
  return tonumber(s)
end

-- A whole number as Redis writes it in a reply, a key name or a sorted-set member.
local function int_text(n)
  return string.format('%d', n)
end

-- Calendar arithmetic ----------------------------------------------------------------
-- Days are counted from 1970-01-01 (day 0) in the proleptic Gregorian calendar, after
-- Howard Hinnant's days_from_civil / civil_from_days. Lua 5.1 numbers are doubles, exact
-- for every integer used here.

local function floor(x)
  return math.floor(x)
end

local function days_from_civil(y, m, d)
  if m <= 2 then
    y = y - 1
  end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then
    y = y + 1
  end
  return y, m, d
end

-- Day number of the n-th Sunday (n >= 1) of a month, or of its last Sunday (n = -1).
-- Day 0 (1970-01-01) was a Thursday, so (day + 4) % 7 is 0 on Sundays.
local function sunday(y, m, n)
  if n > 0 then
    local first = days_from_civil(y, m, 1)
    return first + (7 - (first + 4) % 7) % 7 + 7 * (n - 1)
  end
  local last = (m == 12) and days_from_civil(y + 1, 1, 1) - 1 or days_from_civil(y, m + 1, 1) - 1
  return last - (last + 4) % 7
end

-- Time zones -------------------------------------------------------------------------
-- Each zone is a standard offset (seconds east of UTC) and, where it keeps daylight saving
-- time (always one hour ahead), the rule that says when. The module takes its zones from
-- the IANA database as compiled into chrono-tz, whose tables stop after 2099: from 2100 on
-- it keeps standard time all year, and so do the rules here. `exact_since` is the first
-- year whose local time matches the database; earlier (pinned) times follow the rule as
-- written, which the database does not (lua/tests/ checks from that year on).

local HOUR = 3600
local LAST_RULE_YEAR = 2099

-- Daylight saving start and end in one year, as Unix times, or nil when the year has none.
local DST_RULES = {
  -- United States: 02:00 local time on both changes (standard time at the start, daylight
  -- time at the end), on the dates of the Uniform Time Act and its amendments.
  us = function(year, std)
    local start_day, end_day
    if year >= 2007 then
      start_day, end_day = sunday(year, 3, 2), sunday(year, 11, 1)
    elseif year >= 1987 then
      start_day, end_day = sunday(year, 4, 1), sunday(year, 10, -1)
    elseif year == 1974 then
      start_day, end_day = days_from_civil(1974, 1, 6), sunday(year, 10, -1)
    elseif year == 1975 then
      start_day, end_day = days_from_civil(1975, 2, 23), sunday(year, 10, -1)
    elseif year >= 1967 then
      start_day, end_day = sunday(year, 4, -1), sunday(year, 10, -1)
    else
      return nil
    end
    return start_day * 86400 + 2 * HOUR - std, end_day * 86400 + 2 * HOUR - (std + HOUR)
  end,
  -- European Union (and the United Kingdom) since 1996: 01:00 UTC on the last Sunday of
  -- March and of October, in every zone at once.
  eu = function(year, std)
    if year < 1996 then
      return nil
    end
    return sunday(year, 3, -1) * 86400 + HOUR, sunday(year, 10, -1) * 86400 + HOUR
  end,
}

local ZONES = {
  ['UTC'] = { std = 0, exact_since = 1970 },
  ['Etc/UTC'] = { std = 0, exact_since = 1970 },
  ['America/Los_Angeles'] = { std = -8 * HOUR, rule = 'us', exact_since = 1970 },
  ['America/Denver'] = { std = -7 * HOUR, rule = 'us', exact_since = 1970 },
  ['America/Phoenix'] = { std = -7 * HOUR, exact_since = 1970 },
  ['America/Chicago'] = { std = -6 * HOUR, rule = 'us', exact_since = 1970 },
  ['America/New_York'] = { std = -5 * HOUR, rule = 'us', exact_since = 1970 },
  ['Pacific/Honolulu'] = { std = -10 * HOUR, exact_since = 1970 },
  ['Europe/London'] = { std = 0, rule = 'eu', exact_since = 1996 },
  ['Europe/Dublin'] = { std = 0, rule = 'eu', exact_since = 1996 },
  ['Europe/Lisbon'] = { std = 0, rule = 'eu', exact_since = 1997 },
  ['Europe/Paris'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Berlin'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Amsterdam'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Madrid'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Rome'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Stockholm'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Warsaw'] = { std = HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Athens'] = { std = 2 * HOUR, rule = 'eu', exact_since = 1996 },
  ['Europe/Helsinki'] = { std = 2 * HOUR, rule = 'eu', exact_since = 1996 },
  ['Asia/Kolkata'] = { std = 5 * HOUR + 1800, exact_since = 1970 },
  ['Asia/Tokyo'] = { std = 9 * HOUR, exact_since = 1970 },
}

-- The zone's offset from UTC, in seconds, at Unix time t.
local function utc_offset(zone, t)
  local rule = zone.rule and DST_RULES[zone.rule]
  if rule then
    local year = civil_from_days(floor(t / 86400))
    if year <= LAST_RULE_YEAR then
      local starts, ends = rule(year, zone.std)
      if starts and t >= starts and t < ends then
        return zone.std + HOUR
      end
    end
  end
  return zone.std
end

-- The Unix time of local midnight at the start of local day `days`. No zone above changes
-- its clocks at midnight, so local midnight exists and is never repeated; of the two
-- offsets a zone has, the one in force at the resulting instant is the right one.
local function local_midnight(zone, days)
  local midnight = days * 86400
  for _, offset in ipairs({ zone.std + HOUR, zone.std }) do
    local t = midnight - offset
    if utc_offset(zone, t) == offset then
      return t
    end
  end
  return midnight - zone.std
end

-- The quota day that contains Unix time `now` in zone `zone` (a ZONES entry): its label
-- (YYYY-MM-DD) and the Unix time at which it ends (the next local midnight).
local function quota_day(zone, now)
  now = math.max(0, math.min(now, MAX_UNIX_TIME))
  local days = floor((now + utc_offset(zone, now)) / 86400)
  local y, m, d = civil_from_days(days)
  return string.format('%04d-%02d-%02d', y, m, d), local_midnight(zone, days + 1)
end

-- Whole seconds from `now` until the quota day ends; at least 1, a valid time to live.
local function seconds_left(ends_at, now)
  return math.max(1, ends_at - now)
end

if redis == nil then
  -- Plain Lua (tests): hand out the pure functions and stop before the Redis part.
  return {
    ZONES = ZONES,
    LAST_RULE_YEAR = LAST_RULE_YEAR,
    days_from_civil = days_from_civil,
    civil_from_days = civil_from_days,
    utc_offset = utc_offset,
    quota_day = quota_day,
    seconds_left = seconds_left,
    is_valid_name = is_valid_name,
    is_valid_api_key = is_valid_api_key,
    shown = shown,
    fingerprint = fingerprint,
    decimal = decimal,
  }
end

-- Redis glue -------------------------------------------------------------------------
-- Everything below runs inside Redis. Each function checks arity, validates its
-- arguments, checks the types of the keys it will touch and only then writes, so bad
-- input changes nothing (a script is not rolled back on an error).

-- Redis lets a library's top level reach nothing but `redis.register_function` and
-- `redis.log`; redis.call, math, string and the rest exist only while a function runs.
local function rcall(...)
  return redis.call(...)
end

-- An unknown zone refuses the load with the reason in the server's log, as the module's
-- load does: with no function registered, FUNCTION LOAD fails.
local zone = ZONES[TIMEZONE]
if zone == nil then
  redis.log(redis.LOG_WARNING, 'gpool refused to load: unknown time zone \'' .. TIMEZONE
    .. '\': the Lua library knows only the zones in its ZONES table')
  return
end

-- The pinned Unix time, or nil when the clock follows real time (see the top of the file).
local pinned_clock = nil

local WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value'

local function refuse(text)
  return redis.error_reply(text)
end

local function arity_error(command)
  return refuse('ERR wrong number of arguments for \'' .. command .. '\' command')
end

local function pool_error(arg)
  return refuse('ERR invalid pool name \'' .. shown(arg)
    .. '\': use 1 to 128 letters, digits, \'_\', \'-\', \'.\', \':\'')
end

local function class_error(arg)
  return refuse('ERR invalid class name \'' .. shown(arg)
    .. '\': use 1 to 128 letters, digits, \'_\', \'-\', \'.\', \':\'')
end

local function api_key_error(index)
  return refuse('ERR invalid api key at argument ' .. index
    .. ': use 1 to 512 printable characters without spaces')
end

local function not_in_pool_error(key, pool)
  return refuse('ERR api key ' .. fingerprint(key) .. ' is not in pool \'' .. pool .. '\'')
end

-- The command's arguments after its name, as the module sees them: the declared key (the
-- pool) then ARGV. Refuses a call whose argument count does not fit the command (between
-- `min` and `max` words after the name), or that declares other than `keys_wanted` keys.
local function command_args(function_name, command, keys_wanted, keys, argv, min, max)
  local args = {}
  for _, word in ipairs(keys) do
    args[#args + 1] = word
  end
  for _, word in ipairs(argv) do
    args[#args + 1] = word
  end
  if #args < min or (max and #args > max) then
    return nil, arity_error(command)
  end
  if #keys ~= keys_wanted then
    if keys_wanted == 0 then
      return nil, refuse('ERR ' .. function_name .. ' takes no keys: use FCALL '
        .. function_name .. ' 0 CLOCK <unix-seconds>|REAL')
    end
    return nil, refuse('ERR ' .. function_name .. ' takes the pool name as its only key: use FCALL '
      .. function_name .. ' 1 <pool> ...')
  end
  return args
end

-- Checks API keys given from args[from] on; args[i] is argument i of the command.
local function api_keys_error(args, from)
  for i = from, #args do
    if not is_valid_api_key(args[i]) then
      return api_key_error(i)
    end
  end
  return nil
end

-- The key names of one pool (docs/keys.md); `pool` must be a valid name.
local function pool_keys(pool)
  local prefix = 'gpool:{' .. pool .. '}:'
  return {
    ring = prefix .. 'ring',
    meta = prefix .. 'meta',
    cursor = prefix .. 'cursor',
    usage = function(day)
      return prefix .. 'usage:' .. day
    end,
    spent = function(class, day)
      return prefix .. 'spent:' .. class .. ':' .. day
    end,
    skip = function(class, day)
      return prefix .. 'skip:' .. class .. ':' .. day
    end,
  }
end

-- Whether each key is missing or holds the named type ('zset' or 'hash'); given as
-- key, type, key, type, ...
local function types_ok(...)
  local list = { ... }
  for i = 1, #list, 2 do
    local kind = rcall('TYPE', list[i]).ok
    if kind ~= 'none' and kind ~= list[i + 1] then
      return false
    end
  end
  return true
end

-- The clock: the pinned time, or the server's time in whole seconds.
local function now()
  if DEBUG_CLOCK and pinned_clock then
    return pinned_clock
  end
  return tonumber(rcall('TIME')[1])
end

-- The quota day at the clock's current reading: its label and the seconds left in it,
-- which is the time to live of every day-keyed key written now.
local function today()
  local t = now()
  local label, ends_at = quota_day(zone, t)
  return label, seconds_left(ends_at, t)
end

-- A stored count read as the module reads it: a decimal integer without '+' or leading
-- zeros, else 0.
local function stored_integer(value)
  if value and (value == '0' or value:find('^%-?[1-9]%d*$')) then
    return tonumber(value)
  end
  return 0
end

-- A stored cursor: a whole number, else 0.
local function stored_position(value)
  if value and value:find('^%d+$') then
    return tonumber(value)
  end
  return 0
end

-- The classes a pool knows: the fields of its cursor hash that are valid class names,
-- sorted.
local function known_classes(cursor)
  local classes = {}
  for _, field in ipairs(rcall('HKEYS', cursor)) do
    if is_valid_name(field) then
      classes[#classes + 1] = field
    end
  end
  table.sort(classes)
  return classes
end

-- The ring and the runs ----------------------------------------------------------------
-- The same algorithm as the module's rotation (docs/keys.md, "Rotation without a scan"),
-- over the same sorted sets: the ring (member: API key, score: position) and a class's
-- skip set (member: a run's first position in decimal, score: its last position).

-- The first ring key after position `pos`: its position and the key, or nil.
local function ring_after(ring, pos)
  local found = rcall('ZRANGEBYSCORE', ring, '(' .. int_text(pos), '+inf', 'WITHSCORES',
    'LIMIT', 0, 1)
  if found[1] then
    return floor(tonumber(found[2])), found[1]
  end
  return nil
end

-- The last ring key before position `pos`: its position and the key, or nil.
local function ring_before(ring, pos)
  local found = rcall('ZREVRANGEBYSCORE', ring, '(' .. int_text(pos), '-inf', 'WITHSCORES',
    'LIMIT', 0, 1)
  if found[1] then
    return floor(tonumber(found[2])), found[1]
  end
  return nil
end

-- The run that contains position `pos`: its first and last positions, or nil. It is the
-- run with the lowest last position at or after `pos`, if that run starts at or before it.
local function run_containing(skip, pos)
  local found = rcall('ZRANGEBYSCORE', skip, int_text(pos), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if found[1] == nil or found[1]:find('^%+?%d+$') == nil then
    return nil
  end
  local first, last = tonumber(found[1]), floor(tonumber(found[2]))
  if first <= pos then
    return first, last
  end
  return nil
end

-- Records the run first..last, and gives the skip set the rest of the day to live.
local function run_insert(skip, ttl, first, last)
  rcall('ZADD', skip, int_text(last), int_text(first))
  rcall('EXPIRE', skip, ttl)
end

local function run_delete(skip, first)
  rcall('ZREM', skip, int_text(first))
end

-- The most runs next_available looks past. Runs are maximal, so the key after a run is
-- available; three lookups suffice (after the cursor, after that run, after wrapping).
local MAX_HOPS = 4

-- The first available key after position `cursor`, wrapping to the start of the ring:
-- its position and the key, or nil when the ring is empty or every key is unavailable.
local function next_available(ring, skip, cursor)
  local wrapped = false
  local pos, key = ring_after(ring, cursor)
  if pos == nil then
    wrapped = true
    pos, key = ring_after(ring, 0)
    if pos == nil then
      return nil
    end
  end
  for _ = 1, MAX_HOPS do
    local _, last = run_containing(skip, pos)
    if last == nil then
      return pos, key
    end
    pos, key = ring_after(ring, last)
    if pos == nil then
      if wrapped then
        return nil
      end
      wrapped = true
      pos, key = ring_after(ring, 0)
      if pos == nil then
        return nil
      end
    end
  end
  -- Only reachable if the runs are not maximal, which the functions below never leave;
  -- answering "nothing available" is safer than looping.
  return nil
end

-- Marks the key at `pos` unavailable, joining it with the run that ends just before it
-- and the one that starts just after it.
local function mark_unavailable(ring, skip, ttl, pos)
  local left_first, right_first, right_last
  local prev = ring_before(ring, pos)
  if prev then
    left_first = run_containing(skip, prev)
  end
  local nxt = ring_after(ring, pos)
  if nxt then
    right_first, right_last = run_containing(skip, nxt)
  end
  local first, last = pos, pos
  if left_first then
    run_delete(skip, left_first)
    first = left_first
  end
  if right_first then
    run_delete(skip, right_first)
    last = right_last
  end
  run_insert(skip, ttl, first, last)
end

-- Marks the key at `pos` available again, splitting its run around it.
local function mark_available(ring, skip, ttl, pos)
  local first, last = run_containing(skip, pos)
  if first == nil then
    return
  end
  run_delete(skip, first)
  if first < pos then
    local prev = ring_before(ring, pos)
    if prev then
      run_insert(skip, ttl, first, prev)
    end
  end
  if pos < last then
    local nxt = ring_after(ring, pos)
    if nxt then
      run_insert(skip, ttl, nxt, last)
    end
  end
end

-- Repairs the runs once the key at `pos` has left the ring: a run that started or ended at
-- it shrinks; two runs that it kept apart, being available, become one.
local function forget_position(ring, skip, ttl, pos)
  local first, last = run_containing(skip, pos)
  if first then
    run_delete(skip, first)
    if first == pos and last == pos then
      return
    end
    if first == pos then
      first = ring_after(ring, pos) or pos
    end
    if last == pos then
      last = ring_before(ring, pos) or pos
    end
    run_insert(skip, ttl, first, last)
    return
  end
  local prev, nxt = ring_before(ring, pos), ring_after(ring, pos)
  if prev == nil or nxt == nil then
    return
  end
  local left_first = run_containing(skip, prev)
  local right_first, right_last = run_containing(skip, nxt)
  if left_first and right_first then
    run_delete(skip, left_first)
    run_delete(skip, right_first)
    run_insert(skip, ttl, left_first, right_last)
  end
end

-- The commands ---------------------------------------------------------------------------

--[[
  gpool_add: appends API keys to the pool's ring, in argument order.
    KEYS[1]  pool name
    ARGV     one or more API keys
  Reply: integer, how many keys were new to the pool.
]]
local function gpool_add(keys, argv)
  local args, err = command_args('gpool_add', 'gpool.add', 1, keys, argv, 2)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local names = pool_keys(pool)
  local ring_key, meta_key = names.ring, names.meta
  if not types_ok(ring_key, 'zset', meta_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  local seq = stored_integer(rcall('HGET', meta_key, 'seq'))
  local added = 0
  for i = 2, #args do
    local key = args[i]
    if not rcall('ZSCORE', ring_key, key) then
      seq = seq + 1
      rcall('ZADD', ring_key, int_text(seq), key)
      added = added + 1
    end
  end
  if added > 0 then
    rcall('HSET', meta_key, 'seq', int_text(seq))
  end

  return added
end

--[[
  gpool_remove: takes API keys out of the pool with their spent marks, runs and today's
  usage.
    KEYS[1]  pool name
    ARGV     one or more API keys
  Reply: integer, how many of them were in the pool.
]]
local function gpool_remove(keys, argv)
  local args, err = command_args('gpool_remove', 'gpool.remove', 1, keys, argv, 2)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key, cursor_key, usage_key = names.ring, names.cursor, names.usage(day)
  if not types_ok(ring_key, 'zset', cursor_key, 'hash', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local per_class = {}
  for _, class in ipairs(known_classes(cursor_key)) do
    local spent_key, skip_key = names.spent(class, day), names.skip(class, day)
    if not types_ok(spent_key, 'zset', skip_key, 'zset') then
      return refuse(WRONGTYPE)
    end
    per_class[#per_class + 1] = { spent = spent_key, skip = skip_key }
  end

  local removed = 0
  for i = 2, #args do
    local key = args[i]
    local score = rcall('ZSCORE', ring_key, key)
    if score then
      local pos = floor(tonumber(score))
      rcall('ZREM', ring_key, key)
      rcall('HDEL', usage_key, key)
      for _, class in ipairs(per_class) do
        rcall('ZREM', class.spent, key)
        forget_position(ring_key, class.skip, ttl, pos)
      end
      removed = removed + 1
    end
  end

  return removed
end

--[[
  gpool_next: serves the class's next key: the first after its cursor, in ring order and
  wrapping, that is not spent for the class today. Moves the cursor to it and counts one
  use of it.
    KEYS[1]  pool name
    ARGV[1]  class
  Reply: bulk string, the API key; nil when every key is spent or the pool is empty.
]]
local function gpool_next(keys, argv)
  local args, err = command_args('gpool_next', 'gpool.next', 1, keys, argv, 2, 2)
  if err then
    return err
  end
  local pool, class = args[1], args[2]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  if not is_valid_name(class) then
    return class_error(class)
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key, cursor_key = names.ring, names.cursor
  local skip_key, usage_key = names.skip(class, day), names.usage(day)
  if not types_ok(ring_key, 'zset', cursor_key, 'hash', skip_key, 'zset', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  local cursor = stored_position(rcall('HGET', cursor_key, class))
  local pos, key = next_available(ring_key, skip_key, cursor)
  if pos == nil then
    return false
  end

  rcall('HSET', cursor_key, class, int_text(pos))
  local uses = stored_integer(rcall('HGET', usage_key, key)) + 1
  if rcall('HSET', usage_key, key, int_text(uses)) == 1 then
    rcall('EXPIRE', usage_key, ttl)
  end

  return key
end

--[[
  gpool_spend: marks an API key spent for a class until the quota day ends, and makes the
  class known to the pool.
    KEYS[1]  pool name
    ARGV[1]  API key
    ARGV[2]  class
  Reply: integer, 1 if newly spent, 0 if it already was.
]]
local function gpool_spend(keys, argv)
  local args, err = command_args('gpool_spend', 'gpool.spend', 1, keys, argv, 3, 3)
  if err then
    return err
  end
  local pool, key, class = args[1], args[2], args[3]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  if not is_valid_name(class) then
    return class_error(class)
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key, cursor_key = names.ring, names.cursor
  local spent_key, skip_key = names.spent(class, day), names.skip(class, day)
  if not types_ok(ring_key, 'zset', cursor_key, 'hash', spent_key, 'zset', skip_key, 'zset') then
    return refuse(WRONGTYPE)
  end

  local score = rcall('ZSCORE', ring_key, key)
  if not score then
    return not_in_pool_error(key, pool)
  end
  if rcall('ZSCORE', spent_key, key) then
    return 0
  end

  rcall('ZADD', spent_key, score, key)
  rcall('EXPIRE', spent_key, ttl)
  mark_unavailable(ring_key, skip_key, ttl, floor(tonumber(score)))
  if not rcall('HGET', cursor_key, class) then
    rcall('HSET', cursor_key, class, '0')
  end

  return 1
end

--[[
  gpool_restore: lifts an API key's spent mark for a class.
    KEYS[1]  pool name
    ARGV[1]  API key
    ARGV[2]  class
  Reply: integer, 1 if it was spent and now is not, else 0.
]]
local function gpool_restore(keys, argv)
  local args, err = command_args('gpool_restore', 'gpool.restore', 1, keys, argv, 3, 3)
  if err then
    return err
  end
  local pool, key, class = args[1], args[2], args[3]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  if not is_valid_name(class) then
    return class_error(class)
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key = names.ring
  local spent_key, skip_key = names.spent(class, day), names.skip(class, day)
  if not types_ok(ring_key, 'zset', spent_key, 'zset', skip_key, 'zset') then
    return refuse(WRONGTYPE)
  end

  local score = rcall('ZSCORE', ring_key, key)
  if not score then
    return not_in_pool_error(key, pool)
  end
  if rcall('ZREM', spent_key, key) == 0 then
    return 0
  end

  mark_available(ring_key, skip_key, ttl, floor(tonumber(score)))

  return 1
end

--[[
  gpool_record: counts uses of an API key made without gpool_next.
    KEYS[1]  pool name
    ARGV[1]  API key
    ARGV[2]  count (optional, 1 to 1000000000; default 1)
  Reply: integer, the key's usage count for today after adding the count.
]]
local function gpool_record(keys, argv)
  local args, err = command_args('gpool_record', 'gpool.record', 1, keys, argv, 2, 3)
  if err then
    return err
  end
  local pool, key = args[1], args[2]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  local count = 1
  if args[3] then
    count = decimal(args[3])
    if count == nil or count < 1 or count > MAX_COUNT then
      return refuse('ERR invalid count \'' .. shown(args[3])
        .. '\': use a whole number from 1 to 1000000000')
    end
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key, usage_key = names.ring, names.usage(day)
  if not types_ok(ring_key, 'zset', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  if not rcall('ZSCORE', ring_key, key) then
    return not_in_pool_error(key, pool)
  end

  local uses = stored_integer(rcall('HGET', usage_key, key)) + count
  if rcall('HSET', usage_key, key, int_text(uses)) == 1 then
    rcall('EXPIRE', usage_key, ttl)
  end

  return uses
end

--[[
  gpool_usage: today's use counts. Writes nothing.
    KEYS[1]  pool name
    ARGV     API keys (optional)
  Reply: with keys, an array of their counts in argument order (0 for a key not in the
  pool); without, a map of fingerprint to count for every key of the pool.
]]
local function gpool_usage(keys, argv)
  local args, err = command_args('gpool_usage', 'gpool.usage', 1, keys, argv, 1)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local day = today()
  local names = pool_keys(pool)
  local ring_key, usage_key = names.ring, names.usage(day)
  if not types_ok(ring_key, 'zset', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  if #args > 1 then
    local counts = {}
    for i = 2, #args do
      counts[#counts + 1] = stored_integer(rcall('HGET', usage_key, args[i]))
    end
    return counts
  end
  -- In ring order, so that of two keys with the same fingerprint the later one is shown,
  -- as in the module.
  local counts = {}
  for _, key in ipairs(rcall('ZRANGE', ring_key, 0, -1)) do
    counts[fingerprint(key)] = stored_integer(rcall('HGET', usage_key, key))
  end
  return { map = counts }
end

--[[
  gpool_status: a summary of the pool that never shows a key. Writes nothing.
    KEYS[1]  pool name
  Reply: a map of keys (integer), day (YYYY-MM-DD), timezone, reset_in (seconds until the
  quota day ends) and classes (a map of class to a map of active and spent).
]]
local function gpool_status(keys, argv)
  local args, err = command_args('gpool_status', 'gpool.status', 1, keys, argv, 1, 1)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return pool_error(pool)
  end

  local day, ttl = today()
  local names = pool_keys(pool)
  local ring_key, cursor_key = names.ring, names.cursor
  if not types_ok(ring_key, 'zset', cursor_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local spent_counts = {}
  for _, class in ipairs(known_classes(cursor_key)) do
    local spent_key = names.spent(class, day)
    if not types_ok(spent_key, 'zset') then
      return refuse(WRONGTYPE)
    end
    spent_counts[class] = rcall('ZCARD', spent_key)
  end

  local total = rcall('ZCARD', ring_key)
  local classes = {}
  for class, spent in pairs(spent_counts) do
    classes[class] = { map = { active = math.max(0, total - spent), spent = spent } }
  end
  return {
    map = {
      keys = total,
      day = day,
      timezone = TIMEZONE,
      reset_in = ttl,
      classes = { map = classes },
    },
  }
end

--[[
  gpool_debug: pins the library's clock, for tests. Refused unless DEBUG_CLOCK is true.
    KEYS     none
    ARGV[1]  CLOCK
    ARGV[2]  a Unix time in whole seconds (0 to 253402300799), or REAL to unpin
  Reply: OK.
]]
local function gpool_debug(keys, argv)
  local args, err = command_args('gpool_debug', 'gpool.debug', 0, keys, argv, 2, 2)
  if err then
    return err
  end
  if not DEBUG_CLOCK then
    return refuse('ERR debug commands are disabled: load the module with \'debug-clock yes\'')
  end
  if args[1]:upper() ~= 'CLOCK' then
    return refuse('ERR unknown subcommand \'' .. shown(args[1])
      .. '\': use GPOOL.DEBUG CLOCK <unix-seconds>|REAL')
  end
  local value
  if args[2]:upper() ~= 'REAL' then
    value = decimal(args[2])
    if value == nil or value > MAX_UNIX_TIME then
      return refuse('ERR invalid unix time \'' .. shown(args[2])
        .. '\': use whole seconds from 0 to 253402300799, or REAL')
    end
  end

  pinned_clock = value

  return redis.status_reply('OK')
end

-- Functions that only read carry no-writes, so FCALL_RO and replicas take them, like the
-- module's read-only commands. REMOVE and RESTORE only shrink a pool and run when the
-- server is out of memory, like the module's commands without deny-oom.
redis.register_function({ function_name = 'gpool_add', callback = gpool_add })
redis.register_function({ function_name = 'gpool_remove', callback = gpool_remove,
  flags = { 'allow-oom' } })
redis.register_function({ function_name = 'gpool_next', callback = gpool_next })
redis.register_function({ function_name = 'gpool_spend', callback = gpool_spend })
redis.register_function({ function_name = 'gpool_restore', callback = gpool_restore,
  flags = { 'allow-oom' } })
redis.register_function({ function_name = 'gpool_record', callback = gpool_record })
redis.register_function({ function_name = 'gpool_usage', callback = gpool_usage,
  flags = { 'no-writes' } })
redis.register_function({ function_name = 'gpool_status', callback = gpool_status,
  flags = { 'no-writes' } })
redis.register_function({ function_name = 'gpool_debug', callback = gpool_debug,
  flags = { 'no-writes' } })
