//! The probe's lease: `gpool:{<pool>}:probe-lease`, set with NX and a time to live, so that
//! one process at a time probes a pool. Only its holder renews or releases it (the value
//! names the holder and is compared in a script); if the holder dies, it lapses.
//!
//! Beside it, `gpool:{<pool>}:probe-last` holds when the last probe of the pool ended (Unix
//! milliseconds by the server's clock), so processes probing `--every` period share one
//! schedule instead of each keeping its own.

use std::time::Duration;

use rand::Rng;

use crate::connection::Target;
use crate::failure::Failure;

/// How long `probe-last` is kept after the last probe.
const LAST_KEPT: Duration = Duration::from_secs(30 * 86_400);

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0";

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    key: String,
    holder: String,
    ttl: Duration,
}

/// Someone else's lease.
#[derive(Debug)]
pub struct Busy {
    /// `pid <n> on <host>`.
    pub holder: String,
    /// Until it lapses, unless renewed.
    pub left: Duration,
}

/// Takes the pool's lease for `ttl`, or says who holds it.
///
/// # Errors
/// [`Failure`] when Redis does not answer.
pub fn acquire(
    target: &Target,
    con: &mut redis::Connection,
    ttl: Duration,
) -> Result<Result<Lease, Busy>, Failure> {
    let key = target.key("probe-lease");
    let holder = format!(
        "pid {} on {} ({:016x})",
        std::process::id(),
        host_name(),
        rand::thread_rng().gen::<u64>()
    );
    let set: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(&holder)
        .arg("NX")
        .arg("PX")
        .arg(ttl.as_millis() as u64)
        .query(con)
        .map_err(|e| target.redis_fail(e))?;
    if set.is_some() {
        return Ok(Ok(Lease { key, holder, ttl }));
    }
    let (value, left_ms): (Option<String>, i64) = redis::pipe()
        .cmd("GET")
        .arg(&key)
        .cmd("PTTL")
        .arg(&key)
        .query(con)
        .map_err(|e| target.redis_fail(e))?;
    let holder = value
        .map(|v| v.split(" (").next().unwrap_or("").to_string())
        .unwrap_or_else(|| "a process that just finished".into());
    Ok(Err(Busy {
        holder,
        left: Duration::from_millis(left_ms.max(0) as u64),
    }))
}

impl Lease {
    /// Extends the lease by its time to live; `false` when it is no longer this process's
    /// (it lapsed and another process took it).
    ///
    /// # Errors
    /// [`Failure`] when Redis does not answer.
    pub fn renew(&self, target: &Target, con: &mut redis::Connection) -> Result<bool, Failure> {
        let renewed: i64 = redis::Script::new(RENEW)
            .key(&self.key)
            .arg(&self.holder)
            .arg(self.ttl.as_millis() as u64)
            .invoke(con)
            .map_err(|e| target.redis_fail(e))?;
        Ok(renewed == 1)
    }

    /// Gives the lease up, if it is still this process's.
    ///
    /// # Errors
    /// [`Failure`] when Redis does not answer.
    pub fn release(self, target: &Target, con: &mut redis::Connection) -> Result<(), Failure> {
        let _: i64 = redis::Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.holder)
            .invoke(con)
            .map_err(|e| target.redis_fail(e))?;
        Ok(())
    }
}

/// Records that a probe of the pool ended now.
///
/// # Errors
/// [`Failure`] when Redis does not answer.
pub fn mark_probed(target: &Target, con: &mut redis::Connection) -> Result<(), Failure> {
    let now = server_time_ms(target, con)?;
    redis::cmd("SET")
        .arg(target.key("probe-last"))
        .arg(now)
        .arg("PX")
        .arg(LAST_KEPT.as_millis() as u64)
        .query::<()>(con)
        .map_err(|e| target.redis_fail(e))
}

/// How long until the pool is due for its next probe, `every` after the last one ended:
/// zero when it is due now.
///
/// # Errors
/// [`Failure`] when Redis does not answer.
pub fn due_in(
    target: &Target,
    con: &mut redis::Connection,
    every: Duration,
) -> Result<Duration, Failure> {
    let last: Option<i64> = redis::cmd("GET")
        .arg(target.key("probe-last"))
        .query(con)
        .map_err(|e| target.redis_fail(e))?;
    let Some(last) = last else {
        return Ok(Duration::ZERO);
    };
    let now = server_time_ms(target, con)?;
    let due = last + every.as_millis() as i64;
    Ok(Duration::from_millis((due - now).max(0) as u64))
}

/// The server's clock in Unix milliseconds: one clock for every host that probes.
fn server_time_ms(target: &Target, con: &mut redis::Connection) -> Result<i64, Failure> {
    let (secs, micros): (i64, i64) = redis::cmd("TIME")
        .query(con)
        .map_err(|e| target.redis_fail(e))?;
    Ok(secs * 1000 + micros / 1000)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unnamed host".into())
}
