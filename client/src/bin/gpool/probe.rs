//! `gpool probe`: the smallest embedding and generation request with each key, every
//! answer reported to the pool (GPOOL.REPORT), disabled keys that answer again restored.
//!
//! A key spent or cooling for a class is not probed for that class: the pool already
//! keeps it out, and a probe would only spend quota. A disabled key is probed for both
//! classes; when either endpoint takes it (a 2xx, or a 429: the key is known, only
//! limited), RESTORE lifts every penalty first and its answers are reported after, so a
//! daily 429 spends it again for that class.

use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use gpool_client::{ApiKey, Config, Outcome, Pool, EMBED, GENERATE};
use rand::Rng;

use crate::cli::ProbeArgs;
use crate::connection::Target;
use crate::duration::human;
use crate::failure::{one_line, Failure};
use crate::lease::{self, Busy};
use crate::pool_state::{self, KeyRow, KeyState};

/// The probe text: one short word.
const PROBE_TEXT: &str = "ping";

/// When a round cannot run (Redis down), the next try comes after at most this long.
const RETRY: Duration = Duration::from_secs(60);

pub fn run(target: &Target, args: ProbeArgs) -> Result<(), Failure> {
    let config = Config::from_env().map_err(|e| Failure::usage(e.to_string()))?;
    let prober = Prober {
        agent: agent(),
        embed_url: format!(
            "{}/v1beta/models/{}:batchEmbedContents",
            config.gemini_base,
            model_id(&args.embed_model)
        ),
        embed_body: serde_json::json!({"requests": [{
            "model": format!("models/{}", model_id(&args.embed_model)),
            "content": {"parts": [{"text": PROBE_TEXT}]},
        }]})
        .to_string(),
        generate_url: format!(
            "{}/v1beta/models/{}:generateContent",
            config.gemini_base,
            model_id(&args.generate_model)
        ),
        generate_body: serde_json::json!({
            "contents": [{"parts": [{"text": PROBE_TEXT}]}],
            "generationConfig": {"maxOutputTokens": 1},
        })
        .to_string(),
    };

    let Some(every) = args.every else {
        return match round(target, &prober, args.lease)? {
            Ok(tally) if tally.no_answer > 0 => Err(Failure::failed(format!(
                "{} of {} probe requests got no answer (first: {}): check the network, or \
                 GEMINI_API_BASE",
                tally.no_answer,
                tally.requests,
                tally.first_no_answer.unwrap_or_default()
            ))),
            Ok(_) => Ok(()),
            Err(busy) => Err(Failure::failed(format!(
                "pool '{}' is being probed by {} (its lease ends in {} unless renewed): wait \
                 for it, or run 'gpool probe --every <period>' so that processes take turns",
                target.pool,
                busy.holder,
                human(busy.left.as_secs().max(1))
            ))),
        };
    };

    let mut first = true;
    loop {
        let wait = match next_wait(target, &prober, args.lease, every, first) {
            Ok(wait) => wait,
            Err(Failure::Usage(m)) => return Err(Failure::Usage(m)),
            Err(failure) => {
                eprintln!(
                    "error: {failure}; trying again in {}",
                    human(RETRY.as_secs())
                );
                RETRY.min(every)
            }
        };
        first = false;
        thread::sleep(wait);
    }
}

/// One turn of `--every`: probes when the pool is due, and says how long to sleep.
fn next_wait(
    target: &Target,
    prober: &Prober,
    lease_ttl: Duration,
    every: Duration,
    first: bool,
) -> Result<Duration, Failure> {
    let mut con = target.redis()?;
    let due_in = lease::due_in(target, &mut con, every)?;
    if due_in > Duration::ZERO {
        if first {
            println!(
                "pool '{}' was probed less than {} ago; next probe in {}",
                target.pool,
                human(every.as_secs()),
                human(due_in.as_secs().max(1))
            );
        }
        return Ok(due_in + jitter());
    }
    match round(target, prober, lease_ttl)? {
        Ok(_) => {
            println!("next probe in {}", human(every.as_secs()));
            Ok(every + jitter())
        }
        // Another process is probing: look again when its lease would end.
        Err(busy) => {
            let wait = busy.left.min(every) + jitter();
            println!(
                "pool '{}' is being probed by {}; looking again in {}",
                target.pool,
                busy.holder,
                human(wait.as_secs().max(1))
            );
            Ok(wait)
        }
    }
}

/// A little randomness, so that processes waiting on one deadline do not all ask at once.
fn jitter() -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(50..500))
}

/// Counts of one round.
#[derive(Debug, Default)]
struct Tally {
    keys: u64,
    requests: u64,
    outcomes: [u64; 5],
    no_answer: u64,
    first_no_answer: Option<String>,
    skipped: u64,
    restored: u64,
}

/// One probe of every key, under the lease; `Err(Busy)` when another process holds it.
fn round(
    target: &Target,
    prober: &Prober,
    lease_ttl: Duration,
) -> Result<Result<Tally, Busy>, Failure> {
    let mut pool = target.pool()?;
    let mut con = target.redis()?;
    // STATUS first: it checks the pool's name before anything is written under it.
    let status = pool.status().map_err(|e| target.fail(e))?;
    let lease = match lease::acquire(target, &mut con, lease_ttl)? {
        Ok(lease) => lease,
        Err(busy) => return Ok(Err(busy)),
    };

    let started = Instant::now();
    let result = probe_keys(target, prober, &mut pool, &mut con, &status, &lease);
    let released = lease.release(target, &mut con);
    let tally = result?;
    released?;
    lease::mark_probed(target, &mut con)?;

    let o = &tally.outcomes;
    println!(
        "pool '{}': probed {} {} with {} requests in {}: {} ok, {} daily, {} cooldown, {} \
         permanent, {} transient, {} without answer; {} restored, {} skipped",
        target.pool,
        tally.keys,
        crate::add::keys_word(tally.keys),
        tally.requests,
        human(started.elapsed().as_secs()),
        o[0],
        o[1],
        o[2],
        o[3],
        o[4],
        tally.no_answer,
        tally.restored,
        tally.skipped
    );
    Ok(Ok(tally))
}

fn probe_keys(
    target: &Target,
    prober: &Prober,
    pool: &mut Pool,
    con: &mut redis::Connection,
    status: &gpool_client::PoolStatus,
    lease: &lease::Lease,
) -> Result<Tally, Failure> {
    let rows = pool_state::read_rows(target, con, status)?;
    let mut tally = Tally::default();
    if rows.is_empty() {
        println!(
            "pool '{}' has no keys: nothing to probe ('gpool add' adds some)",
            target.pool
        );
    }
    for row in &rows {
        if !lease.renew(target, con)? {
            return Err(Failure::failed(format!(
                "lost the probe lease of pool '{}' (it lapsed and another process took it): \
                 stopping; give a longer --lease",
                target.pool
            )));
        }
        let line = probe_key(target, prober, pool, row, &mut tally)?;
        println!("{line}");
    }
    Ok(tally)
}

/// What one class's probe found.
enum Finding {
    Skipped(KeyState),
    Answer { status: u16, body: Vec<u8> },
    NoAnswer(String),
}

/// Probes one key for both classes, restores it if it was disabled and now answers, and
/// reports the answers. Returns the key's line.
fn probe_key(
    target: &Target,
    prober: &Prober,
    pool: &mut Pool,
    row: &KeyRow,
    tally: &mut Tally,
) -> Result<String, Failure> {
    tally.keys += 1;
    let mut findings = Vec::new();
    for (class, url, body) in [
        (EMBED, &prober.embed_url, &prober.embed_body),
        (GENERATE, &prober.generate_url, &prober.generate_body),
    ] {
        let state = row.state(class);
        let finding = if state.is_out() && state != KeyState::Disabled {
            tally.skipped += 1;
            Finding::Skipped(state)
        } else {
            tally.requests += 1;
            match prober.call(url, &row.key, body) {
                Ok((status, body)) => Finding::Answer { status, body },
                Err(reason) => {
                    tally.no_answer += 1;
                    tally.first_no_answer.get_or_insert_with(|| reason.clone());
                    Finding::NoAnswer(reason)
                }
            }
        };
        findings.push((class, finding));
    }

    let takes_the_key = |f: &Finding| matches!(f, Finding::Answer { status, .. } if (200..300).contains(status) || *status == 429);
    let mut line = format!("{}", row.key);
    let restored = row.disabled && findings.iter().any(|(_, f)| takes_the_key(f));
    if restored {
        pool.restore_all(&row.key).map_err(|e| target.fail(e))?;
        tally.restored += 1;
    }
    for (class, finding) in &findings {
        let _ = write!(line, "  {class}: ");
        match finding {
            Finding::Skipped(state) => {
                let _ = write!(line, "skipped ({})", state.word());
            }
            Finding::NoAnswer(reason) => {
                let _ = write!(line, "no answer ({})", one_line(reason));
            }
            Finding::Answer { status, body } => {
                // A success's body is the vectors or the text: nothing for the pool.
                let body: &[u8] = if (200..300).contains(status) {
                    b""
                } else {
                    body
                };
                let report = pool
                    .report(&row.key, class, *status, body)
                    .map_err(|e| target.fail(e))?;
                tally.outcomes[outcome_index(report.outcome)] += 1;
                let _ = write!(line, "{}", report.outcome);
                match report.outcome {
                    Outcome::Ok => {}
                    Outcome::Daily => line.push_str(" (spent until the quota day ends)"),
                    Outcome::Cooldown => {
                        let _ = write!(line, " (cooling {})", human(report.cooldown.as_secs()));
                    }
                    Outcome::Permanent => line.push_str(" (disabled)"),
                    Outcome::Transient => {
                        let _ = write!(line, " (HTTP {status})");
                    }
                }
            }
        }
    }
    if restored {
        line.push_str("  => was disabled, restored");
    } else if row.disabled {
        line.push_str("  => still disabled");
    }
    Ok(line)
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Ok => 0,
        Outcome::Daily => 1,
        Outcome::Cooldown => 2,
        Outcome::Permanent => 3,
        Outcome::Transient => 4,
    }
}

/// The two requests and the agent that sends them.
struct Prober {
    agent: ureq::Agent,
    embed_url: String,
    embed_body: String,
    generate_url: String,
    generate_body: String,
}

impl Prober {
    /// One request with `key`: the answer's status and body, or why there was none.
    fn call(&self, url: &str, key: &ApiKey, body: &str) -> Result<(u16, Vec<u8>), String> {
        let mut response = self
            .agent
            .post(url)
            .content_type("application/json")
            .header("x-goog-api-key", key.expose())
            .send(body)
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .user_agent(concat!("gpool-probe/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::new_with_config(config)
}

fn model_id(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}
