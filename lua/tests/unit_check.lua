-- Checks the pure helpers of lua/gpool.lua that error texts and replies are built from:
-- name and API-key validation, `<shown>` escaping, fingerprints and decimal parsing, with
-- the cases docs/commands.md and the module's own unit tests pin down.
--
-- Usage: lua5.1 names_check.lua <gpool.lua>
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

print(string.format('%d passed, %d failed', passed, failed))
if failed > 0 then
  os.exit(1)
end
