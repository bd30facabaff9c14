//! `gpool embed`: vectors as JSON lines in input order and nothing else on standard output,
//! zero vectors for empty lines, the summary of which stage served how many texts, and a
//! failure that says how far it got; against the fake provider.

mod cli_support;
mod common;

use std::time::Duration;

use cli_support::{key, Gpool, OPENROUTER, PAID};
use common::{free_port, FakeProvider, Reply, Server};
use gpool_client::{ApiKey, Engine};

fn gpool(server: &Server, fake: &FakeProvider, keys: &[u32]) -> Gpool {
    let list: Vec<String> = keys.iter().map(|n| key(*n)).collect();
    Gpool::new(server)
        .with_fake(fake)
        .env("GEMINI_EMBED_KEY_POOL", &list.join(","))
}

#[test]
fn vectors_come_out_in_input_order_with_zeros_for_empty_lines() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();

    let run = gpool(&server, &fake, &[1, 2]).run_with_stdin(
        &["embed", "--dimensions", "4", "--batch-size", "2"],
        "alpha\n\nbeta\n   \ngamma\n",
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "[5.0,1.0,0.25,0.25]\n[0.0,0.0,0.0,0.0]\n[4.0,1.0,0.25,0.25]\n[0.0,0.0,0.0,0.0]\n\
         [5.0,1.0,0.25,0.25]\n"
    );
    assert_eq!(
        run.stderr,
        "embedded 3 texts: free pool 3, openrouter 0, paid key 0; 2 empty (zero vectors, not \
         sent)\n"
    );

    // Two batches of at most two texts, on the two keys in turn; empty texts never sent.
    assert_eq!(fake.embed_keys(), vec![key(1), key(2)]);
    let sent: Vec<Vec<String>> = fake
        .seen()
        .iter()
        .map(|s| {
            s.json()["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r["content"]["parts"][0]["text"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        })
        .collect();
    assert_eq!(sent, vec![vec!["alpha", "beta"], vec!["gamma"]]);
    assert_eq!(
        fake.seen()[0].json()["requests"][0]["outputDimensionality"],
        4
    );
    let pool_keys = server.pool("gemini").status().unwrap().keys;
    assert_eq!(pool_keys, 2, "GEMINI_EMBED_KEY_POOL added to the pool");
}

#[test]
fn texts_come_from_arguments_and_carriage_returns_are_dropped() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();
    let gpool = gpool(&server, &fake, &[1]);

    let run = gpool.run(&["embed", "--dimensions", "2", "one", "three"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "[3.0,1.0]\n[5.0,1.0]\n");

    let run = gpool.run_with_stdin(&["embed", "--dimensions", "2", "-q"], "ab\r\n\r\nc\r\n");
    assert_eq!(run.stdout, "[2.0,1.0]\n[0.0,0.0]\n[1.0,1.0]\n");
    assert_eq!(run.stderr, "", "--quiet leaves out the summary");

    let run = gpool.run(&["embed", "--dimensions", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "embedded 0 texts: free pool 0, openrouter 0, paid key 0; 0 empty (zero vectors, not \
         sent)\n"
    );

    let run = gpool.run(&["embed", "--batch-size", "101", "x"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value '101' for '--batch-size <BATCH_SIZE>': 101 is not in 1..=100: \
         see 'gpool embed --help'\n"
    );
}

#[test]
fn the_summary_names_the_stage_that_served() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();
    let mut pool = server.pool("gemini");
    pool.add(&[ApiKey::new(key(1))]).unwrap();
    let gpool = gpool(&server, &fake, &[])
        .env("GEMINI_EMBED_PAID_KEY", PAID)
        .env("OPENROUTER_API_KEY", OPENROUTER);
    let args = [
        "embed",
        "--dimensions",
        "2",
        "--batch-size",
        "1",
        "a",
        "",
        "bb",
    ];

    // The free key spent: the paid key serves every batch.
    pool.spend(&ApiKey::new(key(1)), "embed").unwrap();
    let run = gpool.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "[1.0,1.0]\n[0.0,0.0]\n[2.0,1.0]\n");
    assert_eq!(
        run.stderr,
        "embedded 2 texts: free pool 0, openrouter 0, paid key 2; 1 empty (zero vectors, not \
         sent)\n"
    );
    assert_eq!(fake.embed_keys(), vec![PAID, PAID]);

    // openrouter-only pinned: OpenRouter serves (its vectors carry source 2).
    pool.restore_all(&ApiKey::new(key(1))).unwrap();
    pool.pin("openrouter-only", Duration::from_secs(600))
        .unwrap();
    let run = gpool.run(&args);
    assert_eq!(run.stdout, "[1.0,2.0]\n[0.0,0.0]\n[2.0,2.0]\n");
    assert_eq!(
        run.stderr,
        "embedded 2 texts: free pool 0, openrouter 2, paid key 0; 1 empty (zero vectors, not \
         sent)\n"
    );

    // Pinned, and OpenRouter failing: the paid key after it.
    fake.always_openrouter(Reply::new(500, r#"{"error":{"message":"upstream down"}}"#));
    let run = gpool.run(&args);
    assert_eq!(run.stdout, "[1.0,1.0]\n[0.0,0.0]\n[2.0,1.0]\n");
    assert_eq!(
        run.stderr,
        "embedded 2 texts: free pool 0, openrouter 0, paid key 2; 1 empty (zero vectors, not \
         sent)\n"
    );

    // Unpinned: the free key again.
    pool.unpin("openrouter-only").unwrap();
    let run = gpool.run(&args);
    assert!(run
        .stderr
        .starts_with("embedded 2 texts: free pool 2, openrouter 0, paid key 0"));
}

#[test]
fn a_failed_batch_says_how_far_the_run_got() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();
    fake.queue(
        &key(1),
        Reply::new(200, r#"{"embeddings":[{"values":[7,7]}]}"#),
    );
    fake.always(&key(1), common::case("gemini-overloaded"));

    let run = gpool(&server, &fake, &[1]).run(&[
        "embed",
        "--dimensions",
        "2",
        "--batch-size",
        "1",
        "first",
        "second",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "[7.0,7.0]\n", "the first batch's vector is out");
    // The library's warning as it pins openrouter-only, then the error, on one line.
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with(" WARN the free pool keeps failing"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "error: embedding stopped after 1 of 2 texts (their vectors are on standard \
             output): every stage failed: free pool: 3 failures in a row, the last: HTTP 503 \
             for key ...bbb-0001: "
        ),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].ends_with(
            "paid key: GEMINI_EMBED_PAID_KEY is not set: set it to the paid Gemini key, the \
             cascade's last resort: see 'gpool status', or run 'gpool probe' to check the \
             keys"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_pool_with_nothing_to_fall_back_on_fails_with_exit_1() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();

    let run = gpool(&server, &fake, &[]).run(&["embed", "x"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(
            "error: embedding stopped: every stage failed: free pool: pool 'gemini' has no \
             keys: set GEMINI_EMBED_KEY_POOL (or add keys with GPOOL.ADD); paid key: \
             GEMINI_EMBED_PAID_KEY is not set"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(fake.seen().len(), 0);
}

#[test]
fn while_redis_is_down_the_keys_of_the_environment_serve_and_a_warning_says_so() {
    let fake = FakeProvider::start();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let list = format!("{},{}", key(1), key(2));
    let gpool = Gpool::default()
        .with_fake(&fake)
        .env("REDIS_URL", &url)
        .env("GEMINI_EMBED_KEY_POOL", &list);

    let run = gpool.run(&["embed", "--dimensions", "2", "a", "bb"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "[1.0,1.0]\n[2.0,1.0]\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    assert!(
        lines[0].contains("serving from an in-process rotation over GEMINI_EMBED_KEY_POOL"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "embedded 2 texts: free pool 2, openrouter 0, paid key 0; 0 empty (zero vectors, not \
         sent)"
    );
}
