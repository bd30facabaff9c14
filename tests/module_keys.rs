//! The key layout of docs/keys.md: after a few commands, exactly these keys, of these
//! types, holding these values, expiring at the end of the quota day.

mod common;

use common::{
    add_keys, hash, int_cmd, next, pinned_server, spend, zset, Dump, Entry, RedisServer, Stored,
};

/// Seconds left in the quota day at `NOON_JUNE_15`.
const SECONDS_LEFT: i64 = 43_200;

/// Checks every key of `dump` against `want` (name -> value, expires today or never).
/// A time to live may be up to 2 s below the seconds left by the pinned clock: real time
/// runs on between the write and the dump, and TTL rounds.
fn assert_layout(dump: &Dump, want: &[(&str, Stored, bool)]) {
    let names: Vec<&str> = dump.keys().map(String::as_str).collect();
    let mut want_names: Vec<&str> = want.iter().map(|(n, _, _)| *n).collect();
    want_names.sort();
    assert_eq!(names, want_names, "key names; the dump: {dump:#?}");
    for (name, value, expires) in want {
        let Entry { value: got, ttl } = &dump[*name];
        assert_eq!(got, value, "value of {name}");
        if *expires {
            assert!(
                (SECONDS_LEFT - 2..=SECONDS_LEFT).contains(ttl),
                "{name} lives {ttl} s, not the {SECONDS_LEFT} s left in the quota day"
            );
        } else {
            assert_eq!(*ttl, -1, "{name} must not expire");
        }
    }
}

#[test]
fn add_makes_the_ring_and_the_position_counter() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );

    assert_layout(
        &server.dump().unwrap(),
        &[
            (
                "gpool:{p}:ring",
                zset(&[
                    ("test-key-0001", 1),
                    ("test-key-0002", 2),
                    ("test-key-0003", 3),
                ]),
                false,
            ),
            ("gpool:{p}:meta", hash(&[("seq", "3")]), false),
        ],
    );
}

#[test]
fn a_few_commands_leave_exactly_the_documented_keys() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );
    spend(&mut con, "test-key-0003", "embed");
    spend(&mut con, "test-key-0001", "generate");
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0002", "5"]);

    assert_layout(
        &server.dump().unwrap(),
        &[
            (
                "gpool:{p}:ring",
                zset(&[
                    ("test-key-0001", 1),
                    ("test-key-0002", 2),
                    ("test-key-0003", 3),
                ]),
                false,
            ),
            ("gpool:{p}:meta", hash(&[("seq", "3")]), false),
            (
                "gpool:{p}:cursor",
                hash(&[("embed", "2"), ("generate", "0")]),
                false,
            ),
            (
                "gpool:{p}:usage:2026-06-15",
                hash(&[("test-key-0001", "1"), ("test-key-0002", "6")]),
                true,
            ),
            (
                "gpool:{p}:spent:embed:2026-06-15",
                zset(&[("test-key-0003", 3)]),
                true,
            ),
            ("gpool:{p}:skip:embed:2026-06-15", zset(&[("3", 3)]), true),
            (
                "gpool:{p}:spent:generate:2026-06-15",
                zset(&[("test-key-0001", 1)]),
                true,
            ),
            (
                "gpool:{p}:skip:generate:2026-06-15",
                zset(&[("1", 1)]),
                true,
            ),
        ],
    );
}

#[test]
fn skip_runs_join_split_shorten_and_merge() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = [
        "test-key-0001",
        "test-key-0002",
        "test-key-0003",
        "test-key-0004",
        "test-key-0005",
        "test-key-0006",
    ];
    add_keys(&mut con, "p", &keys);
    let skip = |server: &RedisServer| {
        server.dump().unwrap()["gpool:{p}:skip:embed:2026-06-15"]
            .value
            .clone()
    };

    spend(&mut con, "test-key-0002", "embed");
    spend(&mut con, "test-key-0003", "embed");
    spend(&mut con, "test-key-0005", "embed");
    assert_eq!(skip(&server), zset(&[("2", 3), ("5", 5)]), "two runs");

    spend(&mut con, "test-key-0004", "embed");
    assert_eq!(
        skip(&server),
        zset(&[("2", 5)]),
        "spending 4 joins both runs"
    );

    int_cmd(&mut con, &["GPOOL.RESTORE", "p", "test-key-0003", "embed"]);
    assert_eq!(
        skip(&server),
        zset(&[("2", 2), ("4", 5)]),
        "restoring 3 splits the run"
    );

    int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0004"]);
    assert_eq!(
        skip(&server),
        zset(&[("2", 2), ("5", 5)]),
        "removing 4 shortens its run"
    );

    int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0003"]);
    assert_eq!(
        skip(&server),
        zset(&[("2", 5)]),
        "removing 3 merges the runs around it"
    );

    spend(&mut con, "test-key-0006", "embed");
    spend(&mut con, "test-key-0001", "embed");
    assert_eq!(skip(&server), zset(&[("1", 6)]), "every key spent: one run");

    assert_eq!(
        server.dump().unwrap()["gpool:{p}:spent:embed:2026-06-15"].value,
        zset(&[
            ("test-key-0001", 1),
            ("test-key-0002", 2),
            ("test-key-0005", 5),
            ("test-key-0006", 6)
        ])
    );

    for k in [
        "test-key-0001",
        "test-key-0002",
        "test-key-0005",
        "test-key-0006",
    ] {
        int_cmd(&mut con, &["GPOOL.RESTORE", "p", k, "embed"]);
    }
    let dump = server.dump().unwrap();
    assert!(
        !dump.contains_key("gpool:{p}:skip:embed:2026-06-15"),
        "{dump:#?}"
    );
    assert!(
        !dump.contains_key("gpool:{p}:spent:embed:2026-06-15"),
        "{dump:#?}"
    );
}

#[test]
fn removing_keys_takes_their_state_and_positions_keep_growing() {
    let server = pinned_server();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );
    next(&mut con, "p", "embed");
    spend(&mut con, "test-key-0002", "embed");
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0002"]);

    assert_eq!(
        int_cmd(
            &mut con,
            &["GPOOL.REMOVE", "p", "test-key-0001", "test-key-0002"]
        ),
        2
    );
    assert_layout(
        &server.dump().unwrap(),
        &[
            ("gpool:{p}:meta", hash(&[("seq", "2")]), false),
            ("gpool:{p}:cursor", hash(&[("embed", "1")]), false),
        ],
    );

    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0003", "test-key-0001"],
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0003")
    );
    assert_layout(
        &server.dump().unwrap(),
        &[
            (
                "gpool:{p}:ring",
                zset(&[("test-key-0003", 3), ("test-key-0001", 4)]),
                false,
            ),
            ("gpool:{p}:meta", hash(&[("seq", "4")]), false),
            ("gpool:{p}:cursor", hash(&[("embed", "3")]), false),
            (
                "gpool:{p}:usage:2026-06-15",
                hash(&[("test-key-0003", "1")]),
                true,
            ),
        ],
    );
}

#[test]
fn class_names_with_colons_keep_the_day_last() {
    let server = pinned_server();
    let mut con = server.conn();
    int_cmd(&mut con, &["GPOOL.ADD", "a:b", "test-key-0001"]);
    int_cmd(
        &mut con,
        &["GPOOL.SPEND", "a:b", "test-key-0001", "x:2026-01-01"],
    );

    let names: Vec<String> = server.dump().unwrap().into_keys().collect();
    assert_eq!(
        names,
        [
            "gpool:{a:b}:cursor",
            "gpool:{a:b}:meta",
            "gpool:{a:b}:ring",
            "gpool:{a:b}:skip:x:2026-01-01:2026-06-15",
            "gpool:{a:b}:spent:x:2026-01-01:2026-06-15",
        ]
    );
}

#[test]
fn day_keys_expire_when_the_quota_day_ends_by_the_pinned_clock() {
    let server = RedisServer::with_debug_clock();
    // 2026-06-15 23:59:00 in Los Angeles: one minute left.
    server.pin_clock(common::utc(2026, 6, 16, 6, 59, 0));
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );
    next(&mut con, "p", "embed");
    spend(&mut con, "test-key-0002", "embed");

    let dump = server.dump().unwrap();
    for name in [
        "gpool:{p}:usage:2026-06-15",
        "gpool:{p}:spent:embed:2026-06-15",
        "gpool:{p}:skip:embed:2026-06-15",
    ] {
        let ttl = dump
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {dump:#?}"))
            .ttl;
        assert!((58..=60).contains(&ttl), "{name} lives {ttl} s, not 60");
    }
}
