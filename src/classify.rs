//! Judging a provider's answer: what a status and body say about the key that got them.
//!
//! Providers signal very different conditions with the same status: Gemini answers 429 for
//! a per-minute limit, a per-day quota, and a model not offered on the key's tier. The body's
//! `google.rpc.QuotaFailure` and `RetryInfo` details tell them apart. Everything here works on
//! bytes and returns a verdict; applying it to the pool is the `GPOOL.REPORT` command's job.

use serde_json::Value;

/// Bodies longer than this are not parsed: they are judged by their status alone, so a
/// report always takes bounded time.
pub const MAX_BODY: usize = 1024 * 1024;

/// How many relayed errors deep a body is unwrapped (a proxy quoting a provider).
const MAX_RELAY_DEPTH: usize = 3;

/// The cooldown when a per-minute violation names no delay.
pub const DEFAULT_COOLDOWN_SECONDS: u64 = 60;

/// What a provider's answer means for the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success: the class's failure streak resets.
    Ok,
    /// A per-day quota is used up: the key is spent for the class until the day ends.
    Daily,
    /// A per-minute limit: the key rests for the class for the given seconds.
    Cooldown(u64),
    /// The key is invalid, revoked or suspended: disabled until an operator restores it.
    Permanent,
    /// Any other failure: no penalty, but it counts toward the class's failure streak.
    Transient,
}

impl Outcome {
    /// The outcome's name in GPOOL.REPORT's reply.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Daily => "daily",
            Outcome::Cooldown(_) => "cooldown",
            Outcome::Permanent => "permanent",
            Outcome::Transient => "transient",
        }
    }

    /// The cooldown in seconds, 0 for every other outcome.
    pub fn cooldown_seconds(self) -> u64 {
        match self {
            Outcome::Cooldown(seconds) => seconds,
            _ => 0,
        }
    }
}

/// Judges an answer with HTTP `status` and `body`.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    if (200..300).contains(&status) {
        return Outcome::Ok;
    }
    let parsed = if body.len() <= MAX_BODY {
        serde_json::from_slice::<Value>(body).ok()
    } else {
        None
    };
    judge(status, parsed.as_ref(), 0)
}

fn judge(status: u16, body: Option<&Value>, depth: usize) -> Outcome {
    let error = body.and_then(|b| b.get("error"));
    if depth < MAX_RELAY_DEPTH {
        if let Some(original) = error.and_then(relayed_original) {
            let inner_status = original
                .get("error")
                .and_then(|e| e.get("code"))
                .and_then(Value::as_u64)
                .filter(|code| (100..600).contains(code))
                .map_or(status, |code| code as u16);
            return judge(inner_status, Some(&original), depth + 1);
        }
    }
    if status == 401 || status == 403 {
        return Outcome::Permanent;
    }
    let details: &[Value] = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    if status == 400
        && details
            .iter()
            .any(|d| field(d, "reason") == Some("API_KEY_INVALID"))
    {
        return Outcome::Permanent;
    }

    let violations: Vec<&Value> = details
        .iter()
        .filter(|d| field(d, "@type").is_some_and(|t| t.ends_with("google.rpc.QuotaFailure")))
        .filter_map(|d| d.get("violations").and_then(Value::as_array))
        .flatten()
        .collect();
    let message = error.and_then(|e| field(e, "message")).unwrap_or("");
    if violations.iter().any(|v| is_zero_limit(v)) || mentions_zero_limit(message) {
        return Outcome::Transient;
    }
    if violations.iter().any(|v| quota_id(v).contains("PerDay")) {
        return Outcome::Daily;
    }
    let delay = details
        .iter()
        .filter(|d| field(d, "@type").is_some_and(|t| t.ends_with("google.rpc.RetryInfo")))
        .find_map(|d| field(d, "retryDelay").and_then(parse_delay));
    if violations.iter().any(|v| quota_id(v).contains("PerMinute")) {
        return Outcome::Cooldown(delay.unwrap_or(DEFAULT_COOLDOWN_SECONDS));
    }
    match delay {
        Some(seconds) if status == 429 => Outcome::Cooldown(seconds),
        _ => Outcome::Transient,
    }
}

/// A quota violation's `quotaId`, empty when it has none.
fn quota_id<'v>(violation: &&'v Value) -> &'v str {
    field(violation, "quotaId").unwrap_or("")
}

/// A string field of a JSON object.
fn field<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// The provider's own error that a proxy quoted inside its message (or OpenRouter's
/// `metadata.raw`), when that text holds a JSON object with an `error`.
fn relayed_original(error: &Value) -> Option<Value> {
    let quoted = [
        field(error, "message"),
        error.get("metadata").and_then(|m| field(m, "raw")),
    ];
    quoted.into_iter().flatten().find_map(|text| {
        let start = text.find('{')?;
        let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        let value = values.next()?.ok()?;
        value
            .get("error")
            .is_some_and(Value::is_object)
            .then_some(value)
    })
}

/// A quota violation whose limit is 0: the model is not offered on the key's tier.
fn is_zero_limit(violation: &Value) -> bool {
    match violation.get("quotaValue") {
        Some(Value::String(s)) => s.trim() == "0",
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Gemini's message form of a zero limit: `..., limit: 0, model: ...`.
fn mentions_zero_limit(message: &str) -> bool {
    message.match_indices("limit: 0").any(|(at, found)| {
        !message[at + found.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
    })
}

/// A protobuf duration such as `45.837906927s`, rounded up to whole seconds, at least 1.
fn parse_delay(text: &str) -> Option<u64> {
    let number = text.trim().strip_suffix('s')?;
    let seconds: f64 = number.parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some((seconds.ceil() as u64).clamp(1, 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google_429(details: &str) -> String {
        format!(
            r#"{{"error":{{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{details}]}}}}"#
        )
    }

    fn violation(quota_id: &str, value: &str) -> String {
        format!(
            r#"{{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{{"quotaId":"{quota_id}","quotaValue":"{value}"}}]}}"#
        )
    }

    fn retry(delay: &str) -> String {
        format!(r#"{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{delay}"}}"#)
    }

    #[test]
    fn success_is_ok_whatever_the_body() {
        assert_eq!(classify(200, b"not json"), Outcome::Ok);
        assert_eq!(classify(204, b""), Outcome::Ok);
    }

    #[test]
    fn per_day_wins_over_a_retry_delay() {
        let body = google_429(&format!(
            "{},{}",
            violation("RequestsPerDayPerProject", "1000"),
            retry("3s")
        ));
        assert_eq!(classify(429, body.as_bytes()), Outcome::Daily);
    }

    #[test]
    fn per_minute_cools_for_the_delay_rounded_up() {
        let body = google_429(&format!(
            "{},{}",
            violation("RequestsPerMinute", "15"),
            retry("45.1s")
        ));
        assert_eq!(classify(429, body.as_bytes()), Outcome::Cooldown(46));
        let body = google_429(&violation("RequestsPerMinute", "15"));
        assert_eq!(classify(429, body.as_bytes()), Outcome::Cooldown(60));
        let body = google_429(&format!(
            "{},{}",
            violation("RequestsPerMinute", "15"),
            retry("0.2s")
        ));
        assert_eq!(classify(429, body.as_bytes()), Outcome::Cooldown(1));
    }

    #[test]
    fn a_429_with_only_a_retry_delay_cools() {
        assert_eq!(
            classify(429, google_429(&retry("7s")).as_bytes()),
            Outcome::Cooldown(7)
        );
        assert_eq!(
            classify(503, google_429(&retry("7s")).as_bytes()),
            Outcome::Transient
        );
    }

    #[test]
    fn a_zero_limit_is_transient_even_per_day() {
        let body = google_429(&format!(
            "{},{}",
            violation("RequestsPerDay", "0"),
            retry("30s")
        ));
        assert_eq!(classify(429, body.as_bytes()), Outcome::Transient);
        let body = r#"{"error":{"code":429,"message":"Quota exceeded, limit: 0, model: x"}}"#;
        assert_eq!(classify(429, body.as_bytes()), Outcome::Transient);
        assert!(!mentions_zero_limit("limit: 0.5"));
        assert!(!mentions_zero_limit("limit: 00"));
        assert!(!mentions_zero_limit("limit: 250"));
    }

    #[test]
    fn invalid_and_suspended_keys_are_permanent() {
        let body = r#"{"error":{"code":400,"details":[{"reason":"API_KEY_INVALID"}]}}"#;
        assert_eq!(classify(400, body.as_bytes()), Outcome::Permanent);
        assert_eq!(
            classify(400, br#"{"error":{"code":400}}"#),
            Outcome::Transient
        );
        assert_eq!(classify(401, b""), Outcome::Permanent);
        assert_eq!(classify(403, b"<html>"), Outcome::Permanent);
    }

    #[test]
    fn malformed_and_foreign_bodies_are_transient() {
        assert_eq!(classify(429, b""), Outcome::Transient);
        assert_eq!(
            classify(429, b"{\"error\": {\"code\": 4"),
            Outcome::Transient
        );
        let openai = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(classify(429, openai.as_bytes()), Outcome::Transient);
        assert_eq!(classify(500, b"[]"), Outcome::Transient);
        assert_eq!(classify(429, b"{\"error\": 5}"), Outcome::Transient);
    }

    #[test]
    fn a_relayed_error_is_judged_by_the_original() {
        let original = google_429(&violation("RequestsPerDayPerProject", "1000"));
        let relayed = serde_json::json!({
            "error": {"code": 502, "message": format!("Upstream error: {original}")}
        });
        assert_eq!(
            classify(502, relayed.to_string().as_bytes()),
            Outcome::Daily
        );
        let openrouter = serde_json::json!({
            "error": {"code": 429, "message": "Provider returned error",
                      "metadata": {"raw": original, "provider_name": "Google AI Studio"}}
        });
        assert_eq!(
            classify(429, openrouter.to_string().as_bytes()),
            Outcome::Daily
        );
    }

    #[test]
    fn huge_bodies_are_judged_by_status_alone() {
        let mut body = google_429(&violation("RequestsPerDay", "1000")).into_bytes();
        body.resize(MAX_BODY + 1, b' ');
        assert_eq!(classify(429, &body), Outcome::Transient);
        assert_eq!(classify(401, &body), Outcome::Permanent);
    }

    #[test]
    fn deeply_nested_bodies_do_not_overflow() {
        let body = "[".repeat(100_000);
        assert_eq!(classify(429, body.as_bytes()), Outcome::Transient);
    }

    /// Every answer in the shared field cases reaches the outcome it names.
    #[test]
    fn the_field_cases_reach_their_outcomes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/cases/provider-errors");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the field cases must be at {}: {e}", dir.display()));
        let mut checked = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let status = case["status"].as_u64().unwrap() as u16;
            let body = case["body"].as_str().unwrap();
            let got = classify(status, body.as_bytes());
            let expect = &case["expect"];
            assert_eq!(
                got.name(),
                expect["outcome"].as_str().unwrap(),
                "{}",
                path.display()
            );
            if let Some(seconds) = expect.get("seconds").and_then(Value::as_u64) {
                assert_eq!(got.cooldown_seconds(), seconds, "{}", path.display());
            }
            checked += 1;
        }
        assert!(
            checked >= 11,
            "only {checked} cases found in {}",
            dir.display()
        );
    }
}
