//! `GPOOL.RECORD <pool> <apikey> [<count>]`: counts uses made without GPOOL.NEXT.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_key, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::locate;
use crate::pool::Pool;

/// Adds `count` (default 1) to the key's usage today. Replies with the new count.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 4, "gpool.record")?;

    let name = arguments::pool(args[1].as_slice())?;
    let key = api_key(args, 2)?;
    let count = match args.get(3) {
        Some(arg) => arguments::count(arg.as_slice())?,
        None => 1,
    };

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Read);
    disabled.expect(Kind::SortedSet)?;
    let usage = Key::open(ctx, &pool.keys.usage(pool.day_label()), Access::Write);
    usage.expect(Kind::Hash)?;

    if locate(&ring, &disabled, key).is_none() {
        return Err(PoolError::not_in_pool(key.as_slice(), name));
    }

    let uses = usage.hget_integer(key).saturating_add(count);
    if usage.hset(key, &usage.integer(uses)) {
        usage.expire_in(pool.day_ttl());
    }

    Ok(RedisValue::Integer(uses))
}
