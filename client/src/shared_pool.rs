//! The client's hold on the shared pool: a [`Pool`] while Redis answers, an in-process
//! rotation while it does not, and the bookkeeping that keeps a successful batch to one
//! Redis round trip.
//!
//! Round trips: a successful call's `REPORT ... 200` is not sent at once but queued, and
//! goes out in the same pipeline as the next batch's `PINNED` and `NEXT`. So a steady run
//! of successful batches costs one round trip each. A queued report is sent at the latest
//! by [`Client::flush`](crate::Client::flush) or when the client is dropped.
//!
//! Outages: when Redis cannot be reached, the client warns once, serves from
//! [`LocalRotation`] over the configured free keys, tries Redis again every
//! `redis_retry_interval`, and says so (info) when it answers again. On every new
//! connection the free keys are added to the pool again (ADD is idempotent), so a server
//! that came back empty is filled.

use std::time::{Duration, Instant};

use redis::Value;

use crate::api_key::ApiKey;
use crate::config::{Config, OPENROUTER_ONLY};
use crate::engine::Command;
use crate::error::Error;
use crate::local_rotation::{LocalRotation, BENCH};
use crate::pool::Pool;
use crate::replies::{self, ClassStatus, Report};

/// Where a batch's first key comes from.
#[derive(Debug)]
pub(crate) enum Start {
    /// `openrouter-only` is pinned: go to OpenRouter first.
    Pinned,
    /// A key (or none left) from the shared pool or the in-process rotation.
    Key(NextKey),
}

/// A key from [`SharedPool::next`]: from the shared pool, or, while Redis is down, from
/// the in-process rotation.
#[derive(Debug)]
pub(crate) struct NextKey {
    pub key: Option<ApiKey>,
    pub shared: bool,
}

/// What became of a failed answer's report.
#[derive(Debug)]
pub(crate) enum Judgement {
    /// The pool judged it.
    Pool(Report),
    /// Redis is down; the key was benched in process.
    Local,
}

/// The client's connection to the shared pool, kept across outages.
pub(crate) struct SharedPool {
    config: Config,
    pool: Option<Pool>,
    /// Set while Redis is down: when it was last tried.
    down_since_try: Option<Instant>,
    /// Whether this outage has been warned about.
    warned: bool,
    /// Successful calls not reported yet: key and class.
    pending: Vec<(ApiKey, String)>,
    /// Until when `openrouter-only` was last seen pinned.
    pinned_until: Option<Instant>,
    /// Until when this process alone goes to OpenRouter first, after failing where the
    /// pool as a whole did not (its network, for one).
    local_pin_until: Option<Instant>,
    local: LocalRotation,
    /// Round trips of connections that were dropped.
    retired_round_trips: u64,
}

impl SharedPool {
    /// Connects, or starts in an outage when Redis cannot be reached.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error (no gpool, bad key, auth).
    pub fn open(config: &Config) -> Result<SharedPool, Error> {
        let mut shared = SharedPool {
            config: config.clone(),
            pool: None,
            down_since_try: None,
            warned: false,
            pending: Vec::new(),
            pinned_until: None,
            local_pin_until: None,
            local: LocalRotation::new(config.free_keys.clone()),
            retired_round_trips: 0,
        };
        match shared.connect() {
            Ok(pool) => shared.pool = Some(pool),
            Err(e) if e.is_redis_unavailable() => shared.went_down(&e),
            Err(e) => return Err(e),
        }
        Ok(shared)
    }

    /// Round trips made so far, over every connection.
    pub fn round_trips(&self) -> u64 {
        self.retired_round_trips + self.pool.as_ref().map_or(0, Pool::round_trips)
    }

    /// Whether Redis is being served from (false during an outage).
    pub fn is_connected(&self) -> bool {
        self.pool.is_some()
    }

    /// The pool, reconnecting when an outage's retry interval has passed; `None` while
    /// Redis stays down.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn pool(&mut self) -> Result<Option<&mut Pool>, Error> {
        if self.pool.is_none() {
            let due = self
                .down_since_try
                .is_none_or(|tried| tried.elapsed() >= self.config.redis_retry_interval);
            if !due {
                return Ok(None);
            }
            match self.connect() {
                Ok(pool) => {
                    if self.warned {
                        tracing::info!(
                            redis = %self.config.redis_url_redacted(),
                            "redis answers again; back to the shared pool '{}'",
                            self.config.pool
                        );
                    }
                    self.pool = Some(pool);
                    self.down_since_try = None;
                    self.warned = false;
                }
                Err(e) if e.is_redis_unavailable() => {
                    self.went_down(&e);
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(self.pool.as_mut())
    }

    /// Runs `f` on the pool. When Redis turns out to be unreachable, marks the outage
    /// and returns `Ok(None)`; the caller serves in process.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn with_pool<T>(
        &mut self,
        f: impl Fn(&mut Pool) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        for attempt in 0..2 {
            let Some(pool) = self.pool()? else {
                return Ok(None);
            };
            match f(pool) {
                Ok(v) => return Ok(Some(v)),
                Err(e) if e.is_redis_unavailable() => {
                    self.drop_pool();
                    // A connection broken by a restart fails once even though the server
                    // is back: try a fresh one straight away, once.
                    if attempt == 0 {
                        self.down_since_try = None;
                        continue;
                    }
                    self.went_down(&e);
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// A batch's start, in one round trip: the queued reports, `PINNED openrouter-only`
    /// (when `check_pin`), and `NEXT` for the class, unless the pin is known to be set.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn start(&mut self, class: &str, check_pin: bool) -> Result<Start, Error> {
        let now = Instant::now();
        if check_pin && self.local_pin_until.is_some_and(|until| until > now) {
            // Queued reports wait for the next round trip.
            return Ok(Start::Pinned);
        }
        let believed_pinned = check_pin && self.pinned_until.is_some_and(|until| until > now);
        let pending = std::mem::take(&mut self.pending);
        let reply = self.with_pool(|pool| {
            let mut pipe = redis::pipe();
            for (key, class) in &pending {
                pipe.add_command(pool.report_cmd(key, class, 200, b""));
            }
            if check_pin {
                let mut pinned = pool.cmd(Command::Pinned);
                pinned.arg(OPENROUTER_ONLY);
                pipe.add_command(pinned);
            }
            if !believed_pinned {
                let mut next = pool.cmd(Command::Next);
                next.arg(class);
                pipe.add_command(next);
            }
            pool.query_pipeline(&pipe)
        })?;
        let Some(replies) = reply else {
            if self.local_pinned(now) && check_pin {
                return Ok(Start::Pinned);
            }
            return Ok(Start::Key(self.next_local(class)));
        };

        let mut rest = &replies[pending.len()..];
        if check_pin {
            let secs = rest.first().and_then(replies::int).unwrap_or(0).max(0) as u64;
            rest = &rest[1..];
            self.pinned_until = (secs > 0).then(|| now + Duration::from_secs(secs));
            if secs > 0 {
                if !believed_pinned {
                    // The pin was set by another process since this one last looked;
                    // the key NEXT handed out goes unused this once.
                    tracing::debug!("openrouter-only is pinned; embedding through openrouter");
                }
                return Ok(Start::Pinned);
            }
        }
        if believed_pinned {
            // Unpinned meanwhile: one more round trip, at the end of a pin only.
            return Ok(Start::Key(self.next(class)?));
        }
        let key = rest.first().and_then(replies::text).map(ApiKey::new);
        Ok(Start::Key(NextKey { key, shared: true }))
    }

    /// The class's next key, with the queued reports in the same round trip.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn next(&mut self, class: &str) -> Result<NextKey, Error> {
        match self.start(class, false)? {
            Start::Key(next) => Ok(next),
            Start::Pinned => unreachable!("start without the pin check never answers Pinned"),
        }
    }

    /// Queues the report of a successful call, to go with the next round trip. Dropped
    /// while Redis is down.
    pub fn defer_ok(&mut self, key: &ApiKey, class: &str) {
        if self.pool.is_some() {
            self.pending.push((key.clone(), class.to_string()));
        }
    }

    /// Sends the queued reports now.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.with_pool(|pool| {
            let mut pipe = redis::pipe();
            for (key, class) in &pending {
                pipe.add_command(pool.report_cmd(key, class, 200, b""));
            }
            pool.query_pipeline(&pipe)
        })?;
        Ok(())
    }

    /// Reports a failed answer (the queued reports go first, in the same round trip).
    /// While Redis is down, benches the key in process instead.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn report(
        &mut self,
        key: &ApiKey,
        class: &str,
        status: u16,
        body: &[u8],
    ) -> Result<Judgement, Error> {
        let pending = std::mem::take(&mut self.pending);
        let reply = self.with_pool(|pool| {
            let mut pipe = redis::pipe();
            for (key, class) in &pending {
                pipe.add_command(pool.report_cmd(key, class, 200, b""));
            }
            pipe.add_command(pool.report_cmd(key, class, status, body));
            let replies = pool.query_pipeline(&pipe)?;
            Report::from_value(replies.last().unwrap_or(&Value::Nil))
        })?;
        match reply {
            Some(report) => Ok(Judgement::Pool(report)),
            None => {
                self.local.bench(class, key, Instant::now() + BENCH);
                Ok(Judgement::Local)
            }
        }
    }

    /// The class's line of `GPOOL.STATUS` and the pool's key count; `None` while down.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn class_status(&mut self, class: &str) -> Result<Option<(u64, ClassStatus)>, Error> {
        let status = self.with_pool(|pool| pool.status())?;
        Ok(status.map(|s| {
            let line = s.classes.get(class).cloned().unwrap_or_default();
            (s.keys, line)
        }))
    }

    /// Sets `openrouter-only` for every process (for this one only, while Redis is down).
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn pin_openrouter(&mut self) -> Result<(), Error> {
        let ttl = self.config.openrouter_pin;
        self.pinned_until = Some(Instant::now() + ttl);
        self.with_pool(|pool| {
            let cmd = pool.pin_cmd(OPENROUTER_ONLY, ttl);
            pool.query::<Value>(&cmd)
        })?;
        Ok(())
    }

    /// Sends this process alone to OpenRouter first for as long as `openrouter-only` would
    /// last, leaving the shared pin alone.
    pub fn pin_openrouter_here(&mut self) {
        self.local_pin_until = Some(Instant::now() + self.config.openrouter_pin);
    }

    /// Lifts `openrouter-only`, for every process and for this one.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn unpin_openrouter(&mut self) -> Result<(), Error> {
        self.pinned_until = None;
        self.local_pin_until = None;
        self.with_pool(|pool| pool.unpin(OPENROUTER_ONLY))?;
        Ok(())
    }

    /// Before the paid key's one attempt: adds it to the paid pool and tells whether it
    /// is usable for the class (`false` when spent, cooling or disabled). `None` while
    /// Redis is down.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn paid_key_usable(&mut self, key: &ApiKey, class: &str) -> Result<Option<bool>, Error> {
        let paid_pool = self.config.paid_pool.clone();
        self.with_pool(|pool| {
            let mut add = pool.cmd_on(Command::Add, &paid_pool);
            add.arg(key.expose());
            let status = pool.cmd_on(Command::Status, &paid_pool);
            let mut pipe = redis::pipe();
            pipe.add_command(add).add_command(status);
            let replies = pool.query_pipeline(&pipe)?;
            let status = replies::PoolStatus::from_value(&replies[1])?;
            Ok(status.classes.get(class).is_none_or(|line| line.active > 0))
        })
    }

    /// After the paid key's attempt: counts the use, and reports a failure so that a
    /// daily 429 spends it. Returns the pool's judgement of a failure.
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn paid_key_used(
        &mut self,
        key: &ApiKey,
        class: &str,
        failure: Option<(u16, &[u8])>,
    ) -> Result<Option<Report>, Error> {
        let paid_pool = self.config.paid_pool.clone();
        let reply = self.with_pool(|pool| {
            let mut record = pool.cmd_on(Command::Record, &paid_pool);
            record.arg(key.expose()).arg(1);
            let mut pipe = redis::pipe();
            pipe.add_command(record);
            if let Some((status, body)) = failure {
                let mut report = pool.cmd_on(Command::Report, &paid_pool);
                report.arg(key.expose()).arg(class).arg(status);
                if !body.is_empty() {
                    report.arg(body);
                }
                pipe.add_command(report);
            }
            let replies = pool.query_pipeline(&pipe)?;
            match replies.get(1) {
                Some(v) => Report::from_value(v).map(Some),
                None => Ok(None),
            }
        })?;
        Ok(reply.flatten())
    }

    /// Whether `key` is the configured paid key.
    pub fn is_paid_key(&self, key: &ApiKey) -> bool {
        self.config.paid_key.as_ref() == Some(key)
    }

    fn next_local(&mut self, class: &str) -> NextKey {
        NextKey {
            key: self.local.next(class, Instant::now()),
            shared: false,
        }
    }

    fn local_pinned(&self, now: Instant) -> bool {
        self.pinned_until.is_some_and(|until| until > now)
    }

    /// Opens a connection, finds the engine and adds the free keys.
    fn connect(&mut self) -> Result<Pool, Error> {
        self.down_since_try = Some(Instant::now());
        let mut pool = Pool::connect_with_timeout(
            &self.config.redis_url,
            &self.config.pool,
            self.config.redis_timeout,
        )?;
        if !self.config.free_keys.is_empty() {
            let added = pool.add(&self.config.free_keys)?;
            tracing::debug!(
                pool = %self.config.pool,
                given = self.config.free_keys.len(),
                added,
                engine = ?pool.engine(),
                "connected; GEMINI_EMBED_KEY_POOL added to the pool"
            );
        }
        Ok(pool)
    }

    fn drop_pool(&mut self) {
        if let Some(pool) = self.pool.take() {
            self.retired_round_trips += pool.round_trips();
        }
        // Reports of calls made on the lost connection's keys are lost with it.
        self.pending.clear();
    }

    fn went_down(&mut self, e: &Error) {
        self.drop_pool();
        self.down_since_try = Some(Instant::now());
        if !self.warned {
            self.warned = true;
            tracing::warn!(
                redis = %self.config.redis_url_redacted(),
                keys = self.local.len(),
                "redis does not answer ({e}); serving from an in-process rotation over \
                 GEMINI_EMBED_KEY_POOL until it does"
            );
        }
    }
}

impl Drop for SharedPool {
    fn drop(&mut self) {
        if !self.pending.is_empty() && self.pool.is_some() {
            if let Err(e) = self.flush() {
                tracing::debug!("queued reports were not sent: {e}");
            }
        }
    }
}
