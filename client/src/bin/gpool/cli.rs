//! The command line: every subcommand, its flags, and its help with examples.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration::{parse_duration, parse_pin_duration};

/// Operate a gpool key pool kept in Redis: keys, state, embeddings, probes.
#[derive(Debug, Parser)]
#[command(
    name = "gpool",
    version,
    after_help = "\
Keys are never printed: wherever a key is shown, its fingerprint stands in ('...' and its
last characters). Commands that take a key also take a fingerprint from 'gpool status',
such as ...ey-0001.

Examples:
  gpool add < keys.txt                  add keys, one a line, to the pool 'gemini'
  gpool --pool other status             see another pool
  gpool status --watch 5                redraw the status every 5 seconds
  printf 'a text\\nanother\\n' | gpool embed > vectors.jsonl
  gpool probe --every 2h                probe every key every two hours

Exit codes: 0 success, 1 the work failed (the error says why), 2 bad usage."
)]
pub struct Cli {
    /// The pool to work on.
    #[arg(
        long,
        global = true,
        env = "GPOOL_POOL",
        default_value = "gemini",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub pool: String,

    /// The Redis holding the pool (a password in it is never printed).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub redis_url: String,

    /// Also show the client library's information lines on standard error.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    Remove(RemoveArgs),
    Spend(SpendArgs),
    Restore(RestoreArgs),
    Project(ProjectArgs),
    Pin(PinArgs),
    Unpin(UnpinArgs),
    Next(NextArgs),
    Status(StatusArgs),
    Embed(EmbedArgs),
    Probe(ProbeArgs),
    ImportLegacy(ImportLegacyArgs),
}

/// Add keys to the pool (GPOOL.ADD).
///
/// Keys come from the arguments, from GEMINI_EMBED_KEY_POOL with --from-env, or, when
/// neither is given and standard input is not a terminal, from standard input, one a line
/// (blank lines and lines starting with '#' are skipped). Reading them from a file or the
/// environment keeps them out of the shell's history.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool add < keys.txt
  GEMINI_EMBED_KEY_POOL=key1,key2 gpool add --from-env
  pass show gemini/keys | gpool --pool gemini add")]
pub struct AddArgs {
    /// Keys to add (prefer standard input or --from-env: arguments stay in shell history).
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,

    /// Add the comma-separated keys of GEMINI_EMBED_KEY_POOL.
    #[arg(long)]
    pub from_env: bool,
}

/// Remove keys from the pool, with all their state (GPOOL.REMOVE).
///
/// Keys come as for 'gpool add'; a fingerprint shown by 'gpool status' (such as
/// ...ey-0001) stands for the one key of the pool that ends that way.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool remove ...ey-0001
  gpool remove < revoked-keys.txt")]
pub struct RemoveArgs {
    /// Keys or fingerprints to remove.
    #[arg(value_name = "KEY|FINGERPRINT")]
    pub keys: Vec<String>,

    /// Remove the comma-separated keys of GEMINI_EMBED_KEY_POOL.
    #[arg(long)]
    pub from_env: bool,
}

/// Mark a key spent for a class until the quota day ends (GPOOL.SPEND).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool spend ...ey-0001 embed
  gpool spend ...ey-0001 generate")]
pub struct SpendArgs {
    /// The key, or its fingerprint from 'gpool status'.
    #[arg(value_name = "KEY|FINGERPRINT")]
    pub key: String,

    /// The class it is spent for, such as embed or generate.
    pub class: String,
}

/// Take back a key's spent mark, or lift every penalty (GPOOL.RESTORE).
///
/// With a class, only the key's spent mark for that class goes. Without, every penalty of
/// the key is lifted: spent and cooling for every class, and disabled.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool restore ...ey-0001 embed     only the spent mark for embed
  gpool restore ...ey-0001           everything, and re-enable it if disabled")]
pub struct RestoreArgs {
    /// The key, or its fingerprint from 'gpool status'.
    #[arg(value_name = "KEY|FINGERPRINT")]
    pub key: String,

    /// The class; without it every penalty of the key is lifted.
    pub class: Option<String>,
}

/// Group keys that share a provider project (GPOOL.PROJECT).
///
/// A daily limit or a cooldown reported for one key of a project reaches them all. A key
/// in another project moves.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool project billing-a ...ey-0001 ...ey-0002")]
pub struct ProjectArgs {
    /// The project's name.
    pub project: String,

    /// Keys or fingerprints to place in it.
    #[arg(value_name = "KEY|FINGERPRINT", required = true)]
    pub keys: Vec<String>,
}

/// Set a named flag for every client of the pool, for a while (GPOOL.PIN).
///
/// The client library reads 'openrouter-only': while it is set, embeddings go to
/// OpenRouter first.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool pin openrouter-only 30m
  gpool pin maintenance 3600")]
pub struct PinArgs {
    /// The flag's name.
    pub name: String,

    /// How long: seconds, or a duration such as 90s, 30m, 2h, 1h30m; at most 365d.
    #[arg(value_parser = parse_pin_duration)]
    pub duration: Duration,
}

/// Clear a named flag (GPOOL.UNPIN).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool unpin openrouter-only")]
pub struct UnpinArgs {
    /// The flag's name.
    pub name: String,
}

/// Take the class's next key as a client would; print its fingerprint (GPOOL.NEXT).
///
/// This counts one use of the key and moves the class's cursor. Exits with 1 when no key is
/// usable for the class.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool next embed")]
pub struct NextArgs {
    /// The class, such as embed or generate.
    pub class: String,
}

/// Show the pool at a glance.
///
/// Per class: the active, spent, cooling and disabled keys, the failure streak, and when
/// the first cooling key is back if none is active; the pins; then one row a key (by
/// fingerprint) with its state per class, its usage today and its project; and when the
/// quota day ends.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool status
  gpool status --json | jq '.classes.embed.active'
  gpool status --watch 5")]
pub struct StatusArgs {
    /// Print JSON instead of the table (one document; one a line with --watch).
    #[arg(long)]
    pub json: bool,

    /// Redraw every this many seconds, until interrupted.
    #[arg(long, value_name = "SECONDS", value_parser = parse_watch_seconds)]
    pub watch: Option<Duration>,

    /// Leave out the rows of the keys (the class summary only).
    #[arg(long)]
    pub summary: bool,
}

/// Embed texts through the fallback cascade.
///
/// The cascade: the free pool, then OpenRouter, then the paid key (the client library's).
/// Texts come from the arguments or, without them, from standard input, one a line. Each
/// text's vector is written to standard output as one JSON array a line, in input order,
/// and nothing else; an empty line gets a vector of zeros and is never sent. A summary of
/// which stage served how many texts goes to standard error at the end, with a progress bar
/// before it when standard error is a terminal and the input spans several batches.
///
/// Reads GEMINI_EMBED_KEY_POOL, GEMINI_EMBED_PAID_KEY, OPENROUTER_API_KEY and the other
/// settings of the client library from the environment.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool embed 'first text' 'second text'
  gpool embed --dimensions 768 < lines.txt > vectors.jsonl
  gpool embed --task-type RETRIEVAL_QUERY 'what is a key pool?'")]
pub struct EmbedArgs {
    /// Texts to embed; without them, standard input is read, one text a line.
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,

    /// The Gemini embedding model.
    #[arg(long, default_value = "gemini-embedding-001")]
    pub model: String,

    /// Length of each vector.
    #[arg(long, default_value_t = 3072, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub dimensions: u32,

    /// Gemini's task type, such as RETRIEVAL_DOCUMENT or RETRIEVAL_QUERY.
    #[arg(long)]
    pub task_type: Option<String>,

    /// Texts per request (Gemini takes at most 100).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub batch_size: u32,

    /// No summary and no progress bar on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Probe every key and report the answers; re-enable disabled keys that answer again.
///
/// Sends the smallest request to Gemini's embedding and generation endpoints with each key
/// and reports every answer to the pool (GPOOL.REPORT), which spends, cools or disables.
/// A key already spent or cooling for a class is not probed for that class. A disabled key
/// is probed for both; if either endpoint takes it (a success or a 429), every penalty of
/// the key is lifted (GPOOL.RESTORE) before its answers are reported, so a daily 429 still
/// spends it. Only one process probes a pool at a time: the prober holds a lease in Redis
/// (gpool:{<pool>}:probe-lease) that lapses by itself if the process dies. With --every,
/// many processes may run; together they probe the pool once a period.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool probe
  gpool probe --every 2h
  GEMINI_API_BASE=http://127.0.0.1:8080 gpool probe     against a proxy or a fake")]
pub struct ProbeArgs {
    /// Probe again every this long, until interrupted: 30m, 2h, 1h30m, ...
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub every: Option<Duration>,

    /// The model of the embedding probe.
    #[arg(long, default_value = "gemini-embedding-001", value_name = "MODEL")]
    pub embed_model: String,

    /// The model of the generation probe.
    #[arg(long, default_value = "gemini-2.5-flash-lite", value_name = "MODEL")]
    pub generate_model: String,

    /// How long the lease lasts without renewal; renewed after every key.
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = parse_duration)]
    pub lease: Duration,
}

/// Move the Python pool's counts and spent marks into this pool.
///
/// Reads today's counts (gemini_key_daily_usage:<suffix>:count) and spent marks
/// (...:spent:embed, ...:spent:generate, and the older ...:spent, which counts for both
/// classes).
/// Entries are matched to the pool's keys by their suffix, the key's last 8 characters. An
/// entry that matches no key, or more than one, is reported and left alone. A key's usage
/// today is raised to its legacy count where lower (GPOOL.RECORD), so running the import
/// again changes nothing. The legacy keys are only read, never changed.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gpool import-legacy --dry-run
  gpool import-legacy
  gpool import-legacy --from redis://old-host:6379/0")]
pub struct ImportLegacyArgs {
    /// The Redis the Python pool used, if not the pool's own.
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,

    /// Show what would be imported, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_watch_seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.1..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "'{text}' is not a number of seconds from 0.1 to 86400"
        )),
    }
}
