//! The module's load options: `timezone <IANA zone>` and `debug-clock yes|no`.

use chrono_tz::Tz;

use crate::quota_day::DEFAULT_ZONE;

/// What the module was loaded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The zone whose midnight ends the quota day.
    pub zone: Tz,
    /// Whether `GPOOL.DEBUG CLOCK` may pin the clock.
    pub debug_clock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            zone: DEFAULT_ZONE,
            debug_clock: false,
        }
    }
}

impl Config {
    /// Reads `loadmodule` arguments: pairs of option name and value, names in any case.
    ///
    /// # Errors
    /// A sentence for the server's log when an option is unknown, lacks its value, or has
    /// a value it cannot take.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let mut config = Config::default();
        let mut rest = args.iter();
        while let Some(option) = rest.next() {
            let value = rest
                .next()
                .ok_or_else(|| format!("load option '{option}' needs a value"))?;
            match option.to_ascii_lowercase().as_str() {
                "timezone" => {
                    config.zone = value.parse().map_err(|_| {
                        format!("unknown time zone '{value}': use an IANA name such as America/Los_Angeles")
                    })?;
                }
                "debug-clock" => {
                    config.debug_clock = match value.to_ascii_lowercase().as_str() {
                        "yes" => true,
                        "no" => false,
                        _ => return Err(format!("debug-clock takes yes or no, not '{value}'")),
                    };
                }
                _ => {
                    return Err(format!(
                        "unknown load option '{option}': use timezone or debug-clock"
                    ))
                }
            }
        }
        Ok(config)
    }
}

/// The configuration the loaded module runs with.
static LOADED: std::sync::RwLock<Config> = std::sync::RwLock::new(Config {
    zone: DEFAULT_ZONE,
    debug_clock: false,
});

/// Makes `config` the one every command reads; called once at load.
pub fn install(config: Config) {
    *LOADED.write().unwrap_or_else(|e| e.into_inner()) = config;
    crate::clock::allow_pinning(config.debug_clock);
}

/// The configuration the module was loaded with.
pub fn loaded() -> Config {
    *LOADED.read().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_options_give_pacific_time_and_a_real_clock() {
        assert_eq!(Config::from_args(&[]), Ok(Config::default()));
    }

    #[test]
    fn options_are_read_in_any_order_and_case() {
        let c =
            Config::from_args(&args(&["DEBUG-CLOCK", "yes", "timezone", "Europe/Berlin"])).unwrap();
        assert!(c.debug_clock);
        assert_eq!(c.zone, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        assert!(Config::from_args(&args(&["timezone", "Mars/Olympus"]))
            .unwrap_err()
            .contains("Mars/Olympus"));
        assert!(Config::from_args(&args(&["timezone"]))
            .unwrap_err()
            .contains("needs a value"));
        assert!(Config::from_args(&args(&["colour", "blue"]))
            .unwrap_err()
            .contains("colour"));
        assert!(Config::from_args(&args(&["debug-clock", "maybe"])).is_err());
    }
}
