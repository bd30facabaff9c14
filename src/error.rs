//! The errors a command can answer with. Each message is the exact text a client sees; the
//! Lua library sends the same words, and a test compares the two.

use crate::fingerprint::fingerprint;
use crate::names::shown;

/// A command's refusal, or a failure it could not avoid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    /// The argument count does not fit the command.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    /// The pool name is empty, too long or has a character outside the allowed set.
    #[error("ERR invalid pool name '{0}': use 1 to 128 letters, digits, '_', '-', '.', ':'")]
    InvalidPool(String),
    /// The class name is empty, too long or has a character outside the allowed set.
    #[error("ERR invalid class name '{0}': use 1 to 128 letters, digits, '_', '-', '.', ':'")]
    InvalidClass(String),
    /// The project name is empty, too long or has a character outside the allowed set.
    #[error("ERR invalid project name '{0}': use 1 to 128 letters, digits, '_', '-', '.', ':'")]
    InvalidProject(String),
    /// The pin name is empty, too long or has a character outside the allowed set.
    #[error("ERR invalid pin name '{0}': use 1 to 128 letters, digits, '_', '-', '.', ':'")]
    InvalidPin(String),
    /// A pin's duration is not a whole number of seconds from 1 to a year.
    #[error("ERR invalid seconds '{0}': use a whole number from 1 to 31536000")]
    InvalidSeconds(String),
    /// REPORT's status is not an HTTP status.
    #[error("ERR invalid http status '{0}': use a whole number from 100 to 599")]
    InvalidHttpStatus(String),
    /// The API key at this argument index is not 1 to 512 printable characters. The key is
    /// never echoed.
    #[error(
        "ERR invalid api key at argument {0}: use 1 to 512 printable characters without spaces"
    )]
    InvalidApiKey(usize),
    /// SPEND, RESTORE or RECORD named a key the pool does not hold.
    #[error("ERR api key {fingerprint} is not in pool '{pool}'")]
    NotInPool {
        /// The key's fingerprint.
        fingerprint: String,
        /// The pool's name.
        pool: String,
    },
    /// RECORD's count is not a whole number from 1 to 1,000,000,000.
    #[error("ERR invalid count '{0}': use a whole number from 1 to 1000000000")]
    InvalidCount(String),
    /// One of the pool's keys holds a type the pool does not use.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// GPOOL.DEBUG on a server that did not load the module with `debug-clock yes`.
    #[error("ERR debug commands are disabled: load the module with 'debug-clock yes'")]
    DebugDisabled,
    /// GPOOL.DEBUG with a subcommand other than CLOCK.
    #[error("ERR unknown subcommand '{0}': use GPOOL.DEBUG CLOCK <unix-seconds>|REAL")]
    UnknownSubcommand(String),
    /// GPOOL.DEBUG CLOCK with a value that is neither a Unix time nor REAL.
    #[error("ERR invalid unix time '{0}': use whole seconds from 0 to 253402300799, or REAL")]
    InvalidUnixTime(String),
    /// A bug: the command panicked. The server survives; the client is told to report it.
    #[error("ERR internal error in {0}: please report it")]
    Internal(&'static str),
}

impl PoolError {
    /// The error for a pool name argument.
    pub fn invalid_pool(arg: &[u8]) -> Self {
        PoolError::InvalidPool(shown(arg))
    }

    /// The error for a class name argument.
    pub fn invalid_class(arg: &[u8]) -> Self {
        PoolError::InvalidClass(shown(arg))
    }

    /// The error for a key missing from `pool`.
    pub fn not_in_pool(key: &[u8], pool: &str) -> Self {
        PoolError::NotInPool {
            fingerprint: fingerprint(key),
            pool: pool.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_an_upper_case_code_and_have_no_final_period() {
        let all = [
            PoolError::WrongArity("gpool.next"),
            PoolError::invalid_pool(b"a b"),
            PoolError::invalid_class(b""),
            PoolError::InvalidApiKey(2),
            PoolError::InvalidProject("a b".into()),
            PoolError::InvalidPin("a b".into()),
            PoolError::InvalidSeconds("0".into()),
            PoolError::InvalidHttpStatus("99".into()),
            PoolError::not_in_pool(b"test-key-0001-abcdefgh", "gemini"),
            PoolError::InvalidCount("0".into()),
            PoolError::WrongType,
            PoolError::DebugDisabled,
            PoolError::UnknownSubcommand("x".into()),
            PoolError::InvalidUnixTime("x".into()),
            PoolError::Internal("gpool.next"),
        ];
        for e in all {
            let text = e.to_string();
            let code = text.split(' ').next().unwrap();
            assert!(code.chars().all(|c| c.is_ascii_uppercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn a_missing_key_is_named_by_its_fingerprint() {
        assert_eq!(
            PoolError::not_in_pool(b"test-key-0001-abcdefgh", "gemini").to_string(),
            "ERR api key ...abcdefgh is not in pool 'gemini'"
        );
    }
}
