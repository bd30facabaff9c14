//! Many clients at once: every GPOOL.NEXT runs whole, so the rotation hands out each key
//! in turn however the clients' commands interleave.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

use common::{add, add_keys, int_cmd, next, pinned_server, usage_of, RedisServer};

fn ten_keys() -> Vec<String> {
    (1..=10).map(|i| format!("test-key-{i:04}")).collect()
}

/// Runs `per_thread` GPOOL.NEXT on `pool` from each of `classes.len()` threads (each with
/// its connection and its class); how often each key was served, per class.
fn serve_concurrently(
    server: &RedisServer,
    classes: &[&str],
    per_thread: usize,
) -> BTreeMap<String, BTreeMap<String, usize>> {
    let barrier = Arc::new(Barrier::new(classes.len()));
    let handles: Vec<_> = classes
        .iter()
        .map(|class| {
            let mut con = server.conn();
            let class = class.to_string();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                let mut served: BTreeMap<String, usize> = BTreeMap::new();
                for _ in 0..per_thread {
                    let key = next(&mut con, "p", &class).expect("a key, not nil");
                    *served.entry(key).or_default() += 1;
                }
                (class, served)
            })
        })
        .collect();

    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for h in handles {
        let (class, served) = h.join().expect("a client thread panicked");
        let total = out.entry(class).or_default();
        for (k, n) in served {
            *total.entry(k).or_default() += n;
        }
    }
    out
}

#[test]
fn eight_clients_doing_1000_next_each_get_every_key_800_times() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = ten_keys();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    add(&mut con, "p", &key_refs);

    let served = serve_concurrently(&server, &["embed"; 8], 1000);

    let want: BTreeMap<String, usize> = keys.iter().map(|k| (k.clone(), 800)).collect();
    assert_eq!(served["embed"], want);
    assert_eq!(usage_of(&mut con, "p", &key_refs), vec![800; 10]);
    assert_eq!(common::usage_map(&mut con, "p").values().sum::<i64>(), 8000);
}

#[test]
fn two_classes_served_at_once_keep_their_own_rotation() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = ten_keys();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    add_keys(&mut con, "p", &key_refs);
    // Spent for embed only: generate still serves all ten.
    int_cmd(&mut con, &["GPOOL.SPEND", "p", "test-key-0003", "embed"]);
    int_cmd(&mut con, &["GPOOL.SPEND", "p", "test-key-0004", "embed"]);

    let classes = [
        "embed", "generate", "embed", "generate", "embed", "generate", "embed", "generate",
    ];
    let served = serve_concurrently(&server, &classes, 800);

    let embed: BTreeMap<String, usize> = keys
        .iter()
        .filter(|k| *k != "test-key-0003" && *k != "test-key-0004")
        .map(|k| (k.clone(), 400))
        .collect();
    let generate: BTreeMap<String, usize> = keys.iter().map(|k| (k.clone(), 320)).collect();
    assert_eq!(served["embed"], embed);
    assert_eq!(served["generate"], generate);
}
