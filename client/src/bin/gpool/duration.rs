//! Durations as people write and read them: `90`, `90s`, `30m`, `2h`, `1h30m`, `1d`.

use std::time::Duration;

/// Parses whole seconds (`1800`) or number-unit pairs (`1h30m`; units `d`, `h`, `m`, `s`).
///
/// # Errors
/// A message naming the text and the accepted forms, for clap to show.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("'{text}' is not a duration: use seconds or forms like 90s, 30m, 2h, 1h30m");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return positive(secs).ok_or_else(bad);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    positive(total).ok_or_else(bad)
}

fn positive(secs: u64) -> Option<Duration> {
    (secs > 0 && secs <= 10 * 365 * 86_400).then(|| Duration::from_secs(secs))
}

/// A pin's duration: as [`parse_duration`], at most a year, the longest GPOOL.PIN takes.
pub fn parse_pin_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.as_secs() > PIN_MAX_SECONDS {
        return Err(format!(
            "'{}' is longer than a pin may last: at most 365d (31536000 seconds)",
            text.trim()
        ));
    }
    Ok(duration)
}

/// The longest pin, in seconds (GPOOL.PIN's limit).
const PIN_MAX_SECONDS: u64 = 31_536_000;

/// Seconds as a short text: `45s`, `12m 05s`, `7h 12m`, `2d 03h`.
pub fn human(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_last_a_year_at_most() {
        assert_eq!(
            parse_pin_duration("365d"),
            Ok(Duration::from_secs(31_536_000))
        );
        assert_eq!(
            parse_pin_duration("31536001"),
            Err("'31536001' is longer than a pin may last: at most 365d (31536000 seconds)".into())
        );
        assert!(parse_pin_duration("400d").is_err());
        assert!(parse_pin_duration("soon").is_err());
    }

    #[test]
    fn durations_in_every_form() {
        assert_eq!(parse_duration("1800"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "0", "2x", "h", "1h30", "-5", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn human_texts() {
        assert_eq!(human(45), "45s");
        assert_eq!(human(725), "12m 05s");
        assert_eq!(human(25_920), "7h 12m");
        assert_eq!(human(183_600), "2d 03h");
    }
}
