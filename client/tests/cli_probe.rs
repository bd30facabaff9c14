//! `gpool probe`: every answer reported, a disabled key that answers restored, a daily 429
//! spending the key, spent keys skipped, the lease that lets one process probe at a time,
//! `--every` shared by several processes, and probes that get no answer.

mod cli_support;
mod common;

use std::thread;
use std::time::Duration;

use cli_support::{key, normalized, redis, Gate, Gpool};
use common::{case, free_port, minute_quota, FakeProvider, Reply, Server};
use gpool_client::{ApiKey, Engine};
use redis::Commands;

fn add_keys(server: &Server, n: u32) -> Vec<ApiKey> {
    let keys: Vec<ApiKey> = (1..=n).map(|i| ApiKey::new(key(i))).collect();
    server.pool("gemini").add(&keys).unwrap();
    keys
}

fn lease_exists(server: &Server) -> bool {
    redis(server).exists("gpool:{gemini}:probe-lease").unwrap()
}

#[test]
fn probe_restores_a_disabled_key_and_spends_one_that_answers_a_daily_429() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();
    let k = add_keys(&server, 8);
    let mut pool = server.pool("gemini");
    let invalid = case("gemini-invalid-key");
    // 2 was disabled and answers again; 5 was disabled and still is invalid.
    pool.report(&k[1], "embed", invalid.status, invalid.body.as_bytes())
        .unwrap();
    pool.report(&k[4], "embed", invalid.status, invalid.body.as_bytes())
        .unwrap();
    fake.always(&key(5), invalid.clone());
    // 3 hits its daily embedding quota; 6 its daily generation quota.
    fake.queue(&key(3), case("gemini-daily-embed"));
    fake.queue(&key(6), Reply::new(200, "{}"));
    fake.queue(&key(6), case("gemini-daily-generate"));
    // 4 is already spent for generate: not probed for it.
    pool.spend(&k[3], "generate").unwrap();
    // 7 hits a per-minute limit; 8 gets an overloaded model.
    fake.queue(&key(7), minute_quota(30));
    fake.queue(&key(8), Reply::new(200, "{}"));
    fake.queue(&key(8), case("gemini-overloaded"));

    let run = Gpool::new(&server).with_fake(&fake).run(&["probe"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        normalized(&run.stdout),
        "\
...bbb-0001 embed: ok generate: ok
...bbb-0002 embed: ok generate: ok => was disabled, restored
...bbb-0003 embed: daily (spent until the quota day ends) generate: ok
...bbb-0004 embed: ok generate: skipped (spent)
...bbb-0005 embed: permanent (disabled) generate: permanent (disabled) => still disabled
...bbb-0006 embed: ok generate: daily (spent until the quota day ends)
...bbb-0007 embed: cooldown (cooling <T>) generate: ok
...bbb-0008 embed: ok generate: transient (HTTP 503)
pool 'gemini': probed 8 keys with 15 requests in <T>: 9 ok, 2 daily, 1 cooldown, 2 \
permanent, 1 transient, 0 without answer; 1 restored, 1 skipped"
    );

    let status = pool.status().unwrap();
    assert_eq!(status.keys, 8);
    let embed = &status.classes["embed"];
    assert_eq!(
        (embed.active, embed.spent, embed.cooling, embed.disabled),
        (5, 1, 1, 1),
        "3 spent, 7 cooling, 5 disabled"
    );
    let generate = &status.classes["generate"];
    assert_eq!(
        (
            generate.active,
            generate.spent,
            generate.cooling,
            generate.disabled
        ),
        (5, 2, 0, 1),
        "4 and 6 spent, 5 disabled"
    );
    assert_eq!(generate.streak, 1, "the transient answer came last");
    assert_eq!(pool.next("embed").unwrap(), Some(k[0].clone()));
    assert_eq!(pool.next("embed").unwrap(), Some(k[1].clone()), "2 is back");

    // The smallest requests: one short text, one output token.
    let seen = fake.seen();
    assert_eq!(seen.len(), 15);
    let embed_call = &seen[0];
    assert!(embed_call
        .url
        .ends_with("/v1beta/models/gemini-embedding-001:batchEmbedContents"));
    assert_eq!(
        embed_call.json(),
        serde_json::json!({"requests": [{"model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": "ping"}]}}]})
    );
    let generate_call = &seen[1];
    assert!(generate_call
        .url
        .ends_with("/v1beta/models/gemini-2.5-flash-lite:generateContent"));
    assert_eq!(
        generate_call.json()["generationConfig"]["maxOutputTokens"],
        1
    );
    assert_eq!(generate_call.gemini_key(), Some(key(1).as_str()));
    let calls_with_4: Vec<&str> = seen
        .iter()
        .filter(|s| s.gemini_key() == Some(key(4).as_str()))
        .map(|s| s.url.as_str())
        .collect();
    assert_eq!(calls_with_4.len(), 1);
    assert!(calls_with_4[0].contains(":batchEmbedContents"));

    assert!(!lease_exists(&server), "the lease is released");
    let last: Option<i64> = redis(&server).get("gpool:{gemini}:probe-last").unwrap();
    assert!(last.is_some());
}

#[test]
fn two_probes_at_once_only_one_works() {
    let server = Server::start(Engine::Module);
    let fake = FakeProvider::start();
    let gate = Gate::start();
    add_keys(&server, 3);
    let gpool = Gpool::new(&server);

    let first = gpool
        .clone()
        .env("GEMINI_API_BASE", &gate.base())
        .spawn(&["probe"]);
    gate.wait_for(1);
    assert!(lease_exists(&server));

    let second = gpool.clone().with_fake(&fake).run(&["probe"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert_eq!(second.stdout, "");
    assert!(
        second.stderr.starts_with(&format!(
            "error: pool 'gemini' is being probed by pid {} on ",
            first.pid()
        )),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(
            " unless renewed): wait for it, or run 'gpool probe --every <period>' so that \
             processes take turns\n"
        ),
        "{}",
        second.stderr
    );
    assert!(fake.seen().is_empty(), "the second probe sent nothing");

    gate.open();
    let first = first.finish(Duration::from_secs(10));
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout.lines().count(), 4, "{}", first.stdout);
    assert_eq!(gate.arrived(), 6);
    assert!(!lease_exists(&server));

    // Once the first is done, a probe works again.
    let again = gpool.with_fake(&fake).run(&["probe"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(fake.seen().len(), 6);
}

#[test]
fn processes_probing_every_period_take_turns() {
    let server = Server::start(Engine::Module);
    let gate = Gate::start();
    add_keys(&server, 2);
    let gpool = Gpool::new(&server).env("GEMINI_API_BASE", &gate.base());
    let args = ["probe", "--every", "1h", "--lease", "3s"];

    let first = gpool.spawn(&args);
    gate.wait_for(1);
    let second = gpool.spawn(&args);
    // The second finds the lease taken and waits for it to end (3 s); the first finishes
    // meanwhile and records when, so the second then waits for the next period instead.
    thread::sleep(Duration::from_millis(500));
    gate.open();
    thread::sleep(Duration::from_millis(3500));
    let first_pid = first.pid();
    let first = first.stop();
    let second = second.stop();

    assert_eq!(gate.arrived(), 4, "one round of 2 keys x 2 requests");
    assert!(
        first
            .stdout
            .contains("pool 'gemini': probed 2 keys with 4 requests"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.ends_with("next probe in 1h 00m\n"),
        "{}",
        first.stdout
    );
    assert!(
        second.stdout.starts_with(&format!(
            "pool 'gemini' is being probed by pid {first_pid} on "
        )),
        "{}",
        second.stdout
    );
    assert!(
        !second.stdout.contains("probed 2 keys"),
        "{}",
        second.stdout
    );
    assert_eq!(first.stderr, "");
    assert_eq!(second.stderr, "");
    assert!(!lease_exists(&server));

    // A third one started now sees the recent probe and waits for the period.
    let third = gpool.spawn(&args);
    thread::sleep(Duration::from_millis(500));
    let third = third.stop();
    assert!(
        normalized(&third.stdout)
            .starts_with("pool 'gemini' was probed less than <T> ago; next probe in <T>"),
        "{}",
        third.stdout
    );
    assert_eq!(gate.arrived(), 4);
}

#[test]
fn probes_without_answer_fail_and_change_nothing() {
    let server = Server::start(Engine::Module);
    let k = add_keys(&server, 2);
    let base = format!("http://127.0.0.1:{}", free_port());

    let run = Gpool::new(&server)
        .env("GEMINI_API_BASE", &base)
        .run(&["probe"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.lines();
    assert!(
        lines[0].starts_with("...bbb-0001  embed: no answer ("),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].ends_with("0 ok, 0 daily, 0 cooldown, 0 permanent, 0 transient, 4 without answer; 0 restored, 0 skipped"),
        "{}",
        lines[2]
    );
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(
        run.stderr
            .starts_with("error: 4 of 4 probe requests got no answer (first: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("): check the network, or GEMINI_API_BASE\n"),
        "{}",
        run.stderr
    );

    let mut pool = server.pool("gemini");
    assert!(
        pool.status().unwrap().classes.is_empty(),
        "nothing reported"
    );
    assert_eq!(pool.usage(&k).unwrap(), vec![0, 0]);
    assert!(!lease_exists(&server));
}

#[test]
fn probing_an_empty_pool_says_so() {
    let server = Server::start(Engine::Lua);
    let fake = FakeProvider::start();

    let run = Gpool::new(&server).with_fake(&fake).run(&["probe"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        normalized(&run.stdout),
        "\
pool 'gemini' has no keys: nothing to probe ('gpool add' adds some)
pool 'gemini': probed 0 keys with 0 requests in <T>: 0 ok, 0 daily, 0 cooldown, 0 permanent, \
0 transient, 0 without answer; 0 restored, 0 skipped"
    );
}
