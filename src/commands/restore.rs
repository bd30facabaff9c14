//! `GPOOL.RESTORE <pool> <apikey> <class>`: returns a spent key to a class's rotation.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_key, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{Pool, RingSet, SkipSet};
use crate::rotation::mark_available;

/// Lifts the key's spent mark for the class. Replies 1 when it was spent, else 0.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 4, 4, "gpool.restore")?;

    let name = arguments::pool(args[1].as_slice())?;
    let key = api_key(args, 2)?;
    let class = arguments::class(args[3].as_slice())?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
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
    if !spent.zrem(key) {
        return Ok(RedisValue::Integer(0));
    }

    let mut runs = SkipSet {
        key: &skip,
        ttl: pool.day_ttl(),
    };
    mark_available(&RingSet(&ring), &mut runs, position as u64);

    Ok(RedisValue::Integer(1))
}
