//! `gpool import-legacy`: the Python pool's keys, written the way it wrote them (an INCR
//! counter with an expiry at midnight, flags set with a time to live, the older flag for
//! both classes), moved into a pool: counts raised, spent marks set, unmatched and
//! ambiguous suffixes reported and left alone, a second run changing nothing, a dry run,
//! and a legacy Redis apart from the pool's.

mod cli_support;
mod common;

use cli_support::{key, redis, secret, Gpool};
use common::Server;
use gpool_client::{ApiKey, Engine};
use redis::Commands;

/// Writes what the Python pool wrote for a key ending in `suffix`: `count` uses recorded
/// one INCR at a time, each followed by a new expiry, and its spent flags.
fn write_legacy(con: &mut redis::Connection, suffix: &str, count: u32, flags: &[&str]) {
    let name = format!("gemini_key_daily_usage:{suffix}");
    let midnight = 4_102_444_800_i64; // far enough ahead for any test run
    for _ in 0..count {
        let mut pipe = redis::pipe();
        pipe.incr(format!("{name}:count"), 1)
            .expire_at(format!("{name}:count"), midnight);
        let _: () = pipe.query(con).unwrap();
    }
    for flag in flags {
        let _: () = con.set_ex(format!("{name}:{flag}"), "1", 3600).unwrap();
    }
}

/// A pool of keys 1 to 4 and two keys sharing the suffix `dup-0042`, key 1 used 10 times
/// and key 4 8 times today.
fn pool_and_python_state(pool_server: &Server, legacy_server: &Server) {
    let mut pool = pool_server.pool("gemini");
    let mut keys: Vec<ApiKey> = (1..=4).map(|n| ApiKey::new(key(n))).collect();
    keys.push(ApiKey::new(secret("test-key-cli-xxxx-dup-0042")));
    keys.push(ApiKey::new(secret("test-key-cli-yyyy-dup-0042")));
    pool.add(&keys).unwrap();
    pool.record(&keys[0], 10).unwrap();
    pool.record(&keys[3], 8).unwrap();

    let mut con = redis(legacy_server);
    write_legacy(&mut con, "bbb-0001", 57, &["spent:embed"]);
    write_legacy(&mut con, "bbb-0002", 5, &["spent"]);
    write_legacy(&mut con, "bbb-0003", 0, &["spent:generate"]);
    write_legacy(&mut con, "bbb-0004", 3, &[]);
    write_legacy(&mut con, "dup-0042", 7, &[]);
    write_legacy(&mut con, "zzz-9999", 12, &["spent:embed"]);
    let _: () = con
        .set("gemini_key_daily_usage:bbb-0001:other", "x")
        .unwrap();
}

fn import_lines(url: &str) -> String {
    format!(
        "\
ignored gemini_key_daily_usage:...1:other: not a count or flag the Python pool wrote
...bbb-0001: usage today 10 -> 57 (+47); spent for embed
...bbb-0002: usage today 0 -> 5 (+5); spent for embed, generate
...bbb-0003: no legacy count; spent for generate
...bbb-0004: usage today 8 (legacy count 3, not more)
...dup-0042: 2 keys of pool 'gemini' end in it (positions 5, 6); left alone (count 7): move \
its state by hand with 'gpool spend'
...zzz-9999: no key of pool 'gemini' ends in it; left alone (count 12, spent for embed)
pool 'gemini': 6 legacy suffixes from {url}: 4 imported, 1 unmatched, 1 ambiguous; usage \
raised on 2 keys by 52 uses in all; 4 spent marks (4 new)"
    )
}

#[test]
fn legacy_counts_and_spent_marks_move_into_the_pool() {
    let server = Server::start(Engine::Module);
    pool_and_python_state(&server, &server);
    let gpool = Gpool::new(&server);
    let mut pool = server.pool("gemini");
    let key = |n: u32| ApiKey::new(key(n));

    // A dry run shows the import and changes nothing.
    let run = gpool.run(&["import-legacy", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "{}; dry run: nothing was changed\n",
            import_lines(&server.url())
        )
    );
    assert_eq!(pool.usage(&[key(1), key(2)]).unwrap(), vec![10, 0]);
    assert!(pool.status().unwrap().classes.is_empty());

    let run = gpool.run(&["import-legacy"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "{}; the legacy keys are left as they were\n",
            import_lines(&server.url())
        )
    );

    assert_eq!(
        pool.usage(&[key(1), key(2), key(3), key(4)]).unwrap(),
        vec![57, 5, 0, 8]
    );
    let status = pool.status().unwrap();
    assert_eq!(status.classes["embed"].spent, 2, "keys 1 and 2");
    assert_eq!(status.classes["generate"].spent, 2, "keys 2 and 3");
    assert_eq!(pool.next("embed").unwrap(), Some(key(3)));
    assert_eq!(pool.next("generate").unwrap(), Some(key(1)));

    // The legacy keys are as they were.
    let mut con = redis(&server);
    let count: String = con.get("gemini_key_daily_usage:bbb-0001:count").unwrap();
    assert_eq!(count, "57");
    let ttl: i64 = con.ttl("gemini_key_daily_usage:bbb-0001:count").unwrap();
    assert!(ttl > 0);
    let flag: String = con
        .get("gemini_key_daily_usage:zzz-9999:spent:embed")
        .unwrap();
    assert_eq!(flag, "1");

    // Again: nothing more is counted or spent.
    let run = gpool.run(&["import-legacy"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.lines();
    assert_eq!(
        lines[1],
        "...bbb-0001: usage today 58 (legacy count 57, not more); spent for embed (already)"
    );
    assert_eq!(
        lines[2],
        "...bbb-0002: usage today 5 (legacy count 5, not more); spent for embed (already), \
         generate (already)"
    );
    assert_eq!(
        lines[7],
        format!(
            "pool 'gemini': 6 legacy suffixes from {}: 4 imported, 1 unmatched, 1 ambiguous; \
             usage raised on 0 keys by 0 uses in all; 4 spent marks (0 new); the legacy keys \
             are left as they were",
            server.url()
        )
    );
    assert_eq!(
        pool.usage(&[key(1), key(2)]).unwrap(),
        vec![58, 5],
        "the NEXT above counted once"
    );
}

#[test]
fn the_legacy_state_can_come_from_another_redis() {
    let server = Server::start(Engine::Lua);
    let legacy = Server::start(Engine::Module);
    pool_and_python_state(&server, &legacy);

    let run = Gpool::new(&server).run(&["import-legacy", "--from", &legacy.url()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "{}; the legacy keys are left as they were\n",
            import_lines(&legacy.url())
        )
    );
    let mut pool = server.pool("gemini");
    assert_eq!(pool.usage(&[ApiKey::new(key(1))]).unwrap(), vec![57]);

    // The pool's own Redis holds no legacy keys.
    let run = Gpool::new(&server).run(&["import-legacy"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "no legacy keys (gemini_key_daily_usage:*) in {}: nothing to import\n",
            server.url()
        )
    );

    let run = Gpool::new(&server).run(&["import-legacy", "--from", "mysql://x"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid --from 'mysql://x': use redis://[user:password@]host:port[/db]\n"
    );
}
