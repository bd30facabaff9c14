//! What the client adds to an embedding batch: `Client::embed` against a fake Gemini on
//! loopback, next to a bare `ureq` call that sends the same request to the same fake and
//! parses the same answer; and the Redis round trips per successful batch.
//!
//! A third path, the bare call followed by one `GPOOL.NEXT` on its own connection, is the
//! least any client that asks Redis for its key once a batch can cost: the client's time
//! is shown against it too, to tell the one round trip from the client's own work.
//!
//! Starts its own `redis-server` twice (with the module, then without it, where the
//! client loads the Lua library) on loopback ports, and its own fake provider.
//!
//! ```text
//! cargo run --release -p gpool-client --example bench_overhead
//! ```
//!
//! Settings from the environment: `BENCH_BATCHES` (batches per measurement, 2000),
//! `BENCH_ROUNDS` (measurements, the median is shown, 5), `GPOOL_MODULE` (the module,
//! default `libgpool.so` beside this build), `REDIS_SERVER` (the binary, `redis-server`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use gpool_client::{ApiKey, Client, Config, EmbedOptions, Engine};

const TEXTS: usize = 50;

fn main() {
    let batches: usize = env_number("BENCH_BATCHES", 2000);
    let rounds: usize = env_number("BENCH_ROUNDS", 5);
    let fake = Fake::start();
    println!(
        "client overhead per embedding batch of {TEXTS} texts, fake Gemini on loopback; \
         median of {rounds} rounds of {batches} batches"
    );
    println!(
        "{:<7} {:>5} {:>10} {:>13} {:>11} {:>10} {:>8} {:>14} {:>18}",
        "engine",
        "dims",
        "bare µs",
        "bare+trip µs",
        "client µs",
        "added µs",
        "added",
        "vs bare+trip",
        "redis trips/batch"
    );
    for engine in [Engine::Module, Engine::Lua] {
        let redis = Redis::start(engine);
        for dims in [8, 768] {
            fake.set_dims(dims);
            let row = measure(&fake, &redis, dims, batches, rounds);
            println!(
                "{:<7} {:>5} {:>10.1} {:>13.1} {:>11.1} {:>10.1} {:>7.1}% {:>13.1}% {:>18.2}",
                format!("{engine:?}").to_lowercase(),
                dims,
                row.bare_us,
                row.bare_trip_us,
                row.client_us,
                row.client_us - row.bare_us,
                (row.client_us / row.bare_us - 1.0) * 100.0,
                (row.client_us / row.bare_trip_us - 1.0) * 100.0,
                row.round_trips_per_batch,
            );
        }
    }
}

struct Row {
    bare_us: f64,
    /// The bare call, then one GPOOL.NEXT.
    bare_trip_us: f64,
    client_us: f64,
    round_trips_per_batch: f64,
}

fn measure(fake: &Fake, redis: &Redis, dims: usize, batches: usize, rounds: usize) -> Row {
    let keys: Vec<ApiKey> = (1..=8)
        .map(|i| ApiKey::new(format!("test-key-bench-{i:04}")))
        .collect();
    let mut config = Config::new();
    config.redis_url = redis.url();
    config.pool = format!("bench-{dims}");
    config.free_keys = keys.clone();
    config.gemini_base = fake.base();
    let client = Client::new(config).expect("a client");
    let options = EmbedOptions {
        dimensions: dims,
        ..EmbedOptions::default()
    };
    let texts: Vec<String> = (0..TEXTS)
        .map(|i| format!("benchmark text number {i}"))
        .collect();
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_recv_body(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build(),
    );
    let url = format!(
        "{}/v1beta/models/gemini-embedding-001:batchEmbedContents",
        fake.base()
    );

    // Warm both paths up: connections, the pool's first NEXT, allocations.
    for _ in 0..50 {
        bare_call(&agent, &url, &keys[0], &texts, dims);
        client.embed(&texts, &options).expect("embedding");
    }

    // The reference path's own pool, with the same keys, so that its NEXT calls leave the
    // client's rotation alone.
    let mut pool = gpool_client::Pool::connect(&redis.url(), &format!("bench-trip-{dims}"))
        .expect("connecting");
    pool.add(&keys).expect("adding the keys");
    let bare_trip = |pool: &mut gpool_client::Pool, i: usize| {
        bare_call(&agent, &url, &keys[i % keys.len()], &texts, dims);
        pool.next("embed").expect("NEXT").expect("a key");
    };
    for i in 0..50 {
        bare_trip(&mut pool, i);
    }

    let mut bare = Vec::new();
    let mut with_trip = Vec::new();
    let mut with_client = Vec::new();
    let mut trips = Vec::new();
    // The paths take turns batch by batch, so that all meet the same load from whatever
    // else the machine is doing.
    for _ in 0..rounds {
        let mut times = [Duration::ZERO; 3];
        let before = client.stats().redis_round_trips;
        for i in 0..batches {
            let started = Instant::now();
            bare_call(&agent, &url, &keys[i % keys.len()], &texts, dims);
            times[0] += started.elapsed();

            let started = Instant::now();
            bare_trip(&mut pool, i);
            times[1] += started.elapsed();

            let started = Instant::now();
            let vectors = client.embed(&texts, &options).expect("embedding");
            times[2] += started.elapsed();
            assert_eq!(vectors.len(), TEXTS);
        }
        let per_batch = |t: Duration| t.as_secs_f64() * 1e6 / batches as f64;
        bare.push(per_batch(times[0]));
        with_trip.push(per_batch(times[1]));
        with_client.push(per_batch(times[2]));
        trips.push((client.stats().redis_round_trips - before) as f64 / batches as f64);
    }
    Row {
        bare_us: median(&mut bare),
        bare_trip_us: median(&mut with_trip),
        client_us: median(&mut with_client),
        round_trips_per_batch: median(&mut trips),
    }
}

/// What an application would write without the client: build the same request, POST it
/// with the key in the header, parse the same answer.
fn bare_call(agent: &ureq::Agent, url: &str, key: &ApiKey, texts: &[String], dims: usize) {
    #[derive(serde::Deserialize)]
    struct Answer {
        embeddings: Vec<Values>,
    }
    #[derive(serde::Deserialize)]
    struct Values {
        values: Vec<f32>,
    }
    #[derive(serde::Serialize)]
    struct Batch<'a> {
        requests: Vec<Request<'a>>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Request<'a> {
        model: &'a str,
        content: Content<'a>,
        output_dimensionality: usize,
    }
    #[derive(serde::Serialize)]
    struct Content<'a> {
        parts: [Part<'a>; 1],
    }
    #[derive(serde::Serialize)]
    struct Part<'a> {
        text: &'a str,
    }
    let batch = Batch {
        requests: texts
            .iter()
            .map(|text| Request {
                model: "models/gemini-embedding-001",
                content: Content {
                    parts: [Part { text }],
                },
                output_dimensionality: dims,
            })
            .collect(),
    };
    let body = serde_json::to_vec(&batch).unwrap();
    let mut response = agent
        .post(url)
        .header("x-goog-api-key", key.expose())
        .content_type("application/json")
        .send(&body[..])
        .expect("the fake answers");
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    let answer: Answer = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer.embeddings.len(), texts.len());
    assert_eq!(answer.embeddings[0].values.len(), dims);
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not '{v}'")),
        Err(_) => default,
    }
}

/// A fake Gemini that answers every batch with the same prepared body: 50 vectors of the
/// current length, so its own cost stays the same for both paths. A few lines of HTTP/1.1
/// keep-alive over std's TCP, with Nagle off and each answer in one write: an HTTP
/// library that writes head and body apart stalls every call for the peer's delayed ACK
/// (40 ms on Linux), which would hide what is measured here.
struct Fake {
    port: u16,
    body: Arc<RwLock<Arc<Vec<u8>>>>,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake");
        let port = listener.local_addr().unwrap().port();
        let body: Arc<RwLock<Arc<Vec<u8>>>> = Arc::new(RwLock::new(Arc::new(Vec::new())));
        let shared = body.clone();
        // The thread ends with the process; the benchmark exits when done.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let body = shared.clone();
                thread::spawn(move || serve(stream, &body));
            }
        });
        Fake { port, body }
    }

    fn set_dims(&self, dims: usize) {
        let values: Vec<f32> = (0..dims).map(|i| (i as f32 * 0.37).sin() * 0.05).collect();
        let embeddings: Vec<serde_json::Value> = (0..TEXTS)
            .map(|_| serde_json::json!({ "values": values }))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "embeddings": embeddings })).unwrap();
        *self.body.write().unwrap() = Arc::new(body);
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve(stream: TcpStream, body: &RwLock<Arc<Vec<u8>>>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().expect("cloning the stream"));
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut request_body = vec![0u8; length];
        if reader.read_exact(&mut request_body).is_err() {
            return;
        }
        let answer = body.read().unwrap().clone();
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        )
        .into_bytes();
        out.extend_from_slice(&answer);
        if writer.write_all(&out).is_err() {
            return;
        }
    }
}

/// A `redis-server` on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    fn start(engine: Engine) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("gpool-bench-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &dir.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if engine == Engine::Module {
            let module = match std::env::var_os("GPOOL_MODULE") {
                Some(p) => PathBuf::from(p),
                // `<target>/release/examples/bench_overhead`: the module is two levels up.
                None => std::env::current_exe()
                    .ok()
                    .and_then(|exe| Some(exe.parent()?.parent()?.join("libgpool.so")))
                    .unwrap_or_else(|| {
                        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/libgpool.so")
                    }),
            };
            assert!(
                module.is_file(),
                "the module is not at {}: run `cargo build --release` first",
                module.display()
            );
            args.push("--loadmodule".into());
            args.push(module.display().to_string());
        }
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("running {binary}: {e}"));
        let redis = Redis { child, port, dir };
        let client = redis::Client::open(redis.url()).unwrap();
        for _ in 0..200 {
            if let Ok(mut con) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return redis;
                }
            }
            thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start on port {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
