//! Harness for the module's integration tests: each `RedisServer` owns one real
//! `redis-server` child on a loopback port, in a data directory of its own, and kills it
//! when dropped, even when the test panics. Also: reading replies the same way over RESP2
//! and RESP3, dumping a pool's keys to compare two servers, and the documented error texts.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use redis::{Connection, RedisError, Value};

/// How long a server may take to answer PING after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Test ports stay in this range, on 127.0.0.1 only.
const PORT_LOW: u32 = 20_000;
const PORT_HIGH: u32 = 60_000;

/// Ports handed out so far by this test process.
static PORTS_TAKEN: AtomicU32 = AtomicU32::new(0);

/// Servers started so far by this test process, to name their data directories.
static SERVERS_STARTED: AtomicU32 = AtomicU32::new(0);

/// Picks a loopback port that nothing listens on yet. Each test process starts from its
/// own offset (from the process id), so test binaries run at the same time rarely meet.
fn free_port() -> Result<u16> {
    let span = PORT_HIGH - PORT_LOW;
    let base = (std::process::id() % 400) * 100;
    for _ in 0..1000 {
        let n = PORTS_TAKEN.fetch_add(1, Ordering::SeqCst);
        let port = (PORT_LOW + (base + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free loopback port between {PORT_LOW} and {PORT_HIGH}")
}

/// The module to load: `GPOOL_MODULE` if set, else the release build of this workspace.
///
/// Panics with what to run when the file is missing: a test that needs the module must
/// fail, never skip, without it.
pub fn module_path() -> PathBuf {
    let path = match std::env::var_os("GPOOL_MODULE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/libgpool.so"),
    };
    if !path.is_file() {
        panic!(
            "the gpool module is not at {}: run `cargo build --release` (or `make build`) \
             first, or point GPOOL_MODULE at the built libgpool.so",
            path.display()
        );
    }
    path
}

/// The `redis-server` to run: `REDIS_SERVER` if set, else the one on the PATH.
fn redis_server_binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_string())
}

/// A server's data directory. It outlives a restart (servers share it through an `Arc`)
/// and is removed when the last server using it is gone.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Creates a new, empty directory under the system's temp directory.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new() -> Result<Arc<DataDir>> {
        let n = SERVERS_STARTED.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "gpool-test-{}-{}-{}",
            std::process::id(),
            n,
            rand::random::<u32>()
        ));
        fs::create_dir_all(&path)
            .with_context(|| format!("creating test data directory {}", path.display()))?;
        Ok(Arc::new(DataDir { path }))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// How to start a server; `RedisServer::builder()` makes one that loads the module with
/// its default options.
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    module: bool,
    timezone: Option<String>,
    debug_clock: Option<bool>,
    module_args: Vec<String>,
    config: Vec<(String, String)>,
    save: String,
    dir: Option<Arc<DataDir>>,
    port: Option<u16>,
}

impl ServerBuilder {
    /// Starts the server without the module.
    pub fn without_module(mut self) -> Self {
        self.module = false;
        self
    }

    /// Loads the module with `timezone <zone>`.
    pub fn timezone(mut self, zone: &str) -> Self {
        self.timezone = Some(zone.to_string());
        self
    }

    /// Loads the module with `debug-clock yes` (or `no`).
    pub fn debug_clock(mut self, on: bool) -> Self {
        self.debug_clock = Some(on);
        self
    }

    /// Passes one more raw word to the module after the named options.
    pub fn module_arg(mut self, word: &str) -> Self {
        self.module_args.push(word.to_string());
        self
    }

    /// Adds a configuration directive, given to the server as `--<name> <value>`; a value
    /// of several words (`replicaof`: "127.0.0.1 6379") is split at spaces.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.config.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the server's `save` points (none unless asked).
    pub fn save(mut self, points: &str) -> Self {
        self.save = points.to_string();
        self
    }

    /// Runs the server in an existing data directory, e.g. one a stopped server left.
    pub fn dir(mut self, dir: Arc<DataDir>) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Starts the server and waits until it answers PING.
    ///
    /// # Errors
    /// When the server exits or does not answer within 10 seconds; the error holds its log.
    pub fn start(mut self) -> Result<RedisServer> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => DataDir::new()?,
        };
        self.dir = Some(dir.clone());
        // A port probed as free can still be taken before the server binds it.
        let mut last_err = None;
        for _ in 0..3 {
            let port = match self.port {
                Some(p) => p,
                None => free_port()?,
            };
            match RedisServer::spawn(&self, &dir, port) {
                Ok(server) => return Ok(server),
                Err(e) => {
                    let in_use = format!("{e:#}").contains("Address already in use");
                    last_err = Some(e);
                    if !in_use || self.port.is_some() {
                        break;
                    }
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("redis-server did not start")))
    }

    /// The words after `--loadmodule`: the module's path and its options.
    fn loadmodule_words(&self) -> Vec<String> {
        let mut words = vec![module_path().display().to_string()];
        if let Some(zone) = &self.timezone {
            words.push("timezone".into());
            words.push(zone.clone());
        }
        if let Some(on) = self.debug_clock {
            words.push("debug-clock".into());
            words.push(if on { "yes" } else { "no" }.into());
        }
        words.extend(self.module_args.iter().cloned());
        words
    }
}

/// One running `redis-server`, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: Arc<DataDir>,
    log: PathBuf,
    builder: ServerBuilder,
}

impl RedisServer {
    /// A builder for a server that loads the module with its default options.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            module: true,
            timezone: None,
            debug_clock: None,
            module_args: Vec::new(),
            config: Vec::new(),
            save: String::new(),
            dir: None,
            port: None,
        }
    }

    /// A server with the module loaded with default options; panics if it cannot start.
    pub fn with_module() -> RedisServer {
        Self::builder()
            .start()
            .expect("starting redis-server with the module")
    }

    /// A server with the module loaded with `debug-clock yes`; panics if it cannot start.
    pub fn with_debug_clock() -> RedisServer {
        Self::builder()
            .debug_clock(true)
            .start()
            .expect("starting redis-server with the module and debug-clock yes")
    }

    /// A server without the module; panics if it cannot start.
    pub fn without_module() -> RedisServer {
        Self::builder()
            .without_module()
            .start()
            .expect("starting redis-server without the module")
    }

    fn spawn(builder: &ServerBuilder, dir: &Arc<DataDir>, port: u16) -> Result<RedisServer> {
        let n = SERVERS_STARTED.fetch_add(1, Ordering::SeqCst);
        let log = dir.path().join(format!("server-{port}-{n}.log"));
        let log_file =
            fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .context("duplicating the log file handle")?;

        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.path().display().to_string(),
            "--save".into(),
            builder.save.clone(),
            "--daemonize".into(),
            "no".into(),
            "--enable-module-command".into(),
            "yes".into(),
            "--enable-debug-command".into(),
            "yes".into(),
        ];
        if builder.module {
            args.push("--loadmodule".into());
            args.extend(builder.loadmodule_words());
        }
        for (name, value) in &builder.config {
            args.push(format!("--{name}"));
            // `replicaof 127.0.0.1 6379` takes two words; the server quotes a word with a
            // space in it, so each word is an argument of its own.
            let words: Vec<&str> = value.split_whitespace().collect();
            if words.is_empty() {
                args.push(String::new());
            }
            args.extend(words.iter().map(|w| w.to_string()));
        }

        let binary = redis_server_binary();
        let child = Command::new(&binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .with_context(|| {
                format!(
                    "running `{binary}`: is redis-server installed (apt-get install redis-server)?"
                )
            })?;
        let mut server = RedisServer {
            child: Some(child),
            port,
            dir: dir.clone(),
            log,
            builder: builder.clone(),
        };
        server
            .wait_until_ready()
            .with_context(|| format!("redis-server {}", args.join(" ")))?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let client = redis::Client::open(self.url()).context("making the client")?;
        let mut last = String::from("no attempt");
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!(
                    "redis-server exited ({status}) while starting; its log:\n{}",
                    self.log()
                );
            }
            match client.get_connection_with_timeout(Duration::from_millis(250)) {
                Ok(mut con) => match redis::cmd("PING").query::<String>(&mut con) {
                    Ok(_) => return Ok(()),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "redis-server on port {} did not answer PING within {:?} (last: {last}); its log:\n{}",
            self.port,
            START_TIMEOUT,
            self.log()
        )
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data directory, shared with a restarted server.
    pub fn dir(&self) -> Arc<DataDir> {
        self.dir.clone()
    }

    /// What the server has written to its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// The connection URL, RESP2.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A new RESP2 connection; panics if the server does not accept it.
    pub fn conn(&self) -> Connection {
        self.try_conn(false).expect("connecting over RESP2")
    }

    /// A new RESP3 connection (the client sends `HELLO 3`); panics on failure.
    pub fn conn_resp3(&self) -> Connection {
        self.try_conn(true).expect("connecting over RESP3")
    }

    fn try_conn(&self, resp3: bool) -> Result<Connection> {
        let url = if resp3 {
            format!("redis://127.0.0.1:{}/?protocol=resp3", self.port)
        } else {
            self.url()
        };
        let client = redis::Client::open(url.as_str()).with_context(|| url.clone())?;
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .with_context(|| format!("connecting to {url}"))?;
        con.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(con)
    }

    /// Pins the module's clock (`GPOOL.DEBUG CLOCK <unix>`); panics unless it answers OK.
    pub fn pin_clock(&self, unix: i64) {
        let mut con = self.conn();
        let reply = call(&mut con, &["GPOOL.DEBUG", "CLOCK", &unix.to_string()]);
        assert_eq!(reply, Ok(Value::Okay), "GPOOL.DEBUG CLOCK {unix}");
    }

    /// Waits until this server, a replica, has a link up to its primary and no sync in
    /// progress.
    ///
    /// # Errors
    /// When that does not happen within 10 seconds; the error holds the server's log.
    pub fn wait_for_primary_link(&self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut con = self.try_conn(false)?;
        let mut info = String::new();
        while Instant::now() < deadline {
            info = redis::cmd("INFO").arg("replication").query(&mut con)?;
            if info.contains("master_link_status:up") && info.contains("master_sync_in_progress:0")
            {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "no link to the primary within 10 s:\n{info}\nlog:\n{}",
            self.log()
        )
    }

    /// Every key matching `gpool:*` with its type, value and time to live.
    ///
    /// # Errors
    /// When a command fails or a key has a type the dump does not know.
    pub fn dump(&self) -> Result<Dump> {
        dump(&mut self.try_conn(false)?)
    }

    /// Asks the server to exit without saving and waits until it has.
    ///
    /// # Errors
    /// When the server does not exit within 10 seconds (it is killed then).
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(mut con) = self.try_conn(false) {
            // The server closes the connection instead of answering.
            let _ = redis::cmd("SHUTDOWN")
                .arg("NOSAVE")
                .query::<Value>(&mut con);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "redis-server on port {} did not shut down within 10 s",
            self.port
        )
    }

    /// Stops the server (without saving) and starts it again with the same options, port
    /// and data directory, so it loads whatever RDB or AOF the directory holds.
    ///
    /// # Errors
    /// When the server does not stop, or the new one does not start.
    pub fn restart(mut self) -> Result<RedisServer> {
        self.shutdown()
            .context("stopping the server for a restart")?;
        let mut builder = self.builder.clone();
        builder.dir = Some(self.dir.clone());
        builder.port = Some(self.port);
        builder
            .start()
            .context("starting the server again in the same directory")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A primary with the module and the debug clock that syncs a replica at once, not 5 s later.
pub fn primary() -> RedisServer {
    RedisServer::builder()
        .debug_clock(true)
        .config("repl-diskless-sync-delay", "0")
        .start()
        .unwrap()
}

/// A replica of `primary` without the module, started and linked up to it.
pub fn replica_of(primary: &RedisServer) -> RedisServer {
    let replica = RedisServer::builder()
        .without_module()
        .config("replicaof", &format!("127.0.0.1 {}", primary.port()))
        .start()
        .unwrap();
    replica.wait_for_primary_link().unwrap();
    replica
}

/// WAITs until the one replica has every write made on `con` (WAIT counts only its own).
pub fn wait_for_replica(con: &mut Connection) {
    assert_eq!(
        call(con, &["WAIT", "1", "2000"]),
        Ok(Value::Int(1)),
        "WAIT 1 2000"
    );
}

/// Sends one command whose words are given as bytes or strings; the reply, or the error's
/// full text (`ERR ...`, `WRONGTYPE ...`).
pub fn call<A: AsRef<[u8]>>(con: &mut Connection, words: &[A]) -> Result<Value, String> {
    let mut cmd = redis::cmd(
        std::str::from_utf8(words[0].as_ref()).expect("command names are UTF-8 in tests"),
    );
    for w in &words[1..] {
        cmd.arg(w.as_ref());
    }
    cmd.query::<Value>(con).map_err(|e| error_text(&e))
}

/// The full text of an error reply, code included, as the server sent it.
pub fn error_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => format!("(not a server error) {e}"),
    }
}

/// A reply's string, from a bulk or simple string; panics on anything else.
pub fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Okay => "OK".to_string(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

/// A reply's integer; panics on anything else.
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("expected an integer reply, got {other:?}"),
    }
}

/// The field/value pairs of a map reply: a RESP3 map, or a RESP2 flat array of field,
/// value, ... Panics on anything else.
pub fn pairs(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Value::Array(a) => {
            assert!(
                a.len() % 2 == 0,
                "a map sent as a flat array has an even length: {v:?}"
            );
            a.chunks(2).map(|c| (text(&c[0]), c[1].clone())).collect()
        }
        other => panic!("expected a map reply, got {other:?}"),
    }
}

/// Every string inside a reply, at any depth (map keys too), to look for full API keys.
pub fn strings_in(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => out.push(s.clone()),
            Value::VerbatimString { text, .. } => out.push(text.clone()),
            Value::Array(a) | Value::Set(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Map(m) => m.iter().for_each(|(k, x)| {
                walk(k, out);
                walk(x, out);
            }),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// `GPOOL.STATUS` read into fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub keys: i64,
    pub day: String,
    pub timezone: String,
    pub reset_in: i64,
    /// class -> (active, spent)
    pub classes: BTreeMap<String, (i64, i64)>,
}

/// Runs `GPOOL.STATUS <pool>` and checks the reply has exactly the documented fields.
pub fn status(con: &mut Connection, pool: &str) -> Status {
    let reply =
        call(con, &["GPOOL.STATUS", pool]).unwrap_or_else(|e| panic!("GPOOL.STATUS {pool}: {e}"));
    let fields: BTreeMap<String, Value> = pairs(&reply).into_iter().collect();
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    // `pins` belongs to the pins of docs/commands.md, which these tests never set.
    let names_without_pins: Vec<&str> = names.iter().copied().filter(|n| *n != "pins").collect();
    assert_eq!(
        names_without_pins,
        ["classes", "day", "keys", "reset_in", "timezone"],
        "GPOOL.STATUS fields: {reply:?}"
    );
    if let Some(pins) = fields.get("pins") {
        assert!(
            pairs(pins).is_empty(),
            "pins set, though no test sets one: {reply:?}"
        );
    }
    let keys = int(&fields["keys"]);
    let mut classes = BTreeMap::new();
    for (class, counts) in pairs(&fields["classes"]) {
        let counts: BTreeMap<String, Value> = pairs(&counts).into_iter().collect();
        let mut names: Vec<&str> = counts.keys().map(String::as_str).collect();
        // Cooldowns, disabled keys and failure streaks come only from GPOOL.REPORT, which
        // these tests never send: where STATUS shows them, they are 0.
        names.retain(|n| {
            let reported = ["cooling", "disabled", "streak", "next_ready_in"].contains(n);
            if reported {
                assert_eq!(int(&counts[*n]), 0, "{n} of class {class}: {reply:?}");
            }
            !reported
        });
        assert_eq!(
            names,
            ["active", "spent"],
            "fields of class {class}: {reply:?}"
        );
        classes.insert(class, (int(&counts["active"]), int(&counts["spent"])));
    }
    Status {
        keys,
        day: text(&fields["day"]),
        timezone: text(&fields["timezone"]),
        reset_in: int(&fields["reset_in"]),
        classes,
    }
}

/// Runs `GPOOL.NEXT`; the key served, or None for nil. Panics on an error.
pub fn next(con: &mut Connection, pool: &str, class: &str) -> Option<String> {
    match call(con, &["GPOOL.NEXT", pool, class]) {
        Ok(Value::Nil) => None,
        Ok(v) => Some(text(&v)),
        Err(e) => panic!("GPOOL.NEXT {pool} {class}: {e}"),
    }
}

/// Runs a command that answers an integer; panics on an error or another reply.
pub fn int_cmd(con: &mut Connection, words: &[&str]) -> i64 {
    match call(con, words) {
        Ok(v) => int(&v),
        Err(e) => panic!("{}: {e}", words.join(" ")),
    }
}

/// `GPOOL.USAGE <pool>` without keys: fingerprint -> count.
pub fn usage_map(con: &mut Connection, pool: &str) -> BTreeMap<String, i64> {
    let reply =
        call(con, &["GPOOL.USAGE", pool]).unwrap_or_else(|e| panic!("GPOOL.USAGE {pool}: {e}"));
    let list = pairs(&reply);
    let map: BTreeMap<String, i64> = list.iter().map(|(k, v)| (k.clone(), int(v))).collect();
    assert_eq!(map.len(), list.len(), "fingerprints repeat in {reply:?}");
    map
}

/// `GPOOL.USAGE <pool> <key> ...`: the counts in argument order.
pub fn usage_of(con: &mut Connection, pool: &str, keys: &[&str]) -> Vec<i64> {
    let mut words = vec!["GPOOL.USAGE", pool];
    words.extend_from_slice(keys);
    match call(con, &words) {
        Ok(Value::Array(a)) => a.iter().map(int).collect(),
        other => panic!("{}: expected an array, got {other:?}", words.join(" ")),
    }
}

/// 2026-06-15 12:00:00 in Los Angeles (PDT, UTC-7): 12 hours left in the quota day.
pub const NOON_JUNE_15: i64 = 1_781_550_000;

/// A server with the debug clock pinned at `NOON_JUNE_15`, so no test meets a midnight.
pub fn pinned_server() -> RedisServer {
    let server = RedisServer::with_debug_clock();
    server.pin_clock(NOON_JUNE_15);
    server
}

/// API keys for tests to add, named in ring order.
pub mod keys {
    /// The first test key.
    pub const A: &str = "test-key-0001";
    /// The second test key.
    pub const B: &str = "test-key-0002";
    /// The third test key.
    pub const C: &str = "test-key-0003";
    /// The fourth test key.
    pub const D: &str = "test-key-0004";
    /// The fifth test key.
    pub const E: &str = "test-key-0005";
    /// The sixth test key.
    pub const F: &str = "test-key-0006";
}

/// Runs `GPOOL.ADD <pool> <key> ...`; how many keys it added.
pub fn add_keys(con: &mut Connection, pool: &str, keys: &[&str]) -> i64 {
    let mut words = vec!["GPOOL.ADD", pool];
    words.extend_from_slice(keys);
    int_cmd(con, &words)
}

/// Adds `keys` to `pool`; panics unless every one of them was new.
pub fn add(con: &mut Connection, pool: &str, keys: &[&str]) {
    assert_eq!(
        add_keys(con, pool, keys),
        keys.len() as i64,
        "GPOOL.ADD {pool} {}",
        keys.join(" ")
    );
}

/// Runs `GPOOL.NEXT` `n` times; the keys served, `(nil)` for each nil.
pub fn nexts(con: &mut Connection, pool: &str, class: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| next(con, pool, class).unwrap_or_else(|| "(nil)".to_string()))
        .collect()
}

/// Runs `GPOOL.SPEND p <key> <class>` on pool `p`; its answer.
pub fn spend(con: &mut Connection, key: &str, class: &str) -> i64 {
    int_cmd(con, &["GPOOL.SPEND", "p", key, class])
}

/// A key's value as stored, normalised so that two servers compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    String(String),
    /// field -> value, sorted by field
    Hash(Vec<(String, String)>),
    /// (member, score) in score order, as ZRANGE WITHSCORES gives them
    ZSet(Vec<(String, String)>),
    /// members, sorted
    Set(Vec<String>),
    List(Vec<String>),
}

/// A sorted set as a dump holds it, from (member, score) pairs given in score order.
pub fn zset<S: ToString>(pairs: &[(&str, S)]) -> Stored {
    Stored::ZSet(
        pairs
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect(),
    )
}

/// A hash as a dump holds it, from (field, value) pairs given in any order.
pub fn hash(pairs: &[(&str, &str)]) -> Stored {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(f, x)| (f.to_string(), x.to_string()))
        .collect();
    v.sort();
    Stored::Hash(v)
}

/// One key of a dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Stored,
    /// seconds to live as TTL reports it: -1 for none
    pub ttl: i64,
}

/// Every `gpool:*` key of a server, by name.
pub type Dump = BTreeMap<String, Entry>;

fn lossy(v: Vec<u8>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

/// Reads every key matching `gpool:*` through `con` (which must speak RESP2).
///
/// # Errors
/// When a command fails or a key has a type the dump does not know.
pub fn dump(con: &mut Connection) -> Result<Dump> {
    dump_matching(con, "gpool:*")
}

/// Reads every key matching the glob `pattern` through `con` (which must speak RESP2).
///
/// # Errors
/// When a command fails or a key has a type the dump does not know.
pub fn dump_matching(con: &mut Connection, pattern: &str) -> Result<Dump> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .context("SCAN")?;
        names.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    names.sort();
    names.dedup();

    let mut out = Dump::new();
    for name in names {
        let shown = lossy(name.clone());
        let kind: String = redis::cmd("TYPE").arg(&name).query(con).context("TYPE")?;
        let value = match kind.as_str() {
            "none" => continue, // expired between SCAN and now
            "string" => Stored::String(lossy(
                redis::cmd("GET")
                    .arg(&name)
                    .query::<Vec<u8>>(con)
                    .context("GET")?,
            )),
            "hash" => {
                let m: BTreeMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL")
                    .arg(&name)
                    .query(con)
                    .context("HGETALL")?;
                Stored::Hash(m.into_iter().map(|(k, v)| (lossy(k), lossy(v))).collect())
            }
            "zset" => {
                let flat: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                    .arg(&name)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(con)
                    .context("ZRANGE")?;
                Stored::ZSet(
                    flat.chunks(2)
                        .map(|c| (lossy(c[0].clone()), lossy(c[1].clone())))
                        .collect(),
                )
            }
            "set" => {
                let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                    .arg(&name)
                    .query(con)
                    .context("SMEMBERS")?;
                m.sort();
                Stored::Set(m.into_iter().map(lossy).collect())
            }
            "list" => {
                let l: Vec<Vec<u8>> = redis::cmd("LRANGE")
                    .arg(&name)
                    .arg(0)
                    .arg(-1)
                    .query(con)
                    .context("LRANGE")?;
                Stored::List(l.into_iter().map(lossy).collect())
            }
            other => bail!("key {shown} has type {other}, which the dump does not read"),
        };
        let ttl: i64 = redis::cmd("TTL").arg(&name).query(con).context("TTL")?;
        out.insert(shown, Entry { value, ttl });
    }
    Ok(out)
}

/// Describes how two dumps differ, allowing times to live to differ by `ttl_slack`
/// seconds; None when they are the same.
pub fn dump_difference(a: &Dump, b: &Dump, ttl_slack: i64) -> Option<String> {
    let mut report = String::new();
    for (name, ea) in a {
        match b.get(name) {
            None => writeln!(report, "only in the first: {name} = {ea:?}").unwrap(),
            Some(eb) => {
                if ea.value != eb.value {
                    writeln!(report, "{name}: {:?} != {:?}", ea.value, eb.value).unwrap();
                }
                let ttl_ok = if ea.ttl < 0 || eb.ttl < 0 {
                    ea.ttl == eb.ttl
                } else {
                    (ea.ttl - eb.ttl).abs() <= ttl_slack
                };
                if !ttl_ok {
                    writeln!(report, "{name}: ttl {} != {}", ea.ttl, eb.ttl).unwrap();
                }
            }
        }
    }
    for (name, eb) in b {
        if !a.contains_key(name) {
            writeln!(report, "only in the second: {name} = {eb:?}").unwrap();
        }
    }
    (!report.is_empty()).then_some(report)
}

/// Panics with the differences unless the two dumps hold the same keys and values and
/// their times to live differ by at most `ttl_slack` seconds.
pub fn assert_same_dump(a: &Dump, b: &Dump, ttl_slack: i64, what: &str) {
    if let Some(diff) = dump_difference(a, b, ttl_slack) {
        panic!("{what}: the dumps differ:\n{diff}");
    }
}

/// Unix seconds of a UTC time.
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("a valid UTC time")
        .timestamp()
}

/// A fingerprint as documented: `...` and the key's last characters, at most 8 of them
/// and never more than half the key.
pub fn fingerprint(key: &str) -> String {
    let n = (key.len() / 2).min(8);
    format!("...{}", &key[key.len() - n..])
}

/// An argument as error texts show it: at most its first 32 bytes, every byte outside
/// 0x21..=0x7E and `'` and `\` as `\xNN`, then `...` if it was longer.
pub fn shown(arg: &[u8]) -> String {
    let mut out = String::new();
    for &b in arg.iter().take(32) {
        if (0x21..=0x7e).contains(&b) && b != b'\'' && b != b'\\' {
            out.push(b as char);
        } else {
            write!(out, "\\x{b:02x}").unwrap();
        }
    }
    if arg.len() > 32 {
        out.push_str("...");
    }
    out
}

/// The documented error texts.
pub mod errors {
    use super::shown;

    pub fn arity(command: &str) -> String {
        format!(
            "ERR wrong number of arguments for '{}' command",
            command.to_lowercase()
        )
    }

    pub fn pool(arg: &[u8]) -> String {
        format!(
            "ERR invalid pool name '{}': use 1 to 128 letters, digits, '_', '-', '.', ':'",
            shown(arg)
        )
    }

    pub fn class(arg: &[u8]) -> String {
        format!(
            "ERR invalid class name '{}': use 1 to 128 letters, digits, '_', '-', '.', ':'",
            shown(arg)
        )
    }

    pub fn api_key(position: usize) -> String {
        format!(
            "ERR invalid api key at argument {position}: \
             use 1 to 512 printable characters without spaces"
        )
    }

    pub fn not_in_pool(key: &str, pool: &str) -> String {
        format!(
            "ERR api key {} is not in pool '{pool}'",
            super::fingerprint(key)
        )
    }

    pub fn count(arg: &[u8]) -> String {
        format!(
            "ERR invalid count '{}': use a whole number from 1 to 1000000000",
            shown(arg)
        )
    }

    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    pub const DEBUG_DISABLED: &str =
        "ERR debug commands are disabled: load the module with 'debug-clock yes'";

    pub fn debug_subcommand(arg: &[u8]) -> String {
        format!(
            "ERR unknown subcommand '{}': use GPOOL.DEBUG CLOCK <unix-seconds>|REAL",
            shown(arg)
        )
    }

    pub fn unix_time(arg: &[u8]) -> String {
        format!(
            "ERR invalid unix time '{}': use whole seconds from 0 to 253402300799, or REAL",
            shown(arg)
        )
    }
}

/// Runs a fixed mix of every writing command on `pool`: ADD, NEXT for two classes, SPEND,
/// RESTORE, RECORD and REMOVE, leaving ring, cursor, usage, spent and skip keys behind.
/// Panics if a command fails.
pub fn exercise_pool(con: &mut Connection, pool: &str) {
    let keys: Vec<String> = (1..=8).map(|i| format!("test-key-{pool}-{i:04}")).collect();
    let k = |i: usize| keys[i - 1].as_str();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    add(con, pool, &key_refs);
    for _ in 0..3 {
        next(con, pool, "embed");
    }
    next(con, pool, "generate");
    for i in [4, 5, 7] {
        int_cmd(con, &["GPOOL.SPEND", pool, k(i), "embed"]);
    }
    int_cmd(con, &["GPOOL.SPEND", pool, k(2), "generate"]);
    int_cmd(con, &["GPOOL.RESTORE", pool, k(5), "embed"]);
    int_cmd(con, &["GPOOL.RECORD", pool, k(8), "12"]);
    int_cmd(con, &["GPOOL.RECORD", pool, k(1)]);
    int_cmd(con, &["GPOOL.REMOVE", pool, k(3), k(7)]);
    for _ in 0..4 {
        next(con, pool, "embed");
        next(con, pool, "generate");
    }
}

/// One class of `GPOOL.STATUS` with the fields that provider reports add.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStatus {
    pub active: i64,
    pub spent: i64,
    pub cooling: i64,
    pub disabled: i64,
    pub streak: i64,
    pub next_ready_in: i64,
}

/// `GPOOL.STATUS` read into fields, cooldowns, disabled keys, streaks and pins included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullStatus {
    pub keys: i64,
    pub day: String,
    pub timezone: String,
    pub reset_in: i64,
    pub classes: BTreeMap<String, ClassStatus>,
    /// pin name -> seconds left
    pub pins: BTreeMap<String, i64>,
}

/// Runs `GPOOL.STATUS <pool>` and checks the reply has exactly the fields documented for
/// pools with cooldowns, disabled keys, streaks and pins.
pub fn full_status(con: &mut Connection, pool: &str) -> FullStatus {
    let reply =
        call(con, &["GPOOL.STATUS", pool]).unwrap_or_else(|e| panic!("GPOOL.STATUS {pool}: {e}"));
    let fields: BTreeMap<String, Value> = pairs(&reply).into_iter().collect();
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["classes", "day", "keys", "pins", "reset_in", "timezone"],
        "GPOOL.STATUS fields: {reply:?}"
    );
    let mut classes = BTreeMap::new();
    for (class, counts) in pairs(&fields["classes"]) {
        let counts: BTreeMap<String, Value> = pairs(&counts).into_iter().collect();
        let names: Vec<&str> = counts.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "active",
                "cooling",
                "disabled",
                "next_ready_in",
                "spent",
                "streak"
            ],
            "fields of class {class}: {reply:?}"
        );
        let n = |name: &str| int(&counts[name]);
        classes.insert(
            class,
            ClassStatus {
                active: n("active"),
                spent: n("spent"),
                cooling: n("cooling"),
                disabled: n("disabled"),
                streak: n("streak"),
                next_ready_in: n("next_ready_in"),
            },
        );
    }
    let pins = pairs(&fields["pins"])
        .into_iter()
        .map(|(name, left)| (name, int(&left)))
        .collect();
    FullStatus {
        keys: int(&fields["keys"]),
        day: text(&fields["day"]),
        timezone: text(&fields["timezone"]),
        reset_in: int(&fields["reset_in"]),
        classes,
        pins,
    }
}

/// One class of `GPOOL.STATUS <pool>`; panics if the pool has no such class.
pub fn class_status(con: &mut Connection, pool: &str, class: &str) -> ClassStatus {
    let st = full_status(con, pool);
    *st.classes
        .get(class)
        .unwrap_or_else(|| panic!("class {class} not in STATUS of {pool}: {st:?}"))
}

/// `GPOOL.REPORT`'s reply: outcome, cooldown seconds, the class's streak.
pub type Judgement = (String, i64, i64);

/// Reads a REPORT reply into its three parts; panics on any other shape.
pub fn judgement(reply: &Value) -> Judgement {
    match reply {
        Value::Array(a) if a.len() == 3 => (text(&a[0]), int(&a[1]), int(&a[2])),
        other => panic!("expected an array of three, got {other:?}"),
    }
}

/// Runs `GPOOL.REPORT <pool> <key> <class> <status> [<body>]`; panics on an error.
pub fn report(
    con: &mut Connection,
    pool: &str,
    key: &str,
    class: &str,
    http_status: u16,
    body: Option<&str>,
) -> Judgement {
    let status = http_status.to_string();
    let mut words = vec!["GPOOL.REPORT", pool, key, class, &status];
    words.extend(body);
    match call(con, &words) {
        Ok(v) => judgement(&v),
        Err(e) => panic!("GPOOL.REPORT {pool} {key} {class} {status}: {e}"),
    }
}

/// A judgement as REPORT replies it, for comparing.
pub fn judged(outcome: &str, seconds: i64, streak: i64) -> Judgement {
    (outcome.to_string(), seconds, streak)
}

/// Provider answers written for tests, in the shape Gemini sends them.
pub mod bodies {
    /// A 429 body with a per-day quota violation: `daily`.
    pub fn per_day() -> String {
        google_429(&violation(
            "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
            "250",
        ))
    }

    /// A 429 body with a per-minute violation and no delay: `cooldown` for 60 seconds.
    pub fn per_minute() -> String {
        google_429(&violation(
            "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "10",
        ))
    }

    /// A 429 body with a retry delay only (`"12s"`, `"45.8s"`): `cooldown`.
    pub fn retry(delay: &str) -> String {
        google_429(&format!(
            r#"{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{delay}"}}"#
        ))
    }

    fn violation(quota_id: &str, value: &str) -> String {
        format!(
            r#"{{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{{"quotaId":"{quota_id}","quotaValue":"{value}"}}]}}"#
        )
    }

    fn google_429(details: &str) -> String {
        format!(
            r#"{{"error":{{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{details}]}}}}"#
        )
    }
}

/// One file of the shared provider-error cases: an answer and the outcome it must reach.
#[derive(Clone, Debug)]
pub struct ProviderCase {
    /// The file name without `.json`.
    pub name: String,
    pub status: u16,
    pub class: String,
    pub body: String,
    pub outcome: String,
    /// The cooldown the case expects, 0 when it names none.
    pub seconds: i64,
}

/// Every case of `../shared/cases/provider-errors/`, sorted by name. Panics when the
/// directory is missing, empty or holds a file that is not a case: the cases are tests,
/// and a missing one must fail, never skip.
pub fn provider_cases() -> Vec<ProviderCase> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cases/provider-errors");
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the shared provider-error cases at {}: {e}", dir.display()));
    let mut cases = Vec::new();
    for entry in entries {
        let path = entry.expect("listing the provider-error cases").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let raw =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let case: serde_json::Value = serde_json::from_str(&raw)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let field = |name: &str| {
            case.get(name)
                .unwrap_or_else(|| panic!("{} has no `{name}`", path.display()))
        };
        let expect = field("expect");
        cases.push(ProviderCase {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            status: field("status").as_u64().expect("a numeric status") as u16,
            class: field("class").as_str().expect("a string class").to_string(),
            body: field("body").as_str().expect("a string body").to_string(),
            outcome: expect["outcome"]
                .as_str()
                .unwrap_or_else(|| panic!("{} has no expect.outcome", path.display()))
                .to_string(),
            seconds: expect.get("seconds").map_or(0, |s| {
                s.as_i64()
                    .unwrap_or_else(|| panic!("{}: expect.seconds", path.display()))
            }),
        });
    }
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}
