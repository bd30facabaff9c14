//! Ring positions never repeat, even when the `meta` hash that counts them is lost on its
//! own (evicted under an allkeys-* policy, or deleted by hand) while the ring stays: ADD
//! hands out positions after the highest one the pool holds as well as after `meta`'s seq.

mod common;

use common::keys::{A, B, C, D, E};
use common::{
    add, add_keys, assert_same_dump, call, dump, hash, int_cmd, nexts, primary, replica_of,
    wait_for_replica, zset, RedisServer, Stored,
};
use redis::Connection;

const RING: &str = "gpool:{a}:ring";
const META: &str = "gpool:{a}:meta";
const DISABLED: &str = "gpool:{a}:disabled";

fn del(con: &mut Connection, key: &str) {
    call(con, &["DEL", key]).unwrap_or_else(|e| panic!("DEL {key}: {e}"));
}

/// The stored value of `key`; panics when it is missing.
fn stored(con: &mut Connection, key: &str) -> Stored {
    let all = dump(con).unwrap();
    all.get(key)
        .unwrap_or_else(|| panic!("{key} is missing: {all:#?}"))
        .value
        .clone()
}

/// The ring's scores, lowest first; panics when two keys share one.
fn distinct_positions(con: &mut Connection) -> Vec<String> {
    let Stored::ZSet(members) = stored(con, RING) else {
        panic!("{RING} is not a sorted set");
    };
    let mut scores: Vec<String> = members.iter().map(|(_, s)| s.clone()).collect();
    scores.dedup();
    assert_eq!(scores.len(), members.len(), "positions repeat: {members:?}");
    scores
}

#[test]
fn add_after_meta_is_lost_continues_after_the_ring() {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    add(&mut con, "a", &[A, B, C]);
    del(&mut con, META);
    add(&mut con, "a", &[D, E]);

    assert_eq!(
        stored(&mut con, RING),
        zset(&[(A, 1), (B, 2), (C, 3), (D, 4), (E, 5)])
    );
    distinct_positions(&mut con);
    // The counter is written again as ADD always writes it: the last position handed out.
    assert_eq!(stored(&mut con, META), hash(&[("seq", "5")]));

    // Every key is served in turn, the new ones too, and then the rotation wraps.
    assert_eq!(nexts(&mut con, "a", "embed", 6), [A, B, C, D, E, A]);
}

#[test]
fn add_after_meta_is_lost_continues_after_a_disabled_key() {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    add(&mut con, "a", &[A, B, C]);
    // C disabled, as a permanent report leaves it: out of the ring, keeping position 3.
    call(&mut con, &["ZREM", RING, C]).unwrap();
    call(&mut con, &["ZADD", DISABLED, "3", C]).unwrap();
    del(&mut con, META);

    add(&mut con, "a", &[D]);
    assert_eq!(stored(&mut con, RING), zset(&[(A, 1), (B, 2), (D, 4)]));
    assert_eq!(stored(&mut con, META), hash(&[("seq", "4")]));

    // RESTORE returns C to its own position, which no new key took.
    assert_eq!(int_cmd(&mut con, &["GPOOL.RESTORE", "a", C]), 1);
    assert_eq!(
        stored(&mut con, RING),
        zset(&[(A, 1), (B, 2), (C, 3), (D, 4)])
    );
    assert_eq!(nexts(&mut con, "a", "embed", 5), [A, B, C, D, A]);
}

#[test]
fn add_after_meta_is_lost_with_an_emptied_ring() {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    add(&mut con, "a", &[A, B, C]);
    assert_eq!(int_cmd(&mut con, &["GPOOL.REMOVE", "a", A, B, C]), 3);
    del(&mut con, META);
    assert!(
        !dump(&mut con).unwrap().contains_key(RING),
        "the emptied ring is deleted"
    );

    // With no position left anywhere there is nothing to repeat: positions start again.
    assert_eq!(add_keys(&mut con, "a", &[D, E, D]), 2);
    assert_eq!(stored(&mut con, RING), zset(&[(D, 1), (E, 2)]));
    assert_eq!(stored(&mut con, META), hash(&[("seq", "2")]));
    assert_eq!(nexts(&mut con, "a", "embed", 3), [D, E, D]);
}

#[test]
fn meta_behind_the_ring_is_caught_up_and_ahead_of_it_is_kept() {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    add(&mut con, "a", &[A, B, C]);

    // A counter behind the ring (an older copy restored by hand) is passed over.
    call(&mut con, &["HSET", META, "seq", "1"]).unwrap();
    add(&mut con, "a", &[D]);
    assert_eq!(distinct_positions(&mut con), ["1", "2", "3", "4"]);

    // One ahead of the ring (the last keys removed) still decides: positions only grow.
    call(&mut con, &["HSET", META, "seq", "10"]).unwrap();
    add(&mut con, "a", &[E]);
    assert_eq!(distinct_positions(&mut con), ["1", "2", "3", "4", "11"]);
    assert_eq!(stored(&mut con, META), hash(&[("seq", "11")]));
}

#[test]
fn a_replica_gets_the_positions_handed_out_after_meta_is_lost() {
    let primary = primary();
    let replica = replica_of(&primary);
    let mut con = primary.conn();
    add(&mut con, "a", &[A, B, C]);
    del(&mut con, META);
    add(&mut con, "a", &[D, E]);
    wait_for_replica(&mut con);

    let on_primary = primary.dump().unwrap();
    assert_eq!(
        on_primary[RING].value,
        zset(&[(A, 1), (B, 2), (C, 3), (D, 4), (E, 5)])
    );
    assert_same_dump(
        &on_primary,
        &replica.dump().unwrap(),
        2,
        "primary and replica",
    );
}
