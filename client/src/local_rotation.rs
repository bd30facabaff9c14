//! The in-process rotation that serves while Redis is down: round robin over the keys of
//! `GEMINI_EMBED_KEY_POOL`, one cursor per class, with a key that failed benched for a
//! while.
//!
//! Without Redis there is no shared judgement of provider answers, so this keeps to the
//! crudest rule that still moves on: any failed call benches its key for the class for a
//! minute. It is a stopgap for an outage, not a second pool.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api_key::ApiKey;

/// How long a key that failed is left out while Redis is down.
pub(crate) const BENCH: Duration = Duration::from_secs(60);

/// Round robin over a fixed list of keys.
#[derive(Debug, Default)]
pub(crate) struct LocalRotation {
    keys: Vec<ApiKey>,
    /// Per class: the index of the key served last.
    cursors: HashMap<String, usize>,
    /// Per class and key index: benched until then.
    benched: HashMap<(String, usize), Instant>,
}

impl LocalRotation {
    pub fn new(keys: Vec<ApiKey>) -> LocalRotation {
        LocalRotation {
            keys,
            ..LocalRotation::default()
        }
    }

    /// How many keys it rotates over.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The class's next key that is not benched, after the one served last.
    pub fn next(&mut self, class: &str, now: Instant) -> Option<ApiKey> {
        let n = self.keys.len();
        if n == 0 {
            return None;
        }
        let start = self.cursors.get(class).map_or(0, |c| c + 1);
        for step in 0..n {
            let i = (start + step) % n;
            let benched = self
                .benched
                .get(&(class.to_string(), i))
                .is_some_and(|until| *until > now);
            if !benched {
                self.cursors.insert(class.to_string(), i);
                return Some(self.keys[i].clone());
            }
        }
        None
    }

    /// Leaves `key` out for the class until `until`.
    pub fn bench(&mut self, class: &str, key: &ApiKey, until: Instant) {
        if let Some(i) = self.keys.iter().position(|k| k == key) {
            self.benched.insert((class.to_string(), i), until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_per_class_and_skips_benched_keys() {
        let keys = ApiKey::parse_list("test-key-0001,test-key-0002,test-key-0003");
        let mut r = LocalRotation::new(keys.clone());
        let now = Instant::now();
        assert_eq!(r.next("embed", now), Some(keys[0].clone()));
        assert_eq!(r.next("embed", now), Some(keys[1].clone()));
        assert_eq!(r.next("generate", now), Some(keys[0].clone()));
        r.bench("embed", &keys[2], now + BENCH);
        assert_eq!(r.next("embed", now), Some(keys[0].clone()));
        r.bench("embed", &keys[1], now + BENCH);
        r.bench("embed", &keys[0], now + BENCH);
        assert_eq!(r.next("embed", now), None);
        assert_eq!(r.next("embed", now + BENCH), Some(keys[1].clone()));
    }
}
