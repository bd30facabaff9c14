//! Harness for the client's tests: real `redis-server` children (one kind with the module,
//! one without it, where the client loads the Lua library itself), killed when dropped;
//! a fake Gemini and OpenRouter on loopback, scripted per key with the provider answers in
//! `tests/cases/`; and a log capture.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use gpool_client::{ApiKey, Config, Engine, Pool};

/// Runs a test body once against a server with the module and once against a server
/// with only the Lua library: `on_both_engines!(name, ...)` makes `name::module` and
/// `name::lua` from `fn name(engine: Engine)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn module() {
                    super::$name(gpool_client::Engine::Module)
                }

                #[test]
                fn lua() {
                    super::$name(gpool_client::Engine::Lua)
                }
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// redis-server

const START_TIMEOUT: Duration = Duration::from_secs(10);
static PORTS_TAKEN: AtomicU32 = AtomicU32::new(0);
static DIRS_MADE: AtomicU32 = AtomicU32::new(0);

/// A loopback port nothing listens on yet. Each test process starts from its own offset,
/// away from the module tests' range, so binaries running at once rarely meet.
pub fn free_port() -> u16 {
    let base = 10_000 + (std::process::id() % 200) * 50;
    for _ in 0..2000 {
        let n = PORTS_TAKEN.fetch_add(1, Ordering::SeqCst);
        let port = (base + n % 10_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port");
}

/// The module: `GPOOL_MODULE` if set, else `libgpool.so` of the build this test binary
/// belongs to (`<target>/release/deps/<test>` sits two levels below it), which follows
/// `CARGO_TARGET_DIR`. Panics with what to run when it is missing: a test that needs it
/// fails, never skips.
pub fn module_path() -> PathBuf {
    let path = match std::env::var_os("GPOOL_MODULE") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("libgpool.so")))
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/libgpool.so")
            }),
    };
    if !path.is_file() {
        panic!(
            "the gpool module is not at {}: run `cargo build --release` (or `make build`) \
             in the repository first, or point GPOOL_MODULE at libgpool.so",
            path.display()
        );
    }
    path
}

/// One `redis-server` child on 127.0.0.1, killed when dropped.
pub struct Server {
    engine: Engine,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    /// A server for `engine`: with the module loaded, or without it (the client then
    /// loads the Lua library). Panics when it does not start.
    pub fn start(engine: Engine) -> Server {
        let n = DIRS_MADE.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "gpool-client-test-{}-{n}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        fs::create_dir_all(&dir).expect("creating a data directory");
        let mut server = Server {
            engine,
            port: 0,
            dir: dir.clone(),
            child: None,
            log: dir.join("redis.log"),
        };
        let mut last = None;
        for _ in 0..3 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last = Some(e),
            }
        }
        panic!("redis-server did not start: {:#}", last.unwrap());
    }

    /// The engine this server offers.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server and waits until it is gone. Its data is not saved.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn start_again(&mut self) {
        self.stop();
        self.spawn().expect("restarting redis-server on its port");
    }

    /// A pool handle on this server.
    pub fn pool(&self, name: &str) -> Pool {
        let pool = Pool::connect(&self.url(), name).expect("connecting a pool handle");
        assert_eq!(pool.engine(), self.engine, "the engine detected");
        pool
    }

    /// What the server has logged.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn(&mut self) -> Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut args: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
        ];
        if self.engine == Engine::Module {
            args.push("--loadmodule".into());
            args.push(module_path().display().to_string());
        }
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("running {binary}: is redis-server installed?"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let client = redis::Client::open(self.url())?;
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!("redis-server exited ({status}); its log:\n{}", self.log());
            }
            if let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return Ok(());
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(anyhow!(
            "redis-server did not answer PING; its log:\n{}",
            self.log()
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// The fake provider

/// An answer the fake provider gives.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A provider answer from `tests/cases/<name>.json` (the cases from the field).
pub fn case(name: &str) -> Reply {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(format!("{name}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let case: serde_json::Value = serde_json::from_str(&text).expect("a case is JSON");
    Reply::new(
        case["status"].as_u64().expect("status") as u16,
        case["body"].as_str().expect("body"),
    )
}

/// A per-minute quota answer for embeddings, with a retry delay of `seconds`.
pub fn minute_quota(seconds: u64) -> Reply {
    let body = serde_json::json!({"error": {
    "code": 429,
    "message": "Quota exceeded for metric: embed_content_free_tier_requests",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/embed_content_free_tier_requests",
            "quotaId": "EmbedContentRequestsPerMinutePerUserPerProjectPerModel-FreeTier",
            "quotaDimensions": {"location": "global", "model": "gemini-embedding-001"},
            "quotaValue": "100"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{seconds}s")}
    ]}});
    Reply::new(429, body.to_string())
}

/// What the fake provider was asked.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The URL as requested, path and query.
    pub url: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The Gemini key, from `x-goog-api-key`.
    pub fn gemini_key(&self) -> Option<&str> {
        self.header("x-goog-api-key")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn is_gemini_embed(&self) -> bool {
        self.url.contains(":batchEmbedContents")
    }

    pub fn is_gemini_generate(&self) -> bool {
        self.url.contains(":generateContent")
    }

    pub fn is_openrouter(&self) -> bool {
        self.url.starts_with("/openrouter/")
    }
}

/// How the fake answers: per Gemini key, a queue of scripted answers then a standing one;
/// for OpenRouter, a queue then the standing one. Unscripted calls succeed, with vectors
/// from [`fake_vector`].
#[derive(Default)]
struct Script {
    gemini_queue: HashMap<String, VecDeque<Reply>>,
    gemini_always: HashMap<String, Reply>,
    openrouter_queue: VecDeque<Reply>,
    openrouter_always: Option<Reply>,
    openrouter_reversed: bool,
}

/// The vector the fake gives a text: `[length of the text, source, 0.25, 0.25, ...]`,
/// where the source is 1 for Gemini and 2 for OpenRouter.
pub fn fake_vector(text: &str, source: f32, dimensions: usize) -> Vec<f32> {
    let mut v = vec![0.25f32; dimensions];
    v[0] = text.len() as f32;
    if dimensions > 1 {
        v[1] = source;
    }
    v
}

/// A fake Gemini and OpenRouter on one loopback port: Gemini at `/v1beta/...`,
/// OpenRouter at `/openrouter/embeddings`.
pub struct FakeProvider {
    server: Arc<tiny_http::Server>,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Script>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeProvider {
    pub fn start() -> FakeProvider {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binding the fake"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script::default()));
        let thread = {
            let (server, seen, script) = (server.clone(), seen.clone(), script.clone());
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(request, &seen, &script);
                }
            })
        };
        FakeProvider {
            server,
            port,
            seen,
            script,
            thread: Some(thread),
        }
    }

    /// What to set as `GEMINI_API_BASE`.
    pub fn gemini_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What to set as `OPENROUTER_API_BASE`.
    pub fn openrouter_base(&self) -> String {
        format!("http://127.0.0.1:{}/openrouter", self.port)
    }

    /// Answers the next call made with `key` with `reply` (after those queued before).
    pub fn queue(&self, key: &str, reply: Reply) {
        let mut script = self.script.lock().unwrap();
        script
            .gemini_queue
            .entry(key.into())
            .or_default()
            .push_back(reply);
    }

    /// Answers every call made with `key` with `reply`, once the queue is empty.
    pub fn always(&self, key: &str, reply: Reply) {
        self.script
            .lock()
            .unwrap()
            .gemini_always
            .insert(key.into(), reply);
    }

    /// Answers the next OpenRouter call with `reply`.
    pub fn queue_openrouter(&self, reply: Reply) {
        self.script
            .lock()
            .unwrap()
            .openrouter_queue
            .push_back(reply);
    }

    /// Answers every OpenRouter call with `reply`, once the queue is empty.
    pub fn always_openrouter(&self, reply: Reply) {
        self.script.lock().unwrap().openrouter_always = Some(reply);
    }

    /// Lists OpenRouter's vectors last input first (the `index` field tells).
    pub fn reverse_openrouter(&self) {
        self.script.lock().unwrap().openrouter_reversed = true;
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The Gemini keys of the embedding calls so far, in order.
    pub fn embed_keys(&self) -> Vec<String> {
        self.seen()
            .iter()
            .filter(|s| s.is_gemini_embed())
            .filter_map(|s| s.gemini_key().map(str::to_string))
            .collect()
    }

    /// How many OpenRouter calls so far.
    pub fn openrouter_calls(&self) -> usize {
        self.seen().iter().filter(|s| s.is_openrouter()).count()
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut request: tiny_http::Request, seen: &Mutex<Vec<Seen>>, script: &Mutex<Script>) {
    let mut body = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let request_seen = Seen {
        url: request.url().to_string(),
        headers,
        body,
    };
    seen.lock().unwrap().push(request_seen.clone());
    let reply = reply_for(&request_seen, &mut script.lock().unwrap());
    let mut response = tiny_http::Response::from_string(reply.body)
        .with_status_code(reply.status)
        .with_header(tiny_http::Header::from_bytes("content-type", "application/json").unwrap());
    for (name, value) in reply.headers {
        response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
    }
    let _ = request.respond(response);
}

fn reply_for(seen: &Seen, script: &mut Script) -> Reply {
    let json = seen.json();
    if seen.is_openrouter() {
        if let Some(reply) = script.openrouter_queue.pop_front() {
            return reply;
        }
        if let Some(reply) = &script.openrouter_always {
            return reply.clone();
        }
        let dims = json["dimensions"].as_u64().unwrap_or(3072) as usize;
        let inputs: Vec<String> = json["input"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut data: Vec<serde_json::Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                serde_json::json!({"object": "embedding", "index": i,
                "embedding": fake_vector(t, 2.0, dims)})
            })
            .collect();
        if script.openrouter_reversed {
            data.reverse();
        }
        return Reply::new(
            200,
            serde_json::json!({"object": "list", "data": data}).to_string(),
        );
    }

    let key = seen.gemini_key().unwrap_or("").to_string();
    if let Some(reply) = script
        .gemini_queue
        .get_mut(&key)
        .and_then(VecDeque::pop_front)
    {
        return reply;
    }
    if let Some(reply) = script.gemini_always.get(&key) {
        return reply.clone();
    }
    if seen.is_gemini_generate() {
        let answer = serde_json::json!({"candidates": [{"content": {"parts": [{"text": "hi"}],
            "role": "model"}, "finishReason": "STOP"}]});
        return Reply::new(200, answer.to_string());
    }
    let requests = json["requests"].as_array().cloned().unwrap_or_default();
    let embeddings: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let text = r["content"]["parts"][0]["text"].as_str().unwrap_or("");
            let dims = r["outputDimensionality"].as_u64().unwrap_or(3072) as usize;
            serde_json::json!({"values": fake_vector(text, 1.0, dims)})
        })
        .collect();
    Reply::new(
        200,
        serde_json::json!({"embeddings": embeddings}).to_string(),
    )
}

// ---------------------------------------------------------------------------------------
// Keys and settings

/// Made-up free keys `test-key-free-0001`, ...
pub fn free_keys(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("test-key-free-{i:04}")).collect()
}

pub const PAID_KEY: &str = "test-key-paid-0001";
pub const OPENROUTER_KEY: &str = "test-key-openrouter-0001";

/// Settings for a test: this server and fake, these free keys, the paid and OpenRouter
/// keys, and delays short enough for a test.
pub fn config(server: &Server, fake: &FakeProvider, keys: &[String]) -> Config {
    let mut config = Config::new();
    config.redis_url = server.url();
    config.free_keys = keys.iter().map(ApiKey::new).collect();
    config.paid_key = Some(ApiKey::new(PAID_KEY));
    config.openrouter_key = Some(ApiKey::new(OPENROUTER_KEY));
    config.gemini_base = fake.gemini_base();
    config.openrouter_base = fake.openrouter_base();
    config.transient_base_delay = Duration::from_millis(1);
    config.transient_max_delay = Duration::from_millis(5);
    config.openrouter_base_delay = Duration::from_millis(1);
    config.openrouter_max_delay = Duration::from_millis(20);
    config.max_cooldown_wait = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(5);
    config.read_timeout = Duration::from_secs(10);
    config.redis_timeout = Duration::from_secs(2);
    config.redis_retry_interval = Duration::from_millis(200);
    config
}

/// `texts` as owned strings.
pub fn texts(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Log capture

/// A writer that appends everything to a shared buffer, for a tracing subscriber.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

/// Runs `f` with every tracing event of this thread, down to TRACE, written to the
/// returned buffer.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, LogBuffer) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        // Plain text: the tests read the lines, and colour codes would split them.
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    (result, buffer)
}
