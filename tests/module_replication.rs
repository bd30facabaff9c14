//! A replica without the module holds what the primary holds: the module replicates the
//! effects of its writes as plain Redis commands.

mod common;

use common::{
    assert_same_dump, exercise_pool, int_cmd, next, primary, replica_of, wait_for_replica,
    NOON_JUNE_15,
};

#[test]
fn a_replica_without_the_module_holds_the_same_keys() {
    let primary = primary();
    primary.pin_clock(NOON_JUNE_15);
    let mut con = primary.conn();
    // Written before the replica attaches: it gets these in the full sync.
    exercise_pool(&mut con, "before");

    let replica = replica_of(&primary);
    assert_same_dump(
        &primary.dump().unwrap(),
        &replica.dump().unwrap(),
        2,
        "after the sync",
    );

    // Written after: the replica gets these as a stream of commands.
    exercise_pool(&mut con, "after");
    for _ in 0..5 {
        next(&mut con, "before", "embed");
    }
    int_cmd(
        &mut con,
        &["GPOOL.SPEND", "before", "test-key-before-0001", "embed"],
    );
    int_cmd(
        &mut con,
        &["GPOOL.RESTORE", "before", "test-key-before-0004", "embed"],
    );
    int_cmd(
        &mut con,
        &["GPOOL.RECORD", "before", "test-key-before-0002", "3"],
    );
    int_cmd(
        &mut con,
        &["GPOOL.REMOVE", "before", "test-key-before-0006"],
    );
    wait_for_replica(&mut con);

    let on_primary = primary.dump().unwrap();
    assert!(on_primary.len() > 10, "{on_primary:#?}");
    assert_same_dump(
        &on_primary,
        &replica.dump().unwrap(),
        2,
        "primary and replica",
    );
}

#[test]
fn a_replica_follows_a_pool_emptied_and_refilled() {
    let primary = primary();
    primary.pin_clock(NOON_JUNE_15);
    let replica = replica_of(&primary);
    let mut con = primary.conn();
    exercise_pool(&mut con, "p");

    let keys: Vec<String> = (1..=8).map(|i| format!("test-key-p-{i:04}")).collect();
    let mut remove = vec!["GPOOL.REMOVE", "p"];
    remove.extend(keys.iter().map(String::as_str));
    int_cmd(&mut con, &remove);
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-p-0009", "test-key-p-0001"],
    );
    next(&mut con, "p", "embed");
    int_cmd(&mut con, &["GPOOL.SPEND", "p", "test-key-p-0001", "embed"]);
    assert_eq!(
        next(&mut con, "p", "embed").as_deref(),
        Some("test-key-p-0009")
    );
    wait_for_replica(&mut con);

    assert_same_dump(
        &primary.dump().unwrap(),
        &replica.dump().unwrap(),
        2,
        "primary and replica",
    );
}

#[test]
fn the_day_change_reaches_the_replica_as_data() {
    let primary = primary();
    let replica = replica_of(&primary);
    let mut con = primary.conn();
    // 2026-06-15 23:59:00 PDT, then a minute later; yesterday's keys live a minute more
    // in real time, long enough not to expire while the dumps are read.
    primary.pin_clock(common::utc(2026, 6, 16, 6, 59, 0));
    exercise_pool(&mut con, "p");
    primary.pin_clock(common::utc(2026, 6, 16, 7, 0, 0));
    for _ in 0..3 {
        next(&mut con, "p", "embed");
    }
    int_cmd(&mut con, &["GPOOL.SPEND", "p", "test-key-p-0002", "embed"]);
    wait_for_replica(&mut con);

    let on_primary = primary.dump().unwrap();
    assert!(
        on_primary.keys().any(|k| k.ends_with("2026-06-16")),
        "{on_primary:#?}"
    );
    assert_same_dump(
        &on_primary,
        &replica.dump().unwrap(),
        2,
        "primary and replica",
    );
}
