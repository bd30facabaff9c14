//! Generation: keys from the `generate` rotation, apart from embeddings; the client's own
//! `generate` call, which rotates and reports like embeddings; the paid key when no free
//! key is left.

mod common;

use common::{case, config, free_keys, FakeProvider, Server, PAID_KEY};
use gpool_client::{ApiKey, Client, Engine, Error, Outcome};

const MODEL: &str = "gemini-2.5-flash-lite";

fn request() -> serde_json::Value {
    serde_json::json!({"contents": [{"parts": [{"text": "Say hi"}]}]})
}

fn generate_rotates_reports_and_keeps_classes_apart(engine: Engine) {
    let server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = free_keys(2);
    fake.queue(&keys[0], case("gemini-daily-generate"));
    let client = Client::new(config(&server, &fake, &keys)).unwrap();

    let answer = client.generate(MODEL, &request()).unwrap();
    assert_eq!(answer["candidates"][0]["content"]["parts"][0]["text"], "hi");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            s.url,
            "/v1beta/models/gemini-2.5-flash-lite:generateContent"
        );
        assert_eq!(s.json(), request());
    }
    assert_eq!(seen[0].gemini_key(), Some(keys[0].as_str()));
    assert_eq!(seen[1].gemini_key(), Some(keys[1].as_str()));

    let status = server.pool("gemini").status().unwrap();
    assert_eq!(status.classes["generate"].spent, 1);
    // Spent for generation, still there for embeddings.
    assert_eq!(status.classes.get("embed").map_or(0, |c| c.spent), 0);
    client
        .embed(
            &["abc"],
            &gpool_client::EmbedOptions {
                dimensions: 4,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(fake.embed_keys(), [keys[0].as_str()]);
}

fn generate_gives_up_when_the_streak_reaches_the_threshold(engine: Engine) {
    let server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = free_keys(4);
    for key in &keys {
        fake.always(key, case("gemini-overloaded"));
    }
    let client = Client::new(config(&server, &fake, &keys)).unwrap();
    let e = client.generate(MODEL, &request()).unwrap_err();
    assert!(matches!(e, Error::Generate(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "generation failed: free pool: 3 failures in a row, the last: HTTP 503 for key {}: \
             The model is overloaded. Please try again later.",
            gpool_client::fingerprint(&keys[2])
        )
    );
    assert_eq!(fake.seen().len(), 3);
}

fn next_generate_key_rotates_then_hands_out_the_paid_key(engine: Engine) {
    let server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = free_keys(2);
    let client = Client::new(config(&server, &fake, &keys)).unwrap();
    let got: Vec<String> = (0..3)
        .map(|_| client.next_generate_key().unwrap().expose().to_string())
        .collect();
    assert_eq!(got, [keys[0].clone(), keys[1].clone(), keys[0].clone()]);

    // The caller reports its own calls; a daily 429 spends the key for generation.
    let daily = case("gemini-daily-generate");
    let report = client
        .report(
            &ApiKey::new(&keys[0]),
            "generate",
            daily.status,
            daily.body.as_bytes(),
        )
        .unwrap()
        .expect("judged by the pool");
    assert_eq!(report.outcome, Outcome::Daily);
    assert_eq!(client.next_generate_key().unwrap().expose(), keys[1]);
    assert!(client
        .report(&ApiKey::new(&keys[1]), "generate", 200, b"{}")
        .unwrap()
        .is_none());
    let spend = server
        .pool("gemini")
        .spend(&ApiKey::new(&keys[1]), "generate")
        .unwrap();
    assert!(spend);

    assert_eq!(client.next_generate_key().unwrap().expose(), PAID_KEY);
    let paid_usage = server
        .pool("gemini-paid")
        .usage(&[ApiKey::new(PAID_KEY)])
        .unwrap();
    assert_eq!(paid_usage, [1]);
    assert!(fake.seen().is_empty(), "handing out keys calls no provider");
}

on_both_engines!(
    generate_rotates_reports_and_keeps_classes_apart,
    generate_gives_up_when_the_streak_reaches_the_threshold,
    next_generate_key_rotates_then_hands_out_the_paid_key,
);
