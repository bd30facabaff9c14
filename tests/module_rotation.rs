//! Rotation, spending and counting through the module's commands, one behaviour a test.

mod common;

use common::{
    add_keys, call, errors, fingerprint, int_cmd, next, pinned_server, spend, status, usage_map,
    usage_of, RedisServer, NOON_JUNE_15,
};
use redis::{Connection, Value};

/// Runs `GPOOL.RESTORE p <key> <class>` on pool `p`; its answer.
fn restore(con: &mut Connection, key: &str, class: &str) -> i64 {
    int_cmd(con, &["GPOOL.RESTORE", "p", key, class])
}

/// Runs `GPOOL.NEXT` `n` times; each reply, None for nil.
fn nexts(con: &mut Connection, pool: &str, class: &str, n: usize) -> Vec<Option<String>> {
    (0..n).map(|_| next(con, pool, class)).collect()
}

fn served(keys: &[&str]) -> Vec<Option<String>> {
    keys.iter().map(|k| Some(k.to_string())).collect()
}

#[test]
fn pinned_time_is_noon_in_los_angeles() {
    assert_eq!(NOON_JUNE_15, common::utc(2026, 6, 15, 19, 0, 0));
}

#[test]
fn next_serves_keys_in_ring_order_and_wraps() {
    let server = pinned_server();
    let mut con = server.conn();
    assert_eq!(
        add_keys(
            &mut con,
            "p",
            &["test-key-0001", "test-key-0002", "test-key-0003"]
        ),
        3
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 7),
        served(&[
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0001",
        ])
    );
}

#[test]
fn keys_added_later_join_the_end_of_the_ring() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );

    assert_eq!(add_keys(&mut con, "p", &["test-key-0003"]), 1);

    assert_eq!(
        nexts(&mut con, "p", "embed", 3),
        served(&["test-key-0003", "test-key-0001", "test-key-0002"])
    );
}

#[test]
fn each_class_has_its_own_cursor() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 2),
        served(&["test-key-0001", "test-key-0002"])
    );
    // A class's first NEXT serves the first key, whatever other classes did.
    assert_eq!(
        next(&mut con, "p", "generate").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0003")
    );
    assert_eq!(
        next(&mut con, "p", "generate").as_deref(),
        Some("test-key-0002")
    );
}

#[test]
fn each_class_has_its_own_spent_keys() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);

    assert_eq!(spend(&mut con, "test-key-0001", "embed"), 1);

    assert_eq!(
        nexts(&mut con, "p", "embed", 2),
        served(&["test-key-0002", "test-key-0002"])
    );
    assert_eq!(
        nexts(&mut con, "p", "generate", 2),
        served(&["test-key-0001", "test-key-0002"])
    );
}

#[test]
fn next_skips_keys_spent_for_that_class() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = [
        "test-key-0001",
        "test-key-0002",
        "test-key-0003",
        "test-key-0004",
        "test-key-0005",
    ];
    add_keys(&mut con, "p", &keys);
    spend(&mut con, "test-key-0002", "embed");
    spend(&mut con, "test-key-0003", "embed");
    spend(&mut con, "test-key-0005", "embed");

    assert_eq!(
        nexts(&mut con, "p", "embed", 5),
        served(&[
            "test-key-0001",
            "test-key-0004",
            "test-key-0001",
            "test-key-0004",
            "test-key-0001"
        ])
    );
}

#[test]
fn next_wraps_past_spent_keys_at_the_end_of_the_ring() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &[
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0004",
        ],
    );
    assert_eq!(
        nexts(&mut con, "p", "embed", 2),
        served(&["test-key-0001", "test-key-0002"])
    );
    spend(&mut con, "test-key-0003", "embed");
    spend(&mut con, "test-key-0004", "embed");
    spend(&mut con, "test-key-0001", "embed");

    // Only test-key-0002, the cursor's own key, is left: it is served again and again.
    assert_eq!(
        nexts(&mut con, "p", "embed", 3),
        served(&["test-key-0002", "test-key-0002", "test-key-0002"])
    );
}

#[test]
fn next_is_nil_when_every_key_is_spent_for_the_class() {
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
    for k in ["test-key-0001", "test-key-0002", "test-key-0003"] {
        assert_eq!(spend(&mut con, k, "embed"), 1);
    }

    assert_eq!(nexts(&mut con, "p", "embed", 2), vec![None, None]);
    assert_eq!(
        next(&mut con, "p", "generate").as_deref(),
        Some("test-key-0001")
    );
}

#[test]
fn next_is_nil_on_an_empty_pool() {
    let server = pinned_server();
    let mut con = server.conn();

    assert_eq!(next(&mut con, "never-made", "embed"), None);

    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);
    next(&mut con, "p", "embed");
    assert_eq!(
        int_cmd(
            &mut con,
            &["GPOOL.REMOVE", "p", "test-key-0001", "test-key-0002"]
        ),
        2
    );
    assert_eq!(next(&mut con, "p", "embed"), None);
    assert_eq!(next(&mut con, "p", "generate"), None);
}

#[test]
fn spend_answers_1_the_first_time_and_0_after() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);

    assert_eq!(spend(&mut con, "test-key-0001", "embed"), 1);
    assert_eq!(spend(&mut con, "test-key-0001", "embed"), 0);
    assert_eq!(spend(&mut con, "test-key-0001", "generate"), 1);
}

#[test]
fn restore_answers_1_only_for_a_spent_key() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);
    spend(&mut con, "test-key-0001", "embed");

    assert_eq!(restore(&mut con, "test-key-0001", "generate"), 0);
    assert_eq!(restore(&mut con, "test-key-0002", "embed"), 0);
    assert_eq!(restore(&mut con, "test-key-0001", "embed"), 1);
    assert_eq!(restore(&mut con, "test-key-0001", "embed"), 0);
}

#[test]
fn a_restored_key_is_served_again() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );
    spend(&mut con, "test-key-0002", "embed");
    assert_eq!(
        nexts(&mut con, "p", "embed", 3),
        served(&["test-key-0001", "test-key-0003", "test-key-0001"])
    );

    assert_eq!(restore(&mut con, "test-key-0002", "embed"), 1);

    assert_eq!(
        nexts(&mut con, "p", "embed", 3),
        served(&["test-key-0002", "test-key-0003", "test-key-0001"])
    );
}

#[test]
fn a_key_removed_at_the_cursor_is_never_served_and_rotation_goes_on() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &[
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0004",
        ],
    );
    assert_eq!(
        nexts(&mut con, "p", "embed", 2),
        served(&["test-key-0001", "test-key-0002"])
    );

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0002"]),
        1
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 6),
        served(&[
            "test-key-0003",
            "test-key-0004",
            "test-key-0001",
            "test-key-0003",
            "test-key-0004",
            "test-key-0001"
        ])
    );
}

#[test]
fn a_key_removed_just_after_the_cursor_is_passed_over() {
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
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0002"]),
        1
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 3),
        served(&["test-key-0003", "test-key-0001", "test-key-0003"])
    );
}

#[test]
fn a_removed_spent_key_leaves_the_other_spent_keys_skipped() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = [
        "test-key-0001",
        "test-key-0002",
        "test-key-0003",
        "test-key-0004",
        "test-key-0005",
    ];
    add_keys(&mut con, "p", &keys);
    for k in ["test-key-0002", "test-key-0003", "test-key-0004"] {
        spend(&mut con, k, "embed");
    }

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0003"]),
        1
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 4),
        served(&[
            "test-key-0001",
            "test-key-0005",
            "test-key-0001",
            "test-key-0005"
        ])
    );
}

#[test]
fn remove_counts_only_keys_that_were_in_the_pool() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0009"]),
        0
    );
    assert_eq!(
        int_cmd(
            &mut con,
            &[
                "GPOOL.REMOVE",
                "p",
                "test-key-0001",
                "test-key-0001",
                "test-key-0009"
            ]
        ),
        1
    );
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0001"]),
        0
    );
    assert_eq!(status(&mut con, "p").keys, 1);
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "empty", "test-key-0001"]),
        0
    );
}

#[test]
fn add_counts_only_new_keys_and_keeps_the_first_position() {
    let server = pinned_server();
    let mut con = server.conn();

    assert_eq!(
        add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]),
        2
    );
    assert_eq!(
        add_keys(
            &mut con,
            "p",
            &["test-key-0002", "test-key-0003", "test-key-0003"]
        ),
        1
    );
    assert_eq!(add_keys(&mut con, "p", &["test-key-0001"]), 0);

    assert_eq!(status(&mut con, "p").keys, 3);
    assert_eq!(
        nexts(&mut con, "p", "embed", 4),
        served(&[
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0001"
        ])
    );
}

#[test]
fn a_key_added_again_after_removal_goes_to_the_end_without_its_old_state() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );
    spend(&mut con, "test-key-0001", "embed");
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0001", "7"]);

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.REMOVE", "p", "test-key-0001"]),
        1
    );
    assert_eq!(add_keys(&mut con, "p", &["test-key-0001"]), 1);

    assert_eq!(usage_of(&mut con, "p", &["test-key-0001"]), vec![0]);
    assert_eq!(
        nexts(&mut con, "p", "embed", 4),
        served(&[
            "test-key-0002",
            "test-key-0003",
            "test-key-0001",
            "test-key-0002"
        ])
    );
}

#[test]
fn next_and_record_count_uses_per_key() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );
    nexts(&mut con, "p", "embed", 4);
    nexts(&mut con, "p", "generate", 1);

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0002"]),
        2
    );
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0002", "5"]),
        7
    );
    assert_eq!(
        int_cmd(
            &mut con,
            &["GPOOL.RECORD", "p", "test-key-0003", "1000000000"]
        ),
        1_000_000_001
    );

    assert_eq!(
        usage_of(
            &mut con,
            "p",
            &[
                "test-key-0003",
                "test-key-0001",
                "test-key-0009",
                "test-key-0002",
                "test-key-0001"
            ]
        ),
        vec![1_000_000_001, 3, 0, 7, 3]
    );
}

#[test]
fn spend_and_restore_count_no_use() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001"]);
    spend(&mut con, "test-key-0001", "embed");
    restore(&mut con, "test-key-0001", "embed");
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );

    assert_eq!(usage_of(&mut con, "p", &["test-key-0001"]), vec![1]);
}

#[test]
fn usage_without_keys_maps_fingerprints_to_counts() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = [
        "test-key-0001-abcdefgh",
        "test-key-0002-ijklmnop",
        "test-key-0003-qrstuvwx",
    ];
    add_keys(&mut con, "p", &keys);
    nexts(&mut con, "p", "embed", 4);
    int_cmd(
        &mut con,
        &["GPOOL.RECORD", "p", "test-key-0003-qrstuvwx", "10"],
    );

    let expected = [
        ("...abcdefgh".to_string(), 2),
        ("...ijklmnop".to_string(), 1),
        ("...qrstuvwx".to_string(), 11),
    ]
    .into_iter()
    .collect();
    assert_eq!(usage_map(&mut con, "p"), expected);

    // Over RESP3 the same reply is a map.
    let mut con3 = server.conn_resp3();
    let reply = call(&mut con3, &["GPOOL.USAGE", "p"]).unwrap();
    assert!(
        matches!(reply, Value::Map(_)),
        "RESP3 GPOOL.USAGE: {reply:?}"
    );
    assert_eq!(usage_map(&mut con3, "p"), expected);
}

#[test]
fn usage_of_an_empty_pool_is_an_empty_map() {
    let server = pinned_server();
    let mut con = server.conn();
    assert_eq!(usage_map(&mut con, "p"), Default::default());
    assert_eq!(usage_of(&mut con, "p", &["test-key-0001"]), vec![0]);
}

#[test]
fn usage_lists_keys_never_used_today_with_zero() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001-abcdefgh", "test-key-0002-ijklmnop"],
    );
    next(&mut con, "p", "embed");

    let expected = [
        ("...abcdefgh".to_string(), 1),
        ("...ijklmnop".to_string(), 0),
    ]
    .into_iter()
    .collect();
    assert_eq!(usage_map(&mut con, "p"), expected);
}

#[test]
fn fingerprints_show_at_most_eight_characters_and_at_most_half_the_key() {
    let server = pinned_server();
    let mut con = server.conn();
    let keys = [
        "a",
        "bc",
        "def",
        "ghij",
        "klmnopqrstuvwxy",
        "0123456789ABCDEF",
        "ZYXWVUTSRQPONMLKJ",
        "Gemini-like-test-key-000000000000000001",
    ];
    add_keys(&mut con, "p", &keys);

    let got = usage_map(&mut con, "p");
    let want: std::collections::BTreeMap<String, i64> = [
        ("...", 0),
        ("...c", 0),
        ("...f", 0),
        ("...ij", 0),
        ("...stuvwxy", 0),
        ("...89ABCDEF", 0),
        ("...QPONMLKJ", 0),
        ("...00000001", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(got, want);
    for k in keys {
        assert_eq!(got.get(&fingerprint(k)), Some(&0), "fingerprint of {k}");
    }
}

#[test]
fn status_reports_keys_day_zone_reset_and_classes() {
    let server = pinned_server();
    let mut con = server.conn();
    assert_eq!(
        status(&mut con, "p"),
        common::Status {
            keys: 0,
            day: "2026-06-15".into(),
            timezone: "America/Los_Angeles".into(),
            reset_in: 43_200,
            classes: Default::default(),
        }
    );

    add_keys(
        &mut con,
        "p",
        &[
            "test-key-0001",
            "test-key-0002",
            "test-key-0003",
            "test-key-0004",
        ],
    );
    next(&mut con, "p", "embed");
    spend(&mut con, "test-key-0002", "embed");
    spend(&mut con, "test-key-0003", "embed");
    spend(&mut con, "test-key-0001", "generate");
    spend(&mut con, "test-key-0002", "other");
    restore(&mut con, "test-key-0002", "other");

    assert_eq!(
        status(&mut con, "p"),
        common::Status {
            keys: 4,
            day: "2026-06-15".into(),
            timezone: "America/Los_Angeles".into(),
            reset_in: 43_200,
            classes: [
                ("embed".to_string(), (2, 2)),
                ("generate".to_string(), (3, 1)),
                ("other".to_string(), (4, 0)),
            ]
            .into_iter()
            .collect(),
        }
    );

    // Over RESP3 the reply and its classes are maps.
    let mut con3 = server.conn_resp3();
    let reply = call(&mut con3, &["GPOOL.STATUS", "p"]).unwrap();
    let Value::Map(fields) = &reply else {
        panic!("RESP3 GPOOL.STATUS is not a map: {reply:?}")
    };
    for (name, value) in fields {
        if common::text(name) == "classes" {
            assert!(matches!(value, Value::Map(_)), "classes: {value:?}");
            for (_, counts) in common::pairs(value) {
                assert!(matches!(counts, Value::Map(_)), "class counts: {counts:?}");
            }
        }
    }
    assert_eq!(status(&mut con3, "p"), status(&mut con, "p"));
}

#[test]
fn a_class_becomes_known_on_its_first_next_or_spend_only() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);

    assert_eq!(restore(&mut con, "test-key-0001", "unused"), 0);
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0001"]);
    assert_eq!(status(&mut con, "p").classes, Default::default());

    next(&mut con, "p", "embed");
    spend(&mut con, "test-key-0002", "generate");
    let classes: Vec<String> = status(&mut con, "p").classes.into_keys().collect();
    assert_eq!(classes, ["embed", "generate"]);
}

#[test]
fn spend_restore_and_record_of_a_key_not_in_the_pool_are_errors() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001"]);
    let before = server.dump().unwrap();
    let absent = "test-key-0099-zyxwvuts";

    assert_eq!(
        call(&mut con, &["GPOOL.SPEND", "p", absent, "embed"]),
        Err(errors::not_in_pool(absent, "p"))
    );
    assert_eq!(
        call(&mut con, &["GPOOL.RESTORE", "p", absent, "embed"]),
        Err(errors::not_in_pool(absent, "p"))
    );
    assert_eq!(
        call(&mut con, &["GPOOL.RECORD", "p", absent]),
        Err(errors::not_in_pool(absent, "p"))
    );
    assert_eq!(
        call(&mut con, &["GPOOL.RECORD", "p", absent, "3"]),
        Err(errors::not_in_pool(absent, "p"))
    );
    assert_eq!(
        call(
            &mut con,
            &["GPOOL.SPEND", "other.pool", "test-key-0001", "embed"]
        ),
        Err(errors::not_in_pool("test-key-0001", "other.pool"))
    );
    assert_eq!(
        errors::not_in_pool(absent, "p"),
        "ERR api key ...zyxwvuts is not in pool 'p'"
    );

    common::assert_same_dump(
        &before,
        &server.dump().unwrap(),
        1,
        "after refused commands",
    );
}

#[test]
fn no_reply_but_next_shows_a_full_key() {
    let server = pinned_server();
    let mut con = server.conn();
    let mut con3 = server.conn_resp3();
    let keys = [
        "test-key-0001-abcdefgh",
        "test-key-0002-ijklmnop",
        "test-key-0003-qrstuvwx",
    ];
    let absent = "test-key-0004-yzabcdef";
    let commands: Vec<Vec<&str>> = vec![
        vec!["GPOOL.ADD", "p", keys[0], keys[1], keys[2], keys[0]],
        vec!["GPOOL.SPEND", "p", keys[1], "embed"],
        vec!["GPOOL.SPEND", "p", keys[1], "embed"],
        vec!["GPOOL.RECORD", "p", keys[2], "4"],
        vec!["GPOOL.USAGE", "p"],
        vec!["GPOOL.USAGE", "p", keys[0], keys[1], absent],
        vec!["GPOOL.STATUS", "p"],
        vec!["GPOOL.SPEND", "p", absent, "embed"],
        vec!["GPOOL.RESTORE", "p", absent, "embed"],
        vec!["GPOOL.RECORD", "p", absent, "2"],
        vec!["GPOOL.RESTORE", "p", keys[1], "embed"],
        vec!["GPOOL.REMOVE", "p", keys[2], absent],
        vec!["GPOOL.ADD", "p", keys[0], "bad key"],
        vec!["GPOOL.NEXT", "p", "bad class!"],
        vec!["GPOOL.SPEND", "p", keys[0], "bad class!"],
        vec!["GPOOL.RECORD", "p", keys[0], "zero"],
    ];
    for words in &commands {
        for c in [&mut con, &mut con3] {
            let reply = call(c, words);
            let texts = match &reply {
                Ok(v) => common::strings_in(v),
                Err(e) => vec![e.clone()],
            };
            for t in texts {
                for k in keys.iter().chain([&absent]) {
                    assert!(
                        !t.contains(k),
                        "{} answered {reply:?}, showing {k}",
                        words.join(" ")
                    );
                }
            }
        }
    }
}

#[test]
fn command_names_are_case_insensitive() {
    let server = pinned_server();
    let mut con = server.conn();
    assert_eq!(int_cmd(&mut con, &["gpool.add", "p", "test-key-0001"]), 1);
    assert_eq!(
        call(&mut con, &["Gpool.Next", "p", "embed"]).map(|v| common::text(&v)),
        Ok("test-key-0001".to_string())
    );
    assert_eq!(
        int_cmd(&mut con, &["gpool.spend", "p", "test-key-0001", "embed"]),
        1
    );
}

#[test]
fn pools_are_independent() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "a", &["test-key-0001", "test-key-0002"]);
    add_keys(&mut con, "b", &["test-key-0002", "test-key-0001"]);
    int_cmd(&mut con, &["GPOOL.SPEND", "a", "test-key-0001", "embed"]);

    assert_eq!(
        next(&mut con, "b", "embed").as_deref(),
        Some("test-key-0002")
    );
    assert_eq!(
        next(&mut con, "b", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        next(&mut con, "a", "embed").as_deref(),
        Some("test-key-0002")
    );
    assert_eq!(
        usage_of(&mut con, "a", &["test-key-0001", "test-key-0002"]),
        vec![0, 1]
    );
    assert_eq!(
        usage_of(&mut con, "b", &["test-key-0001", "test-key-0002"]),
        vec![1, 1]
    );
}

#[test]
fn the_module_works_with_the_real_clock() {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );

    let today = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::America::Los_Angeles)
            .format("%Y-%m-%d")
            .to_string()
    };
    let before = today(chrono::Utc::now());
    let st = status(&mut con, "p");
    let after = today(chrono::Utc::now());
    assert!(
        st.day == before || st.day == after,
        "day {} (expected {before})",
        st.day
    );
    assert_eq!(st.timezone, "America/Los_Angeles");
    assert!(
        (1..=90_000).contains(&st.reset_in),
        "reset_in {}",
        st.reset_in
    );
    assert_eq!(st.keys, 2);
}

#[test]
fn restore_without_a_class_lifts_the_key_for_every_class() {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(&mut con, "p", &["test-key-0001", "test-key-0002"]);
    spend(&mut con, "test-key-0001", "embed");
    spend(&mut con, "test-key-0001", "generate");
    spend(&mut con, "test-key-0002", "generate");

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.RESTORE", "p", "test-key-0001"]),
        1
    );
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.RESTORE", "p", "test-key-0001"]),
        0
    );

    assert_eq!(
        nexts(&mut con, "p", "embed", 2),
        served(&["test-key-0001", "test-key-0002"])
    );
    assert_eq!(
        nexts(&mut con, "p", "generate", 2),
        served(&["test-key-0001", "test-key-0001"])
    );
    assert_eq!(
        call(&mut con, &["GPOOL.RESTORE", "p", "test-key-0099"]),
        Err(errors::not_in_pool("test-key-0099", "p"))
    );
    let names: Vec<String> = server.dump().unwrap().into_keys().collect();
    assert!(
        !names.iter().any(|n| n.contains(":embed:")),
        "embed has nothing spent: {names:?}"
    );
}
