//! OpenRouter's embeddings endpoint, the cascade's second stage: Bearer auth, retries of
//! network errors, 429 and 5xx with exponential backoff and full jitter (honouring
//! `Retry-After`), and a strict reading of 200 answers, whose vectors are placed by their
//! `index`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api_key::ApiKey;
use crate::backoff::Backoff;
use crate::error::{CallError, Fatal, Transient};
use crate::gemini::EmbedOptions;
use crate::http::{self, provider_message, Answer};

#[derive(Serialize)]
struct Request<'a> {
    model: String,
    input: &'a [&'a str],
    dimensions: usize,
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Datum>,
}

#[derive(Deserialize)]
struct Datum {
    index: usize,
    embedding: Vec<f32>,
}

/// How the OpenRouter stage runs: where, with which key, how often.
pub(crate) struct Settings<'a> {
    pub base: &'a str,
    pub key: &'a ApiKey,
    pub max_attempts: u32,
    pub backoff: Backoff,
}

/// OpenRouter's name for a Gemini embedding model.
pub(crate) fn model_name(options: &EmbedOptions) -> String {
    format!("google/{}", options.model_id())
}

/// Embeds `texts`, retrying what may pass on a retry. Returns the vectors in input order,
/// or the last failure: [`CallError::Fatal`] for a refusal or an unusable 200 (never
/// retried), [`CallError::Transient`] when every attempt failed in a retryable way.
pub(crate) fn embed(
    agent: &ureq::Agent,
    settings: &Settings<'_>,
    texts: &[&str],
    options: &EmbedOptions,
    sleep: &dyn Fn(Duration),
) -> Result<Vec<Vec<f32>>, CallError> {
    let url = format!("{}/embeddings", settings.base);
    let body = serde_json::to_vec(&Request {
        model: model_name(options),
        input: texts,
        dimensions: options.dimensions,
        encoding_format: "float",
    })
    .expect("a request of strings and numbers serialises");
    let bearer = format!("Bearer {}", settings.key.expose());
    let attempts = settings.max_attempts.max(1);

    let mut retry = 0;
    loop {
        let failure = match http::post_json(agent, &url, &[("authorization", &bearer)], &body) {
            Ok(answer) if answer.is_success() => {
                return parse(&answer, texts.len(), options.dimensions, settings.key)
                    .map_err(CallError::Fatal)
            }
            Ok(answer) if answer.status == 429 || answer.status >= 500 => Transient::Status {
                status: answer.status,
                message: provider_message(&answer.body, &[settings.key]),
                retry_after: answer.retry_after,
            },
            Ok(answer) => {
                return Err(CallError::Fatal(Fatal::Status {
                    status: answer.status,
                    message: provider_message(&answer.body, &[settings.key]),
                }))
            }
            Err(network) => network,
        };
        if retry + 1 >= attempts {
            return Err(CallError::Transient(failure));
        }
        let retry_after = match &failure {
            Transient::Status { retry_after, .. } => *retry_after,
            Transient::Network { .. } => None,
        };
        let delay = settings.backoff.delay(retry, retry_after);
        tracing::debug!(
            attempt = retry + 1,
            of = attempts,
            ?delay,
            "openrouter failed ({failure}); retrying"
        );
        sleep(delay);
        retry += 1;
    }
}

/// The vectors of a 2xx answer, placed by `index`. An error in the body, a malformed body,
/// an index out of range or repeated, a missing input or a vector of the wrong length
/// makes the whole answer unusable.
fn parse(
    answer: &Answer,
    texts: usize,
    dimensions: usize,
    key: &ApiKey,
) -> Result<Vec<Vec<f32>>, Fatal> {
    let parse_error = |reason: String| Fatal::Parse {
        status: answer.status,
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|e| {
        parse_error(format!(
            "the body is not JSON ({e}): {}",
            provider_message(&answer.body, &[key])
        ))
    })?;
    if value.get("error").is_some() {
        return Err(parse_error(format!(
            "the body is an error: {}",
            provider_message(&answer.body, &[key])
        )));
    }
    let response: Response = serde_json::from_value(value)
        .map_err(|e| parse_error(format!("not a list of embeddings ({e})")))?;
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; texts];
    for datum in response.data {
        let slot = vectors
            .get_mut(datum.index)
            .ok_or_else(|| parse_error(format!("index {} for {texts} inputs", datum.index)))?;
        if slot.is_some() {
            return Err(parse_error(format!("index {} given twice", datum.index)));
        }
        if datum.embedding.len() != dimensions {
            return Err(parse_error(format!(
                "embedding {} has {} values, not {dimensions}",
                datum.index,
                datum.embedding.len()
            )));
        }
        *slot = Some(datum.embedding);
    }
    let missing = vectors.iter().filter(|v| v.is_none()).count();
    if missing > 0 {
        return Err(parse_error(format!(
            "no embedding for {missing} of {texts} inputs"
        )));
    }
    Ok(vectors.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            body: body.as_bytes().to_vec(),
            retry_after: None,
        }
    }

    #[test]
    fn vectors_are_placed_by_index() {
        let key = ApiKey::new("test-key-or-0001");
        let body = r#"{"data":[{"index":1,"embedding":[1,1]},{"index":0,"embedding":[0,0]}]}"#;
        assert_eq!(
            parse(&answer(body), 2, 2, &key).unwrap(),
            vec![vec![0.0, 0.0], vec![1.0, 1.0]]
        );
    }

    #[test]
    fn an_error_or_a_gap_in_a_200_is_a_parse_error() {
        let key = ApiKey::new("test-key-or-0001");
        for body in [
            r#"{"error":{"message":"upstream overloaded","code":502}}"#,
            r#"{"data":[{"index":0,"embedding":[0,0]}]}"#,
            r#"{"data":[{"index":0,"embedding":[0,0]},{"index":0,"embedding":[1,1]}]}"#,
            r#"{"data":[{"index":0,"embedding":[0,0]},{"index":2,"embedding":[1,1]}]}"#,
            r#"{"data": nul"#,
        ] {
            assert!(
                matches!(parse(&answer(body), 2, 2, &key), Err(Fatal::Parse { .. })),
                "{body}"
            );
        }
    }
}
