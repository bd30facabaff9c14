//! A command that changes a pool tells Redis that the pool's name, its declared key, has
//! changed: WATCH on the name aborts a transaction, and CLIENT TRACKING invalidates replies
//! cached about it. A command that changes nothing signals nothing.

mod common;

use std::time::Duration;

use common::{call, int_cmd, RedisServer};
use redis::{Connection, Value};

fn pool_server() -> RedisServer {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "a", "test-key-0001", "test-key-0002"],
    );
    server
}

/// WATCHes `watched` on `con`, runs `change` on another connection, and tells whether a
/// transaction on `con` then still runs.
fn exec_runs_after(server: &RedisServer, watched: &str, change: &[&str]) -> bool {
    let mut con = server.conn();
    let mut other = server.conn();
    assert_eq!(call(&mut con, &["WATCH", watched]).unwrap(), Value::Okay);
    let _ = call(&mut other, change);
    assert_eq!(call(&mut con, &["MULTI"]).unwrap(), Value::Okay);
    call(&mut con, &["PING"]).unwrap();
    match call(&mut con, &["EXEC"]).unwrap() {
        Value::Nil => false,
        Value::Array(_) => true,
        other => panic!("EXEC gave {other:?}"),
    }
}

#[test]
fn watching_the_pool_name_sees_every_change_and_nothing_else() {
    let server = pool_server();
    for change in [
        &["GPOOL.NEXT", "a", "embed"][..],
        &["GPOOL.SPEND", "a", "test-key-0001", "embed"],
        &["GPOOL.RESTORE", "a", "test-key-0001"],
        &["GPOOL.RECORD", "a", "test-key-0002", "3"],
        &["GPOOL.REPORT", "a", "test-key-0002", "embed", "503"],
        &["GPOOL.PIN", "a", "flag", "60"],
        &["GPOOL.ADD", "a", "test-key-0003"],
        &["GPOOL.REMOVE", "a", "test-key-0003"],
    ] {
        assert!(
            !exec_runs_after(&server, "a", change),
            "{change:?} went unseen"
        );
    }
    for unchanged in [
        &["GPOOL.STATUS", "a"][..],
        &["GPOOL.USAGE", "a"],
        &["GPOOL.PINNED", "a", "flag"],
        &["GPOOL.ADD", "a", "test-key-0001"],
        &["GPOOL.REMOVE", "a", "test-key-0009"],
        &["GPOOL.NEXT", "a", "not a class"],
        &["GPOOL.NEXT", "b", "embed"],
    ] {
        assert!(
            exec_runs_after(&server, "a", unchanged),
            "{unchanged:?} was seen"
        );
    }
    // Another pool's change is not this pool's.
    int_cmd(&mut server.conn(), &["GPOOL.ADD", "b", "test-key-0001"]);
    assert!(exec_runs_after(&server, "a", &["GPOOL.NEXT", "b", "embed"]));
}

#[test]
fn a_cached_status_is_invalidated_when_the_pool_changes() {
    let server = pool_server();
    // Invalidations go to a subscriber connection (RESP2's redirect form).
    let mut listener = server.conn();
    let Value::Int(listener_id) = call(&mut listener, &["CLIENT", "ID"]).unwrap() else {
        panic!("CLIENT ID")
    };
    let mut pubsub = listener.as_pubsub();
    pubsub.subscribe("__redis__:invalidate").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();

    let mut cacher: Connection = server.conn();
    let id = listener_id.to_string();
    assert_eq!(
        call(&mut cacher, &["CLIENT", "TRACKING", "ON", "REDIRECT", &id]).unwrap(),
        Value::Okay
    );
    call(&mut cacher, &["GPOOL.STATUS", "a"]).unwrap();

    int_cmd(
        &mut server.conn(),
        &["GPOOL.SPEND", "a", "test-key-0001", "embed"],
    );
    let message = pubsub.get_message().expect("an invalidation within 5 s");
    let keys: Vec<String> = message.get_payload().unwrap();
    assert_eq!(keys, ["a"]);
}
