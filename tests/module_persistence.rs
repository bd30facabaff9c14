//! The pool's state survives a restart from an RDB snapshot and from the append-only file,
//! and the AOF holds the writes' effects, never a `GPOOL.*` command.

mod common;

use std::fs;

use common::{
    assert_same_dump, exercise_pool, next, pinned_server, Dump, RedisServer, NOON_JUNE_15,
};

/// Serves `n` keys for each class, in turn; what the rotation gives from here.
fn rotation(server: &RedisServer, n: usize) -> Vec<Option<String>> {
    let mut con = server.conn();
    let mut out = Vec::new();
    for _ in 0..n {
        for pool in ["a", "b"] {
            out.push(next(&mut con, pool, "embed"));
            out.push(next(&mut con, pool, "generate"));
        }
    }
    out
}

/// Runs `exercise_pool` on pools `a` and `b` of `server`.
fn exercise_a_and_b(server: &RedisServer) {
    let mut con = server.conn();
    exercise_pool(&mut con, "a");
    exercise_pool(&mut con, "b");
}

/// A server that never restarts, run through the same commands, to say what comes next.
fn control() -> RedisServer {
    let server = pinned_server();
    exercise_a_and_b(&server);
    server
}

/// A server with the debug clock pinned at noon that appends every write to its AOF at once.
fn pinned_aof_server() -> RedisServer {
    let server = RedisServer::builder()
        .debug_clock(true)
        .config("appendonly", "yes")
        .config("appendfsync", "always")
        .start()
        .unwrap();
    server.pin_clock(NOON_JUNE_15);
    server
}

/// Restarts `server`; checks it holds `before` again and rotates on as `control()` does.
fn assert_restart_keeps(server: RedisServer, before: &Dump) {
    let server = server.restart().unwrap();

    assert_same_dump(
        before,
        &server.dump().unwrap(),
        2,
        "before and after the restart",
    );
    server.pin_clock(NOON_JUNE_15);
    assert_eq!(
        rotation(&server, 6),
        rotation(&control(), 6),
        "rotation after the restart"
    );
}

#[test]
fn state_survives_a_restart_from_rdb() {
    let server = pinned_server();
    exercise_a_and_b(&server);
    let before = server.dump().unwrap();
    let _: () = redis::cmd("SAVE").query(&mut server.conn()).unwrap();

    assert_restart_keeps(server, &before);
}

#[test]
fn state_survives_a_restart_from_the_append_only_file() {
    let server = pinned_aof_server();
    exercise_a_and_b(&server);
    let before = server.dump().unwrap();

    assert_restart_keeps(server, &before);
}

#[test]
fn the_append_only_file_holds_effects_not_gpool_commands() {
    let server = pinned_aof_server();
    let mut con = server.conn();
    exercise_pool(&mut con, "a");

    let aof_dir = server.dir().path().join("appendonlydir");
    let mut aof = Vec::new();
    for entry in fs::read_dir(&aof_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "aof") {
            aof.extend(fs::read(&path).unwrap());
        }
    }
    let aof = String::from_utf8_lossy(&aof).to_lowercase();
    for effect in ["zadd", "hset", "pexpireat"] {
        assert!(aof.contains(effect), "no {effect} in the AOF:\n{aof}");
    }
    assert!(
        !aof.contains("gpool."),
        "a GPOOL command is in the AOF:\n{aof}"
    );
}

#[test]
fn a_restarted_server_without_a_snapshot_starts_empty() {
    let server = pinned_server();
    exercise_pool(&mut server.conn(), "a");
    assert!(!server.dump().unwrap().is_empty());

    // The harness stops servers without saving, so nothing carries over but what a test
    // saved itself: the tests above rely on that.
    let server = server.restart().unwrap();
    assert_eq!(server.dump().unwrap(), Default::default());
}
