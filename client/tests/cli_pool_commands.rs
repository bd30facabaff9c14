//! `gpool add|remove|spend|restore|project|pin|unpin|next`: output and exit code of each,
//! the ways keys come in, fingerprints for keys, errors as one line with the right code,
//! and `--help` with examples on every command.

mod cli_support;
mod common;

use std::time::Duration;

use cli_support::{assert_no_secret, fp, key, secret, Gpool};
use common::{free_port, Server};
use gpool_client::{ApiKey, Engine};

fn keys(ns: &[u32]) -> Vec<ApiKey> {
    ns.iter().map(|n| ApiKey::new(key(*n))).collect()
}

#[test]
fn add_reads_standard_input_one_key_a_line() {
    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server);

    let stdin = format!("{}\n\n# a comment\n  {}  \n{}\n", key(1), key(2), key(1));
    let run = gpool.run_with_stdin(&["add"], &stdin);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "pool 'gemini': 2 of 2 keys added, 0 already there; 2 keys in all\n"
    );
    assert_eq!(run.stderr, "");

    let run = gpool.run_with_stdin(&["add"], &format!("{}\n{}\n", key(2), key(3)));
    assert_eq!(
        run.stdout,
        "pool 'gemini': 1 of 2 keys added, 1 already there; 3 keys in all\n"
    );

    let mut pool = server.pool("gemini");
    assert_eq!(pool.next("embed").unwrap(), Some(ApiKey::new(key(1))));
    assert_eq!(pool.next("embed").unwrap(), Some(ApiKey::new(key(2))));
    assert_eq!(pool.next("embed").unwrap(), Some(ApiKey::new(key(3))));
}

#[test]
fn add_takes_a_file_that_starts_with_a_byte_order_mark() {
    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server);
    let run = gpool.run_with_stdin(&["add"], &format!("\u{feff}{}\r\n{}\r\n", key(1), key(2)));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "pool 'gemini': 2 of 2 keys added, 0 already there; 2 keys in all\n"
    );
    assert_eq!(
        server.pool("gemini").next("embed").unwrap(),
        Some(ApiKey::new(key(1)))
    );
}

#[test]
fn a_key_list_that_is_not_text_is_named_not_shown() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server);
    let mut list = key(1).into_bytes();
    list.push(0xff);
    let mut command = gpool.command(&["add", "--from-env"]);
    command.env("GEMINI_EMBED_KEY_POOL", OsStr::from_bytes(&list));
    let output = command.output().expect("running gpool");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: GEMINI_EMBED_KEY_POOL is not text: keys are printable characters without \
         spaces, comma-separated\n"
    );
    assert_no_secret("add --from-env", "", &stderr);

    // The same list in the embedding client's settings.
    let mut command = gpool.command(&["embed", "hello"]);
    command.env("GEMINI_EMBED_KEY_POOL", OsStr::from_bytes(&list));
    let output = command.output().expect("running gpool");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid GEMINI_EMBED_KEY_POOL '(not shown)': text in UTF-8"),
        "{stderr}"
    );
    assert_no_secret("embed", "", &stderr);
    assert_eq!(server.pool("gemini").status().unwrap().keys, 0);
}

#[test]
fn add_takes_arguments_and_the_environment_and_then_ignores_standard_input() {
    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server).env(
        "GEMINI_EMBED_KEY_POOL",
        &format!(" {} ,,{}", key(2), key(3)),
    );

    let run = gpool.run_with_stdin(&["add", "--from-env"], &format!("{}\n", key(9)));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "pool 'gemini': 2 of 2 keys added, 0 already there; 2 keys in all\n"
    );

    let k1 = key(1);
    let run = gpool.run_with_stdin(&["--pool", "other", "add", &k1], &format!("{}\n", key(9)));
    assert_eq!(
        run.stdout,
        "pool 'other': 1 of 1 key added, 0 already there; 1 key in all\n"
    );
    assert_eq!(server.pool("gemini").status().unwrap().keys, 2);
    assert_eq!(server.pool("other").status().unwrap().keys, 1);
}

#[test]
fn add_refuses_bad_input_without_echoing_it() {
    let server = Server::start(Engine::Module);
    let gpool = Gpool::new(&server);

    let bad = secret("test-key-cli with-a-space-0001");
    let run = gpool.run_with_stdin(&["add"], &format!("{}\n{bad}\n", key(1)));
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: line 2 of standard input is not an api key: use 1 to 512 printable \
         characters without spaces\n"
    );
    assert_eq!(
        server.pool("gemini").status().unwrap().keys,
        0,
        "nothing added"
    );

    let run = gpool.run_with_stdin(&["add"], "\n# only a comment\n");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: standard input held no keys: give them one a line, or use --from-env\n"
    );

    let run = gpool
        .clone()
        .env("GEMINI_EMBED_KEY_POOL", " , ")
        .run(&["add", "--from-env"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: GEMINI_EMBED_KEY_POOL holds no keys: set it to comma-separated keys, or pipe \
         the keys in one a line\n"
    );

    let run = gpool.run(&["--pool", "bad pool", "add", &key(1)]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid pool name 'bad\\x20pool': use 1 to 128 letters, digits, '_', '-', \
         '.', ':'\n"
    );
}

#[test]
fn remove_takes_keys_and_fingerprints() {
    let server = Server::start(Engine::Module);
    let mut pool = server.pool("gemini");
    pool.add(&keys(&[1, 2, 3, 4])).unwrap();
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["remove", &fp(2), "...0003"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "pool 'gemini': 2 keys removed; 2 keys left\n");

    let run = gpool.run_with_stdin(&["remove"], &format!("{}\n{}\n", key(4), key(8)));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "pool 'gemini': 1 key removed, 1 not in the pool; 1 key left\n"
    );

    let run = gpool.run(&["remove", "...9999"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: no key of pool 'gemini' ends in '9999': 'gpool status' lists the pool's keys\n"
    );
    assert_eq!(pool.status().unwrap().keys, 1);
}

#[test]
fn a_fingerprint_that_matches_several_keys_is_refused() {
    let server = Server::start(Engine::Module);
    server.pool("gemini").add(&keys(&[1, 2, 11])).unwrap();

    let run = Gpool::new(&server).run(&["spend", "...1", "embed"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: '...1' matches 2 keys of pool 'gemini' (positions 1, 3): give more of its \
         last characters\n"
    );
}

#[test]
fn spend_and_restore_per_class_and_whole() {
    let server = Server::start(Engine::Module);
    let mut pool = server.pool("gemini");
    pool.add(&keys(&[1, 2])).unwrap();
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["spend", &fp(1), "embed"]);
    assert_eq!(run.code, 0, "{run:?}");
    let reset = regex::Regex::new(
        r"^\.\.\.bbb-0001 is spent for embed until the quota day ends \(in \d+(h \d\dm|m \d\ds|s)\)\n$",
    )
    .unwrap();
    assert!(reset.is_match(&run.stdout), "{}", run.stdout);

    let k1 = key(1);
    let run = gpool.run(&["spend", &k1, "embed"]);
    assert_eq!(run.stdout, "...bbb-0001 was already spent for embed\n");
    gpool.run(&["spend", &fp(1), "generate"]);
    assert_eq!(pool.next("embed").unwrap(), Some(ApiKey::new(key(2))));

    let run = gpool.run(&["restore", &fp(1), "embed"]);
    assert_eq!(run.stdout, "...bbb-0001 is no longer spent for embed\n");
    let run = gpool.run(&["restore", &fp(1), "embed"]);
    assert_eq!(run.stdout, "...bbb-0001 was not spent for embed\n");
    assert_eq!(pool.status().unwrap().classes["generate"].spent, 1);

    let run = gpool.run(&["restore", &fp(1)]);
    assert_eq!(
        run.stdout,
        "...bbb-0001: every penalty lifted; it is back in every class's rotation\n"
    );
    assert_eq!(pool.status().unwrap().classes["generate"].spent, 0);
    let run = gpool.run(&["restore", &fp(1)]);
    assert_eq!(run.stdout, "...bbb-0001 had no penalty\n");

    let k5 = key(5);
    let run = gpool.run(&["spend", &k5, "embed"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: api key ...bbb-0005 is not in pool 'gemini': 'gpool status' lists the pool's \
         keys\n"
    );

    let run = gpool.run(&["spend", &fp(1), "no good"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid class name 'no\\x20good': use 1 to 128 letters, digits, '_', '-', \
         '.', ':'\n"
    );
}

#[test]
fn project_groups_keys_so_a_daily_limit_reaches_them_all() {
    let server = Server::start(Engine::Module);
    let mut pool = server.pool("gemini");
    pool.add(&keys(&[1, 2, 3])).unwrap();
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["project", "billing-a", &fp(1), &fp(2)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "2 keys placed in project 'billing-a'\n");

    let daily = common::case("gemini-daily-embed");
    pool.report(
        &ApiKey::new(key(1)),
        "embed",
        daily.status,
        daily.body.as_bytes(),
    )
    .unwrap();
    assert_eq!(pool.status().unwrap().classes["embed"].spent, 2);

    let run = gpool.run(&["project", "billing-a"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("error: the following required arguments were not provided: <KEY|FINGERPRINT>...: see 'gpool project --help'"), "{}", run.stderr);
}

#[test]
fn pin_and_unpin() {
    let server = Server::start(Engine::Module);
    let mut pool = server.pool("gemini");
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["pin", "openrouter-only", "30m"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "'openrouter-only' is pinned for 30m 00s\n");
    assert_eq!(
        pool.pinned("openrouter-only").unwrap(),
        Duration::from_secs(1800)
    );
    let run = gpool.run(&["pin", "maintenance", "90"]);
    assert_eq!(run.stdout, "'maintenance' is pinned for 1m 30s\n");

    let run = gpool.run(&["unpin", "openrouter-only"]);
    assert_eq!(run.stdout, "'openrouter-only' is no longer pinned\n");
    let run = gpool.run(&["unpin", "openrouter-only"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "'openrouter-only' was not pinned\n");

    let run = gpool.run(&["pin", "x", "soon"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'soon' for '<DURATION>': 'soon' is not a duration: use seconds \
         or forms like 90s, 30m, 2h, 1h30m: see 'gpool pin --help'\n"
    );

    // Longer than GPOOL.PIN takes: refused before Redis is asked.
    let run = gpool.run(&["pin", "x", "400d"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value '400d' for '<DURATION>': '400d' is longer than a pin may last: \
         at most 365d (31536000 seconds): see 'gpool pin --help'\n"
    );
    let run = gpool.run(&["pin", "x", "365d"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn next_prints_the_fingerprint_and_fails_when_no_key_is_left() {
    let server = Server::start(Engine::Module);
    let mut pool = server.pool("gemini");
    let gpool = Gpool::new(&server);

    let run = gpool.run(&["next", "embed"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: pool 'gemini' has no keys: add some with 'gpool add'\n"
    );

    pool.add(&keys(&[1, 2])).unwrap();
    assert_eq!(gpool.run(&["next", "embed"]).stdout, "...bbb-0001\n");
    assert_eq!(gpool.run(&["next", "embed"]).stdout, "...bbb-0002\n");
    assert_eq!(pool.usage(&keys(&[1, 2])).unwrap(), vec![1, 1]);

    pool.spend(&ApiKey::new(key(1)), "embed").unwrap();
    let invalid = common::case("gemini-invalid-key");
    pool.report(
        &ApiKey::new(key(2)),
        "embed",
        invalid.status,
        invalid.body.as_bytes(),
    )
    .unwrap();
    let run = gpool.run(&["next", "embed"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: no key of pool 'gemini' is usable for embed: 1 spent, 0 cooling, 1 disabled; \
         see 'gpool status'\n"
    );
}

#[test]
fn redis_that_does_not_answer_is_one_line_with_exit_1_and_no_password() {
    let port = free_port();
    let password = secret("cli-test-password-0001");
    let url = format!("redis://:{password}@127.0.0.1:{port}/");
    let run = Gpool::default().run(&["--redis-url", &url, "status"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: redis does not answer at redis://:***@127.0.0.1:{port}/ ("
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "): start redis-server there ('make run' does), or point --redis-url or \
             REDIS_URL at it\n"
        ),
        "{}",
        run.stderr
    );

    let run = Gpool::default().run(&["--redis-url", "http://nowhere", "status"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid --redis-url 'http://nowhere': use redis://[user:password@]host:port[/db]\n"
    );
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let gpool = Gpool::default();
    let run = gpool.run(&["frobnicate"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: unrecognized subcommand 'frobnicate': see 'gpool --help'\n"
    );

    let run = gpool.run(&["status", "--watch", "never"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'never' for '--watch <SECONDS>': 'never' is not a number of \
         seconds from 0.1 to 86400: see 'gpool status --help'\n"
    );

    // A key given where a class goes is quoted back only as its fingerprint.
    let k1 = key(1);
    let run = gpool.run(&["next", "embed", &k1]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: unexpected argument '...bbb-0001' found: see 'gpool next --help'\n"
    );

    let run = gpool.run(&[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("Usage: gpool [OPTIONS] <COMMAND>"),
        "{}",
        run.stderr
    );
}

#[test]
fn arguments_that_are_not_utf8_are_usage_errors() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let gpool = Gpool::default();
    let mut bad_key = key(9).into_bytes();
    bad_key.push(0xff);
    let cases: [(&[&str], &[u8], &str); 3] = [
        (&["add"], &bad_key, "add"),
        (&["--pool"], b"p\xff", "status"),
        (&["embed"], b"text \xff", "embed"),
    ];
    for (before, bad, named) in cases {
        let mut command = gpool.command(before);
        command.arg(OsStr::from_bytes(bad));
        if named == "status" {
            command.arg("status");
        }
        let output = command.output().expect("running gpool");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{before:?}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: invalid UTF-8 was detected in one or more arguments: see 'gpool \
                 {named} --help'\n"
            )
        );
        assert!(output.stdout.is_empty());
        assert_no_secret(&format!("{before:?}"), "", &stderr);
    }
}

#[test]
fn every_command_has_help_with_examples() {
    let gpool = Gpool::default();
    let run = gpool.run(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    for command in [
        "add",
        "remove",
        "spend",
        "restore",
        "project",
        "pin",
        "unpin",
        "next",
        "status",
        "embed",
        "probe",
        "import-legacy",
    ] {
        let run = gpool.run(&[command, "--help"]);
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert!(
            run.stdout.contains(&format!("Usage: gpool {command}")),
            "{command}: {}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains(&format!("Examples:\n  gpool {command}")),
            "{command} has no examples: {}",
            run.stdout
        );
        assert_eq!(run.stderr, "");
    }
    let run = gpool.run(&["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, format!("gpool {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_lua_library_serves_the_same_commands() {
    let server = Server::start(Engine::Lua);
    let gpool = Gpool::new(&server);

    let run = gpool.run_with_stdin(&["add"], &format!("{}\n{}\n", key(1), key(2)));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "pool 'gemini': 2 of 2 keys added, 0 already there; 2 keys in all\n"
    );
    assert_eq!(gpool.run(&["next", "embed"]).stdout, "...bbb-0001\n");
    assert_eq!(
        gpool.run(&["spend", &fp(2), "embed"]).code,
        0,
        "spend through FCALL"
    );
    assert_eq!(gpool.run(&["next", "embed"]).stdout, "...bbb-0001\n");
    assert_eq!(
        gpool.run(&["remove", &fp(1)]).stdout,
        "pool 'gemini': 1 key removed; 1 key left\n"
    );
}
