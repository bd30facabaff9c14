//! [`Client`]: embeddings and generation on pool keys, and the fallback cascade.
//!
//! An embedding batch goes to the free pool first. The pool judges every failed answer
//! (`GPOOL.REPORT`): a key spent for the day, cooling or disabled is replaced at once; a
//! transient failure is retried on the next key after a short backoff. When the class's
//! failure streak reaches the threshold, `openrouter-only` is pinned for every process and
//! the batch goes to OpenRouter, then to the paid key, then fails with what each stage
//! answered. While the pin holds, batches start at OpenRouter. When no free key is left
//! (NEXT answers nil) and none comes back soon, the paid key serves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::api_key::ApiKey;
use crate::backoff::Backoff;
use crate::config::Config;
use crate::error::{CallError, Error, Fatal, Stage, StageFailures};
use crate::gemini::{self, EmbedOptions};
use crate::http::{self, provider_message, Answer};
use crate::openrouter;
use crate::pool::Pool;
use crate::replies::{Outcome, Report};
use crate::shared_pool::{Judgement, NextKey, SharedPool, Start};

/// The class embedding calls rotate in.
pub const EMBED: &str = "embed";
/// The class generation calls rotate in.
pub const GENERATE: &str = "generate";

/// Extra time slept past a cooldown, so the key is back when NEXT asks.
const COOLDOWN_MARGIN: Duration = Duration::from_millis(50);

/// Counters of what the client has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Round trips to Redis (a pipeline counts once), over every connection.
    pub redis_round_trips: u64,
    /// Calls to Gemini, free and paid keys.
    pub gemini_calls: u64,
    /// Batches sent to OpenRouter (each may have made several attempts).
    pub openrouter_batches: u64,
    /// Calls made with the paid key.
    pub paid_calls: u64,
    /// Embedding batches and generation calls finished, successful or not.
    pub batches: u64,
    /// Texts embedded by the free pool (empty texts, never sent, are not counted).
    pub embedded_by_free_pool: u64,
    /// Texts embedded by OpenRouter.
    pub embedded_by_openrouter: u64,
    /// Texts embedded with the paid key.
    pub embedded_by_paid_key: u64,
}

/// How a stage that is not the free pool ended: its result, or what it answered.
type StageResult<T> = Result<T, String>;

/// How the free pool ended for one batch.
enum FreeEnd<T> {
    /// A key served it.
    Done(T),
    /// The pool's failure streak for the class reached the threshold: the free pool is
    /// failing for every process. The last answer.
    Streak(String),
    /// This process failed the threshold's number of times in a row, but the pool's streak
    /// did not follow (network failures, which no provider answered, or other processes
    /// succeeding in between): the trouble is this process's own. The last answer.
    Unreachable(String),
    /// No key is left; why.
    Exhausted(String),
}

/// What to do when NEXT has no key.
enum NoKey {
    /// A key is back (after a wait); ask NEXT again.
    AskAgain,
    /// Go on without the free pool; why.
    GiveUp(String),
}

/// Embeddings and generation on keys from a gpool pool. Safe to share between threads:
/// Redis is used under a lock, HTTP calls run outside it.
pub struct Client {
    config: Config,
    agent: ureq::Agent,
    shared: Mutex<SharedPool>,
    gemini_calls: AtomicU64,
    openrouter_batches: AtomicU64,
    paid_calls: AtomicU64,
    batches: AtomicU64,
    /// Texts embedded, by stage: free pool, OpenRouter, paid key.
    embedded_by: [AtomicU64; 3],
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`. Connects to Redis and adds the free keys to the pool; when
    /// Redis does not answer, starts serving from the in-process rotation (and warns).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a chunk size outside 1 to 100; what Redis answered when
    /// it answered with an error (no gpool engine it can load, a key it refuses).
    pub fn new(config: Config) -> Result<Client, Error> {
        if !(1..=100).contains(&config.chunk_size) {
            return Err(Error::InvalidInput(format!(
                "chunk size {}: Gemini takes 1 to 100 texts per batch",
                config.chunk_size
            )));
        }
        config.check_pool_names()?;
        let shared = SharedPool::open(&config)?;
        Ok(Client {
            agent: http::agent(&config),
            config,
            shared: Mutex::new(shared),
            gemini_calls: AtomicU64::new(0),
            openrouter_batches: AtomicU64::new(0),
            paid_calls: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            embedded_by: Default::default(),
        })
    }

    /// A client configured from the environment ([`Config::from_env`]).
    ///
    /// # Errors
    /// As [`Config::from_env`] and [`Client::new`].
    pub fn from_env() -> Result<Client, Error> {
        Client::new(Config::from_env()?)
    }

    /// The client's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the client has done so far.
    pub fn stats(&self) -> Stats {
        Stats {
            redis_round_trips: self.shared().round_trips(),
            gemini_calls: self.gemini_calls.load(Ordering::Relaxed),
            openrouter_batches: self.openrouter_batches.load(Ordering::Relaxed),
            paid_calls: self.paid_calls.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            embedded_by_free_pool: self.embedded_by[0].load(Ordering::Relaxed),
            embedded_by_openrouter: self.embedded_by[1].load(Ordering::Relaxed),
            embedded_by_paid_key: self.embedded_by[2].load(Ordering::Relaxed),
        }
    }

    /// Whether the client is working with Redis now, rather than the in-process rotation.
    pub fn is_redis_connected(&self) -> bool {
        self.shared().is_connected()
    }

    /// One vector per text, in order. Texts go to Gemini in batches of `chunk_size` (50);
    /// empty and whitespace-only texts are never sent and get zero vectors.
    ///
    /// # Errors
    /// [`Error::Embed`] with what each stage answered, when every stage failed for a
    /// batch; [`Error::Refused`] or [`Error::Unsupported`] when Redis answers with an error.
    pub fn embed<S: AsRef<str>>(
        &self,
        texts: &[S],
        options: &EmbedOptions,
    ) -> Result<Vec<Vec<f32>>, Error> {
        if options.dimensions == 0 {
            return Err(Error::InvalidInput("dimensions must be at least 1".into()));
        }
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let sent: Vec<usize> = (0..texts.len())
            .filter(|&i| !texts[i].as_ref().trim().is_empty())
            .collect();
        for (i, vector) in vectors.iter_mut().enumerate() {
            if texts[i].as_ref().trim().is_empty() {
                *vector = vec![0.0; options.dimensions];
            }
        }
        for chunk in sent.chunks(self.config.chunk_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_ref()).collect();
            let result = self.embed_batch(&batch, options);
            self.batches.fetch_add(1, Ordering::Relaxed);
            for (&i, vector) in chunk.iter().zip(result?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// A key for a generation call of your own, from the `generate` rotation: waits for a
    /// cooling key when one is back soon, else hands out the paid key (counting its use).
    /// Tell the pool how the call went with [`Client::report`].
    ///
    /// # Errors
    /// [`Error::Generate`] when no key can be had, saying why.
    pub fn next_generate_key(&self) -> Result<ApiKey, Error> {
        let mut next = self.shared().next(GENERATE)?;
        let mut waited = Duration::ZERO;
        let why = loop {
            if let Some(key) = next.key {
                return Ok(key);
            }
            match self.no_key(GENERATE, next.shared, &mut waited)? {
                NoKey::AskAgain => next = self.shared().next(GENERATE)?,
                NoKey::GiveUp(why) => break why,
            }
        };
        let mut failures = StageFailures::default();
        failures.push(Stage::FreePool, why);
        let paid = match self.config.require_paid_key() {
            Ok(key) => key.clone(),
            Err(e) => {
                failures.push(Stage::PaidKey, e.to_string());
                return Err(Error::Generate(failures));
            }
        };
        if self.shared().paid_key_usable(&paid, GENERATE)? == Some(false) {
            failures.push(
                Stage::PaidKey,
                format!("{paid} is not usable for {GENERATE} now"),
            );
            return Err(Error::Generate(failures));
        }
        self.shared().paid_key_used(&paid, GENERATE, None)?;
        self.paid_calls.fetch_add(1, Ordering::Relaxed);
        tracing::info!(key = %paid, "no free key for generate; handing out the paid key");
        Ok(paid)
    }

    /// Calls `generateContent` of `model` with `request` (Gemini's JSON), rotating over
    /// the `generate` class and reporting every answer; the paid key serves when no free
    /// key is left. Returns Gemini's JSON answer.
    ///
    /// # Errors
    /// [`Error::Generate`] with what each stage answered.
    pub fn generate(
        &self,
        model: &str,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        let url = gemini::generate_url(&self.config.gemini_base, model);
        let body = serde_json::to_vec(request)
            .map_err(|e| Error::InvalidInput(format!("the request is not JSON: {e}")))?;
        let parse = |answer: &Answer| {
            serde_json::from_slice::<serde_json::Value>(&answer.body).map_err(|e| Fatal::Parse {
                status: answer.status,
                reason: format!("not JSON ({e})"),
            })
        };
        let next = self.shared().next(GENERATE)?;
        let end = self.free_stage(GENERATE, next, &url, &body, &parse);
        self.batches.fetch_add(1, Ordering::Relaxed);
        let mut failures = StageFailures::default();
        match end? {
            FreeEnd::Done(answer) => Ok(answer),
            FreeEnd::Streak(last) | FreeEnd::Unreachable(last) => {
                failures.push(Stage::FreePool, last);
                Err(Error::Generate(failures))
            }
            FreeEnd::Exhausted(why) => {
                failures.push(Stage::FreePool, why);
                match self.paid_stage(GENERATE, &url, &body, &parse)? {
                    Ok(answer) => Ok(answer),
                    Err(answer) => {
                        failures.push(Stage::PaidKey, answer);
                        Err(Error::Generate(failures))
                    }
                }
            }
        }
    }

    /// Tells the pool how a call made with `key` for `class` went: a 2xx is queued and
    /// sent with the next round trip (and gives `None`); a failure is reported at once
    /// and gives the pool's judgement (`None` while Redis is down).
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn report(
        &self,
        key: &ApiKey,
        class: &str,
        status: u16,
        body: &[u8],
    ) -> Result<Option<Report>, Error> {
        let mut shared = self.shared();
        if shared.is_paid_key(key) {
            if (200..300).contains(&status) {
                return Ok(None);
            }
            let paid_pool = self.config.paid_pool.clone();
            return shared.with_pool(|pool| {
                let cmd = pool.cmd_on(crate::engine::Command::Report, &paid_pool);
                let mut cmd = cmd;
                cmd.arg(key.expose()).arg(class).arg(status);
                if !body.is_empty() {
                    cmd.arg(body);
                }
                let reply: redis::Value = pool.query(&cmd)?;
                Report::from_value(&reply)
            });
        }
        if (200..300).contains(&status) {
            shared.defer_ok(key, class);
            return Ok(None);
        }
        match shared.report(key, class, status, body)? {
            Judgement::Pool(report) => Ok(Some(report)),
            Judgement::Local => Ok(None),
        }
    }

    /// Sends the queued reports of successful calls now (they otherwise go with the next
    /// round trip, or when the client is dropped).
    ///
    /// # Errors
    /// What Redis answered, when it answered with an error.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared().flush()
    }

    /// Runs pool commands on the client's connection, e.g. `client.with_pool(|p|
    /// p.status())`. `Ok(None)` while Redis is down.
    ///
    /// # Errors
    /// What `f` returns, and what Redis answered when it answered with an error.
    pub fn with_pool<T>(
        &self,
        f: impl Fn(&mut Pool) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        self.shared().with_pool(f)
    }

    fn shared(&self) -> MutexGuard<'_, SharedPool> {
        // A panic elsewhere while holding the lock leaves nothing half-done that matters
        // here: the state is a connection and counters.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One batch through the cascade.
    fn embed_batch(&self, texts: &[&str], options: &EmbedOptions) -> Result<Vec<Vec<f32>>, Error> {
        let url = gemini::embed_url(&self.config.gemini_base, options);
        let body = gemini::embed_body(texts, options);
        let parse =
            |answer: &Answer| gemini::parse_embeddings(answer, texts.len(), options.dimensions);
        let mut failures = StageFailures::default();

        // Bound first: a guard in the match would hold the lock through the whole cascade.
        let start = self.shared().start(EMBED, true)?;
        let next = match start {
            Start::Pinned => {
                failures.push(Stage::FreePool, "not tried: openrouter-only is pinned");
                let stages = [Stage::OpenRouter, Stage::PaidKey];
                return self.fall_back(&stages, texts, options, &url, &body, failures);
            }
            Start::Key(next) => next,
        };
        match self.free_stage(EMBED, next, &url, &body, &parse)? {
            FreeEnd::Done(vectors) => {
                self.count_embedded(Stage::FreePool, texts.len());
                Ok(vectors)
            }
            FreeEnd::Streak(last) => {
                tracing::warn!(
                    threshold = self.config.fallback_threshold,
                    pin = ?self.config.openrouter_pin,
                    "the free pool keeps failing ({last}); pinning openrouter-only"
                );
                failures.push(Stage::FreePool, last);
                self.shared().pin_openrouter()?;
                let stages = [Stage::OpenRouter, Stage::PaidKey];
                self.fall_back(&stages, texts, options, &url, &body, failures)
            }
            FreeEnd::Unreachable(last) => {
                // The shared pin would send every process to OpenRouter for this one's
                // trouble: this process alone follows it.
                tracing::warn!(
                    threshold = self.config.fallback_threshold,
                    pin = ?self.config.openrouter_pin,
                    "the free pool keeps failing from this process only ({last}); \
                     going to openrouter first here, without pinning openrouter-only for \
                     other processes"
                );
                failures.push(Stage::FreePool, last);
                self.shared().pin_openrouter_here();
                let stages = [Stage::OpenRouter, Stage::PaidKey];
                self.fall_back(&stages, texts, options, &url, &body, failures)
            }
            FreeEnd::Exhausted(why) => {
                failures.push(Stage::FreePool, why);
                let stages = [Stage::PaidKey, Stage::OpenRouter];
                self.fall_back(&stages, texts, options, &url, &body, failures)
            }
        }
    }

    /// The stages after the free pool, in order, until one serves.
    fn fall_back(
        &self,
        stages: &[Stage],
        texts: &[&str],
        options: &EmbedOptions,
        url: &str,
        body: &[u8],
        mut failures: StageFailures,
    ) -> Result<Vec<Vec<f32>>, Error> {
        let parse =
            |answer: &Answer| gemini::parse_embeddings(answer, texts.len(), options.dimensions);
        for &stage in stages {
            let result = match stage {
                Stage::OpenRouter => self.openrouter_stage(texts, options)?,
                Stage::PaidKey => self.paid_stage(EMBED, url, body, &parse)?,
                Stage::FreePool => continue,
            };
            match result {
                Ok(vectors) => {
                    self.count_embedded(stage, texts.len());
                    return Ok(vectors);
                }
                Err(answer) => failures.push(stage, answer),
            }
        }
        Err(Error::Embed(failures))
    }

    fn count_embedded(&self, stage: Stage, texts: usize) {
        let i = match stage {
            Stage::FreePool => 0,
            Stage::OpenRouter => 1,
            Stage::PaidKey => 2,
        };
        self.embedded_by[i].fetch_add(texts as u64, Ordering::Relaxed);
    }

    /// Calls with free keys until one serves, the streak reaches the threshold, or no key
    /// is left.
    fn free_stage<T>(
        &self,
        class: &str,
        mut next: NextKey,
        url: &str,
        body: &[u8],
        parse: &dyn Fn(&Answer) -> Result<T, Fatal>,
    ) -> Result<FreeEnd<T>, Error> {
        let threshold = self.config.fallback_threshold;
        let backoff = Backoff {
            base: self.config.transient_base_delay,
            max: self.config.transient_max_delay,
        };
        let mut failures_here: u64 = 0;
        let mut waited = Duration::ZERO;
        loop {
            let Some(key) = next.key.take() else {
                match self.no_key(class, next.shared, &mut waited)? {
                    NoKey::AskAgain => {
                        next = self.shared().next(class)?;
                        continue;
                    }
                    NoKey::GiveUp(why) => return Ok(FreeEnd::Exhausted(why)),
                }
            };

            self.gemini_calls.fetch_add(1, Ordering::Relaxed);
            let answer = gemini::post(&self.agent, url, &key, body);
            let (last, streak) = match answer {
                Ok(answer) if answer.is_success() => match parse(&answer) {
                    Ok(result) => {
                        self.shared().defer_ok(&key, class);
                        return Ok(FreeEnd::Done(result));
                    }
                    // A 2xx the pool would call ok, but that cannot be used: not reported,
                    // counted here as a transient failure.
                    Err(fatal) => (format!("{fatal} (key {key})"), 0),
                },
                Ok(answer) => {
                    let message = provider_message(&answer.body, &[&key]);
                    let last = format!("HTTP {} for key {key}: {message}", answer.status);
                    let judgement =
                        self.shared()
                            .report(&key, class, answer.status, &answer.body)?;
                    match judgement {
                        Judgement::Pool(report) => match report.outcome {
                            Outcome::Daily | Outcome::Permanent => {
                                tracing::info!(
                                    key = %key,
                                    class,
                                    outcome = %report.outcome,
                                    "key out of rotation; trying the next"
                                );
                                next = self.shared().next(class)?;
                                continue;
                            }
                            Outcome::Cooldown => {
                                tracing::debug!(key = %key, class, cooldown = ?report.cooldown,
                                    streak = report.streak, "key cooling; trying the next");
                                if report.streak >= threshold {
                                    return Ok(FreeEnd::Streak(streak_text(&last, report.streak)));
                                }
                                next = self.shared().next(class)?;
                                continue;
                            }
                            Outcome::Transient | Outcome::Ok => (last, report.streak),
                        },
                        Judgement::Local => (last, 0),
                    }
                }
                Err(network) => (format!("{network} (key {key})"), 0),
            };

            failures_here += 1;
            tracing::debug!(class, streak, failures_here, "transient failure: {last}");
            if streak >= threshold {
                return Ok(FreeEnd::Streak(streak_text(&last, streak)));
            }
            if failures_here >= threshold {
                return Ok(FreeEnd::Unreachable(format!(
                    "{last}; {failures_here} failures in a row here, the pool's streak is {streak}"
                )));
            }
            thread::sleep(backoff.delay(failures_here as u32 - 1, None));
            next = self.shared().next(class)?;
        }
    }

    /// NEXT had no key: wait for a cooling key that is back soon, or give up on the free
    /// pool with the reason.
    fn no_key(&self, class: &str, shared: bool, waited: &mut Duration) -> Result<NoKey, Error> {
        if !shared {
            let why = if self.config.free_keys.is_empty() {
                "redis is down and GEMINI_EMBED_KEY_POOL is not set: set it to keep serving \
                 while redis is down"
                    .to_string()
            } else {
                "redis is down and every key of GEMINI_EMBED_KEY_POOL failed in the last minute"
                    .to_string()
            };
            return Ok(NoKey::GiveUp(why));
        }
        let Some((keys, line)) = self.shared().class_status(class)? else {
            return Ok(NoKey::GiveUp("redis went down".into()));
        };
        if keys == 0 {
            return Ok(NoKey::GiveUp(format!(
                "pool '{}' has no keys: set GEMINI_EMBED_KEY_POOL (or add keys with GPOOL.ADD)",
                self.config.pool
            )));
        }
        if line.active > 0 && *waited < self.config.max_cooldown_wait {
            // A key came back between NEXT and STATUS.
            *waited += COOLDOWN_MARGIN;
            thread::sleep(COOLDOWN_MARGIN);
            return Ok(NoKey::AskAgain);
        }
        if line.cooling > 0 {
            let wait = Duration::from_secs(line.next_ready_in) + COOLDOWN_MARGIN;
            if *waited + wait <= self.config.max_cooldown_wait {
                tracing::info!(
                    class,
                    ?wait,
                    "every key is cooling; waiting for the first back"
                );
                thread::sleep(wait);
                *waited += wait;
                return Ok(NoKey::AskAgain);
            }
        }
        let back = if line.cooling > 0 {
            format!(" (first back in {} s)", line.next_ready_in)
        } else {
            String::new()
        };
        Ok(NoKey::GiveUp(format!(
            "no key usable for {class}: {} spent for the day, {} cooling{back}, {} disabled",
            line.spent, line.cooling, line.disabled
        )))
    }

    /// OpenRouter for one batch; lifts `openrouter-only` on an unusable 200.
    fn openrouter_stage(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
    ) -> Result<StageResult<Vec<Vec<f32>>>, Error> {
        let key = match self.config.require_openrouter_key() {
            Ok(key) => key,
            Err(e) => return Ok(Err(e.to_string())),
        };
        self.openrouter_batches.fetch_add(1, Ordering::Relaxed);
        let settings = openrouter::Settings {
            base: &self.config.openrouter_base,
            key,
            max_attempts: self.config.openrouter_max_attempts,
            backoff: Backoff {
                base: self.config.openrouter_base_delay,
                max: self.config.openrouter_max_delay,
            },
        };
        match openrouter::embed(&self.agent, &settings, texts, options, &thread::sleep) {
            Ok(vectors) => Ok(Ok(vectors)),
            Err(CallError::Fatal(parse @ Fatal::Parse { .. })) => {
                tracing::warn!("openrouter: {parse}; lifting openrouter-only");
                self.shared().unpin_openrouter()?;
                Ok(Err(parse.to_string()))
            }
            Err(CallError::Fatal(refusal)) => Ok(Err(refusal.to_string())),
            Err(CallError::Transient(last)) => Ok(Err(format!(
                "{last} (after {} attempts)",
                settings.max_attempts.max(1)
            ))),
        }
    }

    /// The paid key's one attempt: skipped when the pool holds it spent, its use
    /// counted, a failure reported (a daily 429 spends it).
    fn paid_stage<T>(
        &self,
        class: &str,
        url: &str,
        body: &[u8],
        parse: &dyn Fn(&Answer) -> Result<T, Fatal>,
    ) -> Result<StageResult<T>, Error> {
        let key = match self.config.require_paid_key() {
            Ok(key) => key.clone(),
            Err(e) => return Ok(Err(e.to_string())),
        };
        if self.shared().paid_key_usable(&key, class)? == Some(false) {
            return Ok(Err(format!(
                "{key} is spent, cooling or disabled for {class} in pool '{pool}'; not tried \
                 ('gpool --pool {pool} status' shows it, 'gpool --pool {pool} restore {key}' \
                 puts it back)",
                pool = self.config.paid_pool
            )));
        }
        tracing::info!(key = %key, class, "trying the paid key");
        self.gemini_calls.fetch_add(1, Ordering::Relaxed);
        self.paid_calls.fetch_add(1, Ordering::Relaxed);
        match gemini::post(&self.agent, url, &key, body) {
            Ok(answer) if answer.is_success() => {
                self.shared().paid_key_used(&key, class, None)?;
                Ok(parse(&answer).map_err(|fatal| format!("{fatal} (key {key})")))
            }
            Ok(answer) => {
                let report = self.shared().paid_key_used(
                    &key,
                    class,
                    Some((answer.status, &answer.body)),
                )?;
                let message = provider_message(&answer.body, &[&key]);
                let mut text = format!("HTTP {} for key {key}: {message}", answer.status);
                if let Some(report) = report {
                    text.push_str(&format!(" (pool: {})", report.outcome));
                }
                Ok(Err(text))
            }
            Err(network) => {
                self.shared().paid_key_used(&key, class, None)?;
                Ok(Err(format!("{network} (key {key})")))
            }
        }
    }
}

fn streak_text(last: &str, streak: u64) -> String {
    format!("{streak} failures in a row, the last: {last}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Client>();
    }
}
