//! `gpool status`: a pool with every kind of state (active, spent, cooling, disabled, a
//! class with every key cooling, projects, usage, a streak, a pin) as a table, as JSON,
//! summary only, redrawn with `--watch`; on the module and on the Lua library.

mod cli_support;
mod common;

use std::thread;
use std::time::Duration;

use cli_support::{key, normalized, Gpool};
use common::{case, minute_quota, Server};
use gpool_client::{ApiKey, Engine};
use serde_json::json;

/// Keys 1 to 5 in pool `gemini`:
/// 1. active, 3 uses today;
/// 2. spent for embed, in project proj-a;
/// 3. cooling for generate (60 s), in project proj-b;
/// 4. disabled (an invalid-key answer);
/// 5. a transient failure for generate, in project proj-a.
///
/// And every key that is not disabled cooling for `summarize`; `openrouter-only` pinned.
fn pool_with_every_state(server: &Server) {
    let mut pool = server.pool("gemini");
    let k: Vec<ApiKey> = (1..=5).map(|n| ApiKey::new(key(n))).collect();
    pool.add(&k).unwrap();
    pool.record(&k[0], 3).unwrap();
    pool.spend(&k[1], "embed").unwrap();
    pool.project("proj-a", &[k[1].clone(), k[4].clone()])
        .unwrap();
    pool.project("proj-b", &[k[2].clone()]).unwrap();
    let minute = minute_quota(60);
    pool.report(&k[2], "generate", minute.status, minute.body.as_bytes())
        .unwrap();
    let invalid = case("gemini-invalid-key");
    pool.report(&k[3], "embed", invalid.status, invalid.body.as_bytes())
        .unwrap();
    let overloaded = case("gemini-overloaded");
    pool.report(
        &k[4],
        "generate",
        overloaded.status,
        overloaded.body.as_bytes(),
    )
    .unwrap();
    for i in [0, 1, 2] {
        pool.report(&k[i], "summarize", minute.status, minute.body.as_bytes())
            .unwrap();
    }
    pool.pin("openrouter-only", Duration::from_secs(1800))
        .unwrap();
}

fn status_table_shows_every_state(engine: Engine) {
    let server = Server::start(engine);
    pool_with_every_state(&server);

    let run = Gpool::new(&server).run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let engine_word = match engine {
        Engine::Module => "module",
        Engine::Lua => "lua",
    };
    let expected = format!(
        "\
pool 'gemini' ({engine_word}): 5 keys; quota day <DAY> (America/Los_Angeles) ends in <T>

class active spent cooling disabled streak next back
embed 3 1 0 1 0 -
generate 3 0 1 1 2 -
summarize 0 0 4 1 3 <T>

pins: openrouter-only (<T> left)

# key embed generate summarize used today project
1 ...bbb-0001 active active cooling <T> 3 -
2 ...bbb-0002 spent active cooling <T> 0 proj-a
3 ...bbb-0003 active cooling <T> cooling <T> 0 proj-b
4 ...bbb-0004 disabled disabled disabled 0 -
5 ...bbb-0005 active active cooling <T> 0 proj-a"
    );
    assert_eq!(normalized(&run.stdout), expected, "\n{}", run.stdout);

    // The columns line up: every row of the key table has its state cells where the
    // header has its class names.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let header = lines.iter().position(|l| l.starts_with('#')).unwrap();
    let column = lines[header].find("generate").unwrap();
    for row in &lines[header + 1..] {
        let cell = &row[column..];
        assert!(
            ["active", "cooling", "disabled"]
                .iter()
                .any(|w| cell.starts_with(w)),
            "{row}"
        );
    }
}

fn status_json_has_the_same_for_scripts(engine: Engine) {
    let server = Server::start(engine);
    pool_with_every_state(&server);
    let day = server.pool("gemini").status().unwrap().day;

    let run = Gpool::new(&server).run(&["status", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();

    // Times move with the clock: check their range, then compare the rest exactly.
    let reset_in = value["reset_in"].as_u64().unwrap();
    assert!((1..=25 * 3600).contains(&reset_in), "{reset_in}");
    value["reset_in"] = json!(0);
    let pin = value["pins"]["openrouter-only"].as_u64().unwrap();
    assert!((1790..=1800).contains(&pin), "{pin}");
    value["pins"]["openrouter-only"] = json!(0);
    let next = value["classes"]["summarize"]["next_ready_in"]
        .as_u64()
        .unwrap();
    assert!((50..=60).contains(&next), "{next}");
    value["classes"]["summarize"]["next_ready_in"] = json!(0);
    for row in value["by_key"].as_array_mut().unwrap() {
        for (_, state) in row["classes"].as_object_mut().unwrap() {
            if let Some(left) = state.get("back_in").and_then(|v| v.as_u64()) {
                assert!((50..=60).contains(&left), "{left}");
                state["back_in"] = json!(0);
            }
        }
    }

    let engine_word = match engine {
        Engine::Module => "module",
        Engine::Lua => "lua",
    };
    let active = json!({"state": "active"});
    let spent = json!({"state": "spent"});
    let cooling = json!({"state": "cooling", "back_in": 0});
    let disabled = json!({"state": "disabled"});
    let row = |n: u32,
               usage: u64,
               project: Option<&str>,
               e: &serde_json::Value,
               g: &serde_json::Value,
               s: &serde_json::Value| {
        json!({
            "fingerprint": format!("...bbb-{n:04}"),
            "position": n,
            "disabled": n == 4,
            "usage": usage,
            "project": project,
            "classes": {"embed": e, "generate": g, "summarize": s},
        })
    };
    let expected = json!({
        "pool": "gemini",
        "engine": engine_word,
        "keys": 5,
        "day": day,
        "timezone": "America/Los_Angeles",
        "reset_in": 0,
        "classes": {
            "embed": {"active": 3, "spent": 1, "cooling": 0, "disabled": 1, "streak": 0,
                      "next_ready_in": 0},
            "generate": {"active": 3, "spent": 0, "cooling": 1, "disabled": 1, "streak": 2,
                         "next_ready_in": 0},
            "summarize": {"active": 0, "spent": 0, "cooling": 4, "disabled": 1, "streak": 3,
                          "next_ready_in": 0},
        },
        "pins": {"openrouter-only": 0},
        "by_key": [
            row(1, 3, None, &active, &active, &cooling),
            row(2, 0, Some("proj-a"), &spent, &active, &cooling),
            row(3, 0, Some("proj-b"), &active, &cooling, &cooling),
            row(4, 0, None, &disabled, &disabled, &disabled),
            row(5, 0, Some("proj-a"), &active, &active, &cooling),
        ],
    });
    assert_eq!(value, expected);
}

on_both_engines!(
    status_table_shows_every_state,
    status_json_has_the_same_for_scripts
);

#[test]
fn status_summary_leaves_out_the_keys() {
    let server = Server::start(Engine::Module);
    pool_with_every_state(&server);
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["status", "--summary"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(normalized(&run.stdout).ends_with("\n\npins: openrouter-only (<T> left)"));
    assert!(!run.stdout.contains("bbb-"), "{}", run.stdout);

    let run = gpool.run(&["status", "--summary", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["keys"], 5);
    assert!(value.get("by_key").is_none());
}

#[test]
fn status_of_an_empty_pool_says_what_to_do() {
    let server = Server::start(Engine::Module);

    let run = Gpool::new(&server).run(&["--pool", "empty", "status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        normalized(&run.stdout),
        "\
pool 'empty' (module): 0 keys; quota day <DAY> (America/Los_Angeles) ends in <T>

no class has used the pool yet

pins: none

no keys: add some with 'gpool add'"
    );
}

#[test]
fn status_watch_redraws_until_stopped() {
    let server = Server::start(Engine::Module);
    pool_with_every_state(&server);
    let gpool = Gpool::new(&server);

    let watch = gpool.spawn(&["status", "--json", "--watch", "0.2"]);
    thread::sleep(Duration::from_millis(700));
    server.pool("gemini").add(&[ApiKey::new(key(6))]).unwrap();
    thread::sleep(Duration::from_millis(700));
    let run = watch.stop();
    let documents: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document a line"))
        .collect();
    assert!(documents.len() >= 4, "{}", run.stdout);
    assert_eq!(documents.first().unwrap()["keys"], 5);
    assert_eq!(
        documents.last().unwrap()["keys"],
        6,
        "the key added meanwhile shows"
    );

    let watch = gpool.spawn(&["status", "--summary", "--watch", "0.2"]);
    thread::sleep(Duration::from_millis(700));
    let run = watch.stop();
    let frames = run.stdout.matches("pool 'gemini' (module)").count();
    assert!(frames >= 2, "{}", run.stdout);
    assert!(
        !run.stdout.contains('\x1b'),
        "no screen control when not a terminal"
    );
    assert_eq!(run.stderr, "");

    // A pool name the pool refuses stops the watch at once.
    let run = gpool.run(&["--pool", "a b", "status", "--watch", "1"]);
    assert_eq!(run.code, 2);
}

#[test]
fn status_shows_the_paid_key_kept_in_its_own_pool() {
    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server);
    let mut free = server.pool("gemini");
    free.add(&[ApiKey::new(key(1))]).unwrap();

    // No paid key in the pool yet: no line.
    let run = gpool.run(&["status", "--summary"]);
    assert!(!run.stdout.contains("paid key"), "{}", run.stdout);

    // The client keeps the paid key in gemini-paid; a 401 disables it there.
    let mut paid = server.pool("gemini-paid");
    let paid_key = ApiKey::new(key(7));
    paid.add(std::slice::from_ref(&paid_key)).unwrap();
    let invalid = case("gemini-invalid-key");
    paid.report(&paid_key, "embed", invalid.status, invalid.body.as_bytes())
        .unwrap();
    let run = gpool.run(&["status", "--summary"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.ends_with(
            "\npaid key: pool 'gemini-paid', 1 key: embed 1 disabled; see 'gpool --pool \
             gemini-paid status'\n"
        ),
        "{}",
        run.stdout
    );
    // The paid pool's own status has no such line.
    let run = gpool.run(&["--pool", "gemini-paid", "status", "--summary"]);
    assert!(!run.stdout.contains("paid key:"), "{}", run.stdout);
}
