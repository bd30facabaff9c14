//! Cooldowns, disabled keys and the full RESTORE, by the pinned clock: a cooled key comes
//! back at its deadline and not a second before, deadlines only move later, cooldowns cross
//! midnight, STATUS counts every penalty once. Last, a model test: thousands of random
//! reports, restores, spends and clock moves, every NEXT compared with a plain ring walk.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveTime, TimeZone};
use chrono_tz::America::Los_Angeles;
use common::keys::{A, B, C, D, E, F};
use common::{
    add, bodies, call, class_status, errors, full_status, int_cmd, judged, next, nexts,
    pinned_server, report, utc, ClassStatus, Dump, RedisServer, Stored, NOON_JUNE_15,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use redis::{Connection, Value};

/// Cools `key` for `class` with a 429 naming `delay` (`"30s"`); returns the seconds judged.
fn cool(con: &mut Connection, pool: &str, key: &str, class: &str, delay: &str) -> i64 {
    let (outcome, seconds, _) = report(con, pool, key, class, 429, Some(&bodies::retry(delay)));
    assert_eq!(outcome, "cooldown", "{key} {class} {delay}");
    seconds
}

fn zset(dump: &Dump, name: &str) -> Vec<(String, String)> {
    match dump.get(name).map(|e| &e.value) {
        Some(Stored::ZSet(members)) => members.clone(),
        None => Vec::new(),
        Some(other) => panic!("{name} is not a sorted set: {other:?}"),
    }
}

fn pair(member: &str, score: &str) -> (String, String) {
    (member.to_string(), score.to_string())
}

#[test]
fn a_cooled_key_returns_at_its_deadline_not_a_second_before() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);

    // Reported five seconds later: the 30 seconds count from the report.
    let t = NOON_JUNE_15 + 5;
    server.pin_clock(t);
    assert_eq!(cool(&mut con, "p", A, "embed", "30s"), 30);
    for second in [0, 1, 15, 28, 29] {
        server.pin_clock(t + second);
        assert_eq!(
            nexts(&mut con, "p", "embed", 2),
            [B, B],
            "{second} s after the report"
        );
    }
    server.pin_clock(t + 30);
    assert_eq!(nexts(&mut con, "p", "embed", 3), [A, B, A]);
    assert_eq!(
        zset(&server.dump().unwrap(), "gpool:{p}:cooling:embed"),
        [],
        "released at the deadline"
    );
}

#[test]
fn the_cooling_deadline_is_kept_in_milliseconds() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);

    assert_eq!(cool(&mut con, "p", A, "embed", "45.837906927s"), 46);

    let deadline = (NOON_JUNE_15 + 46) * 1000;
    assert_eq!(
        zset(&server.dump().unwrap(), "gpool:{p}:cooling:embed"),
        [pair(A, &deadline.to_string())]
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg("gpool:{p}:cooling:embed")
        .query(&mut con)
        .unwrap();
    assert_eq!(ttl, -1, "cooling keys never expire");
}

#[test]
fn with_the_real_clock_a_cooldown_counts_from_the_reports_millisecond() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    let real_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };

    let before = real_ms();
    assert_eq!(cool(&mut con, "p", A, "embed", "1.5s"), 2);
    let after = real_ms();

    let cooling = zset(&server.dump().unwrap(), "gpool:{p}:cooling:embed");
    assert_eq!(cooling.len(), 1, "{cooling:?}");
    let deadline: i64 = cooling[0].1.parse().unwrap();
    assert!(
        (before + 2000..=after + 2000).contains(&deadline),
        "deadline {deadline}, report between {before} and {after}"
    );
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);
    let st = class_status(&mut con, "p", "embed");
    assert_eq!((st.active, st.cooling), (1, 1));
}

#[test]
fn delays_are_rounded_up_to_whole_seconds_and_60_when_none_is_named() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);

    assert_eq!(cool(&mut con, "p", A, "embed", "12s"), 12);
    assert_eq!(cool(&mut con, "p", A, "generate", "0.2s"), 1);
    assert_eq!(cool(&mut con, "p", B, "embed", "59.000001s"), 60);
    assert_eq!(
        report(&mut con, "p", C, "embed", 429, Some(&bodies::per_minute())),
        judged("cooldown", 60, 3)
    );

    server.pin_clock(NOON_JUNE_15 + 59);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, A]);
    server.pin_clock(NOON_JUNE_15 + 60);
    assert_eq!(nexts(&mut con, "p", "embed", 3), [B, C, A]);
}

#[test]
fn a_later_cooldown_moves_the_deadline_later_never_earlier() {
    let server = RedisServer::with_debug_clock();
    let t = NOON_JUNE_15;
    server.pin_clock(t);
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);

    // 46 s, then 12 s: the key stays out until the first deadline.
    assert_eq!(cool(&mut con, "p", A, "embed", "45.837906927s"), 46);
    assert_eq!(cool(&mut con, "p", A, "embed", "12s"), 12);
    for second in [12, 13, 30, 45] {
        server.pin_clock(t + second);
        assert_eq!(
            nexts(&mut con, "p", "embed", 2),
            [B, B],
            "{second} s after the reports"
        );
        assert_eq!(class_status(&mut con, "p", "embed").cooling, 1);
    }
    server.pin_clock(t + 46);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);

    // 12 s, then 30 s from ten seconds later: the deadline moves to the later one.
    let t = t + 100;
    server.pin_clock(t);
    assert_eq!(cool(&mut con, "p", A, "embed", "12s"), 12);
    server.pin_clock(t + 10);
    assert_eq!(cool(&mut con, "p", A, "embed", "30s"), 30);
    for second in [12, 20, 39] {
        server.pin_clock(t + second);
        assert_eq!(
            nexts(&mut con, "p", "embed", 2),
            [B, B],
            "{second} s after the first report"
        );
    }
    server.pin_clock(t + 40);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);
}

#[test]
fn cooldowns_belong_to_their_class() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);

    cool(&mut con, "p", A, "embed", "30s");

    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);
    assert_eq!(nexts(&mut con, "p", "generate", 2), [A, B]);
    assert_eq!(class_status(&mut con, "p", "generate").cooling, 0);
}

#[test]
fn a_cooldown_crosses_midnight_and_ends_at_its_deadline() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    // 2026-06-15 23:59:50 PDT.
    let before_midnight = utc(2026, 6, 16, 6, 59, 50);
    server.pin_clock(before_midnight);
    add(&mut con, "p", &[A, B, C, D]);
    assert_eq!(nexts(&mut con, "p", "embed", 1), [A]);
    // A and B cool together (one run), C is spent for the rest of the day.
    assert_eq!(cool(&mut con, "p", A, "embed", "60s"), 60);
    assert_eq!(cool(&mut con, "p", B, "embed", "60s"), 60);
    assert_eq!(int_cmd(&mut con, &["GPOOL.SPEND", "p", C, "embed"]), 1);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [D, D]);

    // 2026-06-16 00:00:10 PDT: C is no longer spent, A and B still cool.
    server.pin_clock(before_midnight + 20);
    let st = full_status(&mut con, "p");
    assert_eq!(st.day, "2026-06-16");
    assert_eq!(
        st.classes["embed"],
        ClassStatus {
            active: 2,
            spent: 0,
            cooling: 2,
            disabled: 0,
            streak: 2,
            next_ready_in: 0,
        }
    );
    assert_eq!(nexts(&mut con, "p", "embed", 4), [C, D, C, D]);
    // The first command of the day carried A and B into the day's runs, as one run.
    assert_eq!(
        zset(&server.dump().unwrap(), "gpool:{p}:skip:embed:2026-06-16"),
        [pair("1", "2")]
    );

    server.pin_clock(before_midnight + 59);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [C, D]);
    server.pin_clock(before_midnight + 60);
    assert_eq!(nexts(&mut con, "p", "embed", 4), [A, B, C, D]);
    assert_eq!(
        zset(&server.dump().unwrap(), "gpool:{p}:skip:embed:2026-06-16"),
        []
    );
}

/// Each pool gets a different first command after midnight; whichever it is, the keys
/// still cooling stay out of rotation until their deadline.
#[test]
fn the_first_command_of_a_new_day_whatever_it_is_keeps_cooling_keys_out() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    let before_midnight = utc(2026, 6, 16, 6, 59, 50);
    server.pin_clock(before_midnight);
    let firsts: Vec<(&str, Vec<&str>)> = vec![
        ("next", vec!["GPOOL.NEXT", "p.next", "embed"]),
        ("spend", vec!["GPOOL.SPEND", "p.spend", C, "embed"]),
        ("restore", vec!["GPOOL.RESTORE", "p.restore", C, "embed"]),
        ("restore-all", vec!["GPOOL.RESTORE", "p.restore-all", C]),
        ("remove", vec!["GPOOL.REMOVE", "p.remove", C]),
        ("add", vec!["GPOOL.ADD", "p.add", E]),
        ("record", vec!["GPOOL.RECORD", "p.record", C, "3"]),
        (
            "transient",
            vec!["GPOOL.REPORT", "p.transient", C, "embed", "503"],
        ),
        (
            "permanent",
            vec!["GPOOL.REPORT", "p.permanent", C, "embed", "401"],
        ),
        (
            "project",
            vec!["GPOOL.PROJECT", "p.project", "proj-1", C, D],
        ),
        ("status", vec!["GPOOL.STATUS", "p.status"]),
        (
            "other-class",
            vec!["GPOOL.NEXT", "p.other-class", "generate"],
        ),
    ];
    for (name, _) in &firsts {
        let pool = format!("p.{name}");
        add(&mut con, &pool, &[A, B, C, D]);
        assert_eq!(nexts(&mut con, &pool, "embed", 1), [A]);
        cool(&mut con, &pool, B, "embed", "60s");
        assert_eq!(nexts(&mut con, &pool, "embed", 3), [C, D, A]);
    }

    server.pin_clock(before_midnight + 20);
    for (name, words) in &firsts {
        assert!(call(&mut con, words).is_ok(), "{name}: {}", words.join(" "));
    }
    for (name, _) in &firsts {
        let pool = format!("p.{name}");
        let served = nexts(&mut con, &pool, "embed", 6);
        assert!(
            !served.iter().any(|k| k == B),
            "{name}: B served while cooling: {served:?}"
        );
    }
    server.pin_clock(before_midnight + 60);
    for (name, _) in &firsts {
        let pool = format!("p.{name}");
        let served = nexts(&mut con, &pool, "embed", 6);
        assert!(
            served.iter().any(|k| k == B),
            "{name}: B not served after its cooldown: {served:?}"
        );
    }
}

#[test]
fn a_cooldown_reported_just_after_midnight_joins_the_ones_carried_over() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    let before_midnight = utc(2026, 6, 16, 6, 59, 50);
    server.pin_clock(before_midnight);
    add(&mut con, "p", &[A, B, C, D]);
    cool(&mut con, "p", A, "embed", "60s");

    server.pin_clock(before_midnight + 15);
    // The first command of the day is a cooldown of the key after A.
    cool(&mut con, "p", B, "embed", "20s");

    assert_eq!(nexts(&mut con, "p", "embed", 3), [C, D, C]);
    assert_eq!(
        zset(&server.dump().unwrap(), "gpool:{p}:skip:embed:2026-06-16"),
        [pair("1", "2")]
    );
    server.pin_clock(before_midnight + 35);
    assert_eq!(nexts(&mut con, "p", "embed", 3), [D, B, C]);
    server.pin_clock(before_midnight + 60);
    assert_eq!(nexts(&mut con, "p", "embed", 3), [D, A, B]);
}

#[test]
fn status_counts_every_kind_of_penalty_once() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C, D, E, F]);
    next(&mut con, "p", "generate");

    // embed: A spent, B cooling, C spent then disabled, D spent and cooling, E and F free.
    assert_eq!(int_cmd(&mut con, &["GPOOL.SPEND", "p", A, "embed"]), 1);
    cool(&mut con, "p", B, "embed", "30s");
    assert_eq!(int_cmd(&mut con, &["GPOOL.SPEND", "p", C, "embed"]), 1);
    report(&mut con, "p", C, "embed", 403, None);
    assert_eq!(int_cmd(&mut con, &["GPOOL.SPEND", "p", D, "embed"]), 1);
    cool(&mut con, "p", D, "embed", "10s");
    // generate: E cooling.
    cool(&mut con, "p", E, "generate", "20s");

    let st = full_status(&mut con, "p");
    assert_eq!(st.keys, 6);
    assert_eq!(
        st.classes["embed"],
        ClassStatus {
            active: 2,
            spent: 2,
            cooling: 1,
            disabled: 1,
            streak: 2,
            next_ready_in: 0,
        }
    );
    assert_eq!(
        st.classes["generate"],
        ClassStatus {
            active: 4,
            spent: 0,
            cooling: 1,
            disabled: 1,
            streak: 1,
            next_ready_in: 0,
        }
    );
    for (class, c) in &st.classes {
        assert_eq!(
            c.active + c.spent + c.cooling + c.disabled,
            st.keys,
            "class {class}"
        );
    }
    assert_eq!(nexts(&mut con, "p", "embed", 3), [E, F, E]);

    // D's cooldown ends, but it is still spent; B's ends and it is active again.
    server.pin_clock(NOON_JUNE_15 + 30);
    let embed = class_status(&mut con, "p", "embed");
    assert_eq!((embed.active, embed.spent, embed.cooling), (3, 2, 0));
    assert_eq!(nexts(&mut con, "p", "embed", 3), [F, B, E]);
}

#[test]
fn next_ready_in_is_the_wait_for_the_first_cooling_key_when_none_is_active() {
    let server = RedisServer::with_debug_clock();
    let t = NOON_JUNE_15;
    server.pin_clock(t);
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    int_cmd(&mut con, &["GPOOL.SPEND", "p", A, "embed"]);
    cool(&mut con, "p", B, "embed", "30s");
    assert_eq!(class_status(&mut con, "p", "embed").next_ready_in, 0);
    cool(&mut con, "p", C, "embed", "12s");

    for (second, ready_in) in [(0, 12), (5, 7), (11, 1)] {
        server.pin_clock(t + second);
        let st = class_status(&mut con, "p", "embed");
        assert_eq!(
            (st.active, st.cooling, st.next_ready_in),
            (0, 2, ready_in),
            "{second} s after"
        );
        assert_eq!(next(&mut con, "p", "embed"), None, "{second} s after");
    }
    server.pin_clock(t + 12);
    let st = class_status(&mut con, "p", "embed");
    assert_eq!((st.active, st.cooling, st.next_ready_in), (1, 1, 0));
    assert_eq!(nexts(&mut con, "p", "embed", 2), [C, C]);

    // Every key spent and none cooling: nothing will return today by cooling.
    server.pin_clock(t + 40);
    int_cmd(&mut con, &["GPOOL.SPEND", "p", B, "embed"]);
    int_cmd(&mut con, &["GPOOL.SPEND", "p", C, "embed"]);
    let st = class_status(&mut con, "p", "embed");
    assert_eq!((st.active, st.spent, st.next_ready_in), (0, 3, 0));
}

#[test]
fn restore_without_a_class_lifts_every_penalty() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C, D]);
    next(&mut con, "p", "embed");
    next(&mut con, "p", "generate");

    // A: spent for embed and cooling for generate. B: disabled. C: cooling for embed.
    int_cmd(&mut con, &["GPOOL.SPEND", "p", A, "embed"]);
    cool(&mut con, "p", A, "generate", "300s");
    report(&mut con, "p", B, "embed", 401, None);
    cool(&mut con, "p", C, "embed", "300s");

    // RESTORE with a class lifts a spent mark only.
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", C, "embed"]), 0);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [D, D]);

    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", A]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", A]), 0);
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", B]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", C]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", D]), 0);

    assert_eq!(nexts(&mut con, "p", "embed", 4), [A, B, C, D]);
    assert_eq!(nexts(&mut con, "p", "generate", 4), [B, C, D, A]);
    let st = full_status(&mut con, "p");
    for class in ["embed", "generate"] {
        let c = st.classes[class];
        assert_eq!(
            (c.active, c.spent, c.cooling, c.disabled),
            (4, 0, 0, 0),
            "{class}"
        );
    }
    let dump = server.dump().unwrap();
    let left: Vec<&String> = dump
        .keys()
        .filter(|k| {
            ["cooling", "disabled", "spent", "skip"]
                .iter()
                .any(|x| k.contains(x))
        })
        .filter(|k| !zset(&dump, k).is_empty())
        .collect();
    assert!(left.is_empty(), "penalties left: {left:?}");
}

#[test]
fn a_disabled_key_holds_no_cooldown() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    next(&mut con, "p", "generate");

    cool(&mut con, "p", A, "embed", "300s");
    cool(&mut con, "p", A, "generate", "300s");
    report(&mut con, "p", A, "embed", 403, None);
    // A cooldown reported for a disabled key does not stick to it either.
    cool(&mut con, "p", A, "embed", "300s");

    let dump = server.dump().unwrap();
    assert_eq!(zset(&dump, "gpool:{p}:cooling:embed"), []);
    assert_eq!(zset(&dump, "gpool:{p}:cooling:generate"), []);
    assert_eq!(zset(&dump, "gpool:{p}:disabled"), [pair(A, "1")]);
    assert_eq!(zset(&dump, "gpool:{p}:ring"), [pair(B, "2")]);
    let st = full_status(&mut con, "p");
    assert_eq!(
        (st.classes["embed"].cooling, st.classes["embed"].disabled),
        (0, 1)
    );

    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", A]), 1);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);
    assert_eq!(nexts(&mut con, "p", "generate", 2), [B, A]);
}

#[test]
fn a_key_spent_and_cooling_stays_out_until_both_are_lifted() {
    let server = RedisServer::with_debug_clock();
    let t = NOON_JUNE_15;
    server.pin_clock(t);
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    next(&mut con, "p", "embed");

    int_cmd(&mut con, &["GPOOL.SPEND", "p", A, "embed"]);
    cool(&mut con, "p", A, "embed", "10s");

    // Its cooldown ends, but it is still spent.
    server.pin_clock(t + 10);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);

    // Cooling again; the spent mark is lifted, the cooldown still holds it.
    cool(&mut con, "p", A, "embed", "10s");
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", A, "embed"]), 1);
    server.pin_clock(t + 19);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);
    server.pin_clock(t + 20);
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);
}

#[test]
fn restore_checks_its_arguments_and_changes_nothing_when_refused() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    cool(&mut con, "p", A, "embed", "30s");
    report(&mut con, "p", B, "embed", 401, None);
    let before = server.dump().unwrap();

    for (words, want) in [
        (vec!["GPOOL.RESTORE", "p"], errors::arity("gpool.restore")),
        (
            vec!["GPOOL.RESTORE", "p", A, "embed", "x"],
            errors::arity("gpool.restore"),
        ),
        (vec!["GPOOL.RESTORE", "a b", A], errors::pool(b"a b")),
        (vec!["GPOOL.RESTORE", "p", "a b"], errors::api_key(2)),
        (vec!["GPOOL.RESTORE", "p", A, "c d"], errors::class(b"c d")),
        (
            vec!["GPOOL.RESTORE", "p", "test-key-absent-0009", "c d"],
            errors::class(b"c d"),
        ),
    ] {
        assert_eq!(call(&mut con, &words), Err(want), "{}", words.join(" "));
    }
    common::assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");
}

// ---------------------------------------------------------------------------------------
// The model test.

const CLASSES: [&str; 2] = ["embed", "generate"];
const PROJECTS: [&str; 3] = ["proj-a", "proj-b", "proj-c"];

fn day_of(unix: i64) -> String {
    Los_Angeles
        .timestamp_opt(unix, 0)
        .single()
        .expect("a valid time")
        .format("%Y-%m-%d")
        .to_string()
}

/// The Unix time of the next midnight in Los Angeles after `unix`.
fn next_midnight(unix: i64) -> i64 {
    let local = Los_Angeles.timestamp_opt(unix, 0).single().unwrap();
    let tomorrow = local.date_naive().succ_opt().unwrap();
    assert!(tomorrow.year() < 2100);
    Los_Angeles
        .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .earliest()
        .unwrap()
        .timestamp()
}

/// What a report's answer means, as the model applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    Transient,
    Daily,
    Cooldown(i64),
    Permanent,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Transient => "transient",
            Verdict::Daily => "daily",
            Verdict::Cooldown(_) => "cooldown",
            Verdict::Permanent => "permanent",
        }
    }
}

/// The pool as it should be, kept the simplest way: penalties as plain sets, NEXT as a
/// walk around the ring.
#[derive(Debug, Default)]
struct Model {
    now: i64,
    day: String,
    seq: i64,
    /// position -> key, for keys in the ring
    ring: BTreeMap<i64, String>,
    /// key -> its ring position, for disabled keys
    disabled: BTreeMap<String, i64>,
    /// key -> project
    project: BTreeMap<String, String>,
    /// known class -> position served last
    cursor: BTreeMap<String, i64>,
    /// class -> keys spent today
    spent: BTreeMap<String, BTreeSet<String>>,
    /// class -> key -> cooling deadline, Unix milliseconds
    cooling: BTreeMap<String, BTreeMap<String, i64>>,
    streak: BTreeMap<String, i64>,
}

impl Model {
    fn set_clock(&mut self, unix: i64) {
        self.now = unix;
        let day = day_of(unix);
        if day != self.day {
            self.day = day;
            self.spent.clear();
        }
    }

    fn ring_position(&self, key: &str) -> Option<i64> {
        self.ring.iter().find(|(_, k)| *k == key).map(|(p, _)| *p)
    }

    fn in_pool(&self, key: &str) -> bool {
        self.ring_position(key).is_some() || self.disabled.contains_key(key)
    }

    fn is_spent(&self, class: &str, key: &str) -> bool {
        self.spent.get(class).is_some_and(|s| s.contains(key))
    }

    fn cooling_until(&self, class: &str, key: &str) -> Option<i64> {
        self.cooling
            .get(class)
            .and_then(|c| c.get(key).copied())
            .filter(|&deadline| deadline > self.now * 1000)
    }

    fn available(&self, class: &str, key: &str) -> bool {
        !self.is_spent(class, key) && self.cooling_until(class, key).is_none()
    }

    fn know(&mut self, class: &str) {
        self.cursor.entry(class.to_string()).or_insert(0);
    }

    fn add(&mut self, keys: &[String]) -> i64 {
        let mut added = 0;
        for k in keys {
            if !self.in_pool(k) {
                self.seq += 1;
                self.ring.insert(self.seq, k.clone());
                added += 1;
            }
        }
        added
    }

    fn remove(&mut self, keys: &[String]) -> i64 {
        let mut removed = 0;
        for k in keys {
            let was = match self.ring_position(k) {
                Some(p) => self.ring.remove(&p).is_some(),
                None => self.disabled.remove(k).is_some(),
            };
            if was {
                for s in self.spent.values_mut() {
                    s.remove(k);
                }
                for c in self.cooling.values_mut() {
                    c.remove(k);
                }
                self.project.remove(k);
                removed += 1;
            }
        }
        removed
    }

    /// The first key after the cursor, wrapping, that is neither spent nor cooling.
    fn next(&mut self, class: &str) -> Option<String> {
        let cursor = self.cursor.get(class).copied().unwrap_or(0);
        let after = self.ring.range(cursor + 1..);
        let before = self.ring.range(..=cursor);
        let (pos, key) = after
            .chain(before)
            .find(|(_, k)| self.available(class, k))
            .map(|(p, k)| (*p, k.clone()))?;
        self.cursor.insert(class.to_string(), pos);
        Some(key)
    }

    fn spend(&mut self, key: &str, class: &str) -> i64 {
        let newly = self
            .spent
            .entry(class.to_string())
            .or_default()
            .insert(key.to_string());
        if newly {
            self.know(class);
        }
        i64::from(newly)
    }

    fn restore_class(&mut self, key: &str, class: &str) -> i64 {
        i64::from(self.spent.get_mut(class).is_some_and(|s| s.remove(key)))
    }

    fn restore_all(&mut self, key: &str) -> i64 {
        let mut lifted = false;
        if let Some(p) = self.disabled.remove(key) {
            self.ring.insert(p, key.to_string());
            lifted = true;
        }
        let classes: Vec<String> = self.cursor.keys().cloned().collect();
        for class in classes {
            lifted |= self.cooling_until(&class, key).is_some();
            if let Some(c) = self.cooling.get_mut(&class) {
                c.remove(key);
            }
            if let Some(s) = self.spent.get_mut(&class) {
                lifted |= s.remove(key);
            }
        }
        i64::from(lifted)
    }

    fn project_members(&self, key: &str) -> Vec<String> {
        match self.project.get(key) {
            Some(p) => self
                .project
                .iter()
                .filter(|(_, q)| *q == p)
                .map(|(k, _)| k.clone())
                .collect(),
            None => vec![key.to_string()],
        }
    }

    fn place_in_project(&mut self, project: &str, keys: &[String]) -> i64 {
        let mut placed = 0;
        for k in keys {
            if self.project.get(k).map(String::as_str) != Some(project) {
                self.project.insert(k.clone(), project.to_string());
                placed += 1;
            }
        }
        placed
    }

    fn report(&mut self, key: &str, class: &str, verdict: Verdict) -> (String, i64, i64) {
        self.know(class);
        match verdict {
            Verdict::Ok | Verdict::Transient => {}
            Verdict::Daily => {
                for k in self.project_members(key) {
                    self.spend_quietly(&k, class);
                }
            }
            Verdict::Cooldown(seconds) => {
                let deadline = (self.now + seconds) * 1000;
                for k in self.project_members(key) {
                    if self.ring_position(&k).is_none() {
                        continue;
                    }
                    let current = self.cooling_until(class, &k).unwrap_or(0);
                    self.cooling
                        .entry(class.to_string())
                        .or_default()
                        .insert(k, current.max(deadline));
                }
            }
            Verdict::Permanent => {
                if let Some(p) = self.ring_position(key) {
                    self.ring.remove(&p);
                    self.disabled.insert(key.to_string(), p);
                    for c in self.cooling.values_mut() {
                        c.remove(key);
                    }
                }
            }
        }
        let streak = self.streak.entry(class.to_string()).or_insert(0);
        *streak = match verdict {
            Verdict::Ok => 0,
            Verdict::Transient | Verdict::Cooldown(_) => *streak + 1,
            Verdict::Daily | Verdict::Permanent => *streak,
        };
        let seconds = match verdict {
            Verdict::Cooldown(s) => s,
            _ => 0,
        };
        (verdict.name().to_string(), seconds, *streak)
    }

    fn spend_quietly(&mut self, key: &str, class: &str) {
        self.spent
            .entry(class.to_string())
            .or_default()
            .insert(key.to_string());
    }

    /// Maximal runs of keys spent or cooling for `class`, consecutive in ring order.
    fn runs(&self, class: &str) -> Vec<(String, String)> {
        let mut runs: Vec<(i64, i64)> = Vec::new();
        let mut open = false;
        for (p, k) in &self.ring {
            if self.available(class, k) {
                open = false;
                continue;
            }
            match runs.last_mut() {
                Some(run) if open => run.1 = *p,
                _ => runs.push((*p, *p)),
            }
            open = true;
        }
        runs.sort_by_key(|r| r.1);
        runs.into_iter()
            .map(|(s, e)| (s.to_string(), e.to_string()))
            .collect()
    }

    fn status(&self, class: &str) -> ClassStatus {
        let in_ring = self.ring.len() as i64;
        let spent = self
            .ring
            .values()
            .filter(|k| self.is_spent(class, k))
            .count() as i64;
        let deadlines: Vec<i64> = self
            .ring
            .values()
            .filter(|k| !self.is_spent(class, k))
            .filter_map(|k| self.cooling_until(class, k))
            .collect();
        let cooling = deadlines.len() as i64;
        let active = in_ring - spent - cooling;
        let next_ready_in = match deadlines.iter().min() {
            Some(first) if active == 0 => (first - self.now * 1000 + 999) / 1000,
            _ => 0,
        };
        ClassStatus {
            active,
            spent,
            cooling,
            disabled: self.disabled.len() as i64,
            streak: self.streak.get(class).copied().unwrap_or(0),
            next_ready_in,
        }
    }
}

/// A provider answer that the module must judge as `verdict`.
fn answer(rng: &mut StdRng, verdict: Verdict) -> (u16, Option<String>) {
    match verdict {
        Verdict::Ok => (200, None),
        Verdict::Transient => (*[429, 500, 503].choose(rng).unwrap(), None),
        Verdict::Daily => (429, Some(bodies::per_day())),
        Verdict::Cooldown(60) if rng.gen_bool(0.5) => (429, Some(bodies::per_minute())),
        Verdict::Cooldown(s) if rng.gen_bool(0.5) => (
            429,
            Some(bodies::retry(&format!(
                "{}.{}s",
                s - 1,
                rng.gen_range(1..1000)
            ))),
        ),
        Verdict::Cooldown(s) => (429, Some(bodies::retry(&format!("{s}s")))),
        Verdict::Permanent => (*[401, 403].choose(rng).unwrap(), None),
    }
}

/// How often each thing the test means to reach was reached.
#[derive(Debug, Default)]
struct Reached {
    steps: usize,
    nexts: usize,
    nils: usize,
    /// NEXT answers that walked past at least one cooling key
    skipped_cooling: usize,
    /// midnights crossed with a key still cooling
    midnights_cooling: usize,
    verdicts: BTreeMap<&'static str, usize>,
    restored_disabled: usize,
    status_checks: usize,
    longest_run: usize,
}

#[test]
fn random_reports_restores_and_clock_moves_rotate_as_the_model_does() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    let mut rng = StdRng::seed_from_u64(0x6770_6f6f_6c04);
    let mut reached = Reached::default();
    // 2026-06-15 23:40:00 PDT: the first midnight comes early.
    let mut now = utc(2026, 6, 16, 6, 40, 0);
    server.pin_clock(now);

    for round in 0..14 {
        let pool = format!("model.{round}");
        let size = rng.gen_range(3..=10usize);
        let universe: Vec<String> = (0..size + 3)
            .map(|i| format!("test-key-{round:02}-{i:04}"))
            .collect();
        let mut model = Model::default();
        model.set_clock(now);
        let mut history: Vec<String> = Vec::new();

        let mut words = vec!["GPOOL.ADD".to_string(), pool.clone()];
        words.extend(universe[..size].iter().cloned());
        assert_eq!(
            call(&mut con, &words),
            Ok(Value::Int(model.add(&universe[..size])))
        );
        history.push(words.join(" "));

        for _ in 0..320 {
            reached.steps += 1;
            let class = CLASSES.choose(&mut rng).unwrap().to_string();
            let key = universe.choose(&mut rng).unwrap().clone();
            let roll = rng.gen_range(0..100);

            if roll < 12 {
                // Move the clock forward: mostly a little, sometimes to just before
                // midnight, now and then by a day or more.
                let step = match rng.gen_range(0..100) {
                    0..=59 => rng.gen_range(0..=4),
                    60..=84 => rng.gen_range(5..=130),
                    85..=96 => next_midnight(now) - rng.gen_range(3..=90) - now,
                    _ => rng.gen_range(86_000..=200_000),
                };
                let old_day = day_of(now);
                now += step.max(0);
                server.pin_clock(now);
                model.set_clock(now);
                let still_cooling = CLASSES.iter().any(|c| {
                    model
                        .ring
                        .values()
                        .any(|k| model.cooling_until(c, k).is_some())
                });
                if model.day != old_day && still_cooling {
                    reached.midnights_cooling += 1;
                }
                history.push(format!("(clock {now}, {})", day_of(now)));
                continue;
            }

            let (words, expected): (Vec<String>, Result<Value, String>) = if roll < 45 {
                let walked_past_cooling = {
                    let cursor = model.cursor.get(&class).copied().unwrap_or(0);
                    model
                        .ring
                        .range(cursor + 1..)
                        .chain(model.ring.range(..=cursor))
                        .take_while(|(_, k)| !model.available(&class, k))
                        .any(|(_, k)| model.cooling_until(&class, k).is_some())
                };
                let want = match model.next(&class) {
                    Some(k) => {
                        model.know(&class);
                        reached.skipped_cooling += usize::from(walked_past_cooling);
                        Value::BulkString(k.into_bytes())
                    }
                    None => {
                        reached.nils += 1;
                        Value::Nil
                    }
                };
                reached.nexts += 1;
                (
                    vec!["GPOOL.NEXT".into(), pool.clone(), class.clone()],
                    Ok(want),
                )
            } else if roll < 72 {
                let verdict = match rng.gen_range(0..100) {
                    0..=14 => Verdict::Daily,
                    15..=49 => Verdict::Cooldown(rng.gen_range(1..=90)),
                    50..=57 => Verdict::Permanent,
                    58..=82 => Verdict::Transient,
                    _ => Verdict::Ok,
                };
                let (status, body) = answer(&mut rng, verdict);
                let want = if model.in_pool(&key) {
                    *reached.verdicts.entry(verdict.name()).or_default() += 1;
                    let (o, s, n) = model.report(&key, &class, verdict);
                    Ok(Value::Array(vec![
                        Value::BulkString(o.into_bytes()),
                        Value::Int(s),
                        Value::Int(n),
                    ]))
                } else {
                    Err(errors::not_in_pool(&key, &pool))
                };
                let mut words = vec![
                    "GPOOL.REPORT".into(),
                    pool.clone(),
                    key,
                    class.clone(),
                    status.to_string(),
                ];
                words.extend(body);
                (words, want)
            } else if roll < 81 {
                let want = if model.in_pool(&key) {
                    let was_disabled = model.disabled.contains_key(&key);
                    let lifted = model.restore_all(&key);
                    reached.restored_disabled += usize::from(was_disabled);
                    Ok(Value::Int(lifted))
                } else {
                    Err(errors::not_in_pool(&key, &pool))
                };
                (vec!["GPOOL.RESTORE".into(), pool.clone(), key], want)
            } else if roll < 86 {
                let want = if model.in_pool(&key) {
                    Ok(Value::Int(model.spend(&key, &class)))
                } else {
                    Err(errors::not_in_pool(&key, &pool))
                };
                (
                    vec!["GPOOL.SPEND".into(), pool.clone(), key, class.clone()],
                    want,
                )
            } else if roll < 90 {
                let want = if model.in_pool(&key) {
                    Ok(Value::Int(model.restore_class(&key, &class)))
                } else {
                    Err(errors::not_in_pool(&key, &pool))
                };
                (
                    vec!["GPOOL.RESTORE".into(), pool.clone(), key, class.clone()],
                    want,
                )
            } else if roll < 93 {
                let project = PROJECTS.choose(&mut rng).unwrap().to_string();
                let keys: Vec<String> = (0..rng.gen_range(1..=3))
                    .map(|_| universe.choose(&mut rng).unwrap().clone())
                    .collect();
                let want = match keys.iter().find(|k| !model.in_pool(k)) {
                    Some(absent) => Err(errors::not_in_pool(absent, &pool)),
                    None => Ok(Value::Int(model.place_in_project(&project, &keys))),
                };
                let mut words = vec!["GPOOL.PROJECT".to_string(), pool.clone(), project];
                words.extend(keys);
                (words, want)
            } else if roll < 95 {
                let want = Ok(Value::Int(model.add(std::slice::from_ref(&key))));
                (vec!["GPOOL.ADD".into(), pool.clone(), key], want)
            } else if roll < 97 {
                let want = Ok(Value::Int(model.remove(std::slice::from_ref(&key))));
                (vec!["GPOOL.REMOVE".into(), pool.clone(), key], want)
            } else {
                reached.status_checks += 1;
                let st = full_status(&mut con, &pool);
                let recent = history[history.len().saturating_sub(16)..].join("\n  ");
                assert_eq!(
                    st.keys,
                    (model.ring.len() + model.disabled.len()) as i64,
                    "round {round}, STATUS keys\nlast commands:\n  {recent}"
                );
                let known: Vec<&String> = model.cursor.keys().collect();
                assert_eq!(
                    st.classes.keys().collect::<Vec<_>>(),
                    known,
                    "round {round}: the known classes\nlast commands:\n  {recent}"
                );
                for (c, got) in &st.classes {
                    assert_eq!(
                        *got,
                        model.status(c),
                        "round {round}: STATUS of class {c} at {now}\nlast commands:\n  \
                         {recent}\nmodel: {model:#?}"
                    );
                }
                history.push(format!("GPOOL.STATUS {pool}"));
                continue;
            };

            let reply = call(&mut con, &words);
            history.push(words.iter().take(5).cloned().collect::<Vec<_>>().join(" "));
            let recent = history[history.len().saturating_sub(16)..].join("\n  ");
            assert_eq!(
                reply, expected,
                "round {round}, step {}: {}\nlast commands:\n  {recent}\nmodel: {model:#?}",
                reached.steps, words[0]
            );

            // After a NEXT, its class's runs cover exactly the keys spent or cooling, and
            // are maximal: that is what keeps NEXT to a bounded number of lookups.
            if words[0] == "GPOOL.NEXT" {
                let name = format!("gpool:{{{pool}}}:skip:{class}:{}", model.day);
                let flat: Vec<String> = redis::cmd("ZRANGE")
                    .arg(&name)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(&mut con)
                    .unwrap();
                let runs: Vec<(String, String)> = flat
                    .chunks(2)
                    .map(|c| (c[0].clone(), c[1].clone()))
                    .collect();
                let want = model.runs(&class);
                assert_eq!(
                    runs, want,
                    "round {round}: runs of {class} after NEXT\nlast commands:\n  {recent}"
                );
                for (first, last) in &want {
                    let (first, last): (i64, i64) = (first.parse().unwrap(), last.parse().unwrap());
                    let n = model.ring.range(first..=last).count();
                    reached.longest_run = reached.longest_run.max(n);
                }
            }
        }
    }

    assert_eq!(common::text(&call(&mut con, &["PING"]).unwrap()), "PONG");
    let r = &reached;
    assert!(r.steps >= 3000, "{r:?}");
    assert!(r.nexts >= 900, "{r:?}");
    assert!(r.nils >= 20, "{r:?}");
    assert!(r.skipped_cooling >= 100, "{r:?}");
    assert!(r.midnights_cooling >= 5, "{r:?}");
    assert!(r.restored_disabled >= 10, "{r:?}");
    assert!(r.status_checks >= 50, "{r:?}");
    assert!(r.longest_run >= 4, "{r:?}");
    for verdict in ["ok", "transient", "daily", "cooldown", "permanent"] {
        assert!(
            r.verdicts.get(verdict).copied().unwrap_or(0) >= 20,
            "{verdict}: {r:?}"
        );
    }
}
