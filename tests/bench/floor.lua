#!lua name=gpool_bench_floor
--[[
  The floor under the Lua library's NEXT, for make bench only (never loaded by make run).

  bench_floor does the calls a NEXT on a pool with nothing spent cannot do without, on a
  10-member ring of its own, with no checks and nothing else: read the clock, read the
  cursor, find the first member after it (wrapping), read the class's runs, move the
  cursor, count a use. Whatever the library does beyond these costs time on top of this
  row, so no Lua NEXT that keeps the module's replies and keys can run faster than it.
    KEYS[1]  the ring (a sorted set the bench fills)
    KEYS[2]  the cursor hash
    KEYS[3]  the runs (left missing, as on a pool with nothing spent)
    KEYS[4]  the usage hash
  Reply: the member served.

  bench_empty does nothing: the cost of an FCALL itself.
]]

redis.register_function('bench_empty', function()
  return 1
end)

redis.register_function('bench_floor', function(keys)
  redis.call('TIME')
  local cursor = redis.call('HGET', keys[2], 'embed') or '0'
  local found = redis.call('ZRANGEBYSCORE', keys[1], '(' .. cursor, '+inf', 'WITHSCORES',
    'LIMIT', '0', '1')
  if found[1] == nil then
    found = redis.call('ZRANGEBYSCORE', keys[1], '(0', '+inf', 'WITHSCORES', 'LIMIT', '0', '1')
  end
  redis.call('ZRANGEBYSCORE', keys[3], found[2], '+inf', 'WITHSCORES', 'LIMIT', '0', '2')
  redis.call('HSET', keys[2], 'embed', found[2])
  redis.call('HINCRBY', keys[4], found[1], 1)
  return found[1]
end)
