//! `GPOOL.RESTORE <pool> <apikey> [<class>]`: lifts a key's penalties.

use redis_module::{Context, RedisString, RedisValue};

use super::{api_key, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::{locate, ClassState};
use crate::pool::{known_classes, Pool};

/// With a class: lifts the key's spent mark for that class, replying 1 when it was spent.
/// Without: lifts every penalty (spent and cooling for every class, and disabled), replying
/// 1 when the key had any.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 4, "gpool.restore")?;

    let name = arguments::pool(args[1].as_slice())?;
    let key = api_key(args, 2)?;
    let class = match args.get(3) {
        Some(arg) => Some(arguments::class(arg.as_slice())?),
        None => None,
    };

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Write);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Write);
    disabled.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Read);
    cursor.expect(Kind::Hash)?;
    let classes = match class {
        Some(class) => vec![class.to_owned()],
        None => known_classes(&cursor),
    };
    let states = classes
        .iter()
        .map(|class| ClassState::open(&pool, class))
        .collect::<Result<Vec<_>, _>>()?;

    let place = locate(&ring, &disabled, key)
        .ok_or_else(|| PoolError::not_in_pool(key.as_slice(), name))?;

    for state in &states {
        state.prepare(&ring);
    }
    if class.is_some() {
        let lifted = states[0].lift_spent(&ring, key, place);
        return Ok(RedisValue::Integer(i64::from(lifted)));
    }
    let mut lifted = false;
    if !place.in_ring {
        disabled.zrem(key);
        ring.zadd(place.position as f64, key);
        lifted = true;
    }
    for state in &states {
        lifted |= state.lift_all(&ring, key, place.position);
    }

    Ok(RedisValue::Integer(i64::from(lifted)))
}
