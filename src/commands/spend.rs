//! `GPOOL.SPEND <pool> <apikey> <class>`: marks a key spent for a class until the day ends.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_key, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{Pool, RingSet, SkipSet};
use crate::rotation::mark_unavailable;

/// Marks the key spent for the class for the rest of the quota day. Replies 1 when newly
/// spent, 0 when it already was.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 4, 4, "gpool.spend")?;

    let name = arguments::pool(args[1].as_slice())?;
    let key = api_key(args, 2)?;
    let class = arguments::class(args[3].as_slice())?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Write);
    cursor.expect(Kind::Hash)?;
    let spent = Key::open(
        ctx,
        &pool.keys.spent(class, pool.day_label()),
        Access::Write,
    );
    spent.expect(Kind::SortedSet)?;
    let skip = Key::open(ctx, &pool.keys.skip(class, pool.day_label()), Access::Write);
    skip.expect(Kind::SortedSet)?;

    let position = ring
        .zscore(key)
        .ok_or_else(|| PoolError::not_in_pool(key.as_slice(), name))?;
    if spent.zscore(key).is_some() {
        return Ok(RedisValue::Integer(0));
    }

    spent.zadd(position, key);
    spent.expire_in(pool.day_ttl());
    let mut runs = SkipSet {
        key: &skip,
        ttl: pool.day_ttl(),
    };
    mark_unavailable(&RingSet(&ring), &mut runs, position as u64);
    if cursor.hget(&args[3]).is_none() {
        cursor.hset(&args[3], &cursor.string(b"0"));
    }

    Ok(RedisValue::Integer(1))
}
