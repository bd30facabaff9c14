-- Checks the pure helpers of lua/gpool.lua that error texts and replies are built from:
-- name and API-key validation, `<shown>` escaping, fingerprints, decimal parsing and the
-- edges of the quota day, with the cases docs/commands.md and the module pin down.
--
-- Usage: lua5.1 unit_check.lua <gpool.lua>
-- Prints each mismatch, then '<n> passed, <m> failed'; exits 1 on any mismatch.

local gpool = dofile(arg[1])

local passed, failed = 0, 0
local function check(what, got, want)
  if got == want then
    passed = passed + 1
  else
    failed = failed + 1
    print(string.format('%s: want %s, got %s', what, tostring(want), tostring(got)))
  end
end

check('plain name', gpool.is_valid_name('gemini'), true)
check('name with marks', gpool.is_valid_name('team-a.prod:embed_v2'), true)
check('name of 128', gpool.is_valid_name(string.rep('a', 128)), true)
check('empty name', gpool.is_valid_name(''), false)
check('name of 129', gpool.is_valid_name(string.rep('a', 129)), false)
check('name with space', gpool.is_valid_name('a b'), false)
check('name with braces', gpool.is_valid_name('a{b}'), false)
check('name in UTF-8', gpool.is_valid_name('\195\169'), false)
check('name with NUL', gpool.is_valid_name('a\0'), false)

check('api key', gpool.is_valid_api_key('test-key-0001'), true)
check('api key of 512', gpool.is_valid_api_key(string.rep('~', 512)), true)
check('empty api key', gpool.is_valid_api_key(''), false)
check('api key of 513', gpool.is_valid_api_key(string.rep('k', 513)), false)
check('api key with space', gpool.is_valid_api_key('key with space'), false)
check('api key with NUL', gpool.is_valid_api_key('key\0'), false)
check('api key with DEL', gpool.is_valid_api_key('key\127'), false)

check('shown space', gpool.shown('a b'), 'a\\x20b')
check('shown quote and backslash', gpool.shown('it\'s\\'), 'it\\x27s\\x5c')
check('shown bytes', gpool.shown('\0\255'), '\\x00\\xff')
check('shown 33 bytes', gpool.shown(string.rep('x', 33)), string.rep('x', 32) .. '...')
check('shown 32 bytes', gpool.shown(string.rep('x', 32)), string.rep('x', 32))
check('shown escapes only the first 32', gpool.shown(string.rep(' ', 40)),
  string.rep('\\x20', 32) .. '...')
check('shown percent', gpool.shown('%1'), '%1')

check('fingerprint of a long key', gpool.fingerprint('test-key-0001-abcdefgh'), '...abcdefgh')
check('fingerprint of 10', gpool.fingerprint('abcdefghij'), '...fghij')
check('fingerprint of 3', gpool.fingerprint('abc'), '...c')
check('fingerprint of 1', gpool.fingerprint('a'), '...')

check('decimal', gpool.decimal('1000000000'), 1000000000)
check('decimal with zeros', gpool.decimal('007'), 7)
check('decimal of 12 digits', gpool.decimal('253402300799'), 253402300799)
for _, bad in ipairs({ '', '-1', '+1', '1.5', '1e3', ' 1', '0x10', '1234567890123' }) do
  check('decimal ' .. bad, gpool.decimal(bad), nil)
end

check('UTF-8 ASCII', gpool.is_utf8('{"error":1}'), true)
check('UTF-8 two bytes', gpool.is_utf8('caf\195\169'), true)
check('UTF-8 last code point', gpool.is_utf8('\244\143\191\191'), true)
check('UTF-8 stray byte', gpool.is_utf8('a\255b'), false)
check('UTF-8 overlong', gpool.is_utf8('\192\175'), false)
check('UTF-8 surrogate', gpool.is_utf8('\237\160\128'), false)
check('UTF-8 past U+10FFFF', gpool.is_utf8('\244\144\128\128'), false)
check('UTF-8 cut short', gpool.is_utf8('\226\130'), false)

local utc = gpool.ZONES['UTC']
local berlin = gpool.ZONES['Europe/Berlin']
local pacific = gpool.ZONES['America/Los_Angeles']
check('first day', (gpool.quota_day(utc, 0)), '1970-01-01')
check('times before 1970 count as 1970', (gpool.quota_day(utc, -5)), '1970-01-01')
check('last day in UTC', (gpool.quota_day(utc, 253402300799)), '9999-12-31')
check('times after the last second are clamped', (gpool.quota_day(utc, 1e15)), '9999-12-31')
-- East of UTC the last second is in the year 10000; the pool's last day is 9999-12-31
-- everywhere, and it ends with the clock's range, as in the module.
local tokyo = gpool.ZONES['Asia/Tokyo']
check('the last day\'s number', gpool.LAST_DAY, gpool.days_from_civil(9999, 12, 31))
check('the last second in Berlin is on the last day', (gpool.quota_day(berlin, 253402300799)),
  '9999-12-31')
check('the last day ends with the clock in Berlin',
  select(2, gpool.quota_day(berlin, 253402300799)), 253402300800)
check('the last second in Tokyo is on the last day', (gpool.quota_day(tokyo, 253402300799)),
  '9999-12-31')
check('the last day ends with the clock in Tokyo',
  select(2, gpool.quota_day(tokyo, 253402300799)), 253402300800)
check('the last day starts at local midnight in Tokyo',
  select(3, gpool.quota_day(tokyo, 253402300799)), 253402300800 - 86400 - 9 * 3600)
check('the first local second of 10000 in Tokyo is still the last day',
  (gpool.quota_day(tokyo, 253402300800 - 9 * 3600)), '9999-12-31')
check('the day before it in Tokyo', (gpool.quota_day(tokyo, 253402300800 - 86400 - 9 * 3600 - 1)),
  '9999-12-30')
check('the last day ends with the clock in Los Angeles too',
  select(2, gpool.quota_day(pacific, 253402300799)), 253402300800)
check('the last day in Los Angeles', (gpool.quota_day(pacific, 253402300799)), '9999-12-31')
check('the day before the last in Los Angeles ends at local midnight',
  select(2, gpool.quota_day(pacific, 253402300800 - 86400)), 253402300800 - 16 * 3600)
check('daylight saving time stops after 2099 as in the module',
  gpool.utc_offset(pacific, gpool.days_from_civil(2100, 7, 1) * 86400), -8 * 3600)
check('daylight saving time in 2099', gpool.utc_offset(pacific,
  gpool.days_from_civil(2099, 7, 1) * 86400), -7 * 3600)
check('seconds left are at least 1', gpool.seconds_left(100, 200), 1)

print(string.format('%d passed, %d failed', passed, failed))
if failed > 0 then
  os.exit(1)
end
