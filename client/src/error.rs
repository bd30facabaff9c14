//! The crate's errors. Each says what went wrong and what to do; none holds a full key
//! (keys appear as fingerprints, and provider texts are redacted before they get here).

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// Everything the client can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A key the client needs was not given.
    #[error("{var} is not set: {fix}")]
    MissingKey {
        /// The environment variable to set.
        var: &'static str,
        /// What to put in it.
        fix: &'static str,
    },

    /// A setting from the environment could not be read.
    #[error("invalid {var} '{value}': {expected}")]
    InvalidSetting {
        /// The environment variable.
        var: &'static str,
        /// Its value, as given.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },

    /// Redis could not be reached or the connection failed.
    #[error("redis: {0}; check that redis-server runs at REDIS_URL")]
    Redis(#[source] redis::RedisError),

    /// Redis refused a command: the reply, such as a pool's error text.
    #[error("redis refused the command: {reply}")]
    Refused {
        /// The error reply, code first (`ERR api key ... is not in pool 'gemini'`).
        reply: String,
    },

    /// The server lacks a pool command the client needs.
    #[error("the redis server lacks {what}: {fix}")]
    Unsupported {
        /// The missing command or library.
        what: String,
        /// How to get it.
        fix: String,
    },

    /// A pool command answered in a shape its documentation does not give.
    #[error(
        "unexpected reply to {command}: {reply}; is the server's gpool older than this client?"
    )]
    UnexpectedReply {
        /// The command.
        command: &'static str,
        /// The reply, as redis-rs shows it.
        reply: String,
    },

    /// An argument the client cannot send, such as a batch with too many texts.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// Every stage of the embedding cascade failed for a batch.
    #[error("embedding failed at every stage: {0}")]
    Embed(StageFailures),

    /// A generation call failed on every key it could get.
    #[error("generation failed: {0}")]
    Generate(StageFailures),
}

impl Error {
    /// Wraps a redis-rs error: an error reply as [`Error::Refused`], or as
    /// [`Error::Unsupported`] when the server does not know one of gpool's commands.
    pub(crate) fn redis(e: redis::RedisError) -> Error {
        if redis_unavailable(&e) {
            return Error::Redis(e);
        }
        let Some(code) = e.code() else {
            return Error::Redis(e);
        };
        let reply = match e.detail() {
            Some(detail) => format!("{code} {detail}"),
            None => code.to_string(),
        };
        let lower = reply.to_ascii_lowercase();
        if lower.contains("unknown command") || lower.contains("function not found") {
            return Error::Unsupported {
                what: format!("a gpool command ({reply})"),
                fix: "upgrade the gpool module, or load lua/gpool.lua again with \
                      FUNCTION LOAD REPLACE"
                    .into(),
            };
        }
        Error::Refused { reply }
    }

    /// Whether this is Redis being unreachable (down, restarting, timing out), as opposed
    /// to Redis answering with an error.
    pub(crate) fn is_redis_unavailable(&self) -> bool {
        match self {
            Error::Redis(e) => redis_unavailable(e),
            _ => false,
        }
    }
}

/// Whether a redis-rs error means the server cannot be used right now.
pub(crate) fn redis_unavailable(e: &redis::RedisError) -> bool {
    // A wrong password is a setting to fix, not an outage to ride out.
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        return false;
    }
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || e.kind() == redis::ErrorKind::BusyLoadingError
        || e.kind() == redis::ErrorKind::TryAgain
}

/// One stage of a cascade: the free pool, OpenRouter, the paid key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The shared pool of free keys (or, while Redis is down, the in-process rotation).
    FreePool,
    /// OpenRouter's embeddings endpoint.
    OpenRouter,
    /// The paid Gemini key.
    PaidKey,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::FreePool => "free pool",
            Stage::OpenRouter => "openrouter",
            Stage::PaidKey => "paid key",
        })
    }
}

/// What one stage answered when it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageFailure {
    /// The stage.
    pub stage: Stage,
    /// Its last answer, redacted.
    pub answer: String,
}

/// What each stage answered, in the order they were tried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageFailures(pub Vec<StageFailure>);

impl StageFailures {
    pub(crate) fn push(&mut self, stage: Stage, answer: impl Into<String>) {
        self.0.push(StageFailure {
            stage,
            answer: answer.into(),
        });
    }
}

impl fmt::Display for StageFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, failure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", failure.stage, failure.answer)?;
        }
        Ok(())
    }
}

/// Why one provider call failed, sorted by whether calling again may help.
#[derive(Debug, Error)]
pub enum CallError {
    /// Calling again, later or with another key, may succeed.
    #[error(transparent)]
    Transient(#[from] Transient),
    /// Calling again with the same request will fail the same way.
    #[error(transparent)]
    Fatal(#[from] Fatal),
}

/// A failure worth retrying: the network, a 429, a 5xx.
#[derive(Debug, Error)]
pub enum Transient {
    /// No answer: refused, reset, timed out.
    #[error("no answer from {endpoint}: {reason}")]
    Network {
        /// Which endpoint, without the query string.
        endpoint: String,
        /// What the HTTP library said.
        reason: String,
    },
    /// An answer that says to come back later.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The status code.
        status: u16,
        /// The provider's message, redacted and shortened.
        message: String,
        /// The `Retry-After` the provider asked for.
        retry_after: Option<Duration>,
    },
}

/// A failure not worth retrying with the same request.
#[derive(Debug, Error)]
pub enum Fatal {
    /// A refusal: a 4xx other than 429.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The status code.
        status: u16,
        /// The provider's message, redacted and shortened.
        message: String,
    },
    /// A 2xx whose body is not the expected answer: an error in disguise, cut short, or
    /// missing data for some input.
    #[error("a {status} answer that cannot be used: {reason}")]
    Parse {
        /// The status code.
        status: u16,
        /// What is wrong with the body.
        reason: String,
    },
}
