//! `GPOOL.NEXT <pool> <class>`: serves the class's next available key.

use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::ClassState;
use crate::pool::{cursor_of, Pool, RingSet};
use crate::rotation::next_available;

/// Serves the first key after the class's cursor, in ring order and wrapping, that is
/// neither spent today nor cooling for the class; moves the cursor to it and counts one use.
/// Nil when none is available.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 3, "gpool.next")?;

    let name = arguments::pool(args[1].as_slice())?;
    let class = arguments::class(args[2].as_slice())?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Write);
    cursor.expect(Kind::Hash)?;
    let usage = Key::open(ctx, &pool.keys.usage(pool.day_label()), Access::Write);
    usage.expect(Kind::Hash)?;
    let state = ClassState::open(&pool, class)?;

    state.prepare(&ring);
    let runs = state.runs();
    let Some((position, key)) =
        next_available(&RingSet(&ring), &runs, cursor_of(&cursor, &args[2]))
    else {
        return Ok(RedisValue::Null);
    };

    cursor.hset(&args[2], &cursor.integer(position as i64));
    let uses = usage.hget_integer(&key).saturating_add(1);
    if usage.hset(&key, &usage.integer(uses)) {
        usage.expire_in(pool.day_ttl());
    }

    Ok(RedisValue::BulkRedisString(key))
}
