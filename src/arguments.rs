//! Parsing of command arguments into checked values. Nothing here touches Redis.

use crate::error::PoolError;
use crate::names::{is_valid_api_key, is_valid_name, shown};
use crate::quota_day::MAX_UNIX_TIME;

/// Largest count GPOOL.RECORD accepts in one call.
pub const MAX_COUNT: i64 = 1_000_000_000;

/// Longest a pin may be set for: a year.
pub const MAX_PIN_SECONDS: i64 = 31_536_000;

/// A pool name.
pub fn pool(arg: &[u8]) -> Result<&str, PoolError> {
    checked_name(arg).ok_or_else(|| PoolError::invalid_pool(arg))
}

/// A class name.
pub fn class(arg: &[u8]) -> Result<&str, PoolError> {
    checked_name(arg).ok_or_else(|| PoolError::invalid_class(arg))
}

/// A provider project's name.
pub fn project(arg: &[u8]) -> Result<&str, PoolError> {
    checked_name(arg).ok_or_else(|| PoolError::InvalidProject(shown(arg)))
}

/// A pin's name.
pub fn pin(arg: &[u8]) -> Result<&str, PoolError> {
    checked_name(arg).ok_or_else(|| PoolError::InvalidPin(shown(arg)))
}

/// A pin's duration: whole seconds from 1 to a year.
pub fn pin_seconds(arg: &[u8]) -> Result<i64, PoolError> {
    decimal(arg)
        .filter(|n| (1..=MAX_PIN_SECONDS).contains(n))
        .ok_or_else(|| PoolError::InvalidSeconds(shown(arg)))
}

/// An HTTP status from a provider: a whole number from 100 to 599.
pub fn http_status(arg: &[u8]) -> Result<u16, PoolError> {
    decimal(arg)
        .filter(|n| (100..=599).contains(n))
        .map(|n| n as u16)
        .ok_or_else(|| PoolError::InvalidHttpStatus(shown(arg)))
}

/// An API key found at argument `index` (the command name is argument 0).
pub fn api_key(arg: &[u8], index: usize) -> Result<&[u8], PoolError> {
    if is_valid_api_key(arg) {
        Ok(arg)
    } else {
        Err(PoolError::InvalidApiKey(index))
    }
}

/// A count for GPOOL.RECORD: decimal digits only, from 1 to 1,000,000,000.
pub fn count(arg: &[u8]) -> Result<i64, PoolError> {
    decimal(arg)
        .filter(|n| (1..=MAX_COUNT).contains(n))
        .ok_or_else(|| PoolError::InvalidCount(shown(arg)))
}

/// A pinned clock value: a Unix time in whole seconds, or `None` for REAL.
pub fn clock_value(arg: &[u8]) -> Result<Option<i64>, PoolError> {
    if arg.eq_ignore_ascii_case(b"REAL") {
        return Ok(None);
    }
    decimal(arg)
        .filter(|n| (0..=MAX_UNIX_TIME).contains(n))
        .map(Some)
        .ok_or_else(|| PoolError::InvalidUnixTime(shown(arg)))
}

fn checked_name(arg: &[u8]) -> Option<&str> {
    if is_valid_name(arg) {
        std::str::from_utf8(arg).ok()
    } else {
        None
    }
}

/// A non-negative decimal number of at most 12 digits (leading zeros allowed); no sign, no
/// spaces, no exponent.
fn decimal(arg: &[u8]) -> Option<i64> {
    if arg.is_empty() || arg.len() > 12 || !arg.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(arg).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers_in_range() {
        assert_eq!(count(b"1"), Ok(1));
        assert_eq!(count(b"007"), Ok(7));
        assert_eq!(count(b"1000000000"), Ok(MAX_COUNT));
        for bad in [
            &b"0"[..],
            b"1000000001",
            b"-1",
            b"+1",
            b"1.5",
            b"1e3",
            b"",
            b" 1",
            b"0x10",
        ] {
            assert_eq!(count(bad), Err(PoolError::InvalidCount(shown(bad))));
        }
    }

    #[test]
    fn clock_values_are_unix_seconds_or_real() {
        assert_eq!(clock_value(b"0"), Ok(Some(0)));
        assert_eq!(clock_value(b"real"), Ok(None));
        assert_eq!(clock_value(b"253402300799"), Ok(Some(MAX_UNIX_TIME)));
        assert!(clock_value(b"253402300800").is_err());
        assert!(clock_value(b"-1").is_err());
    }

    #[test]
    fn bad_names_report_what_was_given() {
        assert_eq!(
            pool(b"a b").unwrap_err().to_string(),
            "ERR invalid pool name 'a\\x20b': use 1 to 128 letters, digits, '_', '-', '.', ':'"
        );
        assert_eq!(class(b"embed"), Ok("embed"));
    }
}
