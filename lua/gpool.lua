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

  and so on for gpool_remove, gpool_spend, gpool_restore, gpool_record, gpool_usage,
  gpool_report, gpool_project, gpool_pin, gpool_unpin and gpool_pinned. gpool_usage,
  gpool_status and gpool_pinned write nothing and carry the no-writes flag, so FCALL_RO
  and replicas accept them.

  Replies are the module's, with two differences Redis leaves no way around: a map (STATUS,
  USAGE without keys) holds the same pairs, as a RESP3 map or a RESP2 flat array, but in
  the order Lua's table gives them, where the module sorts them by name; and a count above
  2^53, which Redis passes through a Lua double, is replied as the nearest double, never
  above 9223372036854774784 (count_reply).

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

  The pure parts (names, fingerprints, quota days, the judgement of provider answers) come
  first and need nothing from Redis; run under plain Lua 5.1 (no `redis` global) the file
  returns them as a table, which is how lua/tests/ checks the quota day against a time zone
  database.
]]

local TIMEZONE = 'America/Los_Angeles'
local DEBUG_CLOCK = false

-- Names and arguments ---------------------------------------------------------------

local NAME_MAX = 128
local API_KEY_MAX = 512
local SHOWN_MAX = 32
local MAX_COUNT = 1000000000
local MAX_UNIX_TIME = 253402300799
local MAX_PIN_SECONDS = 31536000

-- Names already found valid. The same pool and class names come call after call, and a
-- table lookup costs a sixth of the pattern match; the table is emptied when it has grown,
-- so a stream of odd names cannot fill memory.
local VALID_NAMES_MAX = 1024
local valid_names, valid_name_count = {}, 0

-- Whether s is a valid pool or class name: 1 to 128 letters, digits, '_', '-', '.', ':'.
local function is_valid_name(s)
  if valid_names[s] then
    return true
  end
  if #s < 1 or #s > NAME_MAX or s:find('^[A-Za-z0-9_%-%.:]+$') == nil then
    return false
  end
  if valid_name_count >= VALID_NAMES_MAX then
    valid_names, valid_name_count = {}, 0
  end
  valid_names[s] = true
  valid_name_count = valid_name_count + 1
  return true
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

-- Whether s is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
local function is_utf8(s)
  local i, n = 1, #s
  while true do
    i = s:find('[\128-\255]', i)
    if i == nil then
      return true
    end
    local c, len = s:byte(i), 0
    local low, high = 0x80, 0xBF
    if c >= 0xC2 and c <= 0xDF then
      len = 2
    elseif c >= 0xE0 and c <= 0xEF then
      len = 3
      low = (c == 0xE0) and 0xA0 or 0x80
      high = (c == 0xED) and 0x9F or 0xBF
    elseif c >= 0xF0 and c <= 0xF4 then
      len = 4
      low = (c == 0xF0) and 0x90 or 0x80
      high = (c == 0xF4) and 0x8F or 0xBF
    else
      return false
    end
    if i + len - 1 > n then
      return false
    end
    local second = s:byte(i + 1)
    if second < low or second > high then
      return false
    end
    for j = i + 2, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then
        return false
      end
    end
    i = i + len
  end
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

-- The pool's last quota day, 9999-12-31, in every zone: east of UTC the last second the
-- clock accepts is already in the year 10000, and a day is always ten characters in key
-- names. That day ends with the clock's range, as in the module.
-- (Written out: a library's top level runs before Redis lets it reach `math`.)
local LAST_DAY = 2932896 -- days_from_civil(9999, 12, 31)
local LAST_DAY_LABEL = '9999-12-31'

-- The quota day that contains Unix time `now` in zone `zone` (a ZONES entry): its label
-- (YYYY-MM-DD), the Unix time at which it ends (the next local midnight, or the end of the
-- clock's range) and the Unix time at which it started (its local midnight).
local function quota_day(zone, now)
  now = math.max(0, math.min(now, MAX_UNIX_TIME))
  local days = floor((now + utc_offset(zone, now)) / 86400)
  if days >= LAST_DAY then
    return LAST_DAY_LABEL, MAX_UNIX_TIME + 1, local_midnight(zone, LAST_DAY)
  end
  local y, m, d = civil_from_days(days)
  local label = string.format('%04d-%02d-%02d', y, m, d)
  return label, local_midnight(zone, days + 1), local_midnight(zone, days)
end

-- Whole seconds from `now` until the quota day ends; at least 1, a valid time to live.
local function seconds_left(ends_at, now)
  return math.max(1, ends_at - now)
end

-- Judging a provider's answer ------------------------------------------------------------
-- What a status and body say about the key that got them (docs/commands.md, "Outcomes"),
-- the same judgement as the module's. `decode` turns JSON text into Lua values (cjson inside
-- Redis) and returns nil when the text is not JSON.

-- Bodies longer than this are judged by their status alone, so a report takes bounded time.
local MAX_BODY = 1024 * 1024
-- How many relayed errors deep a body is unwrapped (a proxy quoting a provider).
local MAX_RELAY_DEPTH = 3
-- The cooldown when a per-minute violation names no delay.
local DEFAULT_COOLDOWN_SECONDS = 60

-- Whether a decoded value is a JSON array (a table with keys 1..n only).
local function is_array(value)
  if type(value) ~= 'table' then
    return false
  end
  local n = 0
  for k in pairs(value) do
    if type(k) ~= 'number' then
      return false
    end
    n = n + 1
  end
  return n == #value
end

-- A member of a JSON object, or nil for anything that is not an object.
local function member(value, name)
  if type(value) ~= 'table' or (next(value) ~= nil and is_array(value)) then
    return nil
  end
  return value[name]
end

-- A string member of a JSON object, or nil.
local function text_member(value, name)
  local found = member(value, name)
  if type(found) == 'string' then
    return found
  end
  return nil
end

-- The elements of a JSON array member, or an empty list.
local function array_member(value, name)
  local found = member(value, name)
  if type(found) == 'table' and is_array(found) then
    return found
  end
  return {}
end

local function ends_with(s, suffix)
  return #s >= #suffix and s:sub(-#suffix) == suffix
end

local function trim(s)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- Where the JSON value starting at `from` (an opening brace) ends, or nil when it does not.
local function json_value_end(s, from)
  local depth, i, n = 0, from, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == '"' then
      i = i + 1
      while i <= n do
        local d = s:sub(i, i)
        if d == '\\' then
          i = i + 1
        elseif d == '"' then
          break
        end
        i = i + 1
      end
      if i > n then
        return nil
      end
    elseif c == '{' or c == '[' then
      depth = depth + 1
    elseif c == '}' or c == ']' then
      depth = depth - 1
      if depth == 0 then
        return i
      end
    end
    i = i + 1
  end
  return nil
end

-- The provider's own error that a proxy quoted inside its message (or OpenRouter's
-- metadata.raw): the first JSON value after the first brace, when it is an object whose
-- `error` is an object.
local function relayed_original(err, decode)
  local candidates = {}
  candidates[#candidates + 1] = text_member(err, 'message')
  candidates[#candidates + 1] = text_member(member(err, 'metadata'), 'raw')
  for _, quoted in ipairs(candidates) do
    local start = quoted:find('{', 1, true)
    local stop = start and json_value_end(quoted, start)
    local value = stop and decode(quoted:sub(start, stop))
    local inner = member(value, 'error')
    if type(inner) == 'table' and not (next(inner) ~= nil and is_array(inner)) then
      return value
    end
  end
  return nil
end

-- A quota violation whose limit is 0: the model is not offered on the key's tier.
local function is_zero_limit(violation)
  local value = member(violation, 'quotaValue')
  if type(value) == 'string' then
    return trim(value) == '0'
  end
  return type(value) == 'number' and value == 0
end

-- Gemini's message form of a zero limit: `..., limit: 0, model: ...`.
local function mentions_zero_limit(message)
  local from = 1
  while true do
    local at, stop = message:find('limit: 0', from, true)
    if at == nil then
      return false
    end
    if message:find('^[%d%.]', stop + 1) == nil then
      return true
    end
    from = at + 1
  end
end

-- A protobuf duration such as `45.837906927s`, rounded up to whole seconds, from 1 to a day.
local function parse_delay(text)
  local number = trim(text):match('^(.*)s$')
  local seconds = number and number:find('^[+]?%d*%.?%d*[eE]?[+-]?%d*$') and tonumber(number)
  if seconds == nil or seconds ~= seconds or seconds < 0 or seconds == math.huge then
    return nil
  end
  return math.max(1, math.min(86400, math.ceil(seconds)))
end

local function judge(status, body, depth, decode)
  local err = member(body, 'error')
  if depth < MAX_RELAY_DEPTH then
    local original = err and relayed_original(err, decode)
    if original then
      local code = member(member(original, 'error'), 'code')
      local inner_status = status
      if type(code) == 'number' and code == floor(code) and code >= 100 and code < 600 then
        inner_status = code
      end
      return judge(inner_status, original, depth + 1, decode)
    end
  end
  if status == 401 or status == 403 then
    return 'permanent', 0
  end
  local details = array_member(err, 'details')
  if status == 400 then
    for _, detail in ipairs(details) do
      if text_member(detail, 'reason') == 'API_KEY_INVALID' then
        return 'permanent', 0
      end
    end
  end

  local violations = {}
  for _, detail in ipairs(details) do
    local kind = text_member(detail, '@type')
    if kind and ends_with(kind, 'google.rpc.QuotaFailure') then
      for _, violation in ipairs(array_member(detail, 'violations')) do
        violations[#violations + 1] = violation
      end
    end
  end
  local message = text_member(err, 'message') or ''
  local per_day, per_minute = false, false
  for _, violation in ipairs(violations) do
    if is_zero_limit(violation) then
      return 'transient', 0
    end
    local quota_id = text_member(violation, 'quotaId') or ''
    per_day = per_day or quota_id:find('PerDay', 1, true) ~= nil
    per_minute = per_minute or quota_id:find('PerMinute', 1, true) ~= nil
  end
  if mentions_zero_limit(message) then
    return 'transient', 0
  end
  if per_day then
    return 'daily', 0
  end
  local delay
  for _, detail in ipairs(details) do
    local kind = text_member(detail, '@type')
    local retry = text_member(detail, 'retryDelay')
    if kind and ends_with(kind, 'google.rpc.RetryInfo') and retry then
      delay = parse_delay(retry)
      if delay then
        break
      end
    end
  end
  if per_minute then
    return 'cooldown', delay or DEFAULT_COOLDOWN_SECONDS
  end
  if delay and status == 429 then
    return 'cooldown', delay
  end
  return 'transient', 0
end

-- The outcome of an answer with HTTP `status` and `body` (ok, daily, cooldown, permanent or
-- transient) and its cooldown in seconds (0 unless cooldown).
local function classify(status, body, decode)
  if status >= 200 and status < 300 then
    return 'ok', 0
  end
  local parsed
  if #body <= MAX_BODY then
    parsed = decode(body)
  end
  return judge(status, parsed, 0, decode)
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
    LAST_DAY = LAST_DAY,
    seconds_left = seconds_left,
    is_valid_name = is_valid_name,
    is_valid_api_key = is_valid_api_key,
    shown = shown,
    fingerprint = fingerprint,
    decimal = decimal,
    is_utf8 = is_utf8,
    classify = classify,
  }
end


-- Redis glue ---------------------------------------------------------------------------
-- Everything below runs inside Redis. Each function checks arity, validates its arguments,
-- checks the types of the keys it will touch and only then writes, so bad input changes
-- nothing (a script is not rolled back on an error). The order of those checks, and of the
-- writes, follows the module's command for command.
--
-- Every redis.call costs about a microsecond, so the busiest commands (NEXT, REPORT ok and
-- transient, SPEND) check types without TYPE: each key is read with a command that fails
-- on a key of another type (through redis.pcall, answered with the error Redis gave: for a
-- wrong type, the module's WRONGTYPE text; Redis's ACL error where the caller may not touch
-- the key), a key they do not read is checked by one that does (ZCARD, HLEN), and all of
-- it happens before the first write. A change to them must keep every read ahead of every
-- write. When cooldowns need work first, they take the general way: TYPE, then prepare.

-- Redis lets a library's top level reach nothing but `redis.register_function` and
-- `redis.log`; redis.call, cjson, math, string and the rest exist only while a function
-- runs.
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
local NAME_RULE = '\': use 1 to 128 letters, digits, \'_\', \'-\', \'.\', \':\''

local function refuse(text)
  return redis.error_reply(text)
end

local function arity_error(command)
  return refuse('ERR wrong number of arguments for \'' .. command .. '\' command')
end

-- The error for a bad name argument; `what` is pool, class, project or pin.
local function name_error(what, arg)
  return refuse('ERR invalid ' .. what .. ' name \'' .. shown(arg) .. NAME_RULE)
end

local function api_key_error(index)
  return refuse('ERR invalid api key at argument ' .. index
    .. ': use 1 to 512 printable characters without spaces')
end

local function not_in_pool_error(key, pool)
  return refuse('ERR api key ' .. fingerprint(key) .. ' is not in pool \'' .. pool .. '\'')
end

-- A whole number argument from `low` to `high`, or nil.
local function number_in(arg, low, high)
  local n = decimal(arg)
  if n and n >= low and n <= high then
    return n
  end
  return nil
end

-- The command's arguments after its name, as the module sees them: the declared key (the
-- pool) then ARGV. Refuses a call whose argument count does not fit the command (from `min`
-- to `max` words after the name), or that declares other than `keys_wanted` keys.
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
    return nil, refuse('ERR ' .. function_name
      .. ' takes the pool name as its only key: use FCALL ' .. function_name .. ' 1 <pool> ...')
  end
  return args
end

-- The first bad API key among args[from..]; args[i] is argument i of the command.
local function api_keys_error(args, from)
  for i = from, #args do
    if not is_valid_api_key(args[i]) then
      return api_key_error(i)
    end
  end
  return nil
end

-- The key names of one pool (docs/keys.md); `pool` must be a valid name. The names that
-- take a day, class or project are built from `prefix` by the functions below (plain
-- functions, not closures: a command should not build five functions to use one).
local function pool_keys(pool)
  local prefix = 'gpool:{' .. pool .. '}:'
  return {
    prefix = prefix,
    ring = prefix .. 'ring',
    meta = prefix .. 'meta',
    cursor = prefix .. 'cursor',
    disabled = prefix .. 'disabled',
    streak = prefix .. 'streak',
    projects = prefix .. 'projects',
    pins = prefix .. 'pins',
  }
end

local function usage_name(names, day)
  return names.prefix .. 'usage:' .. day
end

local function spent_name(names, class, day)
  return names.prefix .. 'spent:' .. class .. ':' .. day
end

local function skip_name(names, class, day)
  return names.prefix .. 'skip:' .. class .. ':' .. day
end

local function cooling_name(names, class)
  return names.prefix .. 'cooling:' .. class
end

local function project_name(names, project)
  return names.prefix .. 'project:' .. project
end

-- Whether each key is missing or holds the named type ('zset' or 'hash'); given as key,
-- type, key, type, ...
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

-- The quota day last worked out: its label and the Unix times it starts and ends at. A day
-- takes some thousand Lua operations to work out and commands come thousands a second, so
-- it is worked out again only when the clock leaves it, as the module does. (Upvalues live
-- as long as the library; a reload starts with no day.)
local day_label, day_starts, day_ends = nil, 1, 0

-- What every command that reads the clock works with: the time in Unix milliseconds (the
-- pinned second, or the server's time), the quota day's label and the seconds left in it
-- (the time to live of every day-keyed key written now).
local function clock_now()
  local seconds, ms
  if DEBUG_CLOCK and pinned_clock then
    seconds = pinned_clock
    ms = seconds * 1000
  else
    local time = redis.call('TIME')
    seconds = tonumber(time[1])
    ms = seconds * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  -- quota_day clamps a time outside the clock's range to the range's ends; the day
  -- remembered holds such a time only when it holds that end too.
  if seconds < day_starts or seconds >= day_ends then
    day_label, day_ends, day_starts = quota_day(zone, seconds)
  end
  return ms, day_label, seconds_left(day_ends, seconds)
end

-- The same reading as a table, for the commands that pass it around.
local function clock_reading()
  local ms, day, ttl = clock_now()
  return { ms = ms, day = day, ttl = ttl }
end

-- Whether a decimal of digits alone (`digits`, no leading zeros), with a minus sign before
-- it when `negative`, lies in the 64-bit range: -9223372036854775808 to
-- 9223372036854775807. Doubles cannot tell the ends apart from their neighbours outside,
-- so the 19-digit case compares two halves that each are exact.
local function fits_int64(digits, negative)
  if #digits ~= 19 then
    return #digits < 19
  end
  local high, low = tonumber(digits:sub(1, 10)), tonumber(digits:sub(11))
  return high < 9223372036
    or (high == 9223372036 and low <= (negative and 854775808 or 854775807))
end

-- A stored integer read as the module reads one: decimal, no '+', no leading zeros, in the
-- 64-bit range; else 0. Above 2^53 the number is the nearest double, not the exact value.
local function stored_integer(value)
  if value == '0' then
    return 0
  end
  if value and value:find('^%-?[1-9]%d*$') then
    local negative = value:byte(1) == 45 -- '-'
    if fits_int64(negative and value:sub(2) or value, negative) then
      return tonumber(value)
    end
  end
  return 0
end

-- A stored deadline in milliseconds, with an optional sign; else 0.
local function stored_deadline(value)
  if value and value:find('^[+-]?%d+$') then
    return tonumber(value)
  end
  return 0
end

-- A stored cursor: a whole number; else 0.
local function stored_position(value)
  if value and value:find('^%d+$') then
    return tonumber(value)
  end
  return 0
end

-- The largest count, where the module's 64-bit counts stop.
local MAX_USES = '9223372036854775807'

-- The largest double below 2^63: 2^63 - 1024.
local MAX_REPLY = 9223372036854774784

-- A count as a function replies it. Redis makes a function's number an integer reply by
-- casting the double to 64 bits, and the double nearest a count within 512 of the largest
-- is 2^63, which that cast turns into the most negative integer. Counts up to 2^53 are
-- exact; above, the nearest double is replied, but never more than MAX_REPLY, so a count
-- comes back within 1023 of the module's, and never negative. (No count is below -2^63,
-- which a double holds exactly.)
local function count_reply(n)
  if n > MAX_REPLY then
    return MAX_REPLY
  end
  return n
end

-- Adds `count` (whole, positive, in decimal) to a key's usage count for the day, given the
-- count's stored value (`uses`, false when the key has none yet), as the module adds: in
-- 64-bit integers, stopping at the largest, with a stored value that is not a decimal
-- integer counted as 0. HINCRBY does that arithmetic exactly where Lua's doubles could not
-- (above 2^53) and refuses the two cases it does not share, which are handled here. A new
-- count gives the day's key the rest of the day to live. Returns the new count as a reply
-- (count_reply).
local function add_uses(usage_key, key, uses, count, ttl)
  if not uses then
    redis.call('HSET', usage_key, key, count)
    redis.call('EXPIRE', usage_key, int_text(ttl))
    return tonumber(count)
  end
  local total = redis.pcall('HINCRBY', usage_key, key, count)
  if type(total) ~= 'table' then
    return count_reply(total)
  end
  if total.err:find('overflow', 1, true) then
    redis.call('HSET', usage_key, key, MAX_USES)
    return MAX_REPLY
  end
  redis.call('HSET', usage_key, key, count)
  return tonumber(count)
end

-- Whole seconds left until `deadline_ms`, rounded up; 0 once it has passed.
local function seconds_until(deadline_ms, ms)
  if deadline_ms <= ms then
    return 0
  end
  return floor((deadline_ms - ms + 999) / 1000)
end

-- The classes a pool knows: the fields of its cursor hash that are valid names, sorted.
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

-- Makes a class known to the pool (a cursor field at 0) if it is not yet.
local function register_class(cursor, class)
  if not rcall('HGET', cursor, class) then
    rcall('HSET', cursor, class, '0')
  end
end

-- The project a key was placed in, if it is a valid name.
local function project_of(projects, key)
  local project = rcall('HGET', projects, key)
  if project and is_valid_name(project) then
    return project
  end
  return nil
end

-- Where a key stands: its ring position and whether it is in the ring (false: disabled),
-- or nil when the pool does not hold it.
local function locate(names, key)
  local score = rcall('ZSCORE', names.ring, key)
  if score then
    return floor(tonumber(score)), true
  end
  score = rcall('ZSCORE', names.disabled, key)
  if score then
    return floor(tonumber(score)), false
  end
  return nil
end

-- JSON text as Lua values, or nil when it is not JSON. Text that is not UTF-8 is not JSON,
-- as the module's parser has it. Redis's cjson reads a few bodies no provider sends
-- otherwise than the module's parser: it accepts nesting deeper than 128 levels, reads
-- every number as a double (an error `code` of 429.0 counts as 429) and cannot tell an
-- empty array from an empty object.
local function decode_json(text)
  -- An empty body (a report without one) is not JSON; cjson would say so through an error.
  if text == '' or (text:find('[\128-\255]') and not is_utf8(text)) then
    return nil
  end
  local ok, value = pcall(cjson.decode, text)
  if ok then
    return value
  end
  return nil
end

-- The ring and the runs -------------------------------------------------------------------
-- The same algorithm as the module's rotation (docs/keys.md, "Rotation without a scan") over
-- the same sorted sets: the ring (member: API key, score: position) and a class's skip set
-- (member: a run's first position in decimal, score: its last position).

-- The first ring key after position `pos`: its position and the key, or nil.
local function ring_after(ring, pos)
  local found = rcall('ZRANGEBYSCORE', ring, '(' .. int_text(pos), '+inf', 'WITHSCORES',
    'LIMIT', '0', '1')
  if found[1] then
    return floor(tonumber(found[2])), found[1]
  end
  return nil
end

-- The last ring key before position `pos`: its position and the key, or nil.
local function ring_before(ring, pos)
  local found = rcall('ZREVRANGEBYSCORE', ring, '(' .. int_text(pos), '-inf', 'WITHSCORES',
    'LIMIT', '0', '1')
  if found[1] then
    return floor(tonumber(found[2])), found[1]
  end
  return nil
end

-- The run a skip-set lookup found (the run with the lowest last position at or after `pos`,
-- as member and score) when it contains `pos`: its first and last positions, or nil.
local function run_in(found, pos)
  if found[1] == nil or found[1]:find('^%+?%d+$') == nil then
    return nil
  end
  local first, last = tonumber(found[1]), floor(tonumber(found[2]))
  if first <= pos then
    return first, last
  end
  return nil
end

-- The run that contains position `pos`: its first and last positions, or nil. It is the
-- run with the lowest last position at or after `pos`, if that run starts at or before it.
local function run_containing(skip, pos)
  return run_in(rcall('ZRANGEBYSCORE', skip, int_text(pos), '+inf', 'WITHSCORES',
    'LIMIT', '0', '1'), pos)
end

-- run_containing through redis.pcall, for reading before any write: false and the error
-- Redis gave (WRONGTYPE when the skip key holds another type) when the read fails.
local function run_checked(skip, pos)
  local found = redis.pcall('ZRANGEBYSCORE', skip, int_text(pos), '+inf', 'WITHSCORES',
    'LIMIT', '0', '1')
  if found.err then
    return false, found
  end
  return run_in(found, pos)
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

-- The first available key after position `cursor`, wrapping to the start of the ring: its
-- position and the key, or nil when the ring is empty or every key is unavailable.
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

-- What marking the key at `pos` unavailable joins it with: the first position of the run
-- that ends just before it, and the first and last of the run that starts just after it
-- (nil where there is none). `containing` looks a run up: run_containing, or run_checked.
-- The fourth value says whether any run was looked up. When a lookup of run_checked fails:
-- false and the error reply.
local function runs_beside(ring, skip, pos, containing)
  local left_first, left_last, right_first, right_last
  local prev = ring_before(ring, pos)
  if prev then
    left_first, left_last = containing(skip, prev)
    if left_first == false then
      return false, left_last
    end
  end
  local nxt = ring_after(ring, pos)
  if nxt then
    right_first, right_last = containing(skip, nxt)
    if right_first == false then
      return false, right_last
    end
  end
  return left_first, right_first, right_last, prev ~= nil or nxt ~= nil
end

-- Records the run that marking the key at `pos` unavailable makes, given runs_beside.
local function join_runs(skip, ttl, pos, left_first, right_first, right_last)
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

-- Marks the key at `pos` unavailable, joining it with the run that ends just before it and
-- the one that starts just after it.
local function mark_unavailable(ring, skip, ttl, pos)
  local left_first, right_first, right_last = runs_beside(ring, skip, pos, run_containing)
  join_runs(skip, ttl, pos, left_first, right_first, right_last)
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

-- Penalties -------------------------------------------------------------------------------
-- A class's spent marks, cooldowns and runs, kept in step (docs/keys.md, "Penalties"): the
-- runs cover exactly the ring's keys that are spent today or cooling for the class.

-- One class's keys for today, with the clock they are judged by.
local function class_state(names, class, clock)
  return {
    spent = spent_name(names, class, clock.day),
    skip = skip_name(names, class, clock.day),
    cooling = cooling_name(names, class),
    ttl = clock.ttl,
    ms = clock.ms,
  }
end

local function class_types_ok(state)
  return types_ok(state.spent, 'zset', state.skip, 'zset', state.cooling, 'zset')
end

local function is_spent(state, key)
  return rcall('ZSCORE', state.spent, key) ~= false
end

-- The key's cooldown deadline in milliseconds, if it is still cooling.
local function cooling_until(state, key)
  local deadline = rcall('ZSCORE', state.cooling, key)
  deadline = deadline and floor(tonumber(deadline))
  if deadline and deadline > state.ms then
    return deadline
  end
  return nil
end

-- Brings the runs up to date with the clock: cooldowns that have ended are released, and
-- on a new day the keys still cooling are carried into the day's runs. Every command that
-- reads or changes a class's runs does this first.
local function prepare(state, ring)
  local first = rcall('ZRANGE', state.cooling, '0', '0', 'WITHSCORES')
  if first[1] == nil then
    -- Nothing cools: nothing to release and nothing to carry.
    return
  end
  while first[1] ~= nil and floor(tonumber(first[2])) <= state.ms do
    local key = first[1]
    rcall('ZREM', state.cooling, key)
    local score = rcall('ZSCORE', ring, key)
    if not is_spent(state, key) and score then
      mark_available(ring, state.skip, state.ttl, floor(tonumber(score)))
    end
    first = rcall('ZRANGE', state.cooling, '0', '0', 'WITHSCORES')
  end
  -- Every cooling key is in the ring and so in a run; a missing skip key beside live
  -- cooldowns can only mean the day has just changed.
  if rcall('EXISTS', state.skip) == 0 and rcall('EXISTS', state.cooling) == 1 then
    for _, key in ipairs(rcall('ZRANGE', state.cooling, '0', '-1')) do
      local score = rcall('ZSCORE', ring, key)
      if score then
        local pos = floor(tonumber(score))
        if run_containing(state.skip, pos) == nil then
          mark_unavailable(ring, state.skip, state.ttl, pos)
        end
      end
    end
  end
end

-- Marks the key spent until the day ends; false when it already was.
local function spend(state, ring, key, pos, in_ring)
  if is_spent(state, key) then
    return false
  end
  rcall('ZADD', state.spent, int_text(pos), key)
  rcall('EXPIRE', state.spent, state.ttl)
  if in_ring and cooling_until(state, key) == nil then
    mark_unavailable(ring, state.skip, state.ttl, pos)
  end
  return true
end

-- Lifts the key's spent mark; false when it had none.
local function lift_spent(state, ring, key, pos, in_ring)
  if rcall('ZREM', state.spent, key) == 0 then
    return false
  end
  if in_ring and cooling_until(state, key) == nil then
    mark_available(ring, state.skip, state.ttl, pos)
  end
  return true
end

-- Rests the key until `deadline_ms`, or leaves a later deadline as it is; false when
-- nothing changed. Disabled keys do not cool.
local function cool(state, ring, key, pos, in_ring, deadline_ms)
  if not in_ring then
    return false
  end
  local current = cooling_until(state, key)
  if current and current >= deadline_ms then
    return false
  end
  rcall('ZADD', state.cooling, int_text(deadline_ms), key)
  if current == nil and not is_spent(state, key) then
    mark_unavailable(ring, state.skip, state.ttl, pos)
  end
  return true
end

-- Lifts every penalty the key has for the class and makes it available, splitting the run
-- it sits in. True when it had a spent mark or a live cooldown.
local function lift_all(state, ring, key, pos)
  local was_cooling = cooling_until(state, key) ~= nil
  rcall('ZREM', state.cooling, key)
  local was_spent = rcall('ZREM', state.spent, key) == 1
  mark_available(ring, state.skip, state.ttl, pos)
  return was_spent or was_cooling
end

-- Repairs the runs after the key at `pos` left the ring, and drops its cooldown.
local function forget(state, ring, key, pos)
  rcall('ZREM', state.cooling, key)
  forget_position(ring, state.skip, state.ttl, pos)
end

-- Opens the class states of `classes`, in order; nil when a key has the wrong type.
local function class_states(names, classes, clock)
  local states = {}
  for _, class in ipairs(classes) do
    local state = class_state(names, class, clock)
    if not class_types_ok(state) then
      return nil
    end
    states[#states + 1] = state
  end
  return states
end

-- The member sets of the named projects (each once), after checking their types; nil when
-- one holds another type.
local function project_members(names, projects)
  local members = {}
  for _, project in ipairs(projects) do
    if members[project] == nil then
      local key = project_name(names, project)
      if not types_ok(key, 'zset') then
        return nil
      end
      members[project] = key
    end
  end
  return members
end

-- Drops lapsed pins and sets the pins hash to expire when its latest live pin lapses.
local function expire_with_latest_pin(pins, ms)
  local lapsed, latest = {}, 0
  local fields = rcall('HGETALL', pins)
  for i = 1, #fields, 2 do
    local deadline = stored_deadline(fields[i + 1])
    if deadline > ms then
      latest = math.max(latest, deadline)
    else
      lapsed[#lapsed + 1] = fields[i]
    end
  end
  for _, name in ipairs(lapsed) do
    rcall('HDEL', pins, name)
  end
  if latest > ms and rcall('EXISTS', pins) == 1 then
    rcall('PEXPIRE', pins, int_text(math.max(1, latest - ms)))
  end
end

-- The commands ----------------------------------------------------------------------------

--[[
  gpool_add: appends API keys to the pool's ring, in argument order, at positions after
  every position the pool has used (meta's seq, and the highest in the ring or disabled).
    KEYS[1]  pool name
    ARGV     one or more API keys
  Reply: integer, how many keys were new to the pool (neither in the ring nor disabled).
]]
local function gpool_add(keys, argv)
  local args, err = command_args('gpool_add', 'gpool.add', 1, keys, argv, 2)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local names = pool_keys(pool)
  local ring_key, disabled_key, meta_key = names.ring, names.disabled, names.meta
  if not types_ok(ring_key, 'zset', disabled_key, 'zset', meta_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  -- New positions follow both `seq` and the highest position the pool holds (in the ring
  -- or disabled, which RESTORE returns to): a `meta` hash lost on its own (evicted under an
  -- allkeys-* policy, deleted by hand) must not hand positions out again.
  local seq = stored_integer(rcall('HGET', meta_key, 'seq'))
  for _, set in ipairs({ ring_key, disabled_key }) do
    local highest = rcall('ZREVRANGEBYSCORE', set, '(+inf', '-inf', 'WITHSCORES', 'LIMIT',
      '0', '1')
    if highest[1] then
      local pos = floor(tonumber(highest[2]))
      if pos > seq then
        seq = pos
      end
    end
  end
  local added = 0
  for i = 2, #args do
    local key = args[i]
    if not rcall('ZSCORE', ring_key, key) and not rcall('ZSCORE', disabled_key, key) then
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
  gpool_remove: takes API keys out of the pool (the ring or the disabled set) with their
  spent marks, cooldowns, runs, today's usage and project.
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
    return name_error('pool', pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local clock = clock_reading()
  local names = pool_keys(pool)
  local ring_key, disabled_key, cursor_key = names.ring, names.disabled, names.cursor
  local usage_key, projects_key = usage_name(names, clock.day), names.projects
  if not types_ok(ring_key, 'zset', disabled_key, 'zset', cursor_key, 'hash',
      usage_key, 'hash', projects_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local states = class_states(names, known_classes(cursor_key), clock)
  if states == nil then
    return refuse(WRONGTYPE)
  end
  local projects = {}
  for i = 2, #args do
    projects[#projects + 1] = project_of(projects_key, args[i])
  end
  local members = project_members(names, projects)
  if members == nil then
    return refuse(WRONGTYPE)
  end

  for _, state in ipairs(states) do
    prepare(state, ring_key)
  end
  local removed = 0
  for i = 2, #args do
    local key = args[i]
    local pos, in_ring = locate(names, key)
    if pos then
      if in_ring then
        rcall('ZREM', ring_key, key)
      else
        rcall('ZREM', disabled_key, key)
      end
      for _, state in ipairs(states) do
        rcall('ZREM', state.spent, key)
        if in_ring then
          forget(state, ring_key, key, pos)
        else
          rcall('ZREM', state.cooling, key)
        end
      end
      rcall('HDEL', usage_key, key)
      local project = project_of(projects_key, key)
      if project then
        rcall('HDEL', projects_key, key)
        rcall('ZREM', members[project], key)
      end
      removed = removed + 1
    end
  end

  return removed
end

-- NEXT the long way, for when cooldowns need work first (one to release, or a new day's
-- runs to fill): every key's type is checked up front, then the runs are brought up to date
-- and the rotation runs as the other commands run it.
local function next_with_cooldowns(pool, class, clock)
  local names = pool_keys(pool)
  local ring_key, cursor_key = names.ring, names.cursor
  local usage_key = usage_name(names, clock.day)
  if not types_ok(ring_key, 'zset', cursor_key, 'hash', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local state = class_state(names, class, clock)
  if not class_types_ok(state) then
    return refuse(WRONGTYPE)
  end

  prepare(state, ring_key)
  local cursor = stored_position(rcall('HGET', cursor_key, class))
  local pos, key = next_available(ring_key, state.skip, cursor)
  if pos == nil then
    return false
  end

  local uses = rcall('HGET', usage_key, key)
  rcall('HSET', cursor_key, class, int_text(pos))
  add_uses(usage_key, key, uses, '1', clock.ttl)

  return key
end

-- The fast paths of NEXT, SPEND and REPORT read the class's earliest cooldown first:
-- with none due and the day's runs in place, bringing the runs up to date (prepare) would
-- change nothing. Returns the cooling set's first entry (as ZRANGE WITHSCORES gives it) and
-- whether cooldowns need that work first; or the failed read's error as the first value.
local function cooldowns_checked(cooling_key, skip_key, ms)
  local cooling = redis.pcall('ZRANGE', cooling_key, '0', '0', 'WITHSCORES')
  if cooling.err then
    return cooling
  end
  local due = cooling[1] ~= nil
    and (floor(tonumber(cooling[2])) <= ms or redis.call('EXISTS', skip_key) == 0)
  return cooling, due
end

-- Where `key` is, read before any write: its score (its ring position, or the position a
-- disabled key keeps; false when the pool does not hold it) and whether it is in the ring.
-- The disabled set is read even for a key in the ring, so that one of another type fails
-- here. A failed read gives nil, nil and its error.
local function located_checked(ring_key, disabled_key, key)
  local score = redis.pcall('ZSCORE', ring_key, key)
  if score and score.err then
    return nil, nil, score
  end
  if score then
    local disabled = redis.pcall('ZCARD', disabled_key)
    if type(disabled) == 'table' then
      return nil, nil, disabled
    end
    return score, true
  end
  score = redis.pcall('ZSCORE', disabled_key, key)
  if score and score.err then
    return nil, nil, score
  end
  return score, false
end

-- redis.pcall hands back a failed command's error as a table with `err`. The reads below
-- test for it inline, by the kind of reply they otherwise get: an array's `err` is nil, and
-- so is a string's (strings index the string library); a number or false has none. A failed
-- read is answered with that table as it is, an error reply with Redis's own text:
-- WRONGTYPE for a key of another type (the module's text too), the ACL error when the
-- caller's key patterns do not cover the key (Redis 7.0: "ERR The user executing the script
-- can't access ..."; NOPERM in later versions).

-- A ring position as a score reply gives it, and its text as int_text writes it. Redis
-- writes whole scores as plain decimals, which need no conversion.
local function position_of(score)
  if #score <= 15 and score:find('^[1-9]%d*$') then
    return tonumber(score), score
  end
  local pos = floor(tonumber(score))
  return pos, int_text(pos)
end

local function first_in(ring, from)
  return redis.call('ZRANGEBYSCORE', ring, from, '+inf', 'WITHSCORES', 'LIMIT', '0', '1')
end

-- next_available over the same reads, for NEXT's fast path: `from` is the exclusive lower
-- bound of the first lookup ('(' and the cursor). The first read of the ring and each read
-- of the runs go through redis.pcall, so a key of another type fails here, before NEXT
-- writes. Returns the key and its position's text; nil when none is available; or false
-- and an error reply.
local function next_checked(ring, skip, from)
  local found = redis.pcall('ZRANGEBYSCORE', ring, from, '+inf', 'WITHSCORES', 'LIMIT', '0',
    '1')
  if found.err then
    return false, found
  end
  local wrapped = false
  if found[1] == nil then
    wrapped = true
    found = first_in(ring, '(0')
    if found[1] == nil then
      return nil
    end
  end
  local runs
  for _ = 1, MAX_HOPS do
    local pos, pos_text = position_of(found[2])
    local run
    -- Each lookup reads two runs: the first whose last position is at or after the
    -- candidate, and the one after it in the set. When the next candidate lies past the
    -- first's end but not past the second's (or there is no second), the second is what a
    -- lookup would find, and the lookup is saved: the hop over a run costs two reads of
    -- the ring and one of the runs, not two of each.
    if runs and tonumber(runs[2]) < pos and (runs[3] == nil or pos <= tonumber(runs[4])) then
      run, runs = { runs[3], runs[4] }, nil
    else
      runs = redis.pcall('ZRANGEBYSCORE', skip, pos_text, '+inf', 'WITHSCORES', 'LIMIT', '0',
        '2')
      if runs.err then
        return false, runs
      end
      run = runs
    end
    local _, last = run_in(run, pos)
    if last == nil then
      return found[1], pos_text
    end
    found = first_in(ring, '(' .. int_text(last))
    if found[1] == nil then
      if wrapped then
        return nil
      end
      wrapped = true
      found = first_in(ring, '(0')
      if found[1] == nil then
        return nil
      end
    end
  end
  return nil
end

--[[
  gpool_next: serves the class's next key: the first after its cursor, in ring order and
  wrapping, that is neither spent today nor cooling for the class. Moves the cursor to it
  and counts one use of it.
    KEYS[1]  pool name
    ARGV[1]  class
  Reply: bulk string, the API key; nil when no key is available or the pool is empty.

  The pool's busiest command, so it makes as few calls as it can (each costs about a
  microsecond): no TYPE where a read of the key fails on the wrong type anyway, and every
  read before the first write, so bad keys still change nothing. Cooldowns that need work
  take next_with_cooldowns.
]]
local function gpool_next(keys, argv)
  if #keys ~= 1 or #argv ~= 1 then
    local _, err = command_args('gpool_next', 'gpool.next', 1, keys, argv, 2, 2)
    return err
  end
  local pool, class = keys[1], argv[1]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_name(class) then
    return name_error('class', class)
  end

  local ms, day, ttl = clock_now()
  local prefix = 'gpool:{' .. pool .. '}:'
  local ring_key, cursor_key = prefix .. 'ring', prefix .. 'cursor'
  local usage_key = prefix .. 'usage:' .. day
  local spent_key = prefix .. 'spent:' .. class .. ':' .. day
  local skip_key = prefix .. 'skip:' .. class .. ':' .. day

  local cooling, due = cooldowns_checked(prefix .. 'cooling:' .. class, skip_key, ms)
  if cooling.err then
    return cooling
  end
  if due then
    return next_with_cooldowns(pool, class, { ms = ms, day = day, ttl = ttl })
  end
  -- The spent set is not read on this path, but a bad one is refused all the same.
  local spent = redis.pcall('ZCARD', spent_key)
  if type(spent) == 'table' then
    return spent
  end
  local cursor = redis.pcall('HGET', cursor_key, class)
  if cursor and cursor.err then
    return cursor
  end
  local from = '(0'
  if cursor and cursor:find('^%d+$') then
    from = '(' .. cursor
  end
  local key, pos_text = next_checked(ring_key, skip_key, from)
  if key == false then
    return pos_text
  end
  if key == nil then
    -- The runs may not have been read (an empty ring), nor the usage hash.
    if not types_ok(usage_key, 'hash', skip_key, 'zset') then
      return refuse(WRONGTYPE)
    end
    return false
  end
  -- The first write, so a usage key of another type fails it with nothing written. A key
  -- not counted yet today is counted here, in one call instead of a read and a write.
  local added = redis.pcall('HSETNX', usage_key, key, '1')
  if type(added) == 'table' then
    return added
  end

  redis.call('HSET', cursor_key, class, pos_text)
  if added == 1 then
    redis.call('EXPIRE', usage_key, int_text(ttl))
  else
    add_uses(usage_key, key, true, '1', ttl)
  end

  return key
end

-- SPEND without cooldowns to see to (none due, the day's runs in place): as in NEXT, every
-- key is read, or checked by a read that fails on the wrong type, before anything is
-- written, and then the writes are those of spend and register_class. Returns the reply,
-- or nil when cooldowns need work first (prepare), which the general way does.
local function spend_checked(pool, key, class, ms, day, ttl)
  local prefix = 'gpool:{' .. pool .. '}:'
  local ring_key, disabled_key = prefix .. 'ring', prefix .. 'disabled'
  local cursor_key, cooling_key = prefix .. 'cursor', prefix .. 'cooling:' .. class
  local spent_key = prefix .. 'spent:' .. class .. ':' .. day
  local skip_key = prefix .. 'skip:' .. class .. ':' .. day

  local cooling, due = cooldowns_checked(cooling_key, skip_key, ms)
  if cooling.err then
    return cooling
  end
  if due then
    return nil
  end
  local score, in_ring, failed = located_checked(ring_key, disabled_key, key)
  if failed then
    return failed
  end
  local known = redis.pcall('HGET', cursor_key, class)
  if known and known.err then
    return known
  end
  local spent = redis.pcall('ZSCORE', spent_key, key)
  if spent and spent.err then
    return spent
  end
  -- The runs change only for a key newly spent, in the ring and not cooling (whose runs
  -- already hold it); otherwise they are only checked.
  local pos = score and floor(tonumber(score))
  local joins = score and not spent and in_ring
  if joins and cooling[1] ~= nil then
    local deadline = redis.call('ZSCORE', cooling_key, key)
    joins = not (deadline and floor(tonumber(deadline)) > ms)
  end
  local left_first, right_first, right_last, runs_read
  if joins then
    left_first, right_first, right_last, runs_read =
      runs_beside(ring_key, skip_key, pos, run_checked)
    if left_first == false then
      return right_first
    end
  end
  if not runs_read then
    local runs = redis.pcall('ZCARD', skip_key)
    if type(runs) == 'table' then
      return runs
    end
  end
  if not score then
    return not_in_pool_error(key, pool)
  end
  if spent then
    return 0
  end

  redis.call('ZADD', spent_key, int_text(pos), key)
  redis.call('EXPIRE', spent_key, int_text(ttl))
  if joins then
    join_runs(skip_key, ttl, pos, left_first, right_first, right_last)
  end
  if not known then
    redis.call('HSET', cursor_key, class, '0')
  end
  return 1
end

--[[
  gpool_spend: marks an API key spent for a class until the quota day ends; a newly spent
  key makes the class known to the pool.
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
    return name_error('pool', pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  if not is_valid_name(class) then
    return name_error('class', class)
  end

  local ms, day, ttl = clock_now()
  local reply = spend_checked(pool, key, class, ms, day, ttl)
  if reply then
    return reply
  end
  local clock = { ms = ms, day = day, ttl = ttl }
  local names = pool_keys(pool)
  local ring_key, cursor_key = names.ring, names.cursor
  if not types_ok(ring_key, 'zset', names.disabled, 'zset', cursor_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local state = class_state(names, class, clock)
  if not class_types_ok(state) then
    return refuse(WRONGTYPE)
  end
  local pos, in_ring = locate(names, key)
  if pos == nil then
    return not_in_pool_error(key, pool)
  end

  prepare(state, ring_key)
  local newly = spend(state, ring_key, key, pos, in_ring)
  if newly then
    register_class(cursor_key, class)
  end

  return newly and 1 or 0
end

--[[
  gpool_restore: lifts an API key's penalties. With a class, its spent mark for that class;
  without, every penalty: spent and cooling for every class, and disabled (the key returns
  to its ring position).
    KEYS[1]  pool name
    ARGV[1]  API key
    ARGV[2]  class (optional)
  Reply: integer, 1 if the key had such a penalty, else 0.
]]
local function gpool_restore(keys, argv)
  local args, err = command_args('gpool_restore', 'gpool.restore', 1, keys, argv, 2, 3)
  if err then
    return err
  end
  local pool, key, class = args[1], args[2], args[3]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  if class and not is_valid_name(class) then
    return name_error('class', class)
  end

  local clock = clock_reading()
  local names = pool_keys(pool)
  local ring_key, disabled_key, cursor_key = names.ring, names.disabled, names.cursor
  if not types_ok(ring_key, 'zset', disabled_key, 'zset', cursor_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local states = class_states(names, class and { class } or known_classes(cursor_key), clock)
  if states == nil then
    return refuse(WRONGTYPE)
  end
  local pos, in_ring = locate(names, key)
  if pos == nil then
    return not_in_pool_error(key, pool)
  end

  for _, state in ipairs(states) do
    prepare(state, ring_key)
  end
  if class then
    return lift_spent(states[1], ring_key, key, pos, in_ring) and 1 or 0
  end
  local lifted = false
  if not in_ring then
    rcall('ZREM', disabled_key, key)
    rcall('ZADD', ring_key, int_text(pos), key)
    lifted = true
  end
  for _, state in ipairs(states) do
    lifted = lift_all(state, ring_key, key, pos) or lifted
  end

  return lifted and 1 or 0
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
    return name_error('pool', pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  local count = 1
  if args[3] then
    count = number_in(args[3], 1, MAX_COUNT)
    if count == nil then
      return refuse('ERR invalid count \'' .. shown(args[3])
        .. '\': use a whole number from 1 to 1000000000')
    end
  end

  local clock = clock_reading()
  local names = pool_keys(pool)
  local usage_key = usage_name(names, clock.day)
  if not types_ok(names.ring, 'zset', names.disabled, 'zset', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  if locate(names, key) == nil then
    return not_in_pool_error(key, pool)
  end

  return add_uses(usage_key, key, rcall('HGET', usage_key, key), int_text(count), clock.ttl)
end

--[[
  gpool_usage: today's use counts. Writes nothing.
    KEYS[1]  pool name
    ARGV     API keys (optional)
  Reply: with keys, an array of their counts in argument order (0 for a key not in the
  pool); without, a map of fingerprint to count for every key of the pool, disabled ones
  included.
]]
local function gpool_usage(keys, argv)
  local args, err = command_args('gpool_usage', 'gpool.usage', 1, keys, argv, 1)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  err = api_keys_error(args, 2)
  if err then
    return err
  end

  local clock = clock_reading()
  local names = pool_keys(pool)
  local usage_key = usage_name(names, clock.day)
  if not types_ok(names.ring, 'zset', names.disabled, 'zset', usage_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  if #args > 1 then
    local counts = {}
    for i = 2, #args do
      counts[#counts + 1] = count_reply(stored_integer(rcall('HGET', usage_key, args[i])))
    end
    return counts
  end
  -- Ring order, then the disabled keys: of two keys with one fingerprint the later one is
  -- shown, as in the module.
  local counts = {}
  for _, set in ipairs({ names.ring, names.disabled }) do
    for _, key in ipairs(rcall('ZRANGE', set, '0', '-1')) do
      counts[fingerprint(key)] = count_reply(stored_integer(rcall('HGET', usage_key, key)))
    end
  end
  return { map = counts }
end

--[[
  gpool_status: a summary of the pool that never shows a key. Writes nothing.
    KEYS[1]  pool name
  Reply: a map of keys (integer), day (YYYY-MM-DD), timezone, reset_in (seconds until the
  quota day ends), classes (class to a map of active, spent, cooling, disabled, streak and
  next_ready_in) and pins (each live pin's name to its seconds left).
]]
local function gpool_status(keys, argv)
  local args, err = command_args('gpool_status', 'gpool.status', 1, keys, argv, 1, 1)
  if err then
    return err
  end
  local pool = args[1]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end

  local clock = clock_reading()
  local names = pool_keys(pool)
  local ring_key, cursor_key, streak_key, pins_key =
    names.ring, names.cursor, names.streak, names.pins
  if not types_ok(ring_key, 'zset', names.disabled, 'zset', cursor_key, 'hash',
      streak_key, 'hash', pins_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local per_class = {}
  for _, class in ipairs(known_classes(cursor_key)) do
    local spent_key = spent_name(names, class, clock.day)
    local cooling_key = cooling_name(names, class)
    if not types_ok(spent_key, 'zset', cooling_key, 'zset') then
      return refuse(WRONGTYPE)
    end
    per_class[#per_class + 1] = { class = class, spent = spent_key, cooling = cooling_key }
  end

  local in_ring = rcall('ZCARD', ring_key)
  local disabled = rcall('ZCARD', names.disabled)
  local classes = {}
  for _, c in ipairs(per_class) do
    local spent = 0
    for _, key in ipairs(rcall('ZRANGE', c.spent, '0', '-1')) do
      if rcall('ZSCORE', ring_key, key) then
        spent = spent + 1
      end
    end
    local cooling, first_back = 0, nil
    local entries = rcall('ZRANGE', c.cooling, '0', '-1', 'WITHSCORES')
    for i = 1, #entries, 2 do
      local deadline = floor(tonumber(entries[i + 1]))
      if deadline > clock.ms and not rcall('ZSCORE', c.spent, entries[i]) then
        cooling = cooling + 1
        first_back = math.min(first_back or deadline, deadline)
      end
    end
    local active = math.max(0, in_ring - spent - cooling)
    local next_ready_in = 0
    if active == 0 and cooling > 0 then
      next_ready_in = seconds_until(first_back, clock.ms)
    end
    classes[c.class] = {
      map = {
        active = active,
        spent = spent,
        cooling = cooling,
        disabled = disabled,
        streak = count_reply(stored_integer(rcall('HGET', streak_key, c.class))),
        next_ready_in = next_ready_in,
      },
    }
  end
  local pins = {}
  local fields = rcall('HGETALL', pins_key)
  for i = 1, #fields, 2 do
    local left = seconds_until(stored_deadline(fields[i + 1]), clock.ms)
    if left > 0 then
      pins[fields[i]] = left
    end
  end

  return {
    map = {
      keys = in_ring + disabled,
      day = clock.day,
      timezone = TIMEZONE,
      reset_in = clock.ttl,
      classes = { map = classes },
      pins = { map = pins },
    },
  }
end

-- Transient and cooldown outcomes lengthen the class's streak, success ends it, daily and
-- permanent ones leave it. Given the stored streak, writes the new one if it changed and
-- returns it. A streak is lengthened as add_uses adds uses, by HINCRBY, which is exact
-- where a double is not (above 2^53): at the largest 64-bit integer it stays, as the
-- module's does, and a stored value that is no integer counts as 0.
local function update_streak(streak_key, class, outcome, stored)
  local streak = stored_integer(stored)
  if outcome == 'ok' then
    if streak ~= 0 then
      redis.call('HSET', streak_key, class, '0')
    end
    return 0
  elseif outcome == 'transient' or outcome == 'cooldown' then
    local total = redis.pcall('HINCRBY', streak_key, class, '1')
    if type(total) ~= 'table' then
      return total
    end
    if total.err:find('overflow', 1, true) then
      return streak
    end
    redis.call('HSET', streak_key, class, '1')
    return 1
  end
  return streak
end

-- REPORT of an answer that puts no penalty on the key (ok, transient): it makes the class
-- known and moves its streak, and touches no run. As in NEXT, every key is read, or
-- checked by a read that fails on the wrong type, before anything is written. Returns the
-- reply, or nil when cooldowns need work first (prepare), which the general way does.
local function report_without_penalty(pool, key, class, outcome, ms, day)
  local prefix = 'gpool:{' .. pool .. '}:'
  local ring_key, disabled_key = prefix .. 'ring', prefix .. 'disabled'
  local cursor_key, streak_key = prefix .. 'cursor', prefix .. 'streak'
  local skip_key = prefix .. 'skip:' .. class .. ':' .. day

  local cooling, due = cooldowns_checked(prefix .. 'cooling:' .. class, skip_key, ms)
  if cooling.err then
    return cooling
  end
  if due then
    return nil
  end
  local in_pool, _, failed = located_checked(ring_key, disabled_key, key)
  if failed then
    return failed
  end
  local known = redis.pcall('HGET', cursor_key, class)
  if known and known.err then
    return known
  end
  local streak = redis.pcall('HGET', streak_key, class)
  if streak and streak.err then
    return streak
  end
  local checked = redis.pcall('HLEN', prefix .. 'projects')
  if type(checked) ~= 'table' then
    checked = redis.pcall('ZCARD', prefix .. 'spent:' .. class .. ':' .. day)
  end
  if type(checked) ~= 'table' then
    checked = redis.pcall('ZCARD', skip_key)
  end
  if type(checked) == 'table' then
    return checked
  end
  if not in_pool then
    return not_in_pool_error(key, pool)
  end

  if not known then
    redis.call('HSET', cursor_key, class, '0')
  end
  return { outcome, 0, count_reply(update_streak(streak_key, class, outcome, streak)) }
end

--[[
  gpool_report: applies the judgement of a provider's answer: a daily quota spends the
  key's whole project for the class, a per-minute limit cools it, an invalid key is
  disabled, and the class's failure streak follows. The class becomes known to the pool.
    KEYS[1]  pool name
    ARGV[1]  API key
    ARGV[2]  class
    ARGV[3]  HTTP status (100 to 599)
    ARGV[4]  the answer's body (optional, never echoed)
  Reply: array of the outcome (ok, daily, cooldown, permanent, transient), the cooldown in
  seconds (0 when none) and the class's streak after this report.
]]
local function gpool_report(keys, argv)
  local args, err = command_args('gpool_report', 'gpool.report', 1, keys, argv, 4, 5)
  if err then
    return err
  end
  local pool, key, class = args[1], args[2], args[3]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_api_key(key) then
    return api_key_error(2)
  end
  if not is_valid_name(class) then
    return name_error('class', class)
  end
  local status = number_in(args[4], 100, 599)
  if status == nil then
    return refuse('ERR invalid http status \'' .. shown(args[4])
      .. '\': use a whole number from 100 to 599')
  end
  local body = args[5] or ''

  local ms, day, ttl = clock_now()
  local outcome, cooldown = classify(status, body, decode_json)
  if outcome == 'ok' or outcome == 'transient' then
    local reply = report_without_penalty(pool, key, class, outcome, ms, day)
    if reply then
      return reply
    end
  end
  local clock = { ms = ms, day = day, ttl = ttl }
  local names = pool_keys(pool)
  local ring_key, disabled_key, cursor_key = names.ring, names.disabled, names.cursor
  local streak_key, projects_key = names.streak, names.projects
  if not types_ok(ring_key, 'zset', disabled_key, 'zset', cursor_key, 'hash',
      streak_key, 'hash', projects_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local classes = { class }
  if outcome == 'permanent' then
    for _, other in ipairs(known_classes(cursor_key)) do
      if other ~= class then
        classes[#classes + 1] = other
      end
    end
  end
  local states = class_states(names, classes, clock)
  if states == nil then
    return refuse(WRONGTYPE)
  end
  -- The keys that share the reported key's provider project: the key alone when it was
  -- never grouped.
  local affected = {}
  if outcome == 'daily' or outcome == 'cooldown' then
    local project = project_of(projects_key, key)
    local project_keys = { key }
    if project then
      local members_key = project_name(names, project)
      if not types_ok(members_key, 'zset') then
        return refuse(WRONGTYPE)
      end
      project_keys = rcall('ZRANGE', members_key, '0', '-1')
    end
    for _, k in ipairs(project_keys) do
      local k_pos, k_in_ring = locate(names, k)
      if k_pos then
        affected[#affected + 1] = { key = k, pos = k_pos, in_ring = k_in_ring }
      end
    end
  end
  local pos, in_ring = locate(names, key)
  if pos == nil then
    return not_in_pool_error(key, pool)
  end

  register_class(cursor_key, class)
  for _, state in ipairs(states) do
    prepare(state, ring_key)
  end
  local reported = states[1]
  if outcome == 'daily' then
    for _, a in ipairs(affected) do
      spend(reported, ring_key, a.key, a.pos, a.in_ring)
    end
  elseif outcome == 'cooldown' then
    local deadline = clock.ms + cooldown * 1000
    for _, a in ipairs(affected) do
      cool(reported, ring_key, a.key, a.pos, a.in_ring, deadline)
    end
  elseif outcome == 'permanent' and in_ring then
    rcall('ZREM', ring_key, key)
    rcall('ZADD', disabled_key, int_text(pos), key)
    for _, state in ipairs(states) do
      forget(state, ring_key, key, pos)
    end
  end
  local streak = update_streak(streak_key, class, outcome, rcall('HGET', streak_key, class))

  return { outcome, cooldown, count_reply(streak) }
end

--[[
  gpool_project: places API keys in a provider project, moving each out of any other, so a
  quota outcome reaches every key of the project.
    KEYS[1]  pool name
    ARGV[1]  project
    ARGV     one or more API keys, from ARGV[2] on
  Reply: integer, how many keys were not in the project before.
]]
local function gpool_project(keys, argv)
  local args, err = command_args('gpool_project', 'gpool.project', 1, keys, argv, 3)
  if err then
    return err
  end
  local pool, project = args[1], args[2]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_name(project) then
    return name_error('project', project)
  end
  err = api_keys_error(args, 3)
  if err then
    return err
  end

  local names = pool_keys(pool)
  local projects_key = names.projects
  if not types_ok(names.ring, 'zset', names.disabled, 'zset', projects_key, 'hash') then
    return refuse(WRONGTYPE)
  end
  local earlier = {}
  for i = 3, #args do
    earlier[#earlier + 1] = project_of(projects_key, args[i])
  end
  earlier[#earlier + 1] = project
  local members = project_members(names, earlier)
  if members == nil then
    return refuse(WRONGTYPE)
  end
  local positions = {}
  for i = 3, #args do
    positions[i] = locate(names, args[i])
    if positions[i] == nil then
      return not_in_pool_error(args[i], pool)
    end
  end

  local placed = 0
  for i = 3, #args do
    local key = args[i]
    local old = project_of(projects_key, key)
    if old ~= project then
      if old then
        rcall('ZREM', members[old], key)
      end
      rcall('HSET', projects_key, key, project)
      rcall('ZADD', members[project], int_text(positions[i]), key)
      placed = placed + 1
    end
  end

  return placed
end

--[[
  gpool_pin: sets a named flag that every process sees, replacing any earlier deadline.
    KEYS[1]  pool name
    ARGV[1]  pin name
    ARGV[2]  seconds (1 to 31536000)
  Reply: OK.
]]
local function gpool_pin(keys, argv)
  local args, err = command_args('gpool_pin', 'gpool.pin', 1, keys, argv, 3, 3)
  if err then
    return err
  end
  local pool, pin = args[1], args[2]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_name(pin) then
    return name_error('pin', pin)
  end
  local seconds = number_in(args[3], 1, MAX_PIN_SECONDS)
  if seconds == nil then
    return refuse('ERR invalid seconds \'' .. shown(args[3])
      .. '\': use a whole number from 1 to 31536000')
  end

  local clock = clock_reading()
  local pins_key = pool_keys(pool).pins
  if not types_ok(pins_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  rcall('HSET', pins_key, pin, int_text(clock.ms + seconds * 1000))
  expire_with_latest_pin(pins_key, clock.ms)

  return redis.status_reply('OK')
end

--[[
  gpool_unpin: clears a named flag.
    KEYS[1]  pool name
    ARGV[1]  pin name
  Reply: integer, 1 if the flag was set (and not yet lapsed), else 0.
]]
local function gpool_unpin(keys, argv)
  local args, err = command_args('gpool_unpin', 'gpool.unpin', 1, keys, argv, 2, 2)
  if err then
    return err
  end
  local pool, pin = args[1], args[2]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_name(pin) then
    return name_error('pin', pin)
  end

  local clock = clock_reading()
  local pins_key = pool_keys(pool).pins
  if not types_ok(pins_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  local was_set = stored_integer(rcall('HGET', pins_key, pin)) > clock.ms
  if rcall('HDEL', pins_key, pin) == 1 then
    expire_with_latest_pin(pins_key, clock.ms)
  end

  return was_set and 1 or 0
end

--[[
  gpool_pinned: how long a named flag has left. Writes nothing.
    KEYS[1]  pool name
    ARGV[1]  pin name
  Reply: integer, whole seconds left on the flag (rounded up), 0 when unset or lapsed.
]]
local function gpool_pinned(keys, argv)
  local args, err = command_args('gpool_pinned', 'gpool.pinned', 1, keys, argv, 2, 2)
  if err then
    return err
  end
  local pool, pin = args[1], args[2]
  if not is_valid_name(pool) then
    return name_error('pool', pool)
  end
  if not is_valid_name(pin) then
    return name_error('pin', pin)
  end

  local clock = clock_reading()
  local pins_key = pool_keys(pool).pins
  if not types_ok(pins_key, 'hash') then
    return refuse(WRONGTYPE)
  end

  return seconds_until(stored_integer(rcall('HGET', pins_key, pin)), clock.ms)
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
    value = number_in(args[2], 0, MAX_UNIX_TIME)
    if value == nil then
      return refuse('ERR invalid unix time \'' .. shown(args[2])
        .. '\': use whole seconds from 0 to 253402300799, or REAL')
    end
  end

  pinned_clock = value

  return redis.status_reply('OK')
end

-- Functions that only read carry no-writes, so FCALL_RO and replicas take them, like the
-- module's read-only commands. Those that only shrink a pool (REMOVE, RESTORE, UNPIN) run
-- when the server is out of memory, like the module's commands without deny-oom.
local function register(name, callback, flags)
  redis.register_function({ function_name = name, callback = callback, flags = flags or {} })
end
register('gpool_add', gpool_add)
register('gpool_remove', gpool_remove, { 'allow-oom' })
register('gpool_next', gpool_next)
register('gpool_spend', gpool_spend)
register('gpool_restore', gpool_restore, { 'allow-oom' })
register('gpool_record', gpool_record)
register('gpool_usage', gpool_usage, { 'no-writes' })
register('gpool_status', gpool_status, { 'no-writes' })
register('gpool_report', gpool_report)
register('gpool_project', gpool_project)
register('gpool_pin', gpool_pin)
register('gpool_unpin', gpool_unpin, { 'allow-oom' })
register('gpool_pinned', gpool_pinned, { 'no-writes' })
register('gpool_debug', gpool_debug, { 'no-writes' })
