//! `GPOOL.STATUS <pool>`: a summary of the pool that never shows a key.

use redis_module::redisvalue::RedisValueKey;
use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use super::pin::seconds_left;
use crate::arguments;
use crate::config;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{known_classes, Pool};

/// A map of `keys`, `day`, `timezone`, `reset_in`, `classes` (per class: `active`, `spent`,
/// `cooling`, `disabled`, `streak`, `next_ready_in`) and `pins` (name to seconds left).
/// Reads every spent and cooling mark, so it costs time in proportion to them.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 2, 2, "gpool.status")?;

    let name = arguments::pool(args[1].as_slice())?;

    let pool = Pool::new(ctx, name);
    let open = |name, kind| {
        let key = Key::open(ctx, &name, Access::Read);
        key.expect(kind).map(|()| key)
    };
    let ring = open(pool.keys.ring(), Kind::SortedSet)?;
    let disabled = open(pool.keys.disabled(), Kind::SortedSet)?;
    let cursor = open(pool.keys.cursor(), Kind::Hash)?;
    let streaks = open(pool.keys.streak(), Kind::Hash)?;
    let pins = open(pool.keys.pins(), Kind::Hash)?;
    let mut per_class = Vec::new();
    for class in known_classes(&cursor) {
        let spent = open(pool.keys.spent(&class, pool.day_label()), Kind::SortedSet)?;
        let cooling = open(pool.keys.cooling(&class), Kind::SortedSet)?;
        per_class.push((class, spent, cooling));
    }

    let in_ring = ring.len() as i64;
    let disabled_count = disabled.len() as i64;
    let mut classes = Vec::new();
    for (class, spent, cooling) in per_class {
        let mut spent_in_ring = 0;
        spent.zfor_each(|key, _| spent_in_ring += i64::from(ring.zscore(&key).is_some()));
        let mut cooling_count = 0;
        let mut first_back = i64::MAX;
        cooling.zfor_each(|key, deadline| {
            let deadline = deadline as i64;
            if deadline > pool.now_ms && spent.zscore(&key).is_none() {
                cooling_count += 1;
                first_back = first_back.min(deadline);
            }
        });
        let active = (in_ring - spent_in_ring - cooling_count).max(0);
        let next_ready_in = if active == 0 && cooling_count > 0 {
            seconds_left(first_back, pool.now_ms)
        } else {
            0
        };
        let streak = streaks.hget_integer(&streaks.string(class.as_bytes()));
        let counts = entries(vec![
            ("active", RedisValue::Integer(active)),
            ("spent", RedisValue::Integer(spent_in_ring)),
            ("cooling", RedisValue::Integer(cooling_count)),
            ("disabled", RedisValue::Integer(disabled_count)),
            ("streak", RedisValue::Integer(streak)),
            ("next_ready_in", RedisValue::Integer(next_ready_in)),
        ]);
        classes.push((RedisValueKey::String(class), counts));
    }
    let mut live_pins = Vec::new();
    pins.hfor_each(|pin, deadline| {
        let deadline = std::str::from_utf8(deadline)
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let left = seconds_left(deadline, pool.now_ms);
        if left > 0 {
            let pin = String::from_utf8_lossy(pin).into_owned();
            live_pins.push((RedisValueKey::String(pin), RedisValue::Integer(left)));
        }
    });

    Ok(entries(vec![
        ("keys", RedisValue::Integer(in_ring + disabled_count)),
        ("day", RedisValue::BulkString(pool.day_label().to_owned())),
        (
            "timezone",
            RedisValue::BulkString(config::loaded().zone.name().to_owned()),
        ),
        ("reset_in", RedisValue::Integer(pool.day_ttl())),
        (
            "classes",
            RedisValue::OrderedMap(classes.into_iter().collect()),
        ),
        (
            "pins",
            RedisValue::OrderedMap(live_pins.into_iter().collect()),
        ),
    ]))
}

/// A map reply from fixed field names.
fn entries(fields: Vec<(&str, RedisValue)>) -> RedisValue {
    RedisValue::OrderedMap(
        fields
            .into_iter()
            .map(|(k, v)| (RedisValueKey::String(k.to_owned()), v))
            .collect(),
    )
}
