//! `GPOOL.USAGE <pool> [<apikey> ...]`: today's use counts.

use std::collections::BTreeMap;

use redis_module::redisvalue::RedisValueKey;
use redis_module::{Context, RedisString, RedisValue};

use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::fingerprint::fingerprint;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::Pool;

/// With keys: an array of today's counts in argument order (0 for a key not in the pool).
/// Without: a map of fingerprint to today's count for every key of the pool, disabled ones
/// included.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 2, usize::MAX, "gpool.usage")?;

    let name = arguments::pool(args[1].as_slice())?;
    let keys = api_keys(args, 2)?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Read);
    disabled.expect(Kind::SortedSet)?;
    let usage = Key::open(ctx, &pool.keys.usage(pool.day_label()), Access::Read);
    usage.expect(Kind::Hash)?;

    if !keys.is_empty() {
        let counts = keys
            .iter()
            .map(|key| RedisValue::Integer(usage.hget_integer(key)))
            .collect();
        return Ok(RedisValue::Array(counts));
    }
    let mut counts = BTreeMap::new();
    let mut count = |key: RedisString, _| {
        counts.insert(
            RedisValueKey::String(fingerprint(key.as_slice())),
            RedisValue::Integer(usage.hget_integer(&key)),
        );
    };
    ring.zfor_each(&mut count);
    disabled.zfor_each(&mut count);
    Ok(RedisValue::OrderedMap(counts))
}
