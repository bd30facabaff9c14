//! Gemini embeddings and generation on keys from a gpool pool, with the fallback cascade.
//!
//! ```no_run
//! use gpool_client::{Client, EmbedOptions};
//!
//! fn main() -> Result<(), gpool_client::Error> {
//!     // REDIS_URL, GEMINI_EMBED_KEY_POOL, GEMINI_EMBED_PAID_KEY, OPENROUTER_API_KEY, ...
//!     let client = Client::from_env()?;
//!
//!     let options = EmbedOptions {
//!         task_type: Some("RETRIEVAL_DOCUMENT".into()),
//!         dimensions: 768,
//!         ..EmbedOptions::default()
//!     };
//!     let vectors = client.embed(&["a first text", "", "a third"], &options)?;
//!     assert_eq!(vectors.len(), 3);
//!     assert!(vectors[1].iter().all(|x| *x == 0.0)); // empty: a zero vector, never sent
//!
//!     let answer = client.generate(
//!         "gemini-2.5-flash-lite",
//!         &serde_json::json!({"contents": [{"parts": [{"text": "Say hi"}]}]}),
//!     )?;
//!     println!("{answer}");
//!     Ok(())
//! }
//! ```
//!
//! The pool's judgement stays in Redis: the client asks `GPOOL.NEXT` for a key, makes the
//! call, and tells the pool how the provider answered (`GPOOL.REPORT`), which spends,
//! cools or disables keys for every process at once. The cascade for embeddings:
//!
//! 1. the free pool, rotating past keys the pool takes out, retrying transient failures on
//!    the next key with a short backoff;
//! 2. when the class's failure streak reaches `PAID_KEY_FALLBACK_THRESHOLD`, the pin
//!    `openrouter-only` (30 minutes, every process follows it) and OpenRouter, retried with
//!    exponential backoff and full jitter. Failures the pool's streak does not share
//!    (network errors, which no provider answered, or failures while other processes
//!    succeed) send this process alone to OpenRouter first for as long, and pin nothing;
//! 3. the paid key, one attempt, its use counted;
//! 4. an [`Error::Embed`] that says what each stage answered.
//!
//! When every free key is spent, the paid key serves; when every key is cooling and the
//! first is back soon, the client waits for it instead. While Redis is down the client
//! rotates over `GEMINI_EMBED_KEY_POOL` in process, warns once, and returns to the shared
//! pool when Redis answers again.
//!
//! [`Pool`] is the pool handle on its own: every `GPOOL.*` command, over the module or the
//! Lua library (`lua/gpool.lua`, embedded and loaded when the server has neither).
//!
//! No key is ever logged or put in an error: [`ApiKey`] prints as its fingerprint.

mod api_key;
mod backoff;
mod client;
mod config;
mod engine;
mod error;
mod gemini;
mod http;
mod local_rotation;
mod openrouter;
mod pool;
mod replies;
mod shared_pool;

pub use api_key::{fingerprint, ApiKey};
pub use backoff::Backoff;
pub use client::{Client, Stats, EMBED, GENERATE};
pub use config::{Config, GEMINI_API_BASE, OPENROUTER_API_BASE, OPENROUTER_ONLY, VARIABLES};
pub use engine::{Command, Engine, LUA_LIBRARY};
pub use error::{CallError, Error, Fatal, Stage, StageFailure, StageFailures, Transient};
pub use gemini::EmbedOptions;
pub use pool::Pool;
pub use replies::{ClassStatus, Outcome, PoolStatus, Report};
