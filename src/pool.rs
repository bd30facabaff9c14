//! One command's view of a pool: its key names, the quota day it runs in, and the rotation
//! traits implemented over the pool's sorted sets.

use std::sync::Mutex;

use chrono_tz::Tz;
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
    pub keys: PoolKeys<'c>,
    /// The module clock's reading, in Unix seconds.
    pub now: i64,
    /// The same reading in Unix milliseconds.
    pub now_ms: i64,
    /// The quota day `now` falls in.
    pub day: QuotaDay,
}

impl<'c> Pool<'c> {
    /// The pool `name` at the module clock's current time.
    pub fn new(ctx: &'c Context, name: &'c str) -> Self {
        let now_ms = clock::now_ms();
        let now = now_ms.div_euclid(1000);
        Pool {
            ctx,
            name,
            keys: PoolKeys::new(name),
            now,
            now_ms,
            day: current_day(config::loaded().zone, now),
        }
    }

    /// The quota day as it appears in key names.
    pub fn day_label(&self) -> &str {
        self.day.label()
    }

    /// Seconds until the quota day ends: the time to live of every day-keyed key.
    pub fn day_ttl(&self) -> i64 {
        self.day.seconds_left(self.now)
    }
}

/// The quota day at `now`, worked out again only when `now` leaves the day last seen: every
/// command needs it, and the zone lookup is the costliest part of a cheap command.
fn current_day(zone: Tz, now: i64) -> QuotaDay {
    static LAST: Mutex<Option<(Tz, QuotaDay)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match *last {
        Some((seen_zone, day)) if seen_zone == zone && day.contains(now) => day,
        _ => {
            let day = QuotaDay::at(zone, now);
            *last = Some((zone, day));
            day
        }
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

/// The highest finite score of a sorted set of positions (the ring, or the disabled set),
/// rounded down to a whole position; None when the set is empty.
pub fn highest_position(set: &Key) -> Option<i64> {
    set.zlast_below(f64::INFINITY)
        .map(|(_, score)| score.floor() as i64)
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
        let member = self.key.integer(first as i64);
        self.key.zadd(last as f64, &member);
        self.key.expire_in(self.ttl);
    }

    fn delete(&mut self, first: Position) {
        let member = self.key.integer(first as i64);
        self.key.zrem(&member);
    }
}

/// The position a class served last, from the `cursor` hash; 0 when it never served.
pub fn cursor_of(cursor: &Key, class: &RedisString) -> Position {
    cursor
        .hget(class)
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
