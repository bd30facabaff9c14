//! [`Pool`]: one connection to a Redis with gpool, and every pool command on one pool.
//!
//! Commands go through [`Engine::command`], so the same calls work against the module and
//! against the Lua library. Each method is one round trip; [`Pool::round_trips`] counts them.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::{Connection, FromRedisValue, Value};

use crate::api_key::ApiKey;
use crate::engine::{Command, Engine, LUA_LIBRARY};
use crate::error::Error;
use crate::replies::{self, PoolStatus, Report};

/// A connection to a Redis with gpool, working on one pool.
pub struct Pool {
    con: Connection,
    engine: Engine,
    name: String,
    round_trips: u64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("engine", &self.engine)
            .field("name", &self.name)
            .field("round_trips", &self.round_trips)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Connects to `url` (`redis://host:port/db`) for pool `name`, with 2-second timeouts,
    /// and finds the engine: the module's commands if the server has them, else the Lua
    /// library, loaded from the copy embedded in this crate when missing.
    ///
    /// # Errors
    /// [`Error::Redis`] when the server cannot be reached; [`Error::Unsupported`] when it
    /// has neither engine and refuses the library.
    pub fn connect(url: &str, name: &str) -> Result<Pool, Error> {
        Pool::connect_with_timeout(url, name, Duration::from_secs(2))
    }

    /// Like [`Pool::connect`], with `timeout` for connecting, reading and writing.
    ///
    /// # Errors
    /// As [`Pool::connect`].
    pub fn connect_with_timeout(url: &str, name: &str, timeout: Duration) -> Result<Pool, Error> {
        let client = redis::Client::open(url).map_err(Error::redis)?;
        let con = client
            .get_connection_with_timeout(timeout)
            .map_err(Error::redis)?;
        con.set_read_timeout(Some(timeout)).map_err(Error::redis)?;
        con.set_write_timeout(Some(timeout)).map_err(Error::redis)?;
        Pool::from_connection(con, name)
    }

    /// Works on pool `name` over an open connection, finding the engine as
    /// [`Pool::connect`] does.
    ///
    /// # Errors
    /// As [`Pool::connect`].
    pub fn from_connection(mut con: Connection, name: &str) -> Result<Pool, Error> {
        let engine = Engine::detect(&mut con, LUA_LIBRARY)?;
        Ok(Pool {
            con,
            engine,
            name: name.to_string(),
            // Detection asked one or two questions; they are not the pool's work.
            round_trips: 0,
        })
    }

    /// The engine the server offers.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Round trips to Redis made so far (a pipeline counts once).
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// `GPOOL.ADD`: adds keys to the ring; returns how many were new.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text, e.g. for a key with a space.
    pub fn add(&mut self, keys: &[ApiKey]) -> Result<u64, Error> {
        let mut cmd = self.cmd(Command::Add);
        for key in keys {
            cmd.arg(key.expose());
        }
        self.query(&cmd)
    }

    /// `GPOOL.REMOVE`: removes keys with all their state; returns how many were there.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn remove(&mut self, keys: &[ApiKey]) -> Result<u64, Error> {
        let mut cmd = self.cmd(Command::Remove);
        for key in keys {
            cmd.arg(key.expose());
        }
        self.query(&cmd)
    }

    /// `GPOOL.NEXT`: the class's next usable key, counting one use; `None` when every key
    /// is spent, cooling or disabled for the class, or the pool is empty.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn next(&mut self, class: &str) -> Result<Option<ApiKey>, Error> {
        let mut cmd = self.cmd(Command::Next);
        cmd.arg(class);
        let key: Option<String> = self.query(&cmd)?;
        Ok(key.map(ApiKey::new))
    }

    /// `GPOOL.SPEND`: marks a key spent for the class until the quota day ends; `true` if
    /// it was not already.
    ///
    /// # Errors
    /// [`Error::Refused`], e.g. for a key not in the pool.
    pub fn spend(&mut self, key: &ApiKey, class: &str) -> Result<bool, Error> {
        let mut cmd = self.cmd(Command::Spend);
        cmd.arg(key.expose()).arg(class);
        self.query::<i64>(&cmd).map(|n| n == 1)
    }

    /// `GPOOL.RESTORE <pool> <key> <class>`: lifts the key's spent mark for the class;
    /// `true` if it had one.
    ///
    /// # Errors
    /// [`Error::Refused`], e.g. for a key not in the pool.
    pub fn restore(&mut self, key: &ApiKey, class: &str) -> Result<bool, Error> {
        let mut cmd = self.cmd(Command::Restore);
        cmd.arg(key.expose()).arg(class);
        self.query::<i64>(&cmd).map(|n| n == 1)
    }

    /// `GPOOL.RESTORE <pool> <key>`: lifts every penalty of the key (spent, cooling,
    /// disabled) for every class; `true` if it had any.
    ///
    /// # Errors
    /// [`Error::Refused`], e.g. for a key not in the pool.
    pub fn restore_all(&mut self, key: &ApiKey) -> Result<bool, Error> {
        let mut cmd = self.cmd(Command::Restore);
        cmd.arg(key.expose());
        self.query::<i64>(&cmd).map(|n| n == 1)
    }

    /// `GPOOL.RECORD`: counts `count` uses made without NEXT; returns today's count.
    ///
    /// # Errors
    /// [`Error::Refused`], e.g. for a key not in the pool.
    pub fn record(&mut self, key: &ApiKey, count: u64) -> Result<u64, Error> {
        let mut cmd = self.cmd(Command::Record);
        cmd.arg(key.expose()).arg(count);
        self.query(&cmd)
    }

    /// `GPOOL.USAGE <pool> <key> ...`: today's use counts, in argument order.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn usage(&mut self, keys: &[ApiKey]) -> Result<Vec<u64>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = self.cmd(Command::Usage);
        for key in keys {
            cmd.arg(key.expose());
        }
        self.query(&cmd)
    }

    /// `GPOOL.USAGE <pool>`: today's count of every key, by fingerprint.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn usage_by_fingerprint(&mut self) -> Result<BTreeMap<String, u64>, Error> {
        let cmd = self.cmd(Command::Usage);
        let reply: Value = self.query(&cmd)?;
        Ok(replies::fields(&reply)
            .into_iter()
            .map(|(k, v)| (k, replies::int(&v).unwrap_or(0).max(0) as u64))
            .collect())
    }

    /// `GPOOL.STATUS`: keys, quota day, and per class active, spent, cooling, disabled,
    /// streak and next_ready_in; and the pins that are set.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn status(&mut self) -> Result<PoolStatus, Error> {
        let cmd = self.cmd(Command::Status);
        let reply: Value = self.query(&cmd)?;
        PoolStatus::from_value(&reply)
    }

    /// `GPOOL.REPORT`: tells the pool how a provider answered a call made with `key` for
    /// `class`; the pool applies its judgement and replies with it.
    ///
    /// # Errors
    /// [`Error::Refused`], e.g. for a status outside 100 to 599.
    pub fn report(
        &mut self,
        key: &ApiKey,
        class: &str,
        http_status: u16,
        body: &[u8],
    ) -> Result<Report, Error> {
        let cmd = self.report_cmd(key, class, http_status, body);
        let reply: Value = self.query(&cmd)?;
        Report::from_value(&reply)
    }

    /// `GPOOL.PROJECT`: groups keys into a project, so that a quota hit on one spends or
    /// cools them all; returns how many were placed.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn project(&mut self, project: &str, keys: &[ApiKey]) -> Result<u64, Error> {
        let mut cmd = self.cmd(Command::Project);
        cmd.arg(project);
        for key in keys {
            cmd.arg(key.expose());
        }
        self.query(&cmd)
    }

    /// `GPOOL.PIN`: sets the named flag for `ttl` (rounded up to whole seconds).
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn pin(&mut self, name: &str, ttl: Duration) -> Result<(), Error> {
        let cmd = self.pin_cmd(name, ttl);
        self.query::<Value>(&cmd).map(|_| ())
    }

    /// `GPOOL.UNPIN`: clears the named flag; `true` if it was set.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn unpin(&mut self, name: &str) -> Result<bool, Error> {
        let mut cmd = self.cmd(Command::Unpin);
        cmd.arg(name);
        self.query::<i64>(&cmd).map(|n| n == 1)
    }

    /// `GPOOL.PINNED`: the time left on the named flag; zero when it is not set.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's error text.
    pub fn pinned(&mut self, name: &str) -> Result<Duration, Error> {
        let mut cmd = self.cmd(Command::Pinned);
        cmd.arg(name);
        let secs: i64 = self.query(&cmd)?;
        Ok(Duration::from_secs(secs.max(0) as u64))
    }

    /// `GPOOL.DEBUG CLOCK`: pins the server's pool clock to `unix` seconds, or lets it
    /// follow real time again with `None`. For tests; refused unless the module was loaded
    /// (or the library configured) with `debug-clock yes`.
    ///
    /// # Errors
    /// [`Error::Refused`] with the pool's refusal.
    pub fn debug_clock(&mut self, unix: Option<u64>) -> Result<(), Error> {
        let cmd = self.engine.debug_clock(unix);
        self.query::<Value>(&cmd).map(|_| ())
    }

    /// The command on this pool, ready for its other arguments.
    pub(crate) fn cmd(&self, command: Command) -> redis::Cmd {
        self.engine.command(command, &self.name)
    }

    /// The command on another pool of the same server.
    pub(crate) fn cmd_on(&self, command: Command, pool: &str) -> redis::Cmd {
        self.engine.command(command, pool)
    }

    pub(crate) fn report_cmd(
        &self,
        key: &ApiKey,
        class: &str,
        http_status: u16,
        body: &[u8],
    ) -> redis::Cmd {
        let mut cmd = self.cmd(Command::Report);
        cmd.arg(key.expose()).arg(class).arg(http_status);
        if !body.is_empty() {
            cmd.arg(body);
        }
        cmd
    }

    pub(crate) fn pin_cmd(&self, name: &str, ttl: Duration) -> redis::Cmd {
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let mut cmd = self.cmd(Command::Pin);
        cmd.arg(name).arg(secs.max(1));
        cmd
    }

    /// Runs one command: one round trip.
    pub(crate) fn query<T: FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, Error> {
        self.round_trips += 1;
        cmd.query(&mut self.con).map_err(Error::redis)
    }

    /// Runs a pipeline: one round trip, one reply per command.
    pub(crate) fn query_pipeline(&mut self, pipe: &redis::Pipeline) -> Result<Vec<Value>, Error> {
        self.round_trips += 1;
        let replies: Vec<Value> = pipe.query(&mut self.con).map_err(Error::redis)?;
        // Outside a transaction, redis-rs hands back a command's error reply as a value.
        for reply in &replies {
            if let Value::ServerError(e) = reply {
                return Err(Error::redis(e.clone().into()));
            }
        }
        Ok(replies)
    }
}
