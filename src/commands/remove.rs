//! `GPOOL.REMOVE <pool> <apikey> [<apikey> ...]`: takes keys and their state out of a pool.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{known_classes, Pool, RingSet, SkipSet};
use crate::rotation::forget_position;

/// Removes each key from the ring, from every class's spent set and runs of today, and from
/// today's usage. Replies with how many keys were in the pool.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, usize::MAX, "gpool.remove")?;

    let name = arguments::pool(args[1].as_slice())?;
    let keys = api_keys(args, 2)?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Write);
    ring.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Read);
    cursor.expect(Kind::Hash)?;
    let usage = Key::open(ctx, &pool.keys.usage(pool.day_label()), Access::Write);
    usage.expect(Kind::Hash)?;
    let mut per_class = Vec::new();
    for class in known_classes(&cursor) {
        let spent = Key::open(
            ctx,
            &pool.keys.spent(&class, pool.day_label()),
            Access::Write,
        );
        spent.expect(Kind::SortedSet)?;
        let skip = Key::open(
            ctx,
            &pool.keys.skip(&class, pool.day_label()),
            Access::Write,
        );
        skip.expect(Kind::SortedSet)?;
        per_class.push((spent, skip));
    }

    let mut removed = 0;
    for key in keys {
        let Some(score) = ring.zscore(key) else {
            continue;
        };
        ring.zrem(key);
        usage.hdel(key);
        for (spent, skip) in &per_class {
            spent.zrem(key);
            let mut runs = SkipSet {
                key: skip,
                ttl: pool.day_ttl(),
            };
            forget_position(&RingSet(&ring), &mut runs, score as u64);
        }
        removed += 1;
    }

    Ok(RedisValue::Integer(removed))
}
