//! The pool's replies as Rust values: REPORT's outcome, STATUS's map, read the same way
//! whether the server sent a RESP3 map or a RESP2 flat array of field, value, ...

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use redis::Value;

use crate::error::Error;

/// What the pool made of a provider answer (`GPOOL.REPORT`, docs/commands.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A 2xx: the class's streak is back to 0.
    Ok,
    /// A per-day quota: the key (and its project) is spent for the class until the quota
    /// day ends.
    Daily,
    /// A per-minute quota or a retry delay: the key (and its project) is skipped for the
    /// class for a while.
    Cooldown,
    /// An invalid, unauthorised or suspended key: disabled until restored.
    Permanent,
    /// Any other failure: no penalty, but the class's streak grows.
    Transient,
}

impl Outcome {
    /// The word the pool replies with.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Daily => "daily",
            Outcome::Cooldown => "cooldown",
            Outcome::Permanent => "permanent",
            Outcome::Transient => "transient",
        }
    }

    fn parse(word: &str) -> Option<Outcome> {
        Some(match word {
            "ok" => Outcome::Ok,
            "daily" => Outcome::Daily,
            "cooldown" => Outcome::Cooldown,
            "permanent" => Outcome::Permanent,
            "transient" => Outcome::Transient,
            _ => return None,
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reply to `GPOOL.REPORT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The pool's judgement of the answer.
    pub outcome: Outcome,
    /// How long the key is skipped for the class; zero unless the outcome is a cooldown.
    pub cooldown: Duration,
    /// The class's failure streak after this report.
    pub streak: u64,
}

impl Report {
    pub(crate) fn from_value(value: &Value) -> Result<Report, Error> {
        let bad = || Error::UnexpectedReply {
            command: "GPOOL.REPORT",
            reply: format!("{value:?}"),
        };
        let Value::Array(items) = value else {
            return Err(bad());
        };
        let [outcome, cooldown, streak] = items.as_slice() else {
            return Err(bad());
        };
        let outcome = text(outcome)
            .and_then(|w| Outcome::parse(&w))
            .ok_or_else(bad)?;
        let cooldown = int(cooldown).filter(|n| *n >= 0).ok_or_else(bad)?;
        let streak = int(streak).filter(|n| *n >= 0).ok_or_else(bad)?;
        Ok(Report {
            outcome,
            cooldown: Duration::from_secs(cooldown as u64),
            streak: streak as u64,
        })
    }
}

/// One class's line in `GPOOL.STATUS`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassStatus {
    /// Keys NEXT may hand out now.
    pub active: u64,
    /// Keys spent until the quota day ends.
    pub spent: u64,
    /// Keys in a cooldown.
    pub cooling: u64,
    /// Keys disabled until restored.
    pub disabled: u64,
    /// The class's failure streak.
    pub streak: u64,
    /// When no key is active but some are cooling: seconds until the first returns.
    pub next_ready_in: u64,
}

/// The reply to `GPOOL.STATUS`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Keys in the pool.
    pub keys: u64,
    /// The quota day, `YYYY-MM-DD`.
    pub day: String,
    /// The zone whose midnight ends the quota day.
    pub timezone: String,
    /// Seconds until the quota day ends.
    pub reset_in: u64,
    /// Each known class.
    pub classes: BTreeMap<String, ClassStatus>,
    /// Each pin that is set, with its seconds left.
    pub pins: BTreeMap<String, u64>,
}

impl PoolStatus {
    pub(crate) fn from_value(value: &Value) -> Result<PoolStatus, Error> {
        let top = fields(value);
        if top.is_empty() {
            return Err(Error::UnexpectedReply {
                command: "GPOOL.STATUS",
                reply: format!("{value:?}"),
            });
        }
        let num = |m: &BTreeMap<String, Value>, k: &str| {
            m.get(k).and_then(int).map(|n| n.max(0) as u64).unwrap_or(0)
        };
        let mut status = PoolStatus {
            keys: num(&top, "keys"),
            day: top.get("day").and_then(text).unwrap_or_default(),
            timezone: top.get("timezone").and_then(text).unwrap_or_default(),
            reset_in: num(&top, "reset_in"),
            ..PoolStatus::default()
        };
        if let Some(classes) = top.get("classes") {
            for (class, line) in fields(classes) {
                let f = fields(&line);
                let entry = ClassStatus {
                    active: num(&f, "active"),
                    spent: num(&f, "spent"),
                    cooling: num(&f, "cooling"),
                    disabled: num(&f, "disabled"),
                    streak: num(&f, "streak"),
                    next_ready_in: num(&f, "next_ready_in"),
                };
                status.classes.insert(class, entry);
            }
        }
        if let Some(pins) = top.get("pins") {
            for (name, left) in fields(pins) {
                status
                    .pins
                    .insert(name, int(&left).unwrap_or(0).max(0) as u64);
            }
        }
        Ok(status)
    }
}

/// A map reply as field name to value, from a RESP3 map or a RESP2 flat array. Anything
/// else gives an empty map.
pub(crate) fn fields(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    match value {
        Value::Map(pairs) => {
            for (k, v) in pairs {
                if let Some(k) = text(k) {
                    out.insert(k, v.clone());
                }
            }
        }
        Value::Array(items) if items.len() % 2 == 0 => {
            for pair in items.chunks(2) {
                if let Some(k) = text(&pair[0]) {
                    out.insert(k, pair[1].clone());
                }
            }
        }
        _ => {}
    }
    out
}

/// A string reply as text.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

/// An integer reply, also when sent as a decimal string.
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Double(d) if d.fract() == 0.0 => Some(*d as i64),
        other => text(other).and_then(|t| t.trim().parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn report_reads_outcome_cooldown_and_streak() {
        let v = Value::Array(vec![bulk("cooldown"), Value::Int(46), Value::Int(2)]);
        assert_eq!(
            Report::from_value(&v).unwrap(),
            Report {
                outcome: Outcome::Cooldown,
                cooldown: Duration::from_secs(46),
                streak: 2
            }
        );
    }

    #[test]
    fn status_reads_resp2_flat_arrays() {
        let class = Value::Array(vec![
            bulk("active"),
            Value::Int(0),
            bulk("cooling"),
            Value::Int(2),
            bulk("next_ready_in"),
            Value::Int(7),
        ]);
        let v = Value::Array(vec![
            bulk("keys"),
            Value::Int(2),
            bulk("classes"),
            Value::Array(vec![bulk("embed"), class]),
            bulk("pins"),
            Value::Array(vec![bulk("openrouter-only"), Value::Int(1800)]),
        ]);
        let status = PoolStatus::from_value(&v).unwrap();
        assert_eq!(status.keys, 2);
        assert_eq!(status.classes["embed"].cooling, 2);
        assert_eq!(status.classes["embed"].next_ready_in, 7);
        assert_eq!(status.pins["openrouter-only"], 1800);
    }
}
