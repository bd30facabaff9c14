//! The quota day: the calendar date in the pool's time zone, which ends at local midnight.
//!
//! Providers reset daily quotas at midnight Pacific time, so a day is not 86,400 seconds:
//! on the days daylight saving time starts or ends it is 23 or 25 hours long. Everything here
//! works from a Unix time and a zone, with no clock of its own.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The zone used when none is configured.
pub const DEFAULT_ZONE: Tz = chrono_tz::America::Los_Angeles;

/// The largest Unix time the pool accepts (9999-12-31T23:59:59Z); the last quota day ends
/// one second later in every zone.
pub const MAX_UNIX_TIME: i64 = 253_402_300_799;

/// One quota day in one zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaDay {
    /// The local calendar date.
    pub date: NaiveDate,
    /// The Unix time at which the day starts (its local midnight).
    pub starts_at: i64,
    /// The Unix time at which the day ends (the next local midnight).
    pub ends_at: i64,
    label: [u8; 10],
}

impl QuotaDay {
    /// The quota day in `zone` that contains the instant `now` (Unix seconds).
    pub fn at(zone: Tz, now: i64) -> Self {
        let now = now.clamp(0, MAX_UNIX_TIME);
        let date = zone
            .timestamp_opt(now, 0)
            .single()
            .map(|t| t.date_naive())
            .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH.date_naive());
        // East of UTC the last accepted second is already in the year 10000; the pool's
        // last day is 9999-12-31 everywhere, so labels keep their ten characters, and it
        // ends with the clock's range.
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");
        let (date, ends_at) = if date >= last {
            (last, MAX_UNIX_TIME + 1)
        } else {
            let next = date
                .succ_opt()
                .expect("dates before 9999-12-31 have a successor");
            (date, start_of_day(zone, next))
        };
        let mut label = [b'0'; 10];
        let (year, month, day) = (date.year(), date.month(), date.day());
        let text = format!("{year:04}-{month:02}-{day:02}");
        label.copy_from_slice(&text.as_bytes()[..10]);
        QuotaDay {
            date,
            starts_at: start_of_day(zone, date),
            ends_at,
            label,
        }
    }

    /// Whether the instant `now` falls in this day.
    pub fn contains(&self, now: i64) -> bool {
        (self.starts_at..self.ends_at).contains(&now)
    }

    /// The date as `YYYY-MM-DD`, the form used in key names and replies.
    pub fn label(&self) -> &str {
        // The label is built from ASCII digits and dashes only.
        std::str::from_utf8(&self.label).unwrap_or("0000-00-00")
    }

    /// Whole seconds from `now` until the day ends; at least 1, so a time to live taken from
    /// it is always valid.
    pub fn seconds_left(&self, now: i64) -> i64 {
        (self.ends_at - now).max(1)
    }
}

/// The first instant of `date` in `zone`. That is local midnight, except in zones whose
/// clocks skip midnight on a daylight-saving change, where the day starts when the clocks
/// jump, at the first local time that exists.
fn start_of_day(zone: Tz, date: NaiveDate) -> i64 {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    // Transitions fall on whole minutes in every zone of the database and no gap is longer
    // than a day, so stepping by minutes finds the first existing local time.
    for minutes in 0..=(24 * 60) {
        let local = midnight + Duration::minutes(minutes);
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.timestamp(),
            LocalResult::Ambiguous(earliest, _) => return earliest.timestamp(),
            LocalResult::None => continue,
        }
    }
    // No zone has a gap of a whole day; fall back to the day's UTC midnight.
    midnight.and_utc().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn unix(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn pacific_day_ends_at_local_midnight_in_winter() {
        // 2026-01-15 12:00 PST is 20:00 UTC; the day ends at 2026-01-16 08:00 UTC.
        let day = QuotaDay::at(DEFAULT_ZONE, unix(2026, 1, 15, 20, 0, 0));
        assert_eq!(day.label(), "2026-01-15");
        assert_eq!(day.starts_at, unix(2026, 1, 15, 8, 0, 0));
        assert_eq!(day.ends_at, unix(2026, 1, 16, 8, 0, 0));
        assert!(day.contains(day.starts_at) && !day.contains(day.ends_at));
        assert_eq!(day.seconds_left(unix(2026, 1, 15, 20, 0, 0)), 12 * 3600);
    }

    #[test]
    fn the_day_daylight_saving_starts_is_23_hours_long() {
        let start = unix(2026, 3, 8, 8, 0, 0); // 2026-03-08 00:00 PST
        let day = QuotaDay::at(DEFAULT_ZONE, start);
        assert_eq!(day.label(), "2026-03-08");
        assert_eq!(day.ends_at - start, 23 * 3600);
        assert_eq!(day.ends_at, unix(2026, 3, 9, 7, 0, 0));
        assert_eq!(QuotaDay::at(DEFAULT_ZONE, start - 1).label(), "2026-03-07");
    }

    #[test]
    fn the_day_daylight_saving_ends_is_25_hours_long() {
        let start = unix(2026, 11, 1, 7, 0, 0); // 2026-11-01 00:00 PDT
        let day = QuotaDay::at(DEFAULT_ZONE, start);
        assert_eq!(day.label(), "2026-11-01");
        assert_eq!(day.ends_at - start, 25 * 3600);
        assert_eq!(
            QuotaDay::at(DEFAULT_ZONE, day.ends_at).label(),
            "2026-11-02"
        );
        assert_eq!(
            QuotaDay::at(DEFAULT_ZONE, day.ends_at - 1).label(),
            "2026-11-01"
        );
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_the_day_when_clocks_jump() {
        // America/Havana moved clocks from 00:00 to 01:00 on 2026-03-08.
        let zone: Tz = "America/Havana".parse().unwrap();
        let day = QuotaDay::at(zone, unix(2026, 3, 7, 12, 0, 0));
        assert_eq!(day.label(), "2026-03-07");
        // Local midnight does not exist; the day starts at 01:00 CDT, 05:00 UTC.
        assert_eq!(day.ends_at, unix(2026, 3, 8, 5, 0, 0));
        let next = QuotaDay::at(zone, day.ends_at);
        assert_eq!(next.label(), "2026-03-08");
        assert_eq!(QuotaDay::at(zone, day.ends_at - 1).label(), "2026-03-07");
    }

    #[test]
    fn seconds_left_is_never_below_one() {
        let day = QuotaDay::at(DEFAULT_ZONE, 1_000_000);
        assert_eq!(day.seconds_left(day.ends_at + 50), 1);
    }

    #[test]
    fn times_outside_the_supported_range_are_clamped() {
        assert_eq!(QuotaDay::at(chrono_tz::UTC, -5).label(), "1970-01-01");
        let tokyo = chrono_tz::Asia::Tokyo;
        let last = QuotaDay::at(tokyo, MAX_UNIX_TIME);
        assert_eq!(last.label(), "9999-12-31");
        assert_eq!(last.ends_at, MAX_UNIX_TIME + 1);
        assert_eq!(QuotaDay::at(chrono_tz::UTC, i64::MAX).label(), "9999-12-31");
    }
}
