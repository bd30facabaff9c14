//! `GPOOL.ADD <pool> <apikey> [<apikey> ...]`: appends keys to the ring.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::names::PoolKeys;

/// Appends each key not yet in the pool (in the ring or disabled) to the ring, in argument
/// order. Replies with how
/// many were added.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, usize::MAX, "gpool.add")?;

    let pool = arguments::pool(args[1].as_slice())?;
    let keys = api_keys(args, 2)?;

    let names = PoolKeys::new(pool);
    let ring = Key::open(ctx, &names.ring(), Access::Write);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &names.disabled(), Access::Read);
    disabled.expect(Kind::SortedSet)?;
    let meta = Key::open(ctx, &names.meta(), Access::Write);
    meta.expect(Kind::Hash)?;

    let seq_field = meta.string(b"seq");
    let mut seq = meta.hget_integer(&seq_field);
    let mut added = 0;
    for key in keys {
        if ring.zscore(key).is_none() && disabled.zscore(key).is_none() {
            seq += 1;
            ring.zadd(seq as f64, key);
            added += 1;
        }
    }
    if added > 0 {
        meta.hset(&seq_field, &meta.integer(seq));
    }

    Ok(RedisValue::Integer(added))
}
