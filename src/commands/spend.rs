//! `GPOOL.SPEND <pool> <apikey> <class>`: marks a key spent for a class until the day ends.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_key, arity, register_class};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::{locate, ClassState};
use crate::pool::Pool;

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
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Read);
    disabled.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Write);
    cursor.expect(Kind::Hash)?;
    let state = ClassState::open(&pool, class)?;

    let place = locate(&ring, &disabled, key)
        .ok_or_else(|| PoolError::not_in_pool(key.as_slice(), name))?;

    state.prepare(&ring);
    let newly = state.spend(&ring, key, place);
    if newly {
        register_class(&cursor, &args[3]);
    }

    Ok(RedisValue::Integer(i64::from(newly)))
}
