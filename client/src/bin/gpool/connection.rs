//! Where the commands go: the Redis URL and the pool, and the two ways of talking to them:
//! the library's [`Pool`] handle for pool commands, and a plain connection for reading the
//! pool's keys by their documented layout (docs/keys.md) and for the probe's lease.

use std::time::Duration;

use gpool_client::{Config, Error, Pool};

use crate::failure::Failure;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The Redis and the pool a command works on.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as given, password included: never print it.
    url: String,
    /// The URL with any password replaced by `***`.
    pub shown_url: String,
    /// The pool's name.
    pub pool: String,
}

impl Target {
    /// Checks that `url` is a Redis URL.
    ///
    /// # Errors
    /// [`Failure::Usage`] naming the flag, without the password.
    pub fn new(url: &str, pool: &str) -> Result<Target, Failure> {
        let shown_url = redacted(url);
        if redis::Client::open(url).is_err() {
            return Err(Failure::usage(format!(
                "invalid --redis-url '{shown_url}': use redis://[user:password@]host:port[/db]"
            )));
        }
        Ok(Target {
            url: url.to_string(),
            shown_url,
            pool: pool.to_string(),
        })
    }

    /// The URL as given, for the client library's settings.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool handle: the module's commands, or the Lua library (loaded when missing).
    ///
    /// # Errors
    /// [`Failure::Failed`] when Redis does not answer or offers no gpool engine.
    pub fn pool(&self) -> Result<Pool, Failure> {
        Pool::connect_with_timeout(&self.url, &self.pool, TIMEOUT).map_err(|e| self.fail(e))
    }

    /// The handle of another pool on the same Redis.
    ///
    /// # Errors
    /// [`Failure::Failed`] when Redis does not answer or has no gpool.
    pub fn pool_named(&self, name: &str) -> Result<Pool, Failure> {
        Pool::connect_with_timeout(&self.url, name, TIMEOUT).map_err(|e| self.fail(e))
    }

    /// A plain connection to the same Redis.
    ///
    /// # Errors
    /// [`Failure::Failed`] when Redis does not answer.
    pub fn redis(&self) -> Result<redis::Connection, Failure> {
        connect(&self.url, &self.shown_url)
    }

    /// The client library's error, worded for the command line.
    pub fn fail(&self, e: Error) -> Failure {
        Failure::from_client(e, &self.shown_url)
    }

    /// A Redis error from a plain connection, worded for the command line.
    pub fn redis_fail(&self, e: redis::RedisError) -> Failure {
        redis_failure(e, &self.shown_url)
    }

    /// The name of one of the pool's Redis keys: `gpool:{<pool>}:<rest>`.
    pub fn key(&self, rest: &str) -> String {
        format!("gpool:{{{}}}:{rest}", self.pool)
    }
}

/// A plain connection to `url`, with timeouts.
///
/// # Errors
/// [`Failure::Failed`] when Redis does not answer.
pub fn connect(url: &str, shown_url: &str) -> Result<redis::Connection, Failure> {
    let fail = |e| redis_failure(e, shown_url);
    let client = redis::Client::open(url).map_err(fail)?;
    let con = client.get_connection_with_timeout(TIMEOUT).map_err(fail)?;
    con.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
    con.set_write_timeout(Some(TIMEOUT)).map_err(fail)?;
    Ok(con)
}

/// A Redis error: an error reply as the pool's refusal, anything else as Redis not
/// answering.
pub fn redis_failure(e: redis::RedisError, shown_url: &str) -> Failure {
    if let Some(code) = e.code() {
        if e.kind() != redis::ErrorKind::AuthenticationFailed {
            let reply = match e.detail() {
                Some(detail) => format!("{code} {detail}"),
                None => code.to_string(),
            };
            return Failure::from_client(Error::Refused { reply }, shown_url);
        }
    }
    Failure::from_client(Error::Redis(e), shown_url)
}

/// `url` with any password hidden.
pub fn redacted(url: &str) -> String {
    let mut config = Config::new();
    config.redis_url = url.to_string();
    config.redis_url_redacted()
}
