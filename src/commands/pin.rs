//! `GPOOL.PIN <pool> <name> <seconds>`: sets a named flag that every process sees.

use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::Pool;

/// Sets the flag for `seconds` from now, replacing any earlier deadline. The pins hash
/// expires with its latest live pin.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 4, 4, "gpool.pin")?;

    let name = arguments::pool(args[1].as_slice())?;
    arguments::pin(args[2].as_slice())?;
    let seconds = arguments::pin_seconds(args[3].as_slice())?;

    let pool = Pool::new(ctx, name);
    let pins = Key::open(ctx, &pool.keys.pins(), Access::Write);
    pins.expect(Kind::Hash)?;

    let deadline = pool.now_ms + seconds * 1000;
    pins.hset(&args[2], &pins.integer(deadline));
    expire_with_latest_pin(&pins, pool.now_ms);

    Ok(RedisValue::SimpleStringStatic("OK"))
}

/// Sets the pins hash to expire when its latest live pin lapses, after dropping pins that
/// have lapsed already.
pub fn expire_with_latest_pin(pins: &Key, now_ms: i64) {
    let mut lapsed = Vec::new();
    let mut latest = 0;
    pins.hfor_each(|name, deadline| {
        let deadline = std::str::from_utf8(deadline)
            .ok()
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0);
        if deadline > now_ms {
            latest = latest.max(deadline);
        } else {
            lapsed.push(name.to_vec());
        }
    });
    for name in lapsed {
        pins.hdel(&pins.string(&name));
    }
    if latest > now_ms {
        pins.expire_in_ms(latest - now_ms);
    }
}

/// Seconds left on a pin whose deadline is `deadline_ms`, rounded up; 0 once it lapsed.
pub fn seconds_left(deadline_ms: i64, now_ms: i64) -> i64 {
    if deadline_ms <= now_ms {
        0
    } else {
        (deadline_ms - now_ms + 999) / 1000
    }
}
