//! The pool key by key, read from its Redis keys by the layout of docs/keys.md: GPOOL.STATUS
//! counts keys but never lists them, so the per-key view reads `ring`, `disabled`, the
//! day's `spent:<class>:<day>` and `usage:<day>`, `cooling:<class>` and `projects` in one
//! transaction. Read only; the keys stay in memory and are shown as fingerprints.

use std::collections::{BTreeMap, HashMap};

use gpool_client::{ApiKey, Pool, PoolStatus};
use redis::Value;

use crate::connection::Target;
use crate::failure::Failure;

/// Where a key stands for one class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// NEXT may hand it out.
    Active,
    /// Spent until the quota day ends.
    Spent,
    /// Cooling; back in this many seconds (rounded up).
    Cooling(u64),
    /// Disabled for every class until restored.
    Disabled,
}

impl KeyState {
    pub fn word(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Spent => "spent",
            KeyState::Cooling(_) => "cooling",
            KeyState::Disabled => "disabled",
        }
    }

    /// Whether the class's rotation passes over the key now.
    pub fn is_out(self) -> bool {
        self != KeyState::Active
    }
}

/// One key of the pool.
#[derive(Clone, Debug)]
pub struct KeyRow {
    pub key: ApiKey,
    /// Its ring position: the order keys were added.
    pub position: u64,
    pub disabled: bool,
    /// Uses counted today.
    pub usage: u64,
    pub project: Option<String>,
    /// Its state for each known class.
    pub classes: BTreeMap<String, KeyState>,
}

impl KeyRow {
    /// The key's state for `class` (active for a class the pool has not met yet, unless
    /// disabled).
    pub fn state(&self, class: &str) -> KeyState {
        match self.classes.get(class) {
            Some(state) => *state,
            None if self.disabled => KeyState::Disabled,
            None => KeyState::Active,
        }
    }
}

/// The pool's status and its keys, in ring order.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub status: PoolStatus,
    pub rows: Vec<KeyRow>,
}

/// Reads the pool: GPOOL.STATUS (which also checks the pool's name), then its keys.
///
/// # Errors
/// [`Failure`] when Redis does not answer or refuses.
pub fn read(
    target: &Target,
    pool: &mut Pool,
    con: &mut redis::Connection,
) -> Result<Snapshot, Failure> {
    let status = pool.status().map_err(|e| target.fail(e))?;
    let rows = read_rows(target, con, &status)?;
    Ok(Snapshot { status, rows })
}

/// Every key of the pool (in the ring or disabled), in ring order, with its state.
///
/// # Errors
/// [`Failure`] when Redis does not answer or refuses.
pub fn read_rows(
    target: &Target,
    con: &mut redis::Connection,
    status: &PoolStatus,
) -> Result<Vec<KeyRow>, Failure> {
    let day = &status.day;
    let classes: Vec<&String> = status.classes.keys().collect();
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("ZRANGE")
        .arg(target.key("ring"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES");
    pipe.cmd("ZRANGE")
        .arg(target.key("disabled"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES");
    pipe.cmd("HGETALL").arg(target.key(&format!("usage:{day}")));
    pipe.cmd("HGETALL").arg(target.key("projects"));
    for class in &classes {
        pipe.cmd("ZRANGE")
            .arg(target.key(&format!("spent:{class}:{day}")))
            .arg(0)
            .arg(-1);
        pipe.cmd("ZRANGE")
            .arg(target.key(&format!("cooling:{class}")))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
    }
    pipe.cmd("TIME");
    let replies: Vec<Value> = pipe.query(con).map_err(|e| target.redis_fail(e))?;

    let ring = scored(&replies[0]);
    let disabled = scored(&replies[1]);
    let usage = pairs(&replies[2]);
    let projects = pairs(&replies[3]);
    let now_ms = redis_time_ms(replies.last().unwrap_or(&Value::Nil));

    let mut rows: Vec<KeyRow> = ring
        .iter()
        .map(|(key, position)| (key, *position, false))
        .chain(
            disabled
                .iter()
                .map(|(key, position)| (key, *position, true)),
        )
        .map(|(key, position, is_disabled)| KeyRow {
            key: ApiKey::new(key.clone()),
            position: position.max(0.0) as u64,
            disabled: is_disabled,
            usage: usage.get(key).and_then(|n| n.parse().ok()).unwrap_or(0),
            project: projects.get(key).cloned(),
            classes: BTreeMap::new(),
        })
        .collect();
    rows.sort_by_key(|row| row.position);

    for (i, class) in classes.iter().enumerate() {
        let spent: std::collections::HashSet<String> =
            strings(&replies[4 + 2 * i]).into_iter().collect();
        let cooling: HashMap<String, f64> = scored(&replies[5 + 2 * i]).into_iter().collect();
        for row in &mut rows {
            let key = row.key.expose();
            let state = if row.disabled {
                KeyState::Disabled
            } else if spent.contains(key) {
                KeyState::Spent
            } else {
                match cooling.get(key) {
                    Some(&deadline) if deadline as i64 > now_ms => {
                        let left_ms = deadline as i64 - now_ms;
                        KeyState::Cooling(((left_ms + 999) / 1000) as u64)
                    }
                    _ => KeyState::Active,
                }
            };
            row.classes.insert((*class).clone(), state);
        }
    }
    Ok(rows)
}

/// The pool's keys by the text that follows `...` in a fingerprint-like argument: the keys
/// of `rows` ending in `tail`.
pub fn ending_in<'a>(rows: &'a [KeyRow], tail: &str) -> Vec<&'a KeyRow> {
    rows.iter()
        .filter(|r| r.key.expose().ends_with(tail))
        .collect()
}

/// Members and scores of a WITHSCORES reply, RESP2 (flat) or RESP3 (pairs).
fn scored(value: &Value) -> Vec<(String, f64)> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    if items.iter().all(|i| matches!(i, Value::Array(_))) {
        return items
            .iter()
            .filter_map(|pair| match pair {
                Value::Array(p) if p.len() == 2 => Some((text(&p[0])?, number(&p[1])?)),
                _ => None,
            })
            .collect();
    }
    items
        .chunks(2)
        .filter_map(|p| Some((text(&p[0])?, number(p.get(1)?)?)))
        .collect()
}

/// Field and value of an HGETALL reply, RESP2 (flat) or RESP3 (map).
fn pairs(value: &Value) -> HashMap<String, String> {
    match value {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|p| Some((text(&p[0])?, text(p.get(1)?)?)))
            .collect(),
        _ => HashMap::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        _ => Vec::new(),
    }
}

pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".into()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Double(d) => Some(*d),
        Value::Int(n) => Some(*n as f64),
        other => text(other)?.parse().ok(),
    }
}

/// The reply to TIME in milliseconds: the server's clock, which the pool's cooldown
/// deadlines were set by.
fn redis_time_ms(value: &Value) -> i64 {
    let parts = strings(value);
    let secs: i64 = parts.first().and_then(|s| s.parse().ok()).unwrap_or(0);
    let micros: i64 = parts.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    secs * 1000 + micros / 1000
}
