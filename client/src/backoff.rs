//! Exponential backoff with full jitter, and `Retry-After`.
//!
//! The n-th retry (from 0) waits a random time between zero and
//! `min(max, base * 2^n)`: full jitter spreads the retries of many processes that failed at
//! the same moment, so they do not come back together.

use std::time::Duration;

use rand::Rng;

/// Backoff settings: the first ceiling and the largest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait.
    pub base: Duration,
    /// No wait is longer than this.
    pub max: Duration,
}

impl Backoff {
    /// The ceiling for retry number `retry` (from 0): `min(max, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The wait before retry number `retry`: uniform in `[0, ceiling]`, but never shorter
    /// than what the provider asked for in `Retry-After`, itself at most `max`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(retry);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            let nanos = rand::thread_rng().gen_range(0..=ceiling.as_nanos() as u64);
            Duration::from_nanos(nanos)
        };
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max)),
            None => jittered,
        }
    }
}

/// A `Retry-After` header's value in seconds (`120`, or `1.5` as some proxies send). An
/// HTTP date is not read: the backoff alone then decides.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if secs.is_finite() && (0.0..=86_400.0).contains(&secs) {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_max() {
        let b = Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(3),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(3), Duration::from_secs(3));
        assert_eq!(b.ceiling(200), Duration::from_secs(3));
    }

    #[test]
    fn delays_stay_under_the_ceiling_and_over_retry_after() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for retry in 0..10 {
            assert!(b.delay(retry, None) <= b.ceiling(retry));
            let d = b.delay(retry, Some(Duration::from_millis(700)));
            assert!(d >= Duration::from_millis(700) && d <= Duration::from_secs(1));
        }
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
