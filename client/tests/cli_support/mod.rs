//! Running the `gpool` binary as a user would, against the harness's redis-server and fake
//! provider: a clean environment, captured output, and on every run the check that neither
//! standard output nor standard error holds a full key.
//!
//! Every key a test makes comes from [`key`] (or is registered with [`secret`]), so the
//! check knows them all.

// Each test file uses only part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::{FakeProvider, Server};

/// Keys, tokens and passwords no output may hold.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registers `text` as a secret and returns it.
pub fn secret(text: &str) -> String {
    let mut secrets = SECRETS.lock().unwrap();
    if !secrets.iter().any(|s| s == text) {
        secrets.push(text.to_string());
    }
    text.to_string()
}

/// Made-up key `n`: long enough that its fingerprint (`...bbb-0001`) is clearly not the key.
pub fn key(n: u32) -> String {
    secret(&format!("test-key-cli-aaaabbbb-{n:04}"))
}

/// The fingerprint of [`key`] `n`.
pub fn fp(n: u32) -> String {
    format!("...bbb-{n:04}")
}

pub const PAID: &str = "test-key-cli-paid-ccccdddd-0001";
pub const OPENROUTER: &str = "test-key-cli-openrouter-eeeeffff-0001";

/// Settings the binary must not inherit from the machine that runs the tests, besides the
/// client's own (`gpool_client::VARIABLES`).
const CLEARED_TOO: [&str; 2] = ["RUST_LOG", "NO_COLOR"];

/// The `gpool` binary with a clean environment and the given settings.
#[derive(Clone, Debug, Default)]
pub struct Gpool {
    envs: Vec<(String, String)>,
}

/// What one run gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output's lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

impl Gpool {
    /// Against `server` (as REDIS_URL).
    pub fn new(server: &Server) -> Gpool {
        Gpool::default().env("REDIS_URL", &server.url())
    }

    /// Gemini and OpenRouter at `fake`, with short retry delays.
    pub fn with_fake(self, fake: &FakeProvider) -> Gpool {
        self.env("GEMINI_API_BASE", &fake.gemini_base())
            .env("OPENROUTER_API_BASE", &fake.openrouter_base())
            .env("OPENROUTER_EMBED_MAX_ATTEMPTS", "2")
            .env("OPENROUTER_EMBED_RETRY_BASE_DELAY", "0.001")
            .env("OPENROUTER_EMBED_RETRY_MAX_DELAY", "0.01")
            .env("GEMINI_EMBED_MAX_COOLDOWN_WAIT", "1")
    }

    pub fn env(mut self, name: &str, value: &str) -> Gpool {
        self.envs.retain(|(n, _)| n != name);
        self.envs.push((name.into(), value.into()));
        self
    }

    /// The command, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpool"));
        for name in gpool_client::VARIABLES.iter().chain(&CLEARED_TOO) {
            cmd.env_remove(name);
        }
        for (name, value) in &self.envs {
            cmd.env(name, value);
        }
        cmd.args(args);
        cmd
    }

    /// Runs with standard input empty (not a terminal).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs with `stdin` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let output = assert_cmd::Command::from_std(self.command(args))
            .write_stdin(stdin.as_bytes().to_vec())
            .timeout(Duration::from_secs(30))
            .output()
            .expect("running gpool");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_no_secret(
            &format!("gpool {}", args.join(" ")),
            &run.stdout,
            &run.stderr,
        );
        run
    }

    /// Starts it in the background, output captured, for runs that overlap.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting gpool");
        Background {
            label: format!("gpool {}", args.join(" ")),
            child,
        }
    }
}

/// A `gpool` running in the background.
pub struct Background {
    label: String,
    child: Child,
}

impl Background {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to end, at most `limit`; kills it if it has not.
    pub fn finish(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("polling gpool").is_some() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.stop()
    }

    /// Kills it (if still running) and collects what it wrote.
    pub fn stop(mut self) -> Run {
        let _ = self.child.kill();
        let status = self.child.wait().expect("waiting for gpool");
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut stderr).unwrap();
        }
        assert_no_secret(&self.label, &stdout, &stderr);
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test when any registered secret is in the output.
pub fn assert_no_secret(label: &str, stdout: &str, stderr: &str) {
    for secret in SECRETS.lock().unwrap().iter() {
        for (stream, text) in [("standard output", stdout), ("standard error", stderr)] {
            assert!(
                !text.contains(secret.as_str()),
                "{label}: {stream} holds a full key (ending {}):\n{text}",
                gpool_client::fingerprint(secret)
            );
        }
    }
}

/// `text` with times (`17h 24m`, `59s`, `1m 00s`) as `<T>` and runs of spaces as one, so a
/// table can be compared whatever the clock.
pub fn normalized(text: &str) -> String {
    let times = regex::Regex::new(r"\b\d+[dhms]( \d+[hms])?\b").unwrap();
    let day = regex::Regex::new(r"\b\d{4}-\d{2}-\d{2}\b").unwrap();
    let spaces = regex::Regex::new(r" +").unwrap();
    text.lines()
        .map(|line| {
            let line = times.replace_all(line, "<T>");
            let line = day.replace_all(&line, "<DAY>");
            spaces.replace_all(&line, " ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A plain connection to `server`.
pub fn redis(server: &Server) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// A fake Gemini that holds every request until [`Gate::open`], then answers each with a
/// success: for runs that must overlap.
pub struct Gate {
    server: Arc<tiny_http::Server>,
    port: u16,
    arrived: Arc<AtomicUsize>,
    open: Arc<(Mutex<bool>, Condvar)>,
    threads: Vec<JoinHandle<()>>,
}

impl Gate {
    pub fn start() -> Gate {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let arrived = Arc::new(AtomicUsize::new(0));
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let mut threads = Vec::new();
        for _ in 0..4 {
            let (server, arrived, open) = (server.clone(), arrived.clone(), open.clone());
            threads.push(thread::spawn(move || {
                for request in server.incoming_requests() {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let (lock, cvar) = &*open;
                    let mut is_open = lock.lock().unwrap();
                    while !*is_open {
                        is_open = cvar.wait(is_open).unwrap();
                    }
                    drop(is_open);
                    let body = if request.url().contains(":generateContent") {
                        r#"{"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}"#
                    } else {
                        r#"{"embeddings":[{"values":[0.5,0.5]}]}"#
                    };
                    let _ = request.respond(tiny_http::Response::from_string(body));
                }
            }));
        }
        Gate {
            server,
            port,
            arrived,
            open,
            threads,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests received so far (answered or held).
    pub fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests have arrived; panics after 10 seconds.
    pub fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.arrived() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests arrived",
                self.arrived()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets every held and later request through.
    pub fn open(&self) {
        let (lock, cvar) = &*self.open;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
        self.server.unblock();
        for _ in 0..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The repository's client crate, for reading the harness's case files.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
