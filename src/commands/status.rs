//! `GPOOL.STATUS <pool>`: a summary of the pool that never shows a key.

use redis_module::redisvalue::RedisValueKey;
use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use crate::arguments;
use crate::config;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{known_classes, Pool};

/// A map of `keys`, `day`, `timezone`, `reset_in` and `classes` (class to `active` and
/// `spent` counts).
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 2, 2, "gpool.status")?;

    let name = arguments::pool(args[1].as_slice())?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Read);
    cursor.expect(Kind::Hash)?;
    let mut spent_counts = Vec::new();
    for class in known_classes(&cursor) {
        let spent = Key::open(
            ctx,
            &pool.keys.spent(&class, pool.day_label()),
            Access::Read,
        );
        spent.expect(Kind::SortedSet)?;
        spent_counts.push((class, spent.len() as i64));
    }

    let keys = ring.len() as i64;
    let classes = spent_counts
        .into_iter()
        .map(|(class, spent)| {
            let counts = entries([
                ("active", RedisValue::Integer((keys - spent).max(0))),
                ("spent", RedisValue::Integer(spent)),
            ]);
            (RedisValueKey::String(class), counts)
        })
        .collect();
    Ok(entries([
        ("keys", RedisValue::Integer(keys)),
        ("day", RedisValue::BulkString(pool.day_label().to_owned())),
        (
            "timezone",
            RedisValue::BulkString(config::loaded().zone.name().to_owned()),
        ),
        ("reset_in", RedisValue::Integer(pool.day_ttl())),
        ("classes", RedisValue::OrderedMap(classes)),
    ]))
}

/// A map reply from fixed field names.
fn entries<const N: usize>(fields: [(&str, RedisValue); N]) -> RedisValue {
    RedisValue::OrderedMap(
        fields
            .into_iter()
            .map(|(k, v)| (RedisValueKey::String(k.to_owned()), v))
            .collect(),
    )
}
