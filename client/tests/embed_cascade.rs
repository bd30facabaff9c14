//! Embeddings through the cascade, against a real redis-server and a fake provider
//! scripted with answers from the field: rotation, daily and permanent refusals, cooldowns,
//! the streak and the `openrouter-only` pin, OpenRouter's retries and parse errors, the
//! paid key, zero vectors, and the one round trip per successful batch.

mod common;

use std::time::{Duration, Instant};

use common::{
    case, config, fake_vector, free_keys, minute_quota, FakeProvider, Reply, Server,
    OPENROUTER_KEY, PAID_KEY,
};
use gpool_client::{ApiKey, Client, Config, EmbedOptions, Engine, Error, OPENROUTER_ONLY};

const DIMS: usize = 4;

fn options() -> EmbedOptions {
    EmbedOptions {
        dimensions: DIMS,
        ..EmbedOptions::default()
    }
}

struct Setup {
    server: Server,
    fake: FakeProvider,
    keys: Vec<String>,
}

impl Setup {
    fn new(engine: Engine, n: usize) -> Setup {
        Setup {
            server: Server::start(engine),
            fake: FakeProvider::start(),
            keys: free_keys(n),
        }
    }

    fn config(&self) -> Config {
        config(&self.server, &self.fake, &self.keys)
    }

    fn client(&self) -> Client {
        Client::new(self.config()).expect("a client")
    }

    fn pool(&self) -> gpool_client::Pool {
        self.server.pool("gemini")
    }

    fn paid_usage(&self) -> u64 {
        self.server
            .pool("gemini-paid")
            .usage(&[ApiKey::new(PAID_KEY)])
            .unwrap()[0]
    }
}

fn embed_one(client: &Client, text: &str) -> Vec<f32> {
    client
        .embed(&[text], &options())
        .expect("embedding")
        .remove(0)
}

fn keys_rotate_across_batches(engine: Engine) {
    let s = Setup::new(engine, 3);
    let client = s.client();
    for i in 0..6 {
        assert_eq!(
            embed_one(&client, &format!("text {i}")),
            fake_vector("text 0", 1.0, DIMS)
        );
    }
    let k = &s.keys;
    assert_eq!(
        s.fake.embed_keys(),
        [
            k[0].as_str(),
            k[1].as_str(),
            k[2].as_str(),
            k[0].as_str(),
            k[1].as_str(),
            k[2].as_str()
        ]
    );
    for seen in s.fake.seen() {
        assert_eq!(
            seen.url, "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            "the key travels in the header only"
        );
        assert_eq!(
            seen.json()["requests"][0]["model"],
            "models/gemini-embedding-001"
        );
        assert_eq!(seen.json()["requests"][0]["outputDimensionality"], DIMS);
    }
    let keys: Vec<ApiKey> = k.iter().map(ApiKey::new).collect();
    assert_eq!(s.pool().usage(&keys).unwrap(), [2, 2, 2]);
}

fn texts_go_in_batches_of_fifty_in_input_order(engine: Engine) {
    let s = Setup::new(engine, 2);
    let client = s.client();
    let input: Vec<String> = (0..120).map(|i| "x".repeat(i % 7 + 1)).collect();
    let vectors = client
        .embed(
            &input,
            &EmbedOptions {
                task_type: Some("RETRIEVAL_DOCUMENT".into()),
                ..options()
            },
        )
        .unwrap();
    assert_eq!(vectors.len(), 120);
    for (text, vector) in input.iter().zip(&vectors) {
        assert_eq!(vector, &fake_vector(text, 1.0, DIMS));
    }
    let sizes: Vec<usize> = s
        .fake
        .seen()
        .iter()
        .map(|seen| seen.json()["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(
        s.fake.seen()[0].json()["requests"][0]["taskType"],
        "RETRIEVAL_DOCUMENT"
    );
}

fn empty_texts_get_zero_vectors_and_are_never_sent(engine: Engine) {
    let s = Setup::new(engine, 2);
    let client = s.client();
    let round_trips = client.stats().redis_round_trips;

    let vectors = client.embed(&["", "  ", "\n\t"], &options()).unwrap();
    assert_eq!(vectors, vec![vec![0.0; DIMS]; 3]);
    assert!(s.fake.seen().is_empty(), "no call for empty texts");
    assert_eq!(client.stats().redis_round_trips, round_trips, "nor a key");

    let vectors = client.embed(&["", "a", " ", "bc"], &options()).unwrap();
    assert_eq!(
        vectors,
        [
            vec![0.0; DIMS],
            fake_vector("a", 1.0, DIMS),
            vec![0.0; DIMS],
            fake_vector("bc", 1.0, DIMS)
        ]
    );
    let sent = s.fake.seen()[0].json();
    let sent: Vec<&str> = sent["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"]["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["a", "bc"]);
}

fn a_daily_429_moves_to_the_next_key_and_leaves_it_spent(engine: Engine) {
    let s = Setup::new(engine, 3);
    let k = &s.keys;
    s.fake.queue(&k[0], case("gemini-daily-embed"));
    let client = s.client();
    assert_eq!(embed_one(&client, "abc"), fake_vector("abc", 1.0, DIMS));
    assert_eq!(s.fake.embed_keys(), [k[0].as_str(), k[1].as_str()]);

    let status = s.pool().status().unwrap();
    assert_eq!(status.classes["embed"].spent, 1);
    assert_eq!(status.classes["embed"].active, 2);

    for _ in 0..4 {
        embed_one(&client, "abc");
    }
    assert_eq!(
        s.fake.embed_keys()[2..],
        [k[2].as_str(), k[1].as_str(), k[2].as_str(), k[1].as_str()]
    );
}

fn a_permanent_refusal_disables_the_key(engine: Engine) {
    let s = Setup::new(engine, 2);
    let k = &s.keys;
    s.fake.queue(&k[0], case("gemini-invalid-key"));
    let client = s.client();
    embed_one(&client, "abc");
    assert_eq!(s.fake.embed_keys(), [k[0].as_str(), k[1].as_str()]);
    let embed = &s.pool().status().unwrap().classes["embed"];
    assert_eq!((embed.disabled, embed.active), (1, 1));
}

fn a_cooldown_is_honoured_by_waiting_for_the_first_key_back(engine: Engine) {
    let s = Setup::new(engine, 2);
    let k = &s.keys;
    s.fake.queue(&k[0], minute_quota(1));
    s.fake.queue(&k[1], minute_quota(1));
    let client = s.client();
    let started = Instant::now();
    assert_eq!(embed_one(&client, "abc"), fake_vector("abc", 1.0, DIMS));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "waited {took:?}");
    assert!(took < Duration::from_secs(4), "waited {took:?}");
    assert_eq!(
        s.fake.embed_keys(),
        [k[0].as_str(), k[1].as_str(), k[0].as_str()]
    );
    assert_eq!(s.fake.openrouter_calls(), 0);
    assert_eq!(s.paid_usage(), 0);
}

fn a_long_cooldown_goes_to_the_paid_key_instead_of_waiting(engine: Engine) {
    let s = Setup::new(engine, 2);
    let k = &s.keys;
    s.fake.queue(&k[0], minute_quota(120));
    s.fake.queue(&k[1], minute_quota(120));
    let client = s.client();
    let started = Instant::now();
    embed_one(&client, "abc");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        s.fake.embed_keys(),
        [k[0].as_str(), k[1].as_str(), PAID_KEY]
    );
    assert_eq!(s.paid_usage(), 1);
}

fn the_streak_pins_openrouter_only_and_both_clients_follow(engine: Engine) {
    let s = Setup::new(engine, 3);
    for key in &s.keys {
        s.fake.always(key, case("gemini-overloaded"));
    }
    let a = s.client();
    let b = s.client();
    assert_eq!(
        embed_one(&a, "abc"),
        fake_vector("abc", 2.0, DIMS),
        "from openrouter"
    );
    assert_eq!(
        s.fake.embed_keys().len(),
        3,
        "threshold 3: three free keys tried"
    );
    assert_eq!(s.fake.openrouter_calls(), 1);
    let seen = s.fake.seen().pop().unwrap();
    assert_eq!(seen.url, "/openrouter/embeddings");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {OPENROUTER_KEY}").as_str())
    );
    assert_eq!(
        seen.json(),
        serde_json::json!({"model": "google/gemini-embedding-001", "input": ["abc"],
            "dimensions": DIMS, "encoding_format": "float"})
    );
    let left = s.pool().pinned(OPENROUTER_ONLY).unwrap();
    assert!(
        left > Duration::from_secs(1790),
        "pinned for 30 minutes: {left:?}"
    );

    // Both the client that pinned and one that did not now start at OpenRouter.
    s.fake.clear_seen();
    assert_eq!(embed_one(&b, "de"), fake_vector("de", 2.0, DIMS));
    assert_eq!(embed_one(&a, "fgh"), fake_vector("fgh", 2.0, DIMS));
    assert!(
        s.fake.embed_keys().is_empty(),
        "no free key tried while pinned"
    );
    assert_eq!(s.fake.openrouter_calls(), 2);

    // Unpinned, both go back to the free pool.
    s.pool().unpin(OPENROUTER_ONLY).unwrap();
    for key in &s.keys {
        s.fake.always(
            key,
            Reply::new(200, r#"{"embeddings":[{"values":[1,1,1,1]}]}"#),
        );
    }
    assert_eq!(embed_one(&b, "x"), [1.0; 4]);
    assert_eq!(embed_one(&a, "x"), [1.0; 4]);
}

fn failures_of_one_process_alone_do_not_pin_the_others(engine: Engine) {
    let s = Setup::new(engine, 3);
    // Client a cannot reach Gemini at all: a loopback port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = s.config();
    config.gemini_base = unreachable;
    let a = Client::new(config).expect("a client");
    let b = s.client();

    assert_eq!(
        embed_one(&a, "abc"),
        fake_vector("abc", 2.0, DIMS),
        "from openrouter, after three network failures"
    );
    assert_eq!(s.fake.openrouter_calls(), 1);
    assert_eq!(
        s.pool().pinned(OPENROUTER_ONLY).unwrap(),
        Duration::ZERO,
        "no provider answered, so the pool is not pinned"
    );
    let status = s.pool().status().unwrap();
    assert_eq!(status.classes["embed"].streak, 0, "nothing was reported");

    // The other process keeps the free pool; the one that failed goes to OpenRouter
    // first, without trying Gemini again.
    assert_eq!(embed_one(&b, "de"), fake_vector("de", 1.0, DIMS));
    assert_eq!(s.fake.embed_keys().len(), 1);
    assert_eq!(embed_one(&a, "fgh"), fake_vector("fgh", 2.0, DIMS));
    assert_eq!(s.fake.openrouter_calls(), 2);
    assert_eq!(s.fake.embed_keys().len(), 1, "a tried no free key");
}

fn openrouter_retries_429_and_5xx_honouring_retry_after(engine: Engine) {
    let s = Setup::new(engine, 2);
    s.pool()
        .pin(OPENROUTER_ONLY, Duration::from_secs(600))
        .unwrap();
    s.fake.queue_openrouter(
        Reply::new(
            429,
            r#"{"error":{"message":"Rate limit exceeded","code":429}}"#,
        )
        .header("Retry-After", "1"),
    );
    s.fake
        .queue_openrouter(Reply::new(502, "<html>bad gateway</html>"));
    s.fake.queue_openrouter(Reply::new(
        503,
        r#"{"error":{"message":"busy","code":503}}"#,
    ));
    let mut config = s.config();
    config.openrouter_max_delay = Duration::from_secs(2);
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    assert_eq!(embed_one(&client, "abc"), fake_vector("abc", 2.0, DIMS));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 honoured"
    );
    assert_eq!(s.fake.openrouter_calls(), 4);
    assert!(s.fake.embed_keys().is_empty());
}

fn openrouter_gives_up_after_its_attempts(engine: Engine) {
    let s = Setup::new(engine, 1);
    s.pool()
        .pin(OPENROUTER_ONLY, Duration::from_secs(600))
        .unwrap();
    s.fake.always_openrouter(Reply::new(
        500,
        r#"{"error":{"message":"down","code":500}}"#,
    ));
    s.fake.always(PAID_KEY, case("gemini-overloaded"));
    let mut config = s.config();
    config.openrouter_max_attempts = 5;
    let client = Client::new(config).unwrap();
    let e = client.embed(&["abc"], &options()).unwrap_err();
    assert_eq!(s.fake.openrouter_calls(), 5);
    assert_eq!(
        e.to_string(),
        format!(
            "embedding failed at every stage: free pool: not tried: openrouter-only is pinned; \
             openrouter: HTTP 500: down (after 5 attempts); \
             paid key: HTTP 503 for key {}: The model is overloaded. Please try again later. \
             (pool: transient)",
            gpool_client::fingerprint(PAID_KEY)
        )
    );
}

fn openrouter_error_in_a_200_is_not_retried_and_lifts_the_pin(engine: Engine) {
    let s = Setup::new(engine, 2);
    s.pool()
        .pin(OPENROUTER_ONLY, Duration::from_secs(600))
        .unwrap();
    s.fake.queue_openrouter(Reply::new(
        200,
        r#"{"error":{"message":"No successful provider responses","code":502}}"#,
    ));
    let client = s.client();
    assert_eq!(embed_one(&client, "abc"), fake_vector("abc", 1.0, DIMS));
    assert_eq!(s.fake.openrouter_calls(), 1, "a parse error is not retried");
    assert_eq!(
        s.fake.embed_keys(),
        [PAID_KEY],
        "the paid key served the batch"
    );
    assert_eq!(s.pool().pinned(OPENROUTER_ONLY).unwrap(), Duration::ZERO);

    // The next batch starts at the free pool again. (Which key: the batch that found the
    // pin had asked NEXT in the same round trip, so the rotation has moved on by one.)
    s.fake.clear_seen();
    embed_one(&client, "abc");
    assert_eq!(s.fake.embed_keys(), [s.keys[1].as_str()]);
}

fn openrouter_answers_missing_an_input_are_parse_errors(engine: Engine) {
    let s = Setup::new(engine, 1);
    s.pool()
        .pin(OPENROUTER_ONLY, Duration::from_secs(600))
        .unwrap();
    s.fake.queue_openrouter(Reply::new(
        200,
        r#"{"data":[{"index":0,"embedding":[0,0,0,0]}]}"#,
    ));
    let client = s.client();
    client.embed(&["a", "b"], &options()).unwrap();
    assert_eq!(s.fake.openrouter_calls(), 1);
    assert_eq!(s.fake.embed_keys(), [PAID_KEY]);
}

fn openrouter_vectors_are_placed_by_index(engine: Engine) {
    let s = Setup::new(engine, 1);
    s.pool()
        .pin(OPENROUTER_ONLY, Duration::from_secs(600))
        .unwrap();
    s.fake.reverse_openrouter();
    let client = s.client();
    let vectors = client.embed(&["a", "bb", "", "ccc"], &options()).unwrap();
    assert_eq!(
        vectors,
        [
            fake_vector("a", 2.0, DIMS),
            fake_vector("bb", 2.0, DIMS),
            vec![0.0; DIMS],
            fake_vector("ccc", 2.0, DIMS)
        ]
    );
    assert_eq!(
        s.fake.seen()[0].json()["input"],
        serde_json::json!(["a", "bb", "ccc"])
    );
}

fn the_paid_key_serves_when_every_free_key_is_spent_and_is_counted(engine: Engine) {
    let s = Setup::new(engine, 2);
    for key in &s.keys {
        s.fake.queue(key, case("gemini-daily-embed"));
    }
    let client = s.client();
    embed_one(&client, "abc");
    assert_eq!(
        s.fake.embed_keys(),
        [s.keys[0].as_str(), s.keys[1].as_str(), PAID_KEY]
    );
    assert_eq!(s.paid_usage(), 1);
    assert_eq!(s.fake.openrouter_calls(), 0);

    embed_one(&client, "abc");
    assert_eq!(s.fake.embed_keys()[3..], [PAID_KEY]);
    assert_eq!(s.paid_usage(), 2);
    // The paid key is never handed out by the free pool's rotation.
    assert_eq!(s.pool().status().unwrap().keys, 2);
}

fn a_daily_429_spends_the_paid_key(engine: Engine) {
    let s = Setup::new(engine, 1);
    s.fake.always(&s.keys[0], case("gemini-daily-embed"));
    s.fake.always(PAID_KEY, case("gemini-daily-embed"));
    let client = s.client();
    assert_eq!(
        embed_one(&client, "abc"),
        fake_vector("abc", 2.0, DIMS),
        "openrouter"
    );
    assert_eq!(s.fake.embed_keys(), [s.keys[0].as_str(), PAID_KEY]);
    let paid = s.server.pool("gemini-paid").status().unwrap();
    assert_eq!(paid.classes["embed"].spent, 1);

    // Spent: not tried again today.
    s.fake.clear_seen();
    embed_one(&client, "abc");
    assert!(s.fake.embed_keys().is_empty());
    assert_eq!(s.fake.openrouter_calls(), 1);
    assert_eq!(s.paid_usage(), 1);
}

fn every_stage_failing_says_what_each_answered(engine: Engine) {
    let s = Setup::new(engine, 3);
    for key in &s.keys {
        s.fake.always(key, case("gemini-overloaded"));
    }
    s.fake.always_openrouter(Reply::new(
        402,
        r#"{"error":{"message":"Insufficient credits","code":402}}"#,
    ));
    s.fake.always(PAID_KEY, case("gemini-suspended"));
    let client = s.client();
    let e = client.embed(&["abc"], &options()).unwrap_err();
    assert!(matches!(e, Error::Embed(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "embedding failed at every stage: free pool: 3 failures in a row, the last: \
             HTTP 503 for key {}: The model is overloaded. Please try again later.; \
             openrouter: HTTP 402: Insufficient credits; \
             paid key: HTTP 403 for key {}: Permission denied: Consumer 'api_key:XXXX' has \
             been suspended. (pool: permanent)",
            gpool_client::fingerprint(&s.keys[2]),
            gpool_client::fingerprint(PAID_KEY)
        )
    );
    assert_eq!(s.fake.openrouter_calls(), 1, "a 402 is not retried");
}

fn missing_fallback_keys_are_named(engine: Engine) {
    let s = Setup::new(engine, 1);
    s.fake.always(&s.keys[0], case("gemini-daily-embed"));
    let mut config = s.config();
    config.paid_key = None;
    config.openrouter_key = None;
    let client = Client::new(config).unwrap();
    let e = client.embed(&["abc"], &options()).unwrap_err().to_string();
    assert!(
        e.contains("paid key: GEMINI_EMBED_PAID_KEY is not set"),
        "{e}"
    );
    assert!(
        e.contains("openrouter: OPENROUTER_API_KEY is not set"),
        "{e}"
    );
}

fn an_empty_pool_names_the_variable_to_set(engine: Engine) {
    let s = Setup::new(engine, 0);
    let mut config = s.config();
    config.paid_key = None;
    config.openrouter_key = None;
    let client = Client::new(config).unwrap();
    let e = client.embed(&["abc"], &options()).unwrap_err().to_string();
    assert!(
        e.contains("free pool: pool 'gemini' has no keys: set GEMINI_EMBED_KEY_POOL"),
        "{e}"
    );
}

fn a_successful_batch_costs_one_redis_round_trip(engine: Engine) {
    let s = Setup::new(engine, 3);
    let client = s.client();
    embed_one(&client, "warm up");
    let before = client.stats().redis_round_trips;
    for i in 0..20 {
        embed_one(&client, &format!("text {i}"));
    }
    assert_eq!(client.stats().redis_round_trips - before, 20);

    // Every success was reported: the queued ones went with the next batch, the last
    // one with flush.
    s.pool()
        .report(&ApiKey::new(&s.keys[0]), "embed", 503, b"")
        .unwrap();
    client.flush().unwrap();
    assert_eq!(s.pool().status().unwrap().classes["embed"].streak, 0);
}

fn one_client_serves_several_threads(engine: Engine) {
    let s = Setup::new(engine, 4);
    let client = s.client();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let client = &client;
            scope.spawn(move || {
                for i in 0..10 {
                    let text = format!("thread {t} text {i}");
                    assert_eq!(embed_one(client, &text), fake_vector(&text, 1.0, DIMS));
                }
            });
        }
    });
    assert_eq!(s.fake.embed_keys().len(), 40);
    let keys: Vec<ApiKey> = s.keys.iter().map(ApiKey::new).collect();
    assert_eq!(s.pool().usage(&keys).unwrap(), [10, 10, 10, 10]);
}

on_both_engines!(
    one_client_serves_several_threads,
    keys_rotate_across_batches,
    texts_go_in_batches_of_fifty_in_input_order,
    empty_texts_get_zero_vectors_and_are_never_sent,
    a_daily_429_moves_to_the_next_key_and_leaves_it_spent,
    a_permanent_refusal_disables_the_key,
    a_cooldown_is_honoured_by_waiting_for_the_first_key_back,
    a_long_cooldown_goes_to_the_paid_key_instead_of_waiting,
    the_streak_pins_openrouter_only_and_both_clients_follow,
    failures_of_one_process_alone_do_not_pin_the_others,
    openrouter_retries_429_and_5xx_honouring_retry_after,
    openrouter_gives_up_after_its_attempts,
    openrouter_error_in_a_200_is_not_retried_and_lifts_the_pin,
    openrouter_answers_missing_an_input_are_parse_errors,
    openrouter_vectors_are_placed_by_index,
    the_paid_key_serves_when_every_free_key_is_spent_and_is_counted,
    a_daily_429_spends_the_paid_key,
    every_stage_failing_says_what_each_answered,
    missing_fallback_keys_are_named,
    an_empty_pool_names_the_variable_to_set,
    a_successful_batch_costs_one_redis_round_trip,
);
