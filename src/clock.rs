//! The module's clock: real time, or a time pinned by `GPOOL.DEBUG CLOCK` for tests.
//!
//! Every quota-day decision and every expiry reads this clock, so a pinned clock moves the
//! whole pool through days and daylight-saving changes exactly as real time would.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The pinned Unix time, or `REAL` when the clock follows real time.
static PINNED: AtomicI64 = AtomicI64::new(REAL);
static PINNING_ALLOWED: AtomicBool = AtomicBool::new(false);
const REAL: i64 = i64::MIN;

/// Allows or forbids pinning; set once at load from the `debug-clock` option.
pub fn allow_pinning(allowed: bool) {
    PINNING_ALLOWED.store(allowed, Ordering::Relaxed);
    if !allowed {
        PINNED.store(REAL, Ordering::Relaxed);
    }
}

/// Whether the module was loaded with `debug-clock yes`.
pub fn pinning_allowed() -> bool {
    PINNING_ALLOWED.load(Ordering::Relaxed)
}

/// Pins the clock at `unix` seconds, or returns it to real time with `None`.
pub fn pin(unix: Option<i64>) {
    PINNED.store(unix.unwrap_or(REAL), Ordering::Relaxed);
}

/// The module's current time in Unix seconds.
pub fn now() -> i64 {
    match PINNED.load(Ordering::Relaxed) {
        REAL => real_now_ms() / 1000,
        pinned => pinned,
    }
}

/// The module's current time in Unix milliseconds; a pinned clock stands on whole seconds.
pub fn now_ms() -> i64 {
    match PINNED.load(Ordering::Relaxed) {
        REAL => real_now_ms(),
        pinned => pinned * 1000,
    }
}

/// Real time in Unix milliseconds, whatever the pinned clock says. Absolute expiry times
/// sent to replicas are in real time, because that is what Redis expires keys by.
pub fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
