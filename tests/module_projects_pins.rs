//! Projects and pins: GPOOL.PROJECT groups keys so that a quota outcome reaches the whole
//! provider project, and GPOOL.PIN, UNPIN and PINNED keep named flags with a time to live
//! that every process sees.

mod common;

use common::keys::{A, B, C, D};
use common::{
    add, assert_same_dump, bodies, call, errors, full_status, hash, int_cmd, next, nexts,
    pinned_server, report, zset, Dump, RedisServer, Stored, NOON_JUNE_15,
};
use redis::{Connection, Value};

fn project(con: &mut Connection, pool: &str, name: &str, keys: &[&str]) -> i64 {
    let mut words = vec!["GPOOL.PROJECT", pool, name];
    words.extend_from_slice(keys);
    int_cmd(con, &words)
}

fn daily(con: &mut Connection, pool: &str, key: &str, class: &str) {
    let (outcome, _, _) = report(con, pool, key, class, 429, Some(&bodies::per_day()));
    assert_eq!(outcome, "daily");
}

fn stored(dump: &Dump, name: &str) -> Option<Stored> {
    dump.get(name).map(|e| e.value.clone())
}

#[test]
fn project_answers_how_many_keys_it_placed_and_moves_keys_between_projects() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);

    assert_eq!(project(&mut con, "p", "proj-1", &[A, B]), 2);
    assert_eq!(project(&mut con, "p", "proj-1", &[A, B, A]), 0);
    assert_eq!(project(&mut con, "p", "proj-2", &[B, C, C]), 2);

    let dump = server.dump().unwrap();
    assert_eq!(
        stored(&dump, "gpool:{p}:projects"),
        Some(hash(&[(A, "proj-1"), (B, "proj-2"), (C, "proj-2")]))
    );
    assert_eq!(
        stored(&dump, "gpool:{p}:project:proj-1"),
        Some(zset(&[(A, "1")]))
    );
    assert_eq!(
        stored(&dump, "gpool:{p}:project:proj-2"),
        Some(zset(&[(B, "2"), (C, "3")]))
    );
}

#[test]
fn a_daily_report_spends_every_key_of_the_project_for_that_class() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C, D]);
    project(&mut con, "p", "proj-1", &[A, B, C]);

    daily(&mut con, "p", B, "embed");

    assert_eq!(nexts(&mut con, "p", "embed", 2), [D, D]);
    for key in [A, B, C] {
        assert_eq!(
            int_cmd(&mut con, &["GPOOL.SPEND", "p", key, "embed"]),
            0,
            "{key} spent already"
        );
    }
    assert_eq!(nexts(&mut con, "p", "generate", 4), [A, B, C, D]);
    let st = full_status(&mut con, "p");
    assert_eq!(
        (st.classes["embed"].active, st.classes["embed"].spent),
        (1, 3)
    );
    assert_eq!(
        (st.classes["generate"].active, st.classes["generate"].spent),
        (4, 0)
    );
}

#[test]
fn a_cooldown_cools_every_key_of_the_project() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C, D]);
    project(&mut con, "p", "proj-1", &[A, C]);

    let (outcome, seconds, _) = report(&mut con, "p", C, "embed", 429, Some(&bodies::retry("20s")));
    assert_eq!((outcome.as_str(), seconds), ("cooldown", 20));

    assert_eq!(nexts(&mut con, "p", "embed", 4), [B, D, B, D]);
    assert_eq!(nexts(&mut con, "p", "generate", 2), [A, B]);
    assert_eq!(full_status(&mut con, "p").classes["embed"].cooling, 2);
    server.pin_clock(NOON_JUNE_15 + 19);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, D]);
    server.pin_clock(NOON_JUNE_15 + 20);
    assert_eq!(nexts(&mut con, "p", "embed", 4), [A, B, C, D]);
}

#[test]
fn a_permanent_report_disables_only_the_reported_key() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    project(&mut con, "p", "proj-1", &[A, B, C]);

    let (outcome, _, _) = report(&mut con, "p", B, "embed", 401, None);
    assert_eq!(outcome, "permanent");

    assert_eq!(nexts(&mut con, "p", "embed", 3), [A, C, A]);
    assert_eq!(nexts(&mut con, "p", "generate", 3), [A, C, A]);
    assert_eq!(full_status(&mut con, "p").classes["embed"].disabled, 1);

    // A disabled key stays in its project: a daily report on it spends the others too.
    daily(&mut con, "p", B, "generate");
    assert_eq!(next(&mut con, "p", "generate"), None);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [C, A]);
}

#[test]
fn a_key_moved_to_another_project_leaves_the_old_one() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C, D]);
    project(&mut con, "p", "proj-1", &[A, B]);
    project(&mut con, "p", "proj-2", &[C]);
    assert_eq!(project(&mut con, "p", "proj-2", &[B]), 1);

    daily(&mut con, "p", A, "embed");
    assert_eq!(nexts(&mut con, "p", "embed", 3), [B, C, D]);

    daily(&mut con, "p", C, "generate");
    assert_eq!(nexts(&mut con, "p", "generate", 3), [A, D, A]);

    let dump = server.dump().unwrap();
    assert_eq!(
        stored(&dump, "gpool:{p}:project:proj-1"),
        Some(zset(&[(A, "1")]))
    );
    assert_eq!(
        stored(&dump, "gpool:{p}:project:proj-2"),
        Some(zset(&[(B, "2"), (C, "3")]))
    );
}

#[test]
fn remove_takes_a_key_out_of_its_project() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    project(&mut con, "p", "proj-1", &[A, B, C]);

    assert_eq!(int_cmd(&mut con, &["GPOOL.REMOVE", "p", B]), 1);
    let dump = server.dump().unwrap();
    assert_eq!(
        stored(&dump, "gpool:{p}:projects"),
        Some(hash(&[(A, "proj-1"), (C, "proj-1")]))
    );
    assert_eq!(
        stored(&dump, "gpool:{p}:project:proj-1"),
        Some(zset(&[(A, "1"), (C, "3")]))
    );

    // Added again, it is a project of its own until it is grouped.
    add(&mut con, "p", &[B]);
    daily(&mut con, "p", A, "embed");
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);

    // The last key out takes the project's keys with it.
    assert_eq!(int_cmd(&mut con, &["GPOOL.REMOVE", "p", A, C]), 2);
    let dump = server.dump().unwrap();
    assert_eq!(stored(&dump, "gpool:{p}:projects"), None);
    assert_eq!(stored(&dump, "gpool:{p}:project:proj-1"), None);
}

#[test]
fn a_key_never_grouped_is_a_project_of_its_own() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    project(&mut con, "p", "proj-1", &[B, C]);

    daily(&mut con, "p", A, "embed");
    report(
        &mut con,
        "p",
        A,
        "generate",
        429,
        Some(&bodies::retry("30s")),
    );

    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, C]);
    assert_eq!(nexts(&mut con, "p", "generate", 2), [B, C]);
}

#[test]
fn projects_belong_to_their_pool() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    add(&mut con, "q", &[A, B]);
    project(&mut con, "p", "proj-1", &[A, B]);

    daily(&mut con, "q", A, "embed");
    assert_eq!(nexts(&mut con, "q", "embed", 2), [B, B]);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);
}

fn project_error(shown: &str) -> String {
    format!("ERR invalid project name '{shown}': use 1 to 128 letters, digits, '_', '-', '.', ':'")
}

fn pin_error(shown: &str) -> String {
    format!("ERR invalid pin name '{shown}': use 1 to 128 letters, digits, '_', '-', '.', ':'")
}

fn seconds_error(shown: &str) -> String {
    format!("ERR invalid seconds '{shown}': use a whole number from 1 to 31536000")
}

/// Bad names, with how error texts show them.
fn bad_names() -> Vec<(String, String)> {
    let long = "x".repeat(129);
    vec![
        (String::new(), String::new()),
        ("a b".into(), "a\\x20b".into()),
        ("a{b}".into(), "a{b}".into()),
        ("it's".into(), "it\\x27s".into()),
        ("é".into(), "\\xc3\\xa9".into()),
        (long, format!("{}...", "x".repeat(32))),
    ]
}

#[test]
fn bad_project_names_and_arguments_are_refused_and_change_nothing() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    project(&mut con, "p", "proj-1", &[A]);
    let before = server.dump().unwrap();

    for (name, shown) in bad_names() {
        for words in [
            vec!["GPOOL.PROJECT", "p", name.as_str(), B],
            // The name is checked before the keys, and before whether they are in the pool.
            vec!["GPOOL.PROJECT", "p", name.as_str(), "bad key"],
            vec!["GPOOL.PROJECT", "p", name.as_str(), "test-key-absent-0009"],
        ] {
            assert_eq!(
                call(&mut con, &words),
                Err(project_error(&shown)),
                "{name:?}"
            );
        }
    }
    for (words, want) in [
        (
            vec!["GPOOL.PROJECT", "p", "proj-1"],
            errors::arity("gpool.project"),
        ),
        (
            vec!["GPOOL.PROJECT", "a b", "proj-1", A],
            errors::pool(b"a b"),
        ),
        (
            vec!["GPOOL.PROJECT", "p", "proj-1", B, "bad key"],
            errors::api_key(4),
        ),
    ] {
        assert_eq!(call(&mut con, &words), Err(want), "{}", words.join(" "));
    }
    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");

    // The longest name allowed, and every allowed character.
    let longest = "p".repeat(128);
    assert_eq!(project(&mut con, "p", &longest, &[B]), 1);
    assert_eq!(project(&mut con, "p", "Proj_2-a.b:c", &[B]), 1);
}

/// docs/commands.md: "then the types of the pool's keys, then whether a named key is in the
/// pool". A project's member set is a pool key: its wrong type is reported first.
#[test]
fn project_checks_the_types_of_its_keys_before_whether_the_keys_are_in_the_pool() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A]);
    let _: () = redis::cmd("SET")
        .arg("gpool:{p}:project:proj-1")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let before = server.dump().unwrap();

    for words in [
        vec!["GPOOL.PROJECT", "p", "proj-1", A],
        vec!["GPOOL.PROJECT", "p", "proj-1", "test-key-absent-0009"],
        vec!["GPOOL.PROJECT", "p", "proj-1", A, "test-key-absent-0009"],
    ] {
        assert_eq!(
            call(&mut con, &words),
            Err(errors::WRONGTYPE.to_string()),
            "{}",
            words.join(" ")
        );
    }
    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");
}

#[test]
fn pinned_answers_the_seconds_left_by_the_pinned_clock() {
    let server = pinned_server();
    let mut con = server.conn();
    let t = NOON_JUNE_15;

    assert_eq!(int_cmd(&mut con, &["GPOOL.PINNED", "p", "fallback"]), 0);
    assert_eq!(
        call(&mut con, &["GPOOL.PIN", "p", "fallback", "30"]),
        Ok(Value::Okay)
    );
    for (second, left) in [(0, 30), (1, 29), (29, 1), (30, 0), (31, 0), (10_000, 0)] {
        server.pin_clock(t + second);
        assert_eq!(
            int_cmd(&mut con, &["GPOOL.PINNED", "p", "fallback"]),
            left,
            "{second} s after PIN"
        );
    }
}

#[test]
fn pinned_rounds_the_seconds_left_up() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    // By the real clock, some milliseconds pass between PIN and PINNED.
    assert_eq!(
        call(&mut con, &["GPOOL.PIN", "p", "fallback", "10"]),
        Ok(Value::Okay)
    );
    assert_eq!(int_cmd(&mut con, &["GPOOL.PINNED", "p", "fallback"]), 10);
    assert_eq!(full_status(&mut con, "p").pins["fallback"], 10);
    let deadline: i64 = redis::cmd("HGET")
        .arg("gpool:{p}:pins")
        .arg("fallback")
        .query(&mut con)
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now_ms + 8_000..=now_ms + 10_000).contains(&deadline),
        "deadline {deadline}, now {now_ms}"
    );
}

#[test]
fn pin_replaces_an_earlier_deadline_and_is_shared_by_every_connection() {
    let server = pinned_server();
    let mut first = server.conn();
    let mut second = server.conn_resp3();

    assert_eq!(
        call(&mut first, &["GPOOL.PIN", "p", "fallback", "100"]),
        Ok(Value::Okay)
    );
    assert_eq!(
        int_cmd(&mut second, &["GPOOL.PINNED", "p", "fallback"]),
        100
    );
    assert_eq!(
        call(&mut second, &["GPOOL.PIN", "p", "fallback", "10"]),
        Ok(Value::Okay)
    );
    assert_eq!(int_cmd(&mut first, &["GPOOL.PINNED", "p", "fallback"]), 10);
    // Pins belong to their pool.
    assert_eq!(int_cmd(&mut first, &["GPOOL.PINNED", "q", "fallback"]), 0);
}

#[test]
fn unpin_answers_1_then_0() {
    let server = pinned_server();
    let mut con = server.conn();
    call(&mut con, &["GPOOL.PIN", "p", "fallback", "60"]).unwrap();
    call(&mut con, &["GPOOL.PIN", "p", "short", "5"]).unwrap();

    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "fallback"]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "fallback"]), 0);
    assert_eq!(int_cmd(&mut con, &["GPOOL.PINNED", "p", "fallback"]), 0);
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "never-set"]), 0);

    // A pin that has lapsed was not set.
    server.pin_clock(NOON_JUNE_15 + 5);
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "short"]), 0);
}

#[test]
fn status_shows_each_live_pin_with_its_seconds_left() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A]);
    assert!(full_status(&mut con, "p").pins.is_empty());

    call(&mut con, &["GPOOL.PIN", "p", "fallback", "30"]).unwrap();
    call(&mut con, &["GPOOL.PIN", "p", "slow-mode", "90"]).unwrap();
    let pins = full_status(&mut con, "p").pins;
    assert_eq!(
        pins.into_iter().collect::<Vec<_>>(),
        [("fallback".to_string(), 30), ("slow-mode".to_string(), 90)]
    );

    server.pin_clock(NOON_JUNE_15 + 40);
    let pins = full_status(&mut con, "p").pins;
    assert_eq!(
        pins.into_iter().collect::<Vec<_>>(),
        [("slow-mode".to_string(), 50)]
    );
    int_cmd(&mut con, &["GPOOL.UNPIN", "p", "slow-mode"]);
    assert!(full_status(&mut con, "p").pins.is_empty());
}

fn pttl(con: &mut Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(con).unwrap()
}

/// Asserts a time to live of about `seconds`, allowing two seconds of real time.
fn assert_lives(con: &mut Connection, key: &str, seconds: i64) {
    let ms = pttl(con, key);
    assert!(
        (seconds * 1000 - 2000..=seconds * 1000).contains(&ms),
        "{key} lives {ms} ms, expected {seconds} s"
    );
}

#[test]
fn the_pins_hash_expires_with_its_latest_pin() {
    let server = pinned_server();
    let mut con = server.conn();
    let pins = "gpool:{p}:pins";
    let t_ms = NOON_JUNE_15 * 1000;

    call(&mut con, &["GPOOL.PIN", "p", "a", "100"]).unwrap();
    assert_lives(&mut con, pins, 100);
    call(&mut con, &["GPOOL.PIN", "p", "b", "300"]).unwrap();
    assert_lives(&mut con, pins, 300);
    assert_eq!(
        stored(&server.dump().unwrap(), pins),
        Some(hash(&[
            ("a", &(t_ms + 100_000).to_string()),
            ("b", &(t_ms + 300_000).to_string())
        ]))
    );

    // A shorter pin leaves the latest deadline as it is.
    call(&mut con, &["GPOOL.PIN", "p", "c", "10"]).unwrap();
    assert_lives(&mut con, pins, 300);
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "b"]), 1);
    assert_lives(&mut con, pins, 100);
    // Replacing the latest pin with an earlier deadline shortens the hash's life too.
    call(&mut con, &["GPOOL.PIN", "p", "a", "50"]).unwrap();
    assert_lives(&mut con, pins, 50);

    // Lapsed pins are dropped at the next write.
    server.pin_clock(NOON_JUNE_15 + 20);
    call(&mut con, &["GPOOL.PIN", "p", "d", "5"]).unwrap();
    assert_lives(&mut con, pins, 30);
    assert_eq!(
        stored(&server.dump().unwrap(), pins),
        Some(hash(&[
            ("a", &(t_ms + 50_000).to_string()),
            ("d", &(t_ms + 25_000).to_string())
        ]))
    );

    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "a"]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "d"]), 1);
    assert_eq!(stored(&server.dump().unwrap(), pins), None);
}

#[test]
fn bad_pin_names_and_seconds_are_refused_and_change_nothing() {
    let server = pinned_server();
    let mut con = server.conn();
    call(&mut con, &["GPOOL.PIN", "p", "fallback", "60"]).unwrap();
    let before = server.dump().unwrap();

    for (name, shown) in bad_names() {
        for words in [
            vec!["GPOOL.PIN", "p", name.as_str(), "60"],
            // The name is checked before the seconds.
            vec!["GPOOL.PIN", "p", name.as_str(), "0"],
            vec!["GPOOL.UNPIN", "p", name.as_str()],
            vec!["GPOOL.PINNED", "p", name.as_str()],
        ] {
            assert_eq!(call(&mut con, &words), Err(pin_error(&shown)), "{words:?}");
        }
    }
    for (seconds, shown) in [
        ("0", "0"),
        ("31536001", "31536001"),
        ("abc", "abc"),
        ("", ""),
        ("-5", "-5"),
        ("+5", "+5"),
        ("1.5", "1.5"),
        ("1e3", "1e3"),
        (" 5", "\\x205"),
        ("99999999999999999999999", "99999999999999999999999"),
    ] {
        assert_eq!(
            call(&mut con, &["GPOOL.PIN", "p", "fallback", seconds]),
            Err(seconds_error(shown)),
            "seconds {seconds:?}"
        );
    }
    for (words, want) in [
        (
            vec!["GPOOL.PIN", "p", "fallback"],
            errors::arity("gpool.pin"),
        ),
        (
            vec!["GPOOL.PIN", "p", "fallback", "5", "6"],
            errors::arity("gpool.pin"),
        ),
        (vec!["GPOOL.UNPIN", "p"], errors::arity("gpool.unpin")),
        (
            vec!["GPOOL.PINNED", "p", "a", "b"],
            errors::arity("gpool.pinned"),
        ),
        (
            vec!["GPOOL.PIN", "a b", "fallback", "0"],
            errors::pool(b"a b"),
        ),
        (vec!["GPOOL.UNPIN", "a b", "fallback"], errors::pool(b"a b")),
        (
            vec!["GPOOL.PINNED", "a b", "fallback"],
            errors::pool(b"a b"),
        ),
    ] {
        assert_eq!(call(&mut con, &words), Err(want), "{}", words.join(" "));
    }
    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");

    // The bounds and leading zeros are accepted.
    for seconds in ["1", "31536000", "0030"] {
        assert_eq!(
            call(&mut con, &["GPOOL.PIN", "p", "edge", seconds]),
            Ok(Value::Okay),
            "{seconds}"
        );
    }
    assert_eq!(int_cmd(&mut con, &["GPOOL.PINNED", "p", "edge"]), 30);
}

#[test]
fn pins_on_a_key_of_the_wrong_type_are_refused() {
    let server = pinned_server();
    let mut con = server.conn();
    let _: () = redis::cmd("SET")
        .arg("gpool:{p}:pins")
        .arg("x")
        .query(&mut con)
        .unwrap();
    for words in [
        vec!["GPOOL.PIN", "p", "fallback", "5"],
        vec!["GPOOL.UNPIN", "p", "fallback"],
        vec!["GPOOL.PINNED", "p", "fallback"],
        vec!["GPOOL.STATUS", "p"],
    ] {
        assert_eq!(
            call(&mut con, &words),
            Err(errors::WRONGTYPE.to_string()),
            "{}",
            words.join(" ")
        );
    }
}
