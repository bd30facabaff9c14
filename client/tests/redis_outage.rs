//! Redis stopped mid-run and started again: the client keeps embedding from an in-process
//! rotation over GEMINI_EMBED_KEY_POOL, warns once, and goes back to the shared pool (and
//! fills an emptied one) when Redis answers again.

mod common;

use std::thread;
use std::time::Duration;

use common::{capture_logs, config, fake_vector, free_keys, FakeProvider, Server};
use gpool_client::{ApiKey, Client, EmbedOptions, Engine};

fn options() -> EmbedOptions {
    EmbedOptions {
        dimensions: 4,
        ..EmbedOptions::default()
    }
}

fn warnings(logs: &str) -> Vec<&str> {
    logs.lines().filter(|l| l.contains(" WARN ")).collect()
}

fn redis_stopped_mid_run_and_started_again(engine: Engine) {
    let mut server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = free_keys(3);
    let k: Vec<&str> = keys.iter().map(String::as_str).collect();
    let client = Client::new(config(&server, &fake, &keys)).unwrap();

    let (_, logs) = capture_logs(|| {
        for text in ["one", "two"] {
            client.embed(&[text], &options()).unwrap();
        }
        assert!(client.is_redis_connected());

        server.stop();
        for i in 0..6 {
            let text = format!("down {i}");
            let vectors = client.embed(&[text.as_str()], &options()).unwrap();
            assert_eq!(vectors, [fake_vector(&text, 1.0, 4)]);
        }
        assert!(!client.is_redis_connected());

        server.start_again();
        thread::sleep(Duration::from_millis(300));
        for text in ["three", "four"] {
            client.embed(&[text], &options()).unwrap();
        }
        assert!(client.is_redis_connected());
    });
    let logs = logs.text();

    // Shared, then every key in turn in process, then shared again from a fresh pool.
    assert_eq!(
        fake.embed_keys(),
        [k[0], k[1], k[0], k[1], k[2], k[0], k[1], k[2], k[0], k[1]]
    );
    let mut pool = server.pool("gemini");
    assert_eq!(
        pool.status().unwrap().keys,
        3,
        "the keys were added to the new server"
    );
    let all: Vec<ApiKey> = keys.iter().map(ApiKey::new).collect();
    assert_eq!(pool.usage(&all).unwrap(), [1, 1, 0]);

    let warned = warnings(&logs);
    assert_eq!(warned.len(), 1, "one warning for the outage:\n{logs}");
    assert!(
        warned[0].contains("redis does not answer") && warned[0].contains("in-process rotation"),
        "{}",
        warned[0]
    );
    assert!(logs.contains("redis answers again"), "{logs}");
}

fn a_client_started_while_redis_is_down_serves_and_joins_later(engine: Engine) {
    let mut server = Server::start(engine);
    let fake = FakeProvider::start();
    let keys = free_keys(2);
    server.stop();

    let (client, logs) = capture_logs(|| {
        let client = Client::new(config(&server, &fake, &keys)).expect("no error for a down redis");
        client.embed(&["abc", "de"], &options()).unwrap();
        client
    });
    assert_eq!(warnings(&logs.text()).len(), 1);
    assert!(!client.is_redis_connected());

    server.start_again();
    thread::sleep(Duration::from_millis(300));
    client.embed(&["abc"], &options()).unwrap();
    assert!(client.is_redis_connected());
    assert_eq!(server.pool("gemini").status().unwrap().keys, 2);
}

fn without_free_keys_an_outage_names_the_variable(engine: Engine) {
    let mut server = Server::start(engine);
    let fake = FakeProvider::start();
    let mut config = config(&server, &fake, &[]);
    config.paid_key = None;
    config.openrouter_key = None;
    server.stop();
    let client = Client::new(config).unwrap();
    let e = client.embed(&["abc"], &options()).unwrap_err().to_string();
    assert!(
        e.contains("redis is down and GEMINI_EMBED_KEY_POOL is not set"),
        "{e}"
    );
}

fn a_redis_that_refuses_the_client_is_an_error_not_an_outage(engine: Engine) {
    let server = Server::start(engine);
    let fake = FakeProvider::start();
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("test-password-0001")
        .query(&mut con)
        .unwrap();
    let e = Client::new(config(&server, &fake, &free_keys(1))).unwrap_err();
    assert!(e.to_string().contains("NOAUTH"), "{e}");

    let mut with_password = config(&server, &fake, &free_keys(1));
    with_password.redis_url = format!("redis://:test-password-0001@127.0.0.1:{}/", server.port());
    let client = Client::new(with_password).unwrap();
    assert!(client.is_redis_connected());
    assert!(!format!("{client:?}").contains("test-password-0001"));
}

on_both_engines!(
    a_redis_that_refuses_the_client_is_an_error_not_an_outage,
    redis_stopped_mid_run_and_started_again,
    a_client_started_while_redis_is_down_serves_and_joins_later,
    without_free_keys_an_outage_names_the_variable,
);
