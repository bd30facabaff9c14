//! Argument counts: every command declares its count to Redis at load, so a call with a
//! count Redis can tell is wrong is refused before it runs (inside MULTI, when it is
//! queued, which makes EXEC discard the transaction), with the same text the command gives
//! for a count only it can tell is wrong (above the most it takes). The pool's name is the
//! key of every command but GPOOL.DEBUG, declared read-only for the commands that only read.

mod common;

use common::{call, dump, int, int_cmd, RedisServer};
use redis::{Connection, Value};

/// Each command with the least and the most arguments it takes, its name included (`None`:
/// no limit), as docs/commands.md gives them.
const COUNTS: [(&str, usize, Option<usize>); 14] = [
    ("gpool.add", 3, None),
    ("gpool.remove", 3, None),
    ("gpool.next", 3, Some(3)),
    ("gpool.spend", 4, Some(4)),
    ("gpool.restore", 3, Some(4)),
    ("gpool.record", 3, Some(4)),
    ("gpool.usage", 2, None),
    ("gpool.status", 2, Some(2)),
    ("gpool.report", 5, Some(6)),
    ("gpool.project", 4, None),
    ("gpool.pin", 4, Some(4)),
    ("gpool.unpin", 3, Some(3)),
    ("gpool.pinned", 3, Some(3)),
    ("gpool.debug", 3, Some(3)),
];

fn wrong_count(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

/// `name` followed by `count - 1` arguments that would be good ones at every position:
/// the pool `p`, then a key of it or a number where the command wants one.
fn words(name: &str, count: usize) -> Vec<String> {
    let good: &[&str] = match name {
        "gpool.add" | "gpool.remove" => &["p", "test-key-0001", "test-key-0002", "x"],
        "gpool.next" | "gpool.status" | "gpool.usage" => &["p", "embed", "x", "x"],
        "gpool.spend" | "gpool.restore" => &["p", "test-key-0001", "embed", "x"],
        "gpool.record" => &["p", "test-key-0001", "2", "x"],
        "gpool.report" => &["p", "test-key-0001", "embed", "503", "{}", "x"],
        "gpool.project" => &["p", "proj", "test-key-0001", "x"],
        "gpool.pin" => &["p", "flag", "60", "x"],
        "gpool.unpin" | "gpool.pinned" => &["p", "flag", "x"],
        "gpool.debug" => &["CLOCK", "REAL", "x"],
        other => panic!("no arguments for {other}"),
    };
    let mut all = vec![name.to_uppercase()];
    all.extend(good.iter().cycle().take(count - 1).map(|s| s.to_string()));
    all
}

fn pool_server() -> (RedisServer, Connection) {
    let server = RedisServer::with_module();
    let mut con = server.conn();
    int_cmd(
        &mut con,
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );
    (server, con)
}

#[test]
fn every_command_declares_its_count_and_keeps_its_key_position() {
    let (_server, mut con) = pool_server();
    for (name, min, max) in COUNTS {
        let info = call(&mut con, &["COMMAND", "INFO", name]).unwrap();
        let Value::Array(entries) = info else {
            panic!("COMMAND INFO {name}: {info:?}")
        };
        let Value::Array(fields) = &entries[0] else {
            panic!("COMMAND INFO {name}: no entry: {entries:?}")
        };
        let declared = int(&fields[1]);
        let expected = if max == Some(min) {
            min as i64
        } else {
            -(min as i64)
        };
        assert_eq!(declared, expected, "arity of {name}");
        // The pool stays the command's key, for cluster routing and ACL key patterns.
        if name != "gpool.debug" {
            let mut getkeys = vec!["COMMAND".to_string(), "GETKEYS".to_string()];
            getkeys.extend(words(name, min));
            let keys = call(&mut con, &getkeys);
            let Ok(Value::Array(keys)) = keys else {
                panic!("COMMAND GETKEYS {name}: {keys:?}")
            };
            assert_eq!(keys.len(), 1, "{name}: {keys:?}");
            assert_eq!(common::text(&keys[0]), "p", "{name}");
        }
    }
}

#[test]
fn too_few_arguments_are_refused_when_multi_queues_them() {
    let (_server, mut con) = pool_server();
    let before = dump(&mut con).unwrap();
    for (name, min, max) in COUNTS {
        let mut counts: Vec<usize> = (1..min).collect();
        if max == Some(min) {
            counts.push(min + 1);
        }
        for count in counts {
            let call_words = words(name, count);
            assert_eq!(
                call(&mut con, &["MULTI"]).unwrap(),
                Value::Okay,
                "MULTI before {call_words:?}"
            );
            // A good command first: the refusal must discard it too.
            assert_eq!(
                call(&mut con, &["GPOOL.NEXT", "p", "embed"]).unwrap(),
                Value::SimpleString("QUEUED".into())
            );
            assert_eq!(
                call(&mut con, &call_words),
                Err(wrong_count(name)),
                "{call_words:?} queued"
            );
            let exec = call(&mut con, &["EXEC"]).unwrap_err();
            assert!(
                exec.starts_with("EXECABORT"),
                "{call_words:?}: EXEC gave {exec}"
            );
        }
    }
    assert_eq!(
        dump(&mut con).unwrap(),
        before,
        "a discarded transaction changed nothing"
    );
}

#[test]
fn counts_only_the_command_can_tell_get_the_same_text_when_it_runs() {
    let (_server, mut con) = pool_server();
    let before = dump(&mut con).unwrap();
    for (name, min, max) in COUNTS {
        // Below the least: refused by Redis, outside MULTI too.
        if min > 1 {
            assert_eq!(
                call(&mut con, &words(name, min - 1)),
                Err(wrong_count(name))
            );
        }
        // Above the most, where the most is more than the least: Redis lets it through and
        // the command refuses it, word for word the same.
        if let Some(max) = max.filter(|&max| max > min) {
            assert_eq!(
                call(&mut con, &words(name, max + 1)),
                Err(wrong_count(name))
            );
            assert_eq!(call(&mut con, &["MULTI"]).unwrap(), Value::Okay);
            assert_eq!(
                call(&mut con, &words(name, max + 1)).unwrap(),
                Value::SimpleString("QUEUED".into())
            );
            assert_eq!(exec_error(&mut con), wrong_count(name), "{name} in MULTI");
        }
    }
    assert_eq!(
        dump(&mut con).unwrap(),
        before,
        "refused calls changed nothing"
    );
}

/// EXEC of a transaction of one command that fails when it runs: that command's error.
fn exec_error(con: &mut Connection) -> String {
    match call(con, &["EXEC"]) {
        // The client may raise the error of a reply inside the array as the call's.
        Err(text) => text,
        Ok(Value::Array(replies)) => match replies.as_slice() {
            [Value::ServerError(e)] => format!("{} {}", e.code(), e.details().unwrap_or("")),
            other => panic!("EXEC gave {other:?}"),
        },
        Ok(other) => panic!("EXEC gave {other:?}"),
    }
}

#[test]
fn a_user_who_may_only_read_the_pool_runs_the_read_only_commands_alone() {
    let (server, mut con) = pool_server();
    call(
        &mut con,
        &["ACL", "SETUSER", "reader", "on", ">pw", "+@all", "%R~p"],
    )
    .unwrap();
    let mut reader = server.conn();
    assert_eq!(
        call(&mut reader, &["AUTH", "reader", "pw"]).unwrap(),
        Value::Okay
    );
    for read in [
        &["GPOOL.STATUS", "p"][..],
        &["GPOOL.USAGE", "p"],
        &["GPOOL.PINNED", "p", "flag"],
    ] {
        assert!(call(&mut reader, read).is_ok(), "{read:?}");
    }
    let before = dump(&mut con).unwrap();
    for write in [
        &["GPOOL.NEXT", "p", "embed"][..],
        &["GPOOL.SPEND", "p", "test-key-0001", "embed"],
        &["GPOOL.PIN", "p", "flag", "60"],
    ] {
        let refused = call(&mut reader, write).unwrap_err();
        assert!(refused.starts_with("NOPERM"), "{write:?}: {refused}");
    }
    assert_eq!(dump(&mut con).unwrap(), before);
}
