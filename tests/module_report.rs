//! GPOOL.REPORT: every shared provider-error case reaches its outcome and has its effect on
//! the pool, the failure streak follows the outcomes, bad input changes nothing, and a
//! replica without the module holds what the reports wrote.

mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use common::keys::{A, B, C};
use common::{
    add, add_keys, assert_same_dump, bodies, call, class_status, errors, full_status, int_cmd,
    judged, judgement, next, nexts, pinned_server, primary, provider_cases, replica_of, report,
    wait_for_replica, ClassStatus, RedisServer, NOON_JUNE_15,
};
use redis::{Connection, Value};

fn counts(active: i64, spent: i64, cooling: i64, disabled: i64, streak: i64) -> ClassStatus {
    ClassStatus {
        active,
        spent,
        cooling,
        disabled,
        streak,
        next_ready_in: 0,
    }
}

fn zscore(con: &mut Connection, key: &str, member: &str) -> Option<i64> {
    let score: Option<String> = redis::cmd("ZSCORE")
        .arg(key)
        .arg(member)
        .query(con)
        .unwrap();
    score.map(|s| s.parse().unwrap())
}

#[test]
fn the_shared_cases_cover_every_outcome() {
    let outcomes: BTreeSet<String> = provider_cases().into_iter().map(|c| c.outcome).collect();
    let want: BTreeSet<String> = ["cooldown", "daily", "ok", "permanent", "transient"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(outcomes, want);
}

#[test]
fn every_shared_case_reaches_its_outcome_and_its_effect() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    let cases = provider_cases();

    for case in &cases {
        let t = NOON_JUNE_15;
        server.pin_clock(t);
        let pool = format!("case.{}", case.name);
        let class = case.class.as_str();
        let other = if class == "embed" {
            "generate"
        } else {
            "embed"
        };
        let what = format!("case {}", case.name);
        add(&mut con, &pool, &[A, B, C]);

        let streak = i64::from(matches!(case.outcome.as_str(), "transient" | "cooldown"));
        assert_eq!(
            report(&mut con, &pool, A, class, case.status, Some(&case.body)),
            judged(&case.outcome, case.seconds, streak),
            "{what}"
        );

        match case.outcome.as_str() {
            "daily" => {
                assert_eq!(nexts(&mut con, &pool, class, 3), [B, C, B], "{what}");
                assert_eq!(
                    int_cmd(&mut con, &["GPOOL.SPEND", &pool, A, class]),
                    0,
                    "{what}: spent already"
                );
                assert_eq!(next(&mut con, &pool, other).as_deref(), Some(A), "{what}");
                assert_eq!(
                    class_status(&mut con, &pool, class),
                    counts(2, 1, 0, 0, 0),
                    "{what}"
                );
                assert_eq!(
                    class_status(&mut con, &pool, other),
                    counts(3, 0, 0, 0, 0),
                    "{what}"
                );
            }
            "cooldown" => {
                let s = case.seconds;
                assert!(s > 1, "{what}: a cooldown of {s} s");
                assert_eq!(nexts(&mut con, &pool, class, 3), [B, C, B], "{what}");
                assert_eq!(next(&mut con, &pool, other).as_deref(), Some(A), "{what}");
                assert_eq!(
                    class_status(&mut con, &pool, class),
                    counts(2, 0, 1, 0, 1),
                    "{what}"
                );
                server.pin_clock(t + s - 1);
                assert_eq!(
                    nexts(&mut con, &pool, class, 2),
                    [C, B],
                    "{what}: one second before the deadline"
                );
                server.pin_clock(t + s);
                assert_eq!(
                    nexts(&mut con, &pool, class, 2),
                    [C, A],
                    "{what}: at the deadline"
                );
                assert_eq!(
                    class_status(&mut con, &pool, class),
                    counts(3, 0, 0, 0, 1),
                    "{what}"
                );
            }
            "permanent" => {
                assert_eq!(nexts(&mut con, &pool, class, 3), [B, C, B], "{what}");
                assert_eq!(nexts(&mut con, &pool, other, 3), [B, C, B], "{what}");
                for c in [class, other] {
                    assert_eq!(
                        class_status(&mut con, &pool, c),
                        counts(2, 0, 0, 1, 0),
                        "{what}: class {c}"
                    );
                }
                assert_eq!(full_status(&mut con, &pool).keys, 3, "{what}");
                assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", &pool, A]), 1, "{what}");
                assert_eq!(
                    zscore(&mut con, &format!("gpool:{{{pool}}}:ring"), A),
                    Some(1),
                    "{what}: back at its old position"
                );
                // The cursors stand on B: A comes after C, in its old place.
                assert_eq!(nexts(&mut con, &pool, class, 3), [C, A, B], "{what}");
                assert_eq!(nexts(&mut con, &pool, other, 3), [C, A, B], "{what}");
                assert_eq!(
                    class_status(&mut con, &pool, class),
                    counts(3, 0, 0, 0, 0),
                    "{what}"
                );
            }
            "transient" | "ok" => {
                assert_eq!(nexts(&mut con, &pool, class, 2), [A, B], "{what}");
                assert_eq!(
                    class_status(&mut con, &pool, class),
                    counts(3, 0, 0, 0, streak),
                    "{what}"
                );
                let left: Vec<String> = server
                    .dump()
                    .unwrap()
                    .into_keys()
                    .filter(|k| {
                        k.starts_with(&format!("gpool:{{{pool}}}:"))
                            && ["cooling", "disabled", "spent", "skip"]
                                .iter()
                                .any(|kind| k.contains(&format!("}}:{kind}")))
                    })
                    .collect();
                assert!(left.is_empty(), "{what}: penalty keys {left:?}");
            }
            other => panic!("{what}: unknown outcome {other}"),
        }
    }
}

#[test]
fn reports_without_a_body_are_judged_by_their_status() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);

    let mut streak = 0;
    for (status, outcome) in [
        (200, "ok"),
        (204, "ok"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (400, "transient"),
        (404, "transient"),
        (200, "ok"),
        (401, "permanent"),
        (403, "permanent"),
    ] {
        streak = match outcome {
            "ok" => 0,
            "transient" => streak + 1,
            _ => streak,
        };
        let key = if status == 403 { B } else { A };
        assert_eq!(
            report(&mut con, "p", key, "embed", status, None),
            judged(outcome, 0, streak),
            "status {status} with no body"
        );
    }
    assert_eq!(nexts(&mut con, "p", "embed", 2), [C, C]);
}

#[test]
fn a_body_that_is_not_json_or_cut_short_is_transient() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    let daily = bodies::per_day();
    let cut = &daily[..daily.len() / 2];

    for (n, body) in [
        "<html><body>Too Many Requests</body></html>",
        cut,
        "",
        "null",
        "[]",
        "{\"error\": 42}",
        "{\"error\": {\"details\": \"none\"}}",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            report(&mut con, "p", A, "embed", 429, Some(body)),
            judged("transient", 0, n as i64 + 1),
            "body {body:?}"
        );
    }
    assert_eq!(nexts(&mut con, "p", "embed", 2), [A, B]);
}

#[test]
fn openai_and_openrouter_errors_are_transient_and_relayed_ones_are_judged_by_the_original() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    let openai = r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let openrouter = r#"{"error":{"message":"Provider returned error","code":429,"metadata":{"provider_name":"Example"}}}"#;
    assert_eq!(
        report(&mut con, "p", A, "embed", 429, Some(openai)),
        judged("transient", 0, 1)
    );
    assert_eq!(
        report(&mut con, "p", A, "embed", 429, Some(openrouter)),
        judged("transient", 0, 2)
    );

    // A proxy quotes the provider's answer in its message: judged by the per-day quota
    // inside, though the proxy itself answered 502.
    let quoted = serde_json::json!({
        "error": {"code": 502, "message": format!("upstream error: {}", bodies::per_day())}
    })
    .to_string();
    assert_eq!(
        report(&mut con, "p", A, "embed", 502, Some(&quoted)),
        judged("daily", 0, 2)
    );
    let raw = serde_json::json!({
        "error": {"code": 429, "message": "Provider returned error",
                  "metadata": {"raw": bodies::retry("7s")}}
    })
    .to_string();
    assert_eq!(
        report(&mut con, "p", B, "embed", 429, Some(&raw)),
        judged("cooldown", 7, 3)
    );
    assert_eq!(nexts(&mut con, "p", "embed", 2), [C, C]);
}

#[test]
fn a_body_of_a_megabyte_is_judged_quickly_and_never_errors() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);

    // A per-day quota padded with white space to just under 1 MB is still read.
    let daily = bodies::per_day();
    let padded = format!("{daily}{}", " ".repeat(1024 * 1024 - 1 - daily.len()));
    assert_eq!(padded.len(), 1024 * 1024 - 1);
    let started = Instant::now();
    assert_eq!(
        report(&mut con, "p", A, "embed", 429, Some(&padded)),
        judged("daily", 0, 0)
    );

    // Deep nesting and a megabyte of garbage are transient, not errors.
    let deep = "[".repeat(1024 * 1024);
    assert_eq!(
        report(&mut con, "p", B, "embed", 429, Some(&deep)),
        judged("transient", 0, 1)
    );
    let garbage: String = (0..1024 * 1024)
        .map(|i| char::from(b"{\"[:,}]\\x"[i % 9]))
        .collect();
    assert_eq!(
        report(&mut con, "p", B, "embed", 429, Some(&garbage)),
        judged("transient", 0, 2)
    );
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 2, "three 1 MB reports took {elapsed:?}");
    assert_eq!(nexts(&mut con, "p", "embed", 2), [B, B]);
}

#[test]
fn the_streak_counts_transient_and_cooldown_reports_and_ok_resets_it() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B, C]);
    let per_day = bodies::per_day();
    let per_minute = bodies::per_minute();

    // key, status, body, and the reply: outcome, seconds, streak
    let steps = [
        (A, 503, None::<&str>, ("transient", 0, 1)),
        (A, 429, Some(per_minute.as_str()), ("cooldown", 60, 2)),
        (B, 500, None, ("transient", 0, 3)),
        (B, 429, Some(per_day.as_str()), ("daily", 0, 3)),
        (C, 401, None, ("permanent", 0, 3)),
        (B, 429, None, ("transient", 0, 4)),
        (A, 200, None, ("ok", 0, 0)),
        (A, 200, None, ("ok", 0, 0)),
        (B, 503, None, ("transient", 0, 1)),
    ];
    for (key, status, body, (outcome, seconds, streak)) in steps {
        assert_eq!(
            report(&mut con, "p", key, "embed", status, body),
            judged(outcome, seconds, streak),
            "{key} {status}"
        );
        assert_eq!(class_status(&mut con, "p", "embed").streak, streak);
    }
}

#[test]
fn each_class_has_its_own_streak() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);

    assert_eq!(
        report(&mut con, "p", A, "embed", 503, None),
        judged("transient", 0, 1)
    );
    assert_eq!(
        report(&mut con, "p", A, "embed", 503, None),
        judged("transient", 0, 2)
    );
    assert_eq!(
        report(&mut con, "p", A, "generate", 503, None),
        judged("transient", 0, 1)
    );
    assert_eq!(
        report(&mut con, "p", B, "generate", 200, None),
        judged("ok", 0, 0)
    );
    assert_eq!(
        report(&mut con, "p", B, "embed", 503, None),
        judged("transient", 0, 3)
    );
    let st = full_status(&mut con, "p");
    assert_eq!(st.classes["embed"].streak, 3);
    assert_eq!(st.classes["generate"].streak, 0);
    // Other pools keep their own streaks.
    add(&mut con, "q", &[A]);
    assert_eq!(
        report(&mut con, "q", A, "embed", 503, None),
        judged("transient", 0, 1)
    );
}

#[test]
fn the_streak_is_shared_by_every_connection() {
    let server = pinned_server();
    let mut first = server.conn();
    let mut second = server.conn();
    let mut third = server.conn_resp3();
    add(&mut first, "p", &[A, B]);

    assert_eq!(
        report(&mut first, "p", A, "embed", 503, None),
        judged("transient", 0, 1)
    );
    assert_eq!(
        report(&mut second, "p", B, "embed", 503, None),
        judged("transient", 0, 2)
    );
    assert_eq!(
        report(&mut third, "p", A, "embed", 503, None),
        judged("transient", 0, 3)
    );
    assert_eq!(class_status(&mut second, "p", "embed").streak, 3);
    assert_eq!(
        report(&mut third, "p", B, "embed", 200, None),
        judged("ok", 0, 0)
    );
    assert_eq!(class_status(&mut first, "p", "embed").streak, 0);
}

#[test]
fn a_report_makes_its_class_known() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    assert!(full_status(&mut con, "p").classes.is_empty());

    report(&mut con, "p", A, "audio", 200, None);
    report(&mut con, "p", A, "vision", 503, None);

    let st = full_status(&mut con, "p");
    assert_eq!(
        st.classes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["audio", "vision"]
    );
    assert_eq!(st.classes["audio"], counts(2, 0, 0, 0, 0));
    assert_eq!(st.classes["vision"], counts(2, 0, 0, 0, 1));
    // Known, not served: the class's first NEXT still serves the first key.
    assert_eq!(next(&mut con, "p", "vision").as_deref(), Some(A));
}

#[test]
fn the_reply_is_an_array_of_three_over_resp2_and_resp3() {
    let server = pinned_server();
    let mut con = server.conn();
    let mut con3 = server.conn_resp3();
    add(&mut con, "p", &[A, B]);
    let body = bodies::retry("12s");

    for c in [&mut con, &mut con3] {
        let reply = call(c, &["GPOOL.REPORT", "p", A, "embed", "429", &body]).unwrap();
        let Value::Array(items) = &reply else {
            panic!("expected an array, got {reply:?}");
        };
        assert_eq!(items[0], Value::BulkString(b"cooldown".to_vec()));
        assert_eq!(items[1], Value::Int(12));
        assert!(matches!(items[2], Value::Int(_)), "{reply:?}");
    }
    assert_eq!(class_status(&mut con, "p", "embed").streak, 2);
}

#[test]
fn commands_naming_a_key_not_in_the_pool_are_errors_and_change_nothing() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    report(&mut con, "p", A, "embed", 429, Some(&bodies::retry("30s")));
    int_cmd(&mut con, &["GPOOL.PROJECT", "p", "proj-1", A]);
    let before = server.dump().unwrap();
    let absent = "test-key-absent-0009";
    let body = bodies::per_day();

    let refused: Vec<Vec<&str>> = vec![
        vec!["GPOOL.SPEND", "p", absent, "embed"],
        vec!["GPOOL.RESTORE", "p", absent, "embed"],
        vec!["GPOOL.RESTORE", "p", absent],
        vec!["GPOOL.RECORD", "p", absent],
        vec!["GPOOL.REPORT", "p", absent, "embed", "429", &body],
        vec!["GPOOL.REPORT", "p", absent, "generate", "200"],
        vec!["GPOOL.REPORT", "p", absent, "embed", "401"],
        vec!["GPOOL.PROJECT", "p", "proj-1", absent],
        // One absent key refuses the whole command, even after keys that are there.
        vec!["GPOOL.PROJECT", "p", "proj-2", B, A, absent],
    ];
    for words in &refused {
        assert_eq!(
            call(&mut con, words),
            Err(errors::not_in_pool(absent, "p")),
            "{}",
            words.join(" ")
        );
    }
    for words in [
        vec!["GPOOL.REPORT", "never-made", A, "embed", "503"],
        vec!["GPOOL.PROJECT", "never-made", "proj-1", A],
        vec!["GPOOL.RESTORE", "never-made", A],
    ] {
        assert_eq!(
            call(&mut con, &words),
            Err(errors::not_in_pool(A, "never-made")),
            "{}",
            words.join(" ")
        );
    }

    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");
    // The class a refused REPORT named did not become known.
    assert!(!full_status(&mut con, "p").classes.contains_key("generate"));
}

fn http_status_error(shown: &str) -> String {
    format!("ERR invalid http status '{shown}': use a whole number from 100 to 599")
}

#[test]
fn bad_http_statuses_are_refused_and_change_nothing() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A, B]);
    report(&mut con, "p", A, "embed", 503, None);
    let before = server.dump().unwrap();
    let body = bodies::per_day();

    for (status, shown) in [
        ("99", "99"),
        ("600", "600"),
        ("abc", "abc"),
        ("0", "0"),
        ("", ""),
        ("-429", "-429"),
        ("+429", "+429"),
        ("429.0", "429.0"),
        ("4e2", "4e2"),
        (" 429", "\\x20429"),
        ("429 ", "429\\x20"),
        ("99999999999999999999999", "99999999999999999999999"),
    ] {
        for words in [
            vec!["GPOOL.REPORT", "p", A, "embed", status],
            vec!["GPOOL.REPORT", "p", A, "embed", status, &body],
            // Arguments are checked before whether the key is in the pool.
            vec!["GPOOL.REPORT", "p", "test-key-absent-0009", "embed", status],
        ] {
            assert_eq!(
                call(&mut con, &words),
                Err(http_status_error(shown)),
                "status {status:?}"
            );
        }
    }
    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");

    // Leading zeros are allowed, and 100 and 599 are the bounds.
    assert_eq!(
        report_words(&mut con, &["GPOOL.REPORT", "p", A, "embed", "0200"]),
        judged("ok", 0, 0)
    );
    assert_eq!(
        report_words(&mut con, &["GPOOL.REPORT", "p", A, "embed", "599"]),
        judged("transient", 0, 1)
    );
    assert!(call(&mut con, &["GPOOL.REPORT", "p", A, "embed", "100"]).is_ok());
}

fn report_words(con: &mut Connection, words: &[&str]) -> (String, i64, i64) {
    judgement(&call(con, words).unwrap_or_else(|e| panic!("{}: {e}", words.join(" "))))
}

#[test]
fn report_checks_its_arguments_in_the_documented_order() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A]);
    let before = server.dump().unwrap();

    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["GPOOL.REPORT", "p", A, "embed"],
            errors::arity("gpool.report"),
        ),
        (
            vec!["GPOOL.REPORT", "p", A, "embed", "200", "{}", "x"],
            errors::arity("gpool.report"),
        ),
        (
            vec!["GPOOL.REPORT", "a b", "bad key", "c d", "99"],
            errors::pool(b"a b"),
        ),
        (
            vec!["GPOOL.REPORT", "p", "bad key", "c d", "99"],
            errors::api_key(2),
        ),
        (
            vec!["GPOOL.REPORT", "p", A, "c d", "99"],
            errors::class(b"c d"),
        ),
        (vec!["GPOOL.REPORT", "p", A, "", "200"], errors::class(b"")),
    ];
    for (words, want) in cases {
        assert_eq!(call(&mut con, &words), Err(want), "{words:?}");
    }
    assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");
}

#[test]
fn report_on_a_pool_key_of_the_wrong_type_is_refused() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A]);
    let _: () = redis::cmd("SET")
        .arg("gpool:{p}:streak")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        call(&mut con, &["GPOOL.REPORT", "p", A, "embed", "503"]),
        Err(errors::WRONGTYPE.to_string())
    );
}

/// docs/commands.md: "then the types of the pool's keys, then whether a named key is in the
/// pool". The class's own keys are pool keys too: a wrong type among them is reported even
/// when the key named is absent, as SPEND and RESTORE do.
#[test]
fn report_checks_the_types_of_the_class_keys_before_whether_the_key_is_in_the_pool() {
    let server = pinned_server();
    let mut con = server.conn();
    add(&mut con, "p", &[A]);
    for kind in ["cooling", "spent:embed:2026-06-15", "skip:embed:2026-06-15"] {
        let name = if kind == "cooling" {
            "gpool:{p}:cooling:embed".to_string()
        } else {
            format!("gpool:{{p}}:{kind}")
        };
        let _: () = redis::cmd("SET")
            .arg(&name)
            .arg("x")
            .query(&mut con)
            .unwrap();
        let before = server.dump().unwrap();
        for words in [
            vec!["GPOOL.REPORT", "p", A, "embed", "503"],
            vec!["GPOOL.REPORT", "p", "test-key-absent-0009", "embed", "503"],
            vec!["GPOOL.SPEND", "p", "test-key-absent-0009", "embed"],
            vec!["GPOOL.RESTORE", "p", "test-key-absent-0009", "embed"],
        ] {
            assert_eq!(
                call(&mut con, &words),
                Err(errors::WRONGTYPE.to_string()),
                "{} with {name} a string",
                words.join(" ")
            );
        }
        assert_same_dump(&before, &server.dump().unwrap(), 2, "after the refusals");
        let _: () = redis::cmd("DEL").arg(&name).query(&mut con).unwrap();
    }
}

#[test]
fn a_replica_without_the_module_holds_what_reports_projects_and_pins_wrote() {
    let primary = primary();
    // 2026-06-15 23:00:00 PDT: a two-hour cooldown reaches into the next day, while the
    // day's keys still live an hour, so they cannot expire while the dumps are read.
    let late = common::utc(2026, 6, 16, 6, 0, 0);
    primary.pin_clock(late);
    let mut con = primary.conn();
    let keys: Vec<String> = (1..=8).map(|i| format!("test-key-{i:04}")).collect();
    let k = |i: usize| keys[i - 1].as_str();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    add_keys(&mut con, "p", &key_refs);

    let replica = replica_of(&primary);

    assert_eq!(
        int_cmd(&mut con, &["GPOOL.PROJECT", "p", "proj-1", k(1), k(2)]),
        2
    );
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.PROJECT", "p", "proj-2", k(5), k(6)]),
        2
    );
    next(&mut con, "p", "embed");
    report(&mut con, "p", k(1), "embed", 429, Some(&bodies::per_day()));
    report(
        &mut con,
        "p",
        k(5),
        "embed",
        429,
        Some(&bodies::retry("7200s")),
    );
    report(
        &mut con,
        "p",
        k(3),
        "generate",
        429,
        Some(&bodies::retry("30s")),
    );
    report(&mut con, "p", k(4), "embed", 403, None);
    report(&mut con, "p", k(7), "generate", 503, None);
    report(&mut con, "p", k(8), "embed", 200, None);
    assert_eq!(
        call(&mut con, &["GPOOL.PIN", "p", "fallback", "600"]),
        Ok(Value::Okay)
    );
    assert_eq!(
        call(&mut con, &["GPOOL.PIN", "p", "other", "60"]),
        Ok(Value::Okay)
    );
    assert_eq!(int_cmd(&mut con, &["GPOOL.UNPIN", "p", "other"]), 1);
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.PROJECT", "p", "proj-2", k(2)]),
        1
    );
    for _ in 0..4 {
        next(&mut con, "p", "embed");
        next(&mut con, "p", "generate");
    }
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", k(4)]), 1);
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "p", k(1), "embed"]), 1);
    report(&mut con, "p", k(8), "embed", 401, None);

    // After midnight: the first NEXT carries the keys still cooling into the new day's
    // runs, and releases the ones whose cooldown ended.
    primary.pin_clock(late + 3600 + 1800);
    for _ in 0..3 {
        next(&mut con, "p", "embed");
        next(&mut con, "p", "generate");
    }
    int_cmd(&mut con, &["GPOOL.REMOVE", "p", k(6)]);
    wait_for_replica(&mut con);

    let on_primary = primary.dump().unwrap();
    for kind in [
        "cooling:embed",
        "disabled",
        "projects",
        "pins",
        "streak",
        "skip:embed",
    ] {
        assert!(
            on_primary.keys().any(|k| k.contains(kind)),
            "no {kind} key on the primary: {:?}",
            on_primary.keys().collect::<Vec<_>>()
        );
    }
    assert_same_dump(
        &on_primary,
        &replica.dump().unwrap(),
        2,
        "after the reports",
    );
}
