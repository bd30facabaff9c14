//! `GPOOL.PINNED <pool> <name>`: how long a named flag has left.

use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use super::pin::seconds_left;
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::Pool;

/// Replies with the whole seconds left on the flag, rounded up; 0 when it is not set.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 3, "gpool.pinned")?;

    let name = arguments::pool(args[1].as_slice())?;
    arguments::pin(args[2].as_slice())?;

    let pool = Pool::new(ctx, name);
    let pins = Key::open(ctx, &pool.keys.pins(), Access::Read);
    pins.expect(Kind::Hash)?;

    let deadline = pins.hget_integer(&args[2]);

    Ok(RedisValue::Integer(seconds_left(deadline, pool.now_ms)))
}
