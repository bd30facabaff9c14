//! The HTTP side: one `ureq` agent with connect and read timeouts, a POST that returns
//! every answer (whatever its status) or a network failure, and a provider's error text
//! made fit for logs.

use std::time::Duration;

use crate::api_key::{redact, ApiKey};
use crate::backoff::parse_retry_after;
use crate::config::Config;
use crate::error::Transient;

/// Longest provider answer read, in bytes: 100 texts of 3072 dimensions are about 7 MB.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Longest provider message kept in an error or a log line, in characters.
const MAX_MESSAGE: usize = 300;

/// An HTTP answer, of any status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<Duration>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// An agent whose every call has `connect_timeout` to connect and `read_timeout` to get
/// the whole answer; statuses of 400 and up are answers, not errors.
pub(crate) fn agent(config: &Config) -> ureq::Agent {
    let agent_config = ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_recv_response(Some(config.read_timeout))
        .timeout_recv_body(Some(config.read_timeout))
        .timeout_send_body(Some(config.read_timeout))
        .http_status_as_error(false)
        .user_agent(concat!("gpool-client/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::new_with_config(agent_config)
}

/// POSTs a JSON body with the given headers. Any answer is `Ok`; only a failure to get
/// one (refused, reset, timed out, unreadable) is an error.
pub(crate) fn post_json(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, Transient> {
    let network = |e: ureq::Error| Transient::Network {
        endpoint: endpoint(url),
        reason: e.to_string(),
    };
    let mut request = agent.post(url).content_type("application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).map_err(network)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(network)?;
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// The URL without its query string, for error texts.
pub(crate) fn endpoint(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// What a provider said, for an error or a log line: `error.message` of a JSON error
/// body, else the body's start; any of `keys` replaced by its fingerprint; shortened.
pub(crate) fn provider_message(body: &[u8], keys: &[&ApiKey]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            let error = v.get("error")?;
            match error.get("message") {
                Some(serde_json::Value::String(m)) => Some(m.clone()),
                _ => error.as_str().map(str::to_string),
            }
        })
        .unwrap_or_else(|| text.trim().to_string());
    let message = redact(&message, keys);
    let one_line: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX_MESSAGE {
        let cut: String = one_line.chars().take(MAX_MESSAGE).collect();
        format!("{cut}...")
    } else if one_line.is_empty() {
        "(empty body)".into()
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_error_message_and_lose_keys() {
        let key = ApiKey::new("test-key-0001-secret");
        let body = br#"{"error":{"code":403,
            "message":"Consumer 'api_key:test-key-0001-secret'\n has been suspended."}}"#;
        assert_eq!(
            provider_message(body, &[&key]),
            "Consumer 'api_key:...1-secret' has been suspended."
        );
        assert_eq!(
            provider_message(b"<html>bad gateway</html>", &[]),
            "<html>bad gateway</html>"
        );
        assert_eq!(provider_message(b"", &[]), "(empty body)");
    }
}
