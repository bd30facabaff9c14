//! The client's settings: from the environment ([`Config::from_env`]) or set in code.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `REDIS_URL` | `redis://127.0.0.1:6379` | the Redis holding the pool |
//! | `GPOOL_POOL` | `gemini` | the pool of free keys |
//! | `GEMINI_EMBED_KEY_POOL` | none | free keys, comma-separated: added to the pool, and rotated in process while Redis is down |
//! | `GEMINI_EMBED_PAID_KEY` | none | the paid key, the last resort |
//! | `OPENROUTER_API_KEY`, else `API_KEY` | none | the OpenRouter key |
//! | `GEMINI_API_BASE` | `https://generativelanguage.googleapis.com` | Gemini's base URL |
//! | `OPENROUTER_API_BASE` | `https://openrouter.ai/api/v1` | OpenRouter's base URL |
//! | `PAID_KEY_FALLBACK_THRESHOLD` | `3` | the class's failure streak that sends embeddings to OpenRouter |
//! | `OPENROUTER_EMBED_MAX_ATTEMPTS` | `24` | OpenRouter attempts per batch |
//! | `OPENROUTER_EMBED_RETRY_BASE_DELAY` | `0.5` | seconds: the first retry's backoff ceiling |
//! | `OPENROUTER_EMBED_RETRY_MAX_DELAY` | `30` | seconds: no retry waits longer |
//! | `GEMINI_EMBED_MAX_COOLDOWN_WAIT` | `60` | seconds: wait this long at most for a cooling key rather than pay |

use std::fmt;
use std::time::Duration;

use crate::api_key::ApiKey;
use crate::error::Error;

/// The default Gemini base URL.
pub const GEMINI_API_BASE: &str = "https://generativelanguage.googleapis.com";
/// The default OpenRouter base URL.
pub const OPENROUTER_API_BASE: &str = "https://openrouter.ai/api/v1";
/// The pin that sends every process's embeddings to OpenRouter first.
pub const OPENROUTER_ONLY: &str = "openrouter-only";

/// Settings for a [`Client`](crate::Client). Start from [`Config::from_env`] or
/// [`Config::new`] and change fields as needed.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The Redis holding the pool.
    pub redis_url: String,
    /// The pool of free keys.
    pub pool: String,
    /// The pool the paid key is kept in, apart from the free keys so that NEXT never hands
    /// it out; its uses are counted there and a daily 429 spends it there.
    pub paid_pool: String,
    /// Free keys from `GEMINI_EMBED_KEY_POOL`: added to the pool on every connection, and
    /// rotated in process while Redis is down.
    pub free_keys: Vec<ApiKey>,
    /// The paid key.
    pub paid_key: Option<ApiKey>,
    /// The OpenRouter key.
    pub openrouter_key: Option<ApiKey>,
    /// Gemini's base URL, without a trailing slash.
    pub gemini_base: String,
    /// OpenRouter's base URL, without a trailing slash.
    pub openrouter_base: String,
    /// The failure streak at which embeddings go to OpenRouter (and generation gives up).
    pub fallback_threshold: u64,
    /// How long the `openrouter-only` pin lasts.
    pub openrouter_pin: Duration,
    /// OpenRouter attempts per batch.
    pub openrouter_max_attempts: u32,
    /// The first OpenRouter retry waits up to this long; each next one up to twice as long.
    pub openrouter_base_delay: Duration,
    /// No OpenRouter retry waits longer than this, whatever `Retry-After` says.
    pub openrouter_max_delay: Duration,
    /// The first retry after a transient free-pool failure waits up to this long.
    pub transient_base_delay: Duration,
    /// No retry after a transient free-pool failure waits longer than this.
    pub transient_max_delay: Duration,
    /// When every key is cooling, wait for the first to come back if that is sooner than
    /// this; else go on to the paid key.
    pub max_cooldown_wait: Duration,
    /// TCP connect timeout of every HTTP call.
    pub connect_timeout: Duration,
    /// How long an HTTP call may wait for the answer, headers and body.
    pub read_timeout: Duration,
    /// Connect, read and write timeout of every Redis call.
    pub redis_timeout: Duration,
    /// While Redis is down, how often to try it again.
    pub redis_retry_interval: Duration,
    /// Texts per Gemini batch call (the endpoint takes at most 100).
    pub chunk_size: usize,
}

/// Every variable [`Config::from_env`] reads (the table above).
pub const VARIABLES: [&str; 13] = [
    "REDIS_URL",
    "GPOOL_POOL",
    "GEMINI_EMBED_KEY_POOL",
    "GEMINI_EMBED_PAID_KEY",
    "OPENROUTER_API_KEY",
    "API_KEY",
    "GEMINI_API_BASE",
    "OPENROUTER_API_BASE",
    "PAID_KEY_FALLBACK_THRESHOLD",
    "OPENROUTER_EMBED_MAX_ATTEMPTS",
    "OPENROUTER_EMBED_RETRY_BASE_DELAY",
    "OPENROUTER_EMBED_RETRY_MAX_DELAY",
    "GEMINI_EMBED_MAX_COOLDOWN_WAIT",
];

impl Config {
    /// Defaults, with no keys.
    pub fn new() -> Config {
        Config {
            redis_url: "redis://127.0.0.1:6379".into(),
            pool: "gemini".into(),
            paid_pool: "gemini-paid".into(),
            free_keys: Vec::new(),
            paid_key: None,
            openrouter_key: None,
            gemini_base: GEMINI_API_BASE.into(),
            openrouter_base: OPENROUTER_API_BASE.into(),
            fallback_threshold: 3,
            openrouter_pin: Duration::from_secs(30 * 60),
            openrouter_max_attempts: 24,
            openrouter_base_delay: Duration::from_millis(500),
            openrouter_max_delay: Duration::from_secs(30),
            transient_base_delay: Duration::from_millis(250),
            transient_max_delay: Duration::from_secs(4),
            max_cooldown_wait: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
            redis_timeout: Duration::from_secs(2),
            redis_retry_interval: Duration::from_secs(5),
            chunk_size: 50,
        }
    }

    /// Defaults, changed by the process's environment (see the module's table).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the variable whose value cannot be read.
    pub fn from_env() -> Result<Config, Error> {
        for var in VARIABLES {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
                // Its value may be a key: never shown.
                return Err(Error::InvalidSetting {
                    var,
                    value: "(not shown)".into(),
                    expected: "text in UTF-8; keys, URLs and numbers are plain ASCII",
                });
            }
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup` instead of the
    /// process's environment.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the variable whose value cannot be read.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Config::new();
        if let Some(url) = get("REDIS_URL") {
            config.redis_url = url.trim().to_string();
        }
        if let Some(pool) = get("GPOOL_POOL") {
            config.pool = pool.trim().to_string();
            config.paid_pool = format!("{}-paid", config.pool);
        }
        if let Some(list) = get("GEMINI_EMBED_KEY_POOL") {
            config.free_keys = ApiKey::parse_list(&list);
        }
        config.paid_key = get("GEMINI_EMBED_PAID_KEY").map(ApiKey::new);
        config.openrouter_key = get("OPENROUTER_API_KEY")
            .or_else(|| get("API_KEY"))
            .map(ApiKey::new);
        if let Some(base) = get("GEMINI_API_BASE") {
            config.gemini_base = base.trim().trim_end_matches('/').to_string();
        }
        if let Some(base) = get("OPENROUTER_API_BASE") {
            config.openrouter_base = base.trim().trim_end_matches('/').to_string();
        }
        if let Some(v) = get("PAID_KEY_FALLBACK_THRESHOLD") {
            config.fallback_threshold =
                parse_whole("PAID_KEY_FALLBACK_THRESHOLD", &v, 1, 1_000_000)?;
        }
        if let Some(v) = get("OPENROUTER_EMBED_MAX_ATTEMPTS") {
            config.openrouter_max_attempts =
                parse_whole("OPENROUTER_EMBED_MAX_ATTEMPTS", &v, 1, 1000)? as u32;
        }
        if let Some(v) = get("OPENROUTER_EMBED_RETRY_BASE_DELAY") {
            config.openrouter_base_delay = parse_seconds("OPENROUTER_EMBED_RETRY_BASE_DELAY", &v)?;
        }
        if let Some(v) = get("OPENROUTER_EMBED_RETRY_MAX_DELAY") {
            config.openrouter_max_delay = parse_seconds("OPENROUTER_EMBED_RETRY_MAX_DELAY", &v)?;
        }
        if let Some(v) = get("GEMINI_EMBED_MAX_COOLDOWN_WAIT") {
            config.max_cooldown_wait = parse_seconds("GEMINI_EMBED_MAX_COOLDOWN_WAIT", &v)?;
        }
        Ok(config)
    }

    /// Checks the pool names: the free pool's name must leave room for the paid pool's,
    /// which is the same name with `-paid` after it, within the 128 characters a pool name
    /// may have.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying which name is wrong and why.
    pub fn check_pool_names(&self) -> Result<(), Error> {
        for (what, name) in [("pool", &self.pool), ("paid key's pool", &self.paid_pool)] {
            let ok = (1..=128).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
            if !ok {
                let shown: String = name.chars().take(32).collect();
                let more = if name.chars().count() > 32 { "..." } else { "" };
                return Err(Error::InvalidInput(format!(
                    "invalid {what} name '{shown}{more}': use 1 to 128 letters, digits, '_', \
                     '-', '.', ':' (the paid key's pool is the pool's name with '-paid' \
                     after it, so a pool name may have at most 123)"
                )));
            }
        }
        Ok(())
    }

    /// The paid key, or the error that names its variable.
    pub(crate) fn require_paid_key(&self) -> Result<&ApiKey, Error> {
        self.paid_key.as_ref().ok_or(Error::MissingKey {
            var: "GEMINI_EMBED_PAID_KEY",
            fix: "set it to the paid Gemini key, the cascade's last resort",
        })
    }

    /// The OpenRouter key, or the error that names its variables.
    pub(crate) fn require_openrouter_key(&self) -> Result<&ApiKey, Error> {
        self.openrouter_key.as_ref().ok_or(Error::MissingKey {
            var: "OPENROUTER_API_KEY",
            fix: "set it (or API_KEY) to an OpenRouter key to fall back to OpenRouter",
        })
    }

    /// `redis_url` with any password replaced by `***`, for logs and errors.
    pub fn redis_url_redacted(&self) -> String {
        redact_url_password(&self.redis_url)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("redis_url", &self.redis_url_redacted())
            .field("pool", &self.pool)
            .field("paid_pool", &self.paid_pool)
            .field("free_keys", &self.free_keys)
            .field("paid_key", &self.paid_key)
            .field("openrouter_key", &self.openrouter_key)
            .field("gemini_base", &self.gemini_base)
            .field("openrouter_base", &self.openrouter_base)
            .field("fallback_threshold", &self.fallback_threshold)
            .field("openrouter_pin", &self.openrouter_pin)
            .field("openrouter_max_attempts", &self.openrouter_max_attempts)
            .field("openrouter_base_delay", &self.openrouter_base_delay)
            .field("openrouter_max_delay", &self.openrouter_max_delay)
            .field("transient_base_delay", &self.transient_base_delay)
            .field("transient_max_delay", &self.transient_max_delay)
            .field("max_cooldown_wait", &self.max_cooldown_wait)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("redis_timeout", &self.redis_timeout)
            .field("redis_retry_interval", &self.redis_retry_interval)
            .field("chunk_size", &self.chunk_size)
            .finish()
    }
}

/// `redis://user:secret@host` as `redis://user:***@host`.
pub(crate) fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    if !userinfo.contains(':') && !user.is_empty() {
        // `redis://secret@host`: redis-rs reads a lone userinfo as the password.
        return format!("{}***{}", &url[..scheme_end + 3], &rest[at..]);
    }
    format!("{}{user}:***{}", &url[..scheme_end + 3], &rest[at..])
}

fn parse_whole(var: &'static str, value: &str, min: u64, max: u64) -> Result<u64, Error> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::InvalidSetting {
            var,
            value: value.to_string(),
            expected: "use a whole number in the documented range",
        }),
    }
}

fn parse_seconds(var: &'static str, value: &str) -> Result<Duration, Error> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::InvalidSetting {
            var,
            value: value.to_string(),
            expected: "use seconds, such as 0.5 or 30, from 0 to 86400",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn openrouter_key_falls_back_to_api_key() {
        let c = config(&[("API_KEY", "test-key-or-0001")]).unwrap();
        assert_eq!(c.openrouter_key.unwrap().expose(), "test-key-or-0001");
        let c = config(&[
            ("API_KEY", "test-key-a"),
            ("OPENROUTER_API_KEY", "test-key-b"),
        ])
        .unwrap();
        assert_eq!(c.openrouter_key.unwrap().expose(), "test-key-b");
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let c = config(&[
            ("PAID_KEY_FALLBACK_THRESHOLD", "5"),
            ("OPENROUTER_EMBED_RETRY_BASE_DELAY", "0.25"),
            ("GEMINI_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(c.fallback_threshold, 5);
        assert_eq!(c.openrouter_base_delay, Duration::from_millis(250));
        assert_eq!(c.gemini_base, "http://127.0.0.1:9");
        let e = config(&[("OPENROUTER_EMBED_MAX_ATTEMPTS", "many")]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("invalid OPENROUTER_EMBED_MAX_ATTEMPTS 'many'"));
    }

    #[test]
    fn missing_keys_name_their_variable() {
        let c = Config::new();
        assert!(c
            .require_paid_key()
            .unwrap_err()
            .to_string()
            .starts_with("GEMINI_EMBED_PAID_KEY is not set"));
        assert!(c
            .require_openrouter_key()
            .unwrap_err()
            .to_string()
            .starts_with("OPENROUTER_API_KEY is not set"));
    }

    #[test]
    fn redis_passwords_are_hidden() {
        assert_eq!(
            redact_url_password("redis://u:pw@h:1/0"),
            "redis://u:***@h:1/0"
        );
        assert_eq!(redact_url_password("redis://:pw@h"), "redis://:***@h");
        assert_eq!(redact_url_password("redis://h:6379"), "redis://h:6379");
    }

    #[test]
    fn a_pool_name_must_leave_room_for_the_paid_pool() {
        let mut c = Config::new();
        assert!(c.check_pool_names().is_ok());
        c.pool = "p".repeat(123);
        c.paid_pool = format!("{}-paid", c.pool);
        assert!(c.check_pool_names().is_ok());
        c.pool = "p".repeat(124);
        c.paid_pool = format!("{}-paid", c.pool);
        let e = c.check_pool_names().unwrap_err().to_string();
        assert!(e.contains("invalid paid key's pool name 'pppp"), "{e}");
        assert!(e.contains("a pool name may have at most 123"), "{e}");
        c.pool = "bad pool".into();
        let e = c.check_pool_names().unwrap_err().to_string();
        assert!(e.contains("invalid pool name 'bad pool'"), "{e}");
    }
}
