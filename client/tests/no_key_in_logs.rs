//! No full key in any log line, error or debug print: every path of the client runs with
//! all its log output captured down to TRACE (the `log` records of the HTTP library too),
//! and neither the logs nor the errors' Display and Debug show a key, even when the
//! provider's own answer quotes it.
//!
//! One test in its own binary: it installs the global bridge from `log` to `tracing`.

mod common;

use std::thread;
use std::time::Duration;

use common::{capture_logs, case, config, FakeProvider, Reply, Server};
use gpool_client::{ApiKey, Client, EmbedOptions, Engine, Pool, OPENROUTER_ONLY};

/// Keys long enough that a fingerprint is clearly not the key.
fn keys() -> Vec<String> {
    (1..=3)
        .map(|i| format!("test-key-free-{i:04}-aaaabbbbccccdddd{i:04}"))
        .collect()
}

const PAID: &str = "test-key-paid-0001-eeeeffffgggghhhh";
const OPENROUTER: &str = "test-key-openrouter-0001-iiiijjjjkkkkllll";

/// A 403 that quotes the refused key, as providers sometimes do.
fn suspended(key: &str) -> Reply {
    let body = serde_json::json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
        "message": format!("Permission denied: Consumer 'api_key:{key}' has been suspended.")}});
    Reply::new(403, body.to_string())
}

fn every_path(engine: Engine, printed: &mut Vec<String>) {
    let mut server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = keys();
    let mut config = config(&server, &fake, &keys);
    config.paid_key = Some(ApiKey::new(PAID));
    config.openrouter_key = Some(ApiKey::new(OPENROUTER));
    config.openrouter_max_attempts = 3;
    printed.push(format!("{config:?}"));
    let options = EmbedOptions {
        dimensions: 4,
        ..EmbedOptions::default()
    };

    let client = Client::new(config.clone()).unwrap();
    printed.push(format!("{client:?}"));

    // Rotation, a daily 429, a suspended key quoting itself, a cooldown.
    fake.queue(&keys[0], case("gemini-daily-embed"));
    fake.queue(&keys[1], suspended(&keys[1]));
    client.embed(&["a", "b"], &options).unwrap();
    fake.queue(&keys[2], case("gemini-minute-tokens"));
    client.embed(&["c"], &options).unwrap();

    // The streak, the pin, OpenRouter failing with the key quoted in a 200, the paid key
    // suspended: every stage fails and the error says so.
    let mut pool = Pool::connect(&server.url(), "gemini").unwrap();
    for key in &keys {
        pool.restore_all(&ApiKey::new(key)).unwrap();
        fake.always(key, case("gemini-overloaded"));
    }
    fake.queue_openrouter(Reply::new(
        200,
        format!(r#"{{"error":{{"message":"bad token {OPENROUTER}","code":401}}}}"#),
    ));
    fake.always(PAID, suspended(PAID));
    let e = client.embed(&["d"], &options).unwrap_err();
    printed.push(e.to_string());
    printed.push(format!("{e:?}"));

    // Pinned, OpenRouter retried and refusing, the paid key now disabled.
    pool.pin(OPENROUTER_ONLY, Duration::from_secs(60)).unwrap();
    fake.always_openrouter(Reply::new(
        429,
        format!(r#"{{"error":{{"message":"slow down {OPENROUTER}"}}}}"#),
    ));
    let e = client.embed(&["e"], &options).unwrap_err();
    printed.push(e.to_string());
    printed.push(format!("{e:?}"));
    pool.unpin(OPENROUTER_ONLY).unwrap();

    // Generation, and a key handed out.
    let e = client
        .generate(
            "gemini-2.5-flash-lite",
            &serde_json::json!({"contents": []}),
        )
        .unwrap_err();
    printed.push(e.to_string());
    printed.push(format!("{e:?}"));
    let key = client.next_generate_key();
    printed.push(format!("{key:?}"));
    if let Ok(key) = key {
        printed.push(format!("{key} {key:?}"));
        let report = client.report(
            &key,
            "generate",
            403,
            suspended(key.expose()).body.as_bytes(),
        );
        printed.push(format!("{report:?}"));
    }

    // Redis refusing a key, and Redis down.
    let e = pool.spend(&ApiKey::new(PAID), "embed").unwrap_err();
    printed.push(e.to_string());
    printed.push(format!("{e:?}"));
    for key in &keys {
        fake.always(
            key,
            Reply::new(200, r#"{"embeddings":[{"values":[1,2,3,4]}]}"#),
        );
    }
    // (Seen unpinned before the outage: while down, the last pin seen still holds.)
    client.embed(&["f"], &options).unwrap();
    server.stop();
    client.embed(&["f"], &options).unwrap();
    fake.always(&keys[0], suspended(&keys[0]));
    let _ = client.embed(&["g"], &options);
    server.start_again();
    thread::sleep(Duration::from_millis(300));
    client.embed(&["h"], &options).unwrap();
    printed.push(format!("{:?} {:?}", client.stats(), pool));
}

#[test]
fn no_log_line_error_or_debug_print_holds_a_full_key() {
    tracing_log::LogTracer::init().expect("installing the log bridge");
    let mut printed = Vec::new();
    let ((), logs) = capture_logs(|| {
        every_path(Engine::Module, &mut printed);
        every_path(Engine::Lua, &mut printed);
    });
    let logs = logs.text();

    // The capture saw the client's events and the HTTP library's.
    assert!(logs.contains("pinning openrouter-only"), "{logs}");
    assert!(logs.contains("redis does not answer"), "{logs}");
    assert!(
        logs.contains("ureq"),
        "the log records of ureq reach the capture"
    );
    assert!(logs.contains("...dddd0002"), "keys appear as fingerprints");

    let mut secrets = keys();
    secrets.push(PAID.into());
    secrets.push(OPENROUTER.into());
    for secret in &secrets {
        for (i, line) in logs.lines().enumerate() {
            assert!(
                !line.contains(secret.as_str()),
                "log line {i} holds a key: {line}"
            );
        }
        for text in &printed {
            assert!(
                !text.contains(secret.as_str()),
                "a printed value holds a key: {text}"
            );
        }
    }
}
