//! One command's view of a pool: its key names, the quota day it runs in, and the rotation
//! traits implemented over the pool's sorted sets.

use redis_module::{Context, RedisString};

use crate::clock;
use crate::config;
use crate::keyspace::Key;
use crate::names::PoolKeys;
use crate::quota_day::QuotaDay;
use crate::rotation::{Position, Ring, Runs};

/// A pool as one command sees it.
pub struct Pool<'c> {
    /// The server context.
    pub ctx: &'c Context,
    /// The pool's name, already validated.
    pub name: &'c str,
    /// The pool's key names.
    pub keys: PoolKeys,
    /// The module clock's reading, in Unix seconds.
    pub now: i64,
    /// The quota day `now` falls in.
    pub day: QuotaDay,
    /// The day as it appears in key names.
    pub day_label: String,
}

impl<'c> Pool<'c> {
    /// The pool `name` at the module clock's current time.
    pub fn new(ctx: &'c Context, name: &'c str) -> Self {
        let now = clock::now();
        let day = QuotaDay::at(config::loaded().zone, now);
        Pool {
            ctx,
            name,
            keys: PoolKeys::new(name),
            now,
            day,
            day_label: day.label(),
        }
    }

    /// Seconds until the quota day ends: the time to live of every day-keyed key.
    pub fn day_ttl(&self) -> i64 {
        self.day.seconds_left(self.now)
    }
}

/// The ring sorted set, read as a `Ring`.
pub struct RingSet<'k, 'c>(pub &'k Key<'c>);

impl Ring for RingSet<'_, '_> {
    type Member = RedisString;

    fn after(&self, pos: Position) -> Option<(Position, RedisString)> {
        self.0
            .zfirst_from(pos as f64, false)
            .map(|(member, score)| (score as Position, member))
    }

    fn before(&self, pos: Position) -> Option<(Position, RedisString)> {
        self.0
            .zlast_below(pos as f64)
            .map(|(member, score)| (score as Position, member))
    }
}

/// A class's skip sorted set, read and written as `Runs`. Every run written resets the
/// key's time to live to the end of the quota day.
pub struct SkipSet<'k, 'c> {
    /// The open `skip:<class>:<day>` key.
    pub key: &'k Key<'c>,
    /// Seconds until the quota day ends.
    pub ttl: i64,
}

impl Runs for SkipSet<'_, '_> {
    fn first_ending_at_or_after(&self, pos: Position) -> Option<(Position, Position)> {
        let (member, last) = self.key.zfirst_from(pos as f64, true)?;
        let first = std::str::from_utf8(member.as_slice()).ok()?.parse().ok()?;
        Some((first, last as Position))
    }

    fn insert(&mut self, first: Position, last: Position) {
        self.key.zadd(last as f64, first.to_string().as_bytes());
        self.key.expire_in(self.ttl);
    }

    fn delete(&mut self, first: Position) {
        self.key.zrem(first.to_string().as_bytes());
    }
}

/// The position a class served last, from the `cursor` hash; 0 when it never served.
pub fn cursor_of(cursor: &Key, class: &str) -> Position {
    cursor
        .hget(class.as_bytes())
        .and_then(|v| v.parse_unsigned_integer().ok())
        .unwrap_or(0)
}

/// The classes the pool knows: the fields of its `cursor` hash that are valid class names.
pub fn known_classes(cursor: &Key) -> Vec<String> {
    let mut classes = Vec::new();
    cursor.hfor_each(|field, _| {
        if crate::names::is_valid_name(field) {
            classes.push(String::from_utf8_lossy(field).into_owned());
        }
    });
    classes.sort();
    classes
}
