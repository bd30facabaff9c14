//! What keeps a key out of a class's rotation (spent for the day, cooling down after a
//! per-minute limit, disabled) and the changes to it, kept in step with the class's runs.
//!
//! The runs of a class cover exactly the keys of the ring that are spent today or cooling.
//! Disabled keys are taken out of the ring altogether, so they need no runs, and they hold
//! no cooldowns. Spent marks are day-keyed, so they lapse at midnight without a write;
//! cooldowns are not, so they are released by the first command that touches the class
//! after their deadline, and carried into a new day's runs by the first command of the day.

use redis_module::RedisString;

use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::pool::{Pool, RingSet, SkipSet};
use crate::rotation::{forget_position, mark_available, mark_unavailable, Position, Runs};

/// Where a key stands in its pool.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    /// Its ring position.
    pub position: Position,
    /// False when the key is disabled, and so out of the ring.
    pub in_ring: bool,
}

/// Finds `key` in the ring or among the disabled keys.
pub fn locate(ring: &Key, disabled: &Key, key: &RedisString) -> Option<Place> {
    if let Some(score) = ring.zscore(key) {
        return Some(Place {
            position: score as Position,
            in_ring: true,
        });
    }
    disabled.zscore(key).map(|score| Place {
        position: score as Position,
        in_ring: false,
    })
}

/// One class's penalties for today, with its runs.
pub struct ClassState<'c> {
    /// `spent:<class>:<day>`.
    pub spent: Key<'c>,
    /// `skip:<class>:<day>`.
    pub skip: Key<'c>,
    /// `cooling:<class>`.
    pub cooling: Key<'c>,
    ttl: i64,
    now_ms: i64,
}

impl<'c> ClassState<'c> {
    /// Opens the class's keys for writing and checks their types.
    ///
    /// # Errors
    /// `PoolError::WrongType` when a key holds another type.
    pub fn open(pool: &Pool<'c>, class: &str) -> Result<Self, PoolError> {
        let open = |name| {
            let key = Key::open(pool.ctx, &name, Access::Write);
            key.expect(Kind::SortedSet).map(|()| key)
        };
        Ok(ClassState {
            spent: open(pool.keys.spent(class, pool.day_label()))?,
            skip: open(pool.keys.skip(class, pool.day_label()))?,
            cooling: open(pool.keys.cooling(class))?,
            ttl: pool.day_ttl(),
            now_ms: pool.now_ms,
        })
    }

    /// The class's runs, for reading or changing them.
    pub fn runs(&self) -> SkipSet<'_, 'c> {
        SkipSet {
            key: &self.skip,
            ttl: self.ttl,
        }
    }

    /// Brings the runs up to date with the clock: cooldowns that have ended are released,
    /// and on a new day the keys still cooling are carried into the day's runs. Every
    /// command that reads or changes the runs calls this first.
    pub fn prepare(&self, ring: &Key) {
        while let Some((key, deadline)) = self.cooling.zfirst_from(f64::NEG_INFINITY, true) {
            if deadline as i64 > self.now_ms {
                break;
            }
            self.cooling.zrem(&key);
            if let (false, Some(score)) = (self.is_spent(&key), ring.zscore(&key)) {
                mark_available(&RingSet(ring), &mut self.runs(), score as Position);
            }
        }
        // Every cooling key is in the ring and so in a run; a missing runs key beside live
        // cooldowns can only mean the day has just changed.
        if self.skip.is_empty() && !self.cooling.is_empty() {
            let mut carried = Vec::new();
            self.cooling.zfor_each(|key, _| carried.push(key));
            for key in carried {
                if let Some(score) = ring.zscore(&key) {
                    let mut runs = self.runs();
                    if runs.containing(score as Position).is_none() {
                        mark_unavailable(&RingSet(ring), &mut runs, score as Position);
                    }
                }
            }
        }
    }

    /// Whether the key is spent for the class today.
    pub fn is_spent(&self, key: &RedisString) -> bool {
        self.spent.zscore(key).is_some()
    }

    /// The key's cooldown deadline in Unix milliseconds, if it is still cooling.
    pub fn cooling_until(&self, key: &RedisString) -> Option<i64> {
        self.cooling
            .zscore(key)
            .map(|deadline| deadline as i64)
            .filter(|&deadline| deadline > self.now_ms)
    }

    /// Marks the key spent until the day ends; false when it already was.
    pub fn spend(&self, ring: &Key, key: &RedisString, place: Place) -> bool {
        if self.is_spent(key) {
            return false;
        }
        self.spent.zadd(place.position as f64, key);
        self.spent.expire_in(self.ttl);
        if place.in_ring && self.cooling_until(key).is_none() {
            mark_unavailable(&RingSet(ring), &mut self.runs(), place.position);
        }
        true
    }

    /// Lifts the key's spent mark; false when it had none.
    pub fn lift_spent(&self, ring: &Key, key: &RedisString, place: Place) -> bool {
        if !self.spent.zrem(key) {
            return false;
        }
        if place.in_ring && self.cooling_until(key).is_none() {
            mark_available(&RingSet(ring), &mut self.runs(), place.position);
        }
        true
    }

    /// Rests the key until `deadline_ms`, or leaves a later deadline as it is. False when
    /// nothing changed. Disabled keys do not cool.
    pub fn cool(&self, ring: &Key, key: &RedisString, place: Place, deadline_ms: i64) -> bool {
        if !place.in_ring {
            return false;
        }
        let current = self.cooling_until(key);
        if current.is_some_and(|c| c >= deadline_ms) {
            return false;
        }
        self.cooling.zadd(deadline_ms as f64, key);
        if current.is_none() && !self.is_spent(key) {
            mark_unavailable(&RingSet(ring), &mut self.runs(), place.position);
        }
        true
    }

    /// Ends the key's cooldown; false when it had none.
    pub fn lift_cooling(&self, ring: &Key, key: &RedisString, place: Place) -> bool {
        let was_cooling = self.cooling_until(key).is_some();
        if !self.cooling.zrem(key) || !was_cooling {
            return false;
        }
        if place.in_ring && !self.is_spent(key) {
            mark_available(&RingSet(ring), &mut self.runs(), place.position);
        }
        true
    }

    /// Lifts every penalty the key has for the class and makes it available, splitting the
    /// run it sits in (also when it has just come back into the ring). True when it had a
    /// spent mark or a live cooldown.
    pub fn lift_all(&self, ring: &Key, key: &RedisString, position: Position) -> bool {
        let was_cooling = self.cooling_until(key).is_some();
        self.cooling.zrem(key);
        let was_spent = self.spent.zrem(key);
        mark_available(&RingSet(ring), &mut self.runs(), position);
        was_spent || was_cooling
    }

    /// Repairs the runs after the key at `position` left the ring, and drops its cooldown.
    pub fn forget(&self, ring: &Key, key: &RedisString, position: Position) {
        self.cooling.zrem(key);
        forget_position(&RingSet(ring), &mut self.runs(), position);
    }
}
