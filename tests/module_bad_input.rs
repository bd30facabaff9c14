//! Bad input: every documented error text word for word, nothing changed by a refused
//! command, and thousands of random argument lists that must leave the server answering,
//! each refused with an `ERR ` or `WRONGTYPE ` reply (the exact documented one wherever the
//! docs decide it).

mod common;

use common::{add_keys, call, errors, int_cmd, pinned_server, shown, status, RedisServer};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use redis::{Connection, Value};

/// A server with the debug clock pinned and pool `p` holding some of every kind of key.
fn server_with_a_pool() -> RedisServer {
    let server = pinned_server();
    let mut con = server.conn();
    add_keys(
        &mut con,
        "p",
        &["test-key-0001", "test-key-0002", "test-key-0003"],
    );
    common::next(&mut con, "p", "embed");
    int_cmd(&mut con, &["GPOOL.SPEND", "p", "test-key-0002", "embed"]);
    int_cmd(&mut con, &["GPOOL.RECORD", "p", "test-key-0001", "2"]);
    server
}

/// Sends each command, expects its error text exactly, and checks nothing changed.
fn assert_refused(server: &RedisServer, cases: &[(Vec<Vec<u8>>, String)]) {
    let mut con = server.conn();
    let before = server.dump().unwrap();
    let status_before = status(&mut con, "p");
    for (words, expected) in cases {
        let reply = call(&mut con, words);
        let shown_words: Vec<String> = words.iter().map(|w| shown(w)).collect();
        assert_eq!(reply, Err(expected.clone()), "{}", shown_words.join(" "));
        let after = server.dump().unwrap();
        if let Some(diff) = common::dump_difference(&before, &after, 1) {
            panic!("{} changed the keys:\n{diff}", shown_words.join(" "));
        }
    }
    assert_eq!(
        status(&mut con, "p"),
        status_before,
        "the pinned clock moved"
    );
}

/// A command from words given as strings.
fn words(w: &[&str]) -> Vec<Vec<u8>> {
    w.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn wrong_numbers_of_arguments_are_refused_by_name() {
    let server = server_with_a_pool();
    let cases: Vec<(Vec<Vec<u8>>, String)> = [
        (&["GPOOL.ADD"][..], "gpool.add"),
        (&["GPOOL.ADD", "p"], "gpool.add"),
        (&["GPOOL.REMOVE", "p"], "gpool.remove"),
        (&["GPOOL.NEXT", "p"], "gpool.next"),
        (&["GPOOL.NEXT", "p", "embed", "generate"], "gpool.next"),
        (&["gpool.next"], "gpool.next"),
        (&["GPOOL.NEXT", "bad pool!"], "gpool.next"),
        (&["GPOOL.SPEND", "p", "test-key-0001"], "gpool.spend"),
        (
            &["GPOOL.SPEND", "p", "test-key-0001", "embed", "x"],
            "gpool.spend",
        ),
        (&["GPOOL.RESTORE", "p"], "gpool.restore"),
        (
            &["GPOOL.RESTORE", "p", "test-key-0002", "embed", "x"],
            "gpool.restore",
        ),
        (&["GPOOL.RECORD", "p"], "gpool.record"),
        (
            &["GPOOL.RECORD", "p", "test-key-0001", "1", "2"],
            "gpool.record",
        ),
        (&["GPOOL.USAGE"], "gpool.usage"),
        (&["GPOOL.STATUS"], "gpool.status"),
        (&["GPOOL.STATUS", "p", "q"], "gpool.status"),
        (&["GPOOL.DEBUG"], "gpool.debug"),
        (&["GPOOL.DEBUG", "CLOCK"], "gpool.debug"),
        (&["GPOOL.DEBUG", "CLOCK", "1", "2"], "gpool.debug"),
    ]
    .iter()
    .map(|(w, name)| (words(w), errors::arity(name)))
    .collect();
    assert_eq!(
        errors::arity("GPOOL.NEXT"),
        "ERR wrong number of arguments for 'gpool.next' command"
    );
    assert_refused(&server, &cases);
}

#[test]
fn bad_pool_names_are_refused_and_shown_escaped() {
    let server = server_with_a_pool();
    let long_pool = "a".repeat(129);
    let cases: Vec<(Vec<Vec<u8>>, String)> = vec![
        (
            words(&["GPOOL.ADD", "", "test-key-0001"]),
            errors::pool(b""),
        ),
        (
            words(&["GPOOL.NEXT", "my pool", "embed"]),
            errors::pool(b"my pool"),
        ),
        (words(&["GPOOL.STATUS", "a{b}"]), errors::pool(b"a{b}")),
        (words(&["GPOOL.USAGE", "pool/1"]), errors::pool(b"pool/1")),
        (
            words(&["GPOOL.USAGE", "caf\u{e9}"]),
            errors::pool("caf\u{e9}".as_bytes()),
        ),
        (
            words(&["GPOOL.STATUS", &long_pool]),
            errors::pool(long_pool.as_bytes()),
        ),
        (words(&["GPOOL.STATUS", "it's\\"]), errors::pool(b"it's\\")),
        (
            vec![b"GPOOL.STATUS".to_vec(), b"p\x00".to_vec()],
            errors::pool(b"p\x00"),
        ),
        (
            vec![b"GPOOL.STATUS".to_vec(), b"\xff\xfe".to_vec()],
            errors::pool(b"\xff\xfe"),
        ),
        // The pool is checked before the other arguments.
        (
            words(&["GPOOL.SPEND", "bad pool", "bad key", "bad class"]),
            errors::pool(b"bad pool"),
        ),
        (
            words(&["GPOOL.RECORD", "p p", "test-key-0001", "0"]),
            errors::pool(b"p p"),
        ),
        (
            words(&["GPOOL.REMOVE", " p", "test-key-0001"]),
            errors::pool(b" p"),
        ),
    ];
    // The texts as the docs spell them.
    assert_eq!(
        errors::pool(b"my pool"),
        "ERR invalid pool name 'my\\x20pool': use 1 to 128 letters, digits, '_', '-', '.', ':'"
    );
    assert_eq!(shown("caf\u{e9}".as_bytes()), "caf\\xc3\\xa9");
    assert_eq!(shown(b"it's\\"), "it\\x27s\\x5c");
    assert_eq!(
        shown(long_pool.as_bytes()),
        format!("{}...", "a".repeat(32))
    );
    assert_refused(&server, &cases);
}

#[test]
fn shown_arguments_stop_after_32_bytes() {
    let server = server_with_a_pool();
    let exactly_32 = "b".repeat(31) + " ";
    let just_over = "c".repeat(32) + " ";
    // A two-byte character cut in half by the 32-byte limit.
    let straddling = "d".repeat(31) + "\u{e9}";
    let cases = vec![
        (
            words(&["GPOOL.STATUS", &exactly_32]),
            errors::pool(exactly_32.as_bytes()),
        ),
        (
            words(&["GPOOL.STATUS", &just_over]),
            errors::pool(just_over.as_bytes()),
        ),
        (
            words(&["GPOOL.STATUS", &straddling]),
            errors::pool(straddling.as_bytes()),
        ),
    ];
    assert_eq!(
        shown(exactly_32.as_bytes()),
        format!("{}\\x20", "b".repeat(31))
    );
    assert_eq!(
        shown(just_over.as_bytes()),
        format!("{}...", "c".repeat(32))
    );
    assert_eq!(
        shown(straddling.as_bytes()),
        format!("{}\\xc3...", "d".repeat(31))
    );
    assert_refused(&server, &cases);
}

#[test]
fn names_of_128_characters_are_accepted() {
    let server = server_with_a_pool();
    let mut con = server.conn();
    let pool = "P".repeat(128);
    let class = "c".repeat(128);
    assert_eq!(int_cmd(&mut con, &["GPOOL.ADD", &pool, "test-key-0001"]), 1);
    assert_eq!(
        common::next(&mut con, &pool, &class).as_deref(),
        Some("test-key-0001")
    );
    let everything = "azAZ09_-.:";
    assert_eq!(
        int_cmd(&mut con, &["GPOOL.ADD", everything, "test-key-0001"]),
        1
    );
    assert_eq!(
        int_cmd(
            &mut con,
            &["GPOOL.SPEND", everything, "test-key-0001", everything]
        ),
        1
    );
}

#[test]
fn bad_class_names_are_refused() {
    let server = server_with_a_pool();
    let long_class = "e".repeat(129);
    let cases = vec![
        (words(&["GPOOL.NEXT", "p", ""]), errors::class(b"")),
        (
            words(&["GPOOL.NEXT", "p", "emb ed"]),
            errors::class(b"emb ed"),
        ),
        (
            words(&["GPOOL.NEXT", "p", &long_class]),
            errors::class(long_class.as_bytes()),
        ),
        (
            words(&["GPOOL.SPEND", "p", "test-key-0001", "x/y"]),
            errors::class(b"x/y"),
        ),
        (
            words(&["GPOOL.RESTORE", "p", "test-key-0002", "{embed}"]),
            errors::class(b"{embed}"),
        ),
        // Arguments are checked before the pool's contents.
        (
            words(&["GPOOL.SPEND", "p", "test-key-0099", "bad class"]),
            errors::class(b"bad class"),
        ),
    ];
    assert_refused(&server, &cases);
}

#[test]
fn bad_api_keys_are_refused_by_position_without_echoing_them() {
    let server = server_with_a_pool();
    let too_long = "k".repeat(513);
    let cases = vec![
        (words(&["GPOOL.ADD", "p", ""]), errors::api_key(2)),
        (
            words(&["GPOOL.ADD", "p", "test-key-0004", "bad key"]),
            errors::api_key(3),
        ),
        (
            words(&[
                "GPOOL.ADD",
                "p",
                "test-key-0004",
                "test-key-0005",
                &too_long,
            ]),
            errors::api_key(4),
        ),
        (words(&["GPOOL.ADD", "p", "tab\tkey"]), errors::api_key(2)),
        (words(&["GPOOL.ADD", "p", "del\u{7f}"]), errors::api_key(2)),
        (words(&["GPOOL.ADD", "p", "cl\u{e9}"]), errors::api_key(2)),
        (
            vec![b"GPOOL.ADD".to_vec(), b"p".to_vec(), b"nul\x00key".to_vec()],
            errors::api_key(2),
        ),
        (
            words(&["GPOOL.REMOVE", "p", "test-key-0001", "bad key"]),
            errors::api_key(3),
        ),
        (
            words(&["GPOOL.SPEND", "p", "bad key", "embed"]),
            errors::api_key(2),
        ),
        (
            words(&["GPOOL.SPEND", "p", "bad key", "bad class"]),
            errors::api_key(2),
        ),
        (
            words(&["GPOOL.RESTORE", "p", " ", "embed"]),
            errors::api_key(2),
        ),
        (
            words(&["GPOOL.RECORD", "p", "bad key", "0"]),
            errors::api_key(2),
        ),
        (
            words(&["GPOOL.USAGE", "p", "test-key-0001", "bad key"]),
            errors::api_key(3),
        ),
    ];
    assert_eq!(
        errors::api_key(3),
        "ERR invalid api key at argument 3: use 1 to 512 printable characters without spaces"
    );
    assert_refused(&server, &cases);
}

#[test]
fn api_keys_of_512_printable_characters_are_accepted() {
    let server = server_with_a_pool();
    let mut con = server.conn();
    let printable: String = (0x21u8..=0x7e).map(char::from).collect();
    let long: String = printable.chars().cycle().take(512).collect();
    assert_eq!(int_cmd(&mut con, &["GPOOL.ADD", "q", &printable, &long]), 2);
    assert_eq!(
        common::next(&mut con, "q", "embed").as_deref(),
        Some(printable.as_str())
    );
    assert_eq!(
        common::next(&mut con, "q", "embed").as_deref(),
        Some(long.as_str())
    );
    assert_eq!(int_cmd(&mut con, &["GPOOL.RECORD", "q", &long, "2"]), 3);
}

#[test]
fn bad_counts_are_refused() {
    let server = server_with_a_pool();
    let cases: Vec<(Vec<Vec<u8>>, String)> = [
        "0",
        "-1",
        "-0",
        "1000000001",
        "99999999999999999999999",
        "1.5",
        "",
        "abc",
        "five",
        "NaN",
        "inf",
        "1/2",
    ]
    .iter()
    .map(|c| {
        (
            words(&["GPOOL.RECORD", "p", "test-key-0001", c]),
            errors::count(c.as_bytes()),
        )
    })
    .chain([(
        // Arguments are checked before the pool's contents.
        words(&["GPOOL.RECORD", "p", "test-key-0099", "0"]),
        errors::count(b"0"),
    )])
    .collect();
    assert_eq!(
        errors::count(b"0"),
        "ERR invalid count '0': use a whole number from 1 to 1000000000"
    );
    assert_refused(&server, &cases);
}

#[test]
fn bad_debug_commands_are_refused_and_leave_the_clock_pinned() {
    let server = server_with_a_pool();
    let cases = vec![
        (
            words(&["GPOOL.DEBUG", "TIME", "5"]),
            errors::debug_subcommand(b"TIME"),
        ),
        (
            words(&["GPOOL.DEBUG", "", "5"]),
            errors::debug_subcommand(b""),
        ),
        (
            words(&["GPOOL.DEBUG", "CLOCK", "-1"]),
            errors::unix_time(b"-1"),
        ),
        (
            words(&["GPOOL.DEBUG", "CLOCK", "253402300800"]),
            errors::unix_time(b"253402300800"),
        ),
        (
            words(&["GPOOL.DEBUG", "CLOCK", "1.5"]),
            errors::unix_time(b"1.5"),
        ),
        (
            words(&["GPOOL.DEBUG", "CLOCK", "now"]),
            errors::unix_time(b"now"),
        ),
        (words(&["GPOOL.DEBUG", "CLOCK", ""]), errors::unix_time(b"")),
        (
            words(&[
                "GPOOL.DEBUG",
                "CLOCK",
                "99999999999999999999999999999999999",
            ]),
            errors::unix_time(b"99999999999999999999999999999999999"),
        ),
    ];
    assert_eq!(
        errors::unix_time(b"now"),
        "ERR invalid unix time 'now': use whole seconds from 0 to 253402300799, or REAL"
    );
    assert_eq!(
        errors::debug_subcommand(b"TIME"),
        "ERR unknown subcommand 'TIME': use GPOOL.DEBUG CLOCK <unix-seconds>|REAL"
    );
    assert_refused(&server, &cases);
}

#[test]
fn a_pool_key_of_the_wrong_type_is_refused_with_wrongtype() {
    let server = server_with_a_pool();
    let mut con = server.conn();
    let _: () = redis::cmd("SET")
        .arg("gpool:{w}:ring")
        .arg("x")
        .query(&mut con)
        .unwrap();

    let cases = vec![
        (
            words(&["GPOOL.NEXT", "w", "embed"]),
            errors::WRONGTYPE.to_string(),
        ),
        (
            words(&["GPOOL.ADD", "w", "test-key-0001"]),
            errors::WRONGTYPE.to_string(),
        ),
        (
            words(&["GPOOL.REMOVE", "w", "test-key-0001"]),
            errors::WRONGTYPE.to_string(),
        ),
        (
            words(&["GPOOL.SPEND", "w", "test-key-0001", "embed"]),
            errors::WRONGTYPE.to_string(),
        ),
        (
            words(&["GPOOL.RESTORE", "w", "test-key-0001", "embed"]),
            errors::WRONGTYPE.to_string(),
        ),
        (
            words(&["GPOOL.RECORD", "w", "test-key-0001"]),
            errors::WRONGTYPE.to_string(),
        ),
        (words(&["GPOOL.USAGE", "w"]), errors::WRONGTYPE.to_string()),
        (words(&["GPOOL.STATUS", "w"]), errors::WRONGTYPE.to_string()),
        // Arguments are checked before the types of the pool's keys.
        (
            words(&["GPOOL.NEXT", "w", "bad class"]),
            errors::class(b"bad class"),
        ),
        (words(&["GPOOL.ADD", "w", "bad key"]), errors::api_key(2)),
    ];
    assert_refused(&server, &cases);
    assert_eq!(
        server.dump().unwrap()["gpool:{w}:ring"].value,
        common::Stored::String("x".into())
    );
}

#[test]
fn other_pool_keys_of_the_wrong_type_are_refused_with_wrongtype() {
    let server = server_with_a_pool();
    let mut con = server.conn();
    for pool in ["c", "m", "u", "s"] {
        int_cmd(
            &mut con,
            &["GPOOL.ADD", pool, "test-key-0001", "test-key-0002"],
        );
    }
    for key in [
        "gpool:{c}:cursor",
        "gpool:{m}:meta",
        "gpool:{u}:usage:2026-06-15",
        "gpool:{s}:spent:embed:2026-06-15",
        "gpool:{s}:skip:embed:2026-06-15",
    ] {
        let _: () = redis::cmd("SET").arg(key).arg("x").query(&mut con).unwrap();
    }
    let wrongtype = || errors::WRONGTYPE.to_string();

    let cases = vec![
        (words(&["GPOOL.NEXT", "c", "embed"]), wrongtype()),
        (
            words(&["GPOOL.SPEND", "c", "test-key-0001", "embed"]),
            wrongtype(),
        ),
        (words(&["GPOOL.ADD", "m", "test-key-0003"]), wrongtype()),
        (words(&["GPOOL.NEXT", "u", "embed"]), wrongtype()),
        (
            words(&["GPOOL.RECORD", "u", "test-key-0001", "3"]),
            wrongtype(),
        ),
        (words(&["GPOOL.USAGE", "u"]), wrongtype()),
        (words(&["GPOOL.USAGE", "u", "test-key-0001"]), wrongtype()),
        (
            words(&["GPOOL.SPEND", "s", "test-key-0001", "embed"]),
            wrongtype(),
        ),
        (
            words(&["GPOOL.RESTORE", "s", "test-key-0001", "embed"]),
            wrongtype(),
        ),
        (words(&["GPOOL.NEXT", "s", "embed"]), wrongtype()),
    ];
    assert_refused(&server, &cases);
}

/// What the docs say a command must answer, judged from its arguments alone.
#[derive(Debug, PartialEq)]
enum Expect {
    /// this error, word for word
    Error(String),
    /// no argument error: a reply, or for SPEND, RESTORE and RECORD the not-in-pool error
    Accepted,
    /// the docs leave it open (`+5`, `007`, `5.0`, `clock` in lower case, ...): only the
    /// `ERR ` prefix of an error is checked
    Open,
}

const COMMANDS: [&str; 9] = [
    "GPOOL.ADD",
    "GPOOL.REMOVE",
    "GPOOL.NEXT",
    "GPOOL.SPEND",
    "GPOOL.RESTORE",
    "GPOOL.RECORD",
    "GPOOL.USAGE",
    "GPOOL.STATUS",
    "GPOOL.DEBUG",
];

/// What a position holds: arguments are generated to fit it or not.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Pool,
    Class,
    ApiKey,
    Count,
    Subcommand,
    UnixTime,
}

/// The documented shape of each command: its slots, and whether the last one repeats.
fn slots(command: &str) -> (&'static [Slot], bool) {
    use Slot::*;
    match command {
        "GPOOL.ADD" | "GPOOL.REMOVE" => (&[Pool, ApiKey], true),
        "GPOOL.NEXT" => (&[Pool, Class], false),
        // RESTORE without a class lifts every penalty of the key.
        "GPOOL.SPEND" | "GPOOL.RESTORE" => (&[Pool, ApiKey, Class], false),
        "GPOOL.RECORD" => (&[Pool, ApiKey, Count], false),
        "GPOOL.USAGE" => (&[Pool, ApiKey], true),
        "GPOOL.STATUS" => (&[Pool], false),
        "GPOOL.DEBUG" => (&[Subcommand, UnixTime], false),
        _ => unreachable!(),
    }
}

/// Allowed numbers of arguments after the command name.
fn arity(command: &str) -> (usize, usize) {
    match command {
        "GPOOL.ADD" | "GPOOL.REMOVE" => (2, usize::MAX),
        "GPOOL.NEXT" => (2, 2),
        "GPOOL.SPEND" => (3, 3),
        "GPOOL.RESTORE" => (2, 3),
        "GPOOL.RECORD" => (2, 3),
        "GPOOL.USAGE" => (1, usize::MAX),
        "GPOOL.STATUS" => (1, 1),
        "GPOOL.DEBUG" => (2, 2),
        _ => unreachable!(),
    }
}

fn is_name(b: &[u8]) -> bool {
    (1..=128).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.:".contains(c))
}

fn is_api_key(b: &[u8]) -> bool {
    (1..=512).contains(&b.len()) && b.iter().all(|c| (0x21..=0x7e).contains(c))
}

/// A decimal whole number as plainly written: `0` or digits without a leading zero.
fn plain_number(b: &[u8]) -> Option<u128> {
    let plain = b == b"0" || (!b.is_empty() && b[0] != b'0' && b.iter().all(u8::is_ascii_digit));
    if !plain {
        return None;
    }
    Some(
        std::str::from_utf8(b)
            .ok()?
            .parse::<u128>()
            .unwrap_or(u128::MAX),
    )
}

/// Whether a number-like argument is one the docs leave open: signs, leading zeros,
/// decimals, exponents, hex and white space that some parsers accept.
fn number_is_open(b: &[u8]) -> bool {
    let negative_integer = b.len() > 1 && b[0] == b'-' && b[1..].iter().all(u8::is_ascii_digit);
    if negative_integer {
        return false;
    }
    if let Some(f) = std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
    {
        if f.is_finite() && f.fract() != 0.0 {
            return false; // 1.5 is no whole number in any reading
        }
    }
    !b.is_empty() && b.iter().all(|c| b"0123456789+-.eExX \t".contains(c))
}

fn judge_count(b: &[u8]) -> Option<Expect> {
    match plain_number(b) {
        Some(n) if (1..=1_000_000_000).contains(&n) => None,
        Some(_) => Some(Expect::Error(errors::count(b))),
        None if number_is_open(b) => Some(Expect::Open),
        None => Some(Expect::Error(errors::count(b))),
    }
}

fn judge_unix_time(b: &[u8]) -> Option<Expect> {
    if b == b"REAL" {
        return None;
    }
    if b.eq_ignore_ascii_case(b"REAL") {
        return Some(Expect::Open);
    }
    match plain_number(b) {
        Some(n) if n <= 253_402_300_799 => None,
        Some(_) => Some(Expect::Error(errors::unix_time(b))),
        None if number_is_open(b) => Some(Expect::Open),
        None => Some(Expect::Error(errors::unix_time(b))),
    }
}

/// Judges a command from its arguments as the docs order the checks: arity, the pool,
/// then the other arguments from left to right.
fn judge(command: &str, args: &[Vec<u8>], debug_clock: bool) -> Expect {
    let (low, high) = arity(command);
    if args.len() < low || args.len() > high {
        return Expect::Error(errors::arity(command));
    }
    if command == "GPOOL.DEBUG" {
        if args[0] != b"CLOCK" {
            return if args[0].eq_ignore_ascii_case(b"CLOCK") || !debug_clock {
                Expect::Open
            } else {
                Expect::Error(errors::debug_subcommand(&args[0]))
            };
        }
        if !debug_clock {
            return Expect::Error(errors::DEBUG_DISABLED.to_string());
        }
        return judge_unix_time(&args[1]).unwrap_or(Expect::Accepted);
    }
    let (shape, repeats) = slots(command);
    for (i, arg) in args.iter().enumerate() {
        let slot = shape[i.min(shape.len() - 1)];
        assert!(i < shape.len() || repeats);
        let verdict = match slot {
            Slot::Pool => (!is_name(arg)).then(|| Expect::Error(errors::pool(arg))),
            Slot::Class => (!is_name(arg)).then(|| Expect::Error(errors::class(arg))),
            Slot::ApiKey => (!is_api_key(arg)).then(|| Expect::Error(errors::api_key(i + 1))),
            Slot::Count => judge_count(arg),
            Slot::Subcommand | Slot::UnixTime => unreachable!(),
        };
        if let Some(v) = verdict {
            return v;
        }
    }
    Expect::Accepted
}

/// Random arguments: mostly fitting their slot, otherwise anything from empty to a
/// megabyte, binary, unicode, or a number out of range.
struct Generator {
    rng: StdRng,
}

impl Generator {
    fn fitting(&mut self, slot: Slot) -> Vec<u8> {
        let r = &mut self.rng;
        let s: &str = match slot {
            Slot::Pool => ["p", "fuzz", "q.1", "a:b", "P-2", "x_y"].choose(r).unwrap(),
            Slot::Class => ["embed", "generate", "c:1", "e.2"].choose(r).unwrap(),
            Slot::ApiKey => [
                "test-key-0001",
                "test-key-0002",
                "test-key-0003",
                "test-key-0004",
                "k",
            ]
            .choose(r)
            .unwrap(),
            Slot::Count => ["1", "2", "17", "1000000000"].choose(r).unwrap(),
            Slot::Subcommand => "CLOCK",
            Slot::UnixTime => ["1781550000", "0", "253402300799", "REAL"]
                .choose(r)
                .unwrap(),
        };
        s.as_bytes().to_vec()
    }

    fn anything(&mut self) -> Vec<u8> {
        let r = &mut self.rng;
        match r.gen_range(0..100) {
            0..=5 => Vec::new(),
            6..=25 => {
                let n = r.gen_range(1..40);
                (0..n).map(|_| r.gen::<u8>()).collect()
            }
            26..=33 => {
                let mut v: Vec<u8> = (0..r.gen_range(1..20))
                    .map(|_| r.gen_range(0x21..0x7f))
                    .collect();
                let at = r.gen_range(0..=v.len());
                v.insert(at, *b" \t\r\n\x00\x7f".choose(r).unwrap());
                v
            }
            34..=43 => [
                "\u{e9}t\u{e9}",
                "\u{65e5}\u{672c}",
                "\u{1f511}",
                "cl\u{e9}-1",
                "\u{feff}p",
                "\u{0}",
            ]
            .choose(r)
            .unwrap()
            .as_bytes()
            .to_vec(),
            44..=51 => {
                let n = r.gen_range(129..300);
                (0..n)
                    .map(|_| *b"abcXYZ019_-.:".choose(r).unwrap())
                    .collect()
            }
            52..=57 => {
                let n = r.gen_range(510..600);
                (0..n).map(|_| r.gen_range(0x21..0x7f)).collect()
            }
            58..=79 => [
                "0",
                "-1",
                "-0",
                "+5",
                "007",
                "1.5",
                "5.0",
                "1e3",
                "0x10",
                " 5",
                "5 ",
                "1000000001",
                "999999999999999999999999",
                "-9223372036854775808",
                "18446744073709551616",
                "253402300800",
                "NaN",
                "inf",
                "-inf",
                "1_000",
                "\u{661}",
            ]
            .choose(r)
            .unwrap()
            .as_bytes()
            .to_vec(),
            80..=84 => [
                "{p}",
                "a{b",
                "}",
                "*",
                "gpool:{p}:ring",
                "CLOCK",
                "clock",
                "REAL",
                "real",
            ]
            .choose(r)
            .unwrap()
            .as_bytes()
            .to_vec(),
            85..=86 => {
                // Up to a megabyte.
                let n = r.gen_range(100_000..=1_000_000);
                if r.gen_bool(0.5) {
                    vec![b'a'; n]
                } else {
                    (0..n).map(|_| r.gen::<u8>()).collect()
                }
            }
            _ => vec![0xff; r.gen_range(1..8)],
        }
    }

    /// One command: its name (perhaps in lower case) and arguments.
    fn command(&mut self) -> (String, &'static str, Vec<Vec<u8>>) {
        let command = *COMMANDS.choose(&mut self.rng).unwrap();
        let (shape, repeats) = slots(command);
        let (low, high) = arity(command);
        let n = match self.rng.gen_range(0..10) {
            0 => self.rng.gen_range(0..low.max(1)),
            1 => high.min(low + 4).saturating_add(1).min(6),
            _ if repeats => self.rng.gen_range(low..=low + 3),
            _ => self.rng.gen_range(low..=high),
        };
        let wild = self.rng.gen_range(0.0..0.5);
        let args = (0..n)
            .map(|i| {
                let slot = shape[i.min(shape.len() - 1)];
                if self.rng.gen_bool(wild) {
                    self.anything()
                } else {
                    self.fitting(slot)
                }
            })
            .collect();
        let name = if self.rng.gen_bool(0.2) {
            command.to_lowercase()
        } else {
            command.to_string()
        };
        (name, command, args)
    }
}

/// The kind of reply an accepted command gives.
fn reply_fits(command: &str, reply: &Value) -> bool {
    match command {
        "GPOOL.ADD" | "GPOOL.REMOVE" | "GPOOL.SPEND" | "GPOOL.RESTORE" | "GPOOL.RECORD" => {
            matches!(reply, Value::Int(_))
        }
        "GPOOL.NEXT" => matches!(reply, Value::BulkString(_) | Value::Nil),
        "GPOOL.USAGE" | "GPOOL.STATUS" => matches!(reply, Value::Array(_) | Value::Map(_)),
        "GPOOL.DEBUG" => matches!(reply, Value::Okay),
        _ => false,
    }
}

/// Sends `count` random commands and checks each reply against the judgement.
fn fuzz(server: &RedisServer, debug_clock: bool, seed: u64, count: usize) {
    let mut con: Connection = server.conn();
    let mut gen = Generator {
        rng: StdRng::seed_from_u64(seed),
    };
    let mut per_command = std::collections::BTreeMap::<&str, usize>::new();
    let (mut exact, mut accepted) = (0, 0);
    let (mut huge, mut nul, mut ff) = (0, 0, 0);

    for i in 0..count {
        let (name, command, args) = gen.command();
        let mut words = vec![name.into_bytes()];
        words.extend(args.iter().cloned());
        let reply = call(&mut con, &words);
        let expect = judge(command, &args, debug_clock);
        let shown_cmd = || words.iter().map(|w| shown(w)).collect::<Vec<_>>().join(" ");
        *per_command.entry(command).or_default() += 1;
        huge += args.iter().any(|a| a.len() > 100_000) as usize;
        nul += args.iter().any(|a| a.contains(&0)) as usize;
        ff += args.iter().any(|a| a.contains(&0xff)) as usize;

        if let Err(e) = &reply {
            assert!(
                e.starts_with("ERR ") || e.starts_with("WRONGTYPE "),
                "case {i}: {} answered the error {e:?}",
                shown_cmd()
            );
        }
        match (&expect, &reply) {
            (Expect::Error(want), _) => {
                exact += 1;
                assert_eq!(
                    reply.as_ref().err(),
                    Some(want),
                    "case {i}: {}",
                    shown_cmd()
                );
            }
            (Expect::Accepted, Ok(v)) => {
                accepted += 1;
                assert!(
                    reply_fits(command, v),
                    "case {i}: {} answered {v:?}",
                    shown_cmd()
                );
            }
            (Expect::Accepted, Err(e)) => {
                let not_in_pool = ["GPOOL.SPEND", "GPOOL.RESTORE", "GPOOL.RECORD"]
                    .contains(&command)
                    && *e
                        == errors::not_in_pool(
                            std::str::from_utf8(&args[1]).unwrap(),
                            std::str::from_utf8(&args[0]).unwrap(),
                        );
                assert!(not_in_pool, "case {i}: {} was refused: {e}", shown_cmd());
            }
            (Expect::Open, _) => {}
        }
    }

    let mut con = server.conn();
    assert_eq!(
        call(&mut con, &["PING"]),
        Ok(Value::SimpleString("PONG".into()))
    );
    for command in COMMANDS {
        let n = per_command.get(command).copied().unwrap_or(0);
        assert!(n >= count / 20, "only {n} cases for {command}");
    }
    assert!(exact >= count / 3, "only {exact} cases with an exact error");
    assert!(accepted >= count / 10, "only {accepted} cases accepted");
    assert!(
        huge >= count / 200,
        "only {huge} cases with an argument over 100 kB"
    );
    assert!(nul >= count / 100, "only {nul} cases with a NUL byte");
    assert!(ff >= count / 50, "only {ff} cases with a 0xff byte");
}

#[test]
fn random_arguments_get_documented_errors_and_the_server_stays_up() {
    let server = server_with_a_pool();
    fuzz(&server, true, 0x6770_6f6f_6c02, 7_000);
}

#[test]
fn random_arguments_without_the_debug_clock_get_documented_errors() {
    let server = RedisServer::with_module();
    int_cmd(
        &mut server.conn(),
        &["GPOOL.ADD", "p", "test-key-0001", "test-key-0002"],
    );
    fuzz(&server, false, 0x6770_6f6f_6c03, 3_000);
}
