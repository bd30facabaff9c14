//! Gemini's REST API: the batch embedding call and the generation call, one key each,
//! the key in the `x-goog-api-key` header (never in the URL).

use serde::{Deserialize, Serialize};

use crate::api_key::ApiKey;
use crate::error::{Fatal, Transient};
use crate::http::{self, Answer};

/// How to embed: model, task type, dimensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedOptions {
    /// The Gemini model, `gemini-embedding-001` by default (`models/` may lead).
    pub model: String,
    /// Gemini's `taskType`, such as `RETRIEVAL_DOCUMENT`; none by default.
    pub task_type: Option<String>,
    /// Vector length (`outputDimensionality`), 3072 by default.
    pub dimensions: usize,
}

impl Default for EmbedOptions {
    fn default() -> EmbedOptions {
        EmbedOptions {
            model: "gemini-embedding-001".into(),
            task_type: None,
            dimensions: 3072,
        }
    }
}

impl EmbedOptions {
    /// The model name without a leading `models/`.
    pub(crate) fn model_id(&self) -> &str {
        self.model.strip_prefix("models/").unwrap_or(&self.model)
    }
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    requests: Vec<EmbedRequest<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedRequest<'a> {
    model: &'a str,
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_type: Option<&'a str>,
    output_dimensionality: usize,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
struct BatchResponse {
    embeddings: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    values: Vec<f32>,
}

/// The URL of the batch embedding endpoint.
pub(crate) fn embed_url(base: &str, options: &EmbedOptions) -> String {
    format!(
        "{base}/v1beta/models/{}:batchEmbedContents",
        options.model_id()
    )
}

/// The URL of the generation endpoint.
pub(crate) fn generate_url(base: &str, model: &str) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    format!("{base}/v1beta/models/{model}:generateContent")
}

/// The batch request's body for `texts`.
pub(crate) fn embed_body(texts: &[&str], options: &EmbedOptions) -> Vec<u8> {
    let model = format!("models/{}", options.model_id());
    let request = BatchRequest {
        requests: texts
            .iter()
            .map(|text| EmbedRequest {
                model: &model,
                content: Content {
                    parts: [Part { text }],
                },
                task_type: options.task_type.as_deref(),
                output_dimensionality: options.dimensions,
            })
            .collect(),
    };
    serde_json::to_vec(&request).expect("a request of strings and numbers serialises")
}

/// One call with one key: the answer, whatever its status.
pub(crate) fn post(
    agent: &ureq::Agent,
    url: &str,
    key: &ApiKey,
    body: &[u8],
) -> Result<Answer, Transient> {
    http::post_json(agent, url, &[("x-goog-api-key", key.expose())], body)
}

/// The vectors of a 2xx batch answer: one per text, each of the asked length.
pub(crate) fn parse_embeddings(
    answer: &Answer,
    texts: usize,
    dimensions: usize,
) -> Result<Vec<Vec<f32>>, Fatal> {
    let parse = |reason: String| Fatal::Parse {
        status: answer.status,
        reason,
    };
    let response: BatchResponse = serde_json::from_slice(&answer.body)
        .map_err(|e| parse(format!("not a batch of embeddings ({e})")))?;
    if response.embeddings.len() != texts {
        return Err(parse(format!(
            "{} embeddings for {texts} texts",
            response.embeddings.len()
        )));
    }
    let mut vectors = Vec::with_capacity(texts);
    for (i, embedding) in response.embeddings.into_iter().enumerate() {
        if embedding.values.len() != dimensions {
            return Err(parse(format!(
                "embedding {i} has {} values, not {dimensions}",
                embedding.values.len()
            )));
        }
        vectors.push(embedding.values);
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_body_has_one_request_per_text() {
        let options = EmbedOptions {
            model: "models/gemini-embedding-001".into(),
            task_type: Some("RETRIEVAL_QUERY".into()),
            dimensions: 8,
        };
        let body: serde_json::Value =
            serde_json::from_slice(&embed_body(&["a", "b"], &options)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]},
                 "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 8},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]},
                 "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 8}
            ]})
        );
        assert_eq!(
            embed_url("http://h", &options),
            "http://h/v1beta/models/gemini-embedding-001:batchEmbedContents"
        );
    }

    #[test]
    fn answers_of_the_wrong_shape_are_parse_errors() {
        let answer = |body: &str| Answer {
            status: 200,
            body: body.as_bytes().to_vec(),
            retry_after: None,
        };
        let ok = answer(r#"{"embeddings":[{"values":[0.1,-0.2,0.3]}]}"#);
        assert_eq!(
            parse_embeddings(&ok, 1, 3).unwrap(),
            vec![vec![0.1, -0.2, 0.3]]
        );
        assert!(parse_embeddings(&ok, 2, 3).is_err());
        assert!(parse_embeddings(&ok, 1, 4).is_err());
        assert!(parse_embeddings(&answer(r#"{"error":{"code":500}}"#), 1, 3).is_err());
    }
}
