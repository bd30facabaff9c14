//! `GPOOL.UNPIN <pool> <name>`: clears a named flag.

use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use super::pin::expire_with_latest_pin;
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::Pool;

/// Clears the flag. Replies 1 when it was set (and not yet lapsed), else 0.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 3, "gpool.unpin")?;

    let name = arguments::pool(args[1].as_slice())?;
    arguments::pin(args[2].as_slice())?;

    let pool = Pool::new(ctx, name);
    let pins = Key::open(ctx, &pool.keys.pins(), Access::Write);
    pins.expect(Kind::Hash)?;

    let was_set = pins.hget_integer(&args[2]) > pool.now_ms;
    if pins.hdel(&args[2]) {
        expire_with_latest_pin(&pins, pool.now_ms);
    }

    Ok(RedisValue::Integer(i64::from(was_set)))
}
