//! The quota day: it ends at midnight in the configured zone, 23 or 25 hours after it began
//! on daylight-saving change days, and with it go the spent marks and the usage counts.
//! Also the module's load options, and the debug clock these tests drive.

mod common;

use common::{call, errors, int_cmd, next, spend, status, usage_of, utc, RedisServer};
use redis::{Connection, Value};

/// Day and seconds left as GPOOL.STATUS tells them.
fn day_and_reset(con: &mut Connection) -> (String, i64) {
    let st = status(con, "p");
    (st.day, st.reset_in)
}

/// Asserts the times to live of the spent and skip keys of `class` on `day`.
fn assert_day_keys_live(server: &RedisServer, class: &str, day: &str, seconds: i64) {
    let dump = server.dump().unwrap();
    for kind in ["spent", "skip"] {
        let name = format!("gpool:{{p}}:{kind}:{class}:{day}");
        let ttl = dump
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} in {dump:#?}"))
            .ttl;
        assert!(
            (seconds - 2..=seconds).contains(&ttl),
            "{name} lives {ttl} s, expected {seconds}"
        );
    }
}

#[test]
fn spent_keys_return_and_counts_restart_at_midnight_in_los_angeles() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    // 2026-06-15 23:59:59 PDT.
    server.pin_clock(utc(2026, 6, 16, 6, 59, 59));
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(spend(&mut con, "test-key-0002", "embed"), 1);
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0001", "4"]);
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        usage_of(&mut con, "p", &["test-key-0001", "test-key-0002"]),
        vec![6, 0]
    );
    assert_eq!(day_and_reset(&mut con), ("2026-06-15".to_string(), 1));

    // 2026-06-16 00:00:00 PDT.
    server.pin_clock(utc(2026, 6, 16, 7, 0, 0));

    assert_eq!(day_and_reset(&mut con), ("2026-06-16".to_string(), 86_400));
    assert_eq!(
        usage_of(&mut con, "p", &["test-key-0001", "test-key-0002"]),
        vec![0, 0]
    );
    assert_eq!(status(&mut con, "p").classes["embed"], (2, 0));
    // The cursor carries over: rotation goes on after the last key served yesterday.
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );
    assert_eq!(
        spend(&mut con, "test-key-0002", "embed"),
        1,
        "spent anew on the new day"
    );
    assert_eq!(
        usage_of(&mut con, "p", &["test-key-0001", "test-key-0002"]),
        vec![0, 1]
    );
}

#[test]
fn march_8_2026_is_23_hours_long_in_los_angeles() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );

    // Local midnight, PST: 08:00 UTC.
    server.pin_clock(utc(2026, 3, 8, 8, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-03-08".to_string(), 82_800));
    spend(&mut con, "test-key-0001", "embed");
    assert_day_keys_live(&server, "embed", "2026-03-08", 82_800);

    // 01:59:59 PST, the last second before clocks jump to 03:00 PDT.
    server.pin_clock(utc(2026, 3, 8, 9, 59, 59));
    assert_eq!(day_and_reset(&mut con), ("2026-03-08".to_string(), 75_601));
    // Noon PDT.
    server.pin_clock(utc(2026, 3, 8, 19, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-03-08".to_string(), 43_200));
    // 23:59:59 PDT.
    server.pin_clock(utc(2026, 3, 9, 6, 59, 59));
    assert_eq!(day_and_reset(&mut con), ("2026-03-08".to_string(), 1));
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );

    // The next local midnight, PDT: 07:00 UTC.
    server.pin_clock(utc(2026, 3, 9, 7, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-03-09".to_string(), 86_400));
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    spend(&mut con, "test-key-0002", "embed");
    assert_day_keys_live(&server, "embed", "2026-03-09", 86_400);
}

#[test]
fn november_1_2026_is_25_hours_long_in_los_angeles() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );

    // Local midnight, PDT: 07:00 UTC.
    server.pin_clock(utc(2026, 11, 1, 7, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-11-01".to_string(), 90_000));
    spend(&mut con, "test-key-0001", "embed");
    assert_day_keys_live(&server, "embed", "2026-11-01", 90_000);

    // 00:59:59 PDT: an hour gone, 24 hours and a second left.
    server.pin_clock(utc(2026, 11, 1, 7, 59, 59));
    assert_eq!(day_and_reset(&mut con), ("2026-11-01".to_string(), 86_401));
    // 01:30 PST, the second time 01:30 comes round.
    server.pin_clock(utc(2026, 11, 1, 9, 30, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-11-01".to_string(), 81_000));
    // 23:59:59 PST.
    server.pin_clock(utc(2026, 11, 2, 7, 59, 59));
    assert_eq!(day_and_reset(&mut con), ("2026-11-01".to_string(), 1));
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0002")
    );

    // The next local midnight, PST: 08:00 UTC.
    server.pin_clock(utc(2026, 11, 2, 8, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-11-02".to_string(), 86_400));
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    spend(&mut con, "test-key-0002", "embed");
    assert_day_keys_live(&server, "embed", "2026-11-02", 86_400);
}

#[test]
fn the_old_days_keys_stay_until_they_expire_but_are_not_read() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    server.pin_clock(utc(2026, 6, 16, 6, 0, 0));
    int_cmd(&mut con, &["GPOOL.ADD", "p", "test-key-0001"]);
    spend(&mut con, "test-key-0001", "embed");
    assert_eq!(next(&mut con, "p", "embed"), None);

    server.pin_clock(utc(2026, 6, 16, 7, 0, 0));

    let dump = server.dump().unwrap();
    assert!(
        dump.contains_key("gpool:{p}:spent:embed:2026-06-15"),
        "{dump:#?}"
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.RESTORE", "p", "test-key-0001", "embed"]),
        0
    );
}

#[test]
fn a_zone_given_at_load_ends_the_day_at_its_midnight_berlin() {
    let server = RedisServer::builder()
        .timezone("Europe/Berlin")
        .debug_clock(true)
        .start()
        .unwrap();
    let mut con = server.conn();
    int_cmd(&mut con, &["GPOOL.ADD", "p", "test-key-0001"]);

    // 2026-03-28 23:59:59 CET.
    server.pin_clock(utc(2026, 3, 28, 22, 59, 59));
    let st = status(&mut con, "p");
    assert_eq!(
        (st.day.as_str(), st.reset_in, st.timezone.as_str()),
        ("2026-03-28", 1, "Europe/Berlin")
    );
    spend(&mut con, "test-key-0001", "embed");

    // 2026-03-29 00:00:00 CET; clocks go from 02:00 CET to 03:00 CEST that night.
    server.pin_clock(utc(2026, 3, 28, 23, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-03-29".to_string(), 82_800));
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
    spend(&mut con, "test-key-0001", "embed");
    assert_day_keys_live(&server, "embed", "2026-03-29", 82_800);

    // 2026-03-30 00:00:00 CEST.
    server.pin_clock(utc(2026, 3, 29, 22, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-03-30".to_string(), 86_400));
}

#[test]
fn a_zone_given_at_load_ends_the_day_at_its_midnight_kolkata() {
    let server = RedisServer::builder()
        .timezone("Asia/Kolkata")
        .debug_clock(true)
        .start()
        .unwrap();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );

    // 2026-06-15 23:59:59 IST (UTC+5:30).
    server.pin_clock(utc(2026, 6, 15, 18, 29, 59));
    let st = status(&mut con, "p");
    assert_eq!(
        (st.day.as_str(), st.reset_in, st.timezone.as_str()),
        ("2026-06-15", 1, "Asia/Kolkata")
    );
    spend(&mut con, "test-key-0001", "embed");
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0002", "3"]);

    server.pin_clock(utc(2026, 6, 15, 18, 30, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-06-16".to_string(), 86_400));
    assert_eq!(
        usage_of(&mut con, "p", &["test-key-0001", "test-key-0002"]),
        vec![0, 0]
    );
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-0001")
    );
}

#[test]
fn the_clock_can_be_pinned_at_either_end_of_its_range() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();

    // 1969-12-31 16:00:00 PST.
    server.pin_clock(0);
    assert_eq!(day_and_reset(&mut con), ("1969-12-31".to_string(), 28_800));

    // 9999-12-31 15:59:59 PST: the pool's last day ends with the clock's range, one second
    // later, in every zone (east of UTC that second is already in the year 10000).
    server.pin_clock(253_402_300_799);
    assert_eq!(day_and_reset(&mut con), ("9999-12-31".to_string(), 1));
}

#[test]
fn clock_real_unpins_the_clock() {
    let server = RedisServer::with_debug_clock();
    let mut con = server.conn();
    server.pin_clock(utc(2026, 6, 15, 19, 0, 0));
    assert_eq!(day_and_reset(&mut con), ("2026-06-15".to_string(), 43_200));

    assert_eq!(
        call(&mut con, &["GPOOL.DEBUG", "CLOCK", "REAL"]),
        Ok(Value::Okay)
    );

    let today = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::America::Los_Angeles)
            .format("%Y-%m-%d")
            .to_string()
    };
    let before = today(chrono::Utc::now());
    let (day, reset_in) = day_and_reset(&mut con);
    let after = today(chrono::Utc::now());
    assert!(
        day == before || day == after,
        "day {day}, expected {before}"
    );
    assert!((1..=90_000).contains(&reset_in), "reset_in {reset_in}");
}

#[test]
fn debug_is_refused_without_debug_clock_yes() {
    for server in [
        RedisServer::with_module(),
        RedisServer::builder().debug_clock(false).start().unwrap(),
    ] {
        let mut con = server.conn();
        for value in ["1781550000", "REAL"] {
            assert_eq!(
                call(&mut con, &["GPOOL.DEBUG", "CLOCK", value]),
                Err(errors::DEBUG_DISABLED.to_string()),
                "GPOOL.DEBUG CLOCK {value}"
            );
        }
    }
}

/// MODULE LOAD with these options on a server without the module.
fn module_load(con: &mut Connection, options: &[&str]) -> Result<Value, String> {
    let path = common::module_path().display().to_string();
    let mut words = vec!["MODULE", "LOAD", path.as_str()];
    words.extend_from_slice(options);
    call(con, &words)
}

#[test]
fn bad_load_options_refuse_the_load_and_the_server_stays_up() {
    let server = RedisServer::without_module();
    let mut con = server.conn();
    let refused: [&[&str]; 7] = [
        &["timezone", "Mars/Olympus"],
        &["timezone"],
        &["colour", "blue"],
        &["debug-clock", "maybe"],
        &["debug-clock"],
        &["timezone", "Europe/Berlin", "debug-clock"],
        &["timezone", "America/Los_Angeles", "extra"],
    ];

    for options in refused {
        let reply = module_load(&mut con, options);
        assert!(
            matches!(&reply, Err(e) if e.starts_with("ERR ")),
            "MODULE LOAD with {options:?} answered {reply:?}"
        );
        assert_eq!(
            call(&mut con, &["PING"]).map(|v| common::text(&v)),
            Ok("PONG".into())
        );
        assert_eq!(
            call(&mut con, &["MODULE", "LIST"]),
            Ok(Value::Array(vec![]))
        );
    }
    let log = server.log();
    assert!(
        log.contains("Mars/Olympus"),
        "the log does not name the bad zone:\n{log}"
    );

    // Nothing was left behind: the module loads cleanly afterwards.
    assert_eq!(
        module_load(&mut con, &["timezone", "Asia/Kolkata"]),
        Ok(Value::Okay)
    );
    assert_eq!(status(&mut con, "p").timezone, "Asia/Kolkata");
}

#[test]
fn an_unknown_zone_at_startup_stops_the_server() {
    let result = RedisServer::builder().timezone("Mars/Olympus").start();

    let err = format!(
        "{:#}",
        result.expect_err("the server started with timezone Mars/Olympus")
    );
    assert!(err.contains("exited"), "{err}");
    assert!(
        err.contains("Mars/Olympus"),
        "the log does not name the bad zone: {err}"
    );
}

#[test]
fn options_are_accepted_in_any_order_and_by_the_documented_names() {
    let server = RedisServer::builder()
        .module_arg("debug-clock")
        .module_arg("yes")
        .module_arg("timezone")
        .module_arg("Asia/Kolkata")
        .start()
        .unwrap();
    server.pin_clock(utc(2026, 6, 15, 18, 30, 0));
    let mut con = server.conn();
    assert_eq!(day_and_reset(&mut con), ("2026-06-16".to_string(), 86_400));
}
