//! `GPOOL.ADD <pool> <apikey> [<apikey> ...]`: appends keys to the ring.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::names::PoolKeys;
use crate::pool::highest_position;

/// Appends each key not yet in the pool (in the ring or disabled) to the ring, in argument
/// order, at positions after every position the pool has used. Replies with how many were
/// added.
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

    // New positions follow both `seq` and the highest position the pool holds (in the ring
    // or disabled, which RESTORE returns to): a `meta` hash lost on its own (evicted under an
    // allkeys-* policy, deleted by hand) must not hand positions out again.
    let seq_field = meta.string(b"seq");
    let mut seq = meta.hget_integer(&seq_field);
    for set in [&ring, &disabled] {
        if let Some(highest) = highest_position(set) {
            seq = seq.max(highest);
        }
    }
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
