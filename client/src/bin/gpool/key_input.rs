//! Keys as the commands take them: from arguments, from `GEMINI_EMBED_KEY_POOL`, or from
//! standard input one a line; and fingerprints (`...ey-0001`) that stand for the one key of
//! the pool ending that way. A key is checked here so that a bad one is named by where it
//! came from (never by its text).

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};

use gpool_client::{fingerprint, ApiKey};

use crate::failure::Failure;
use crate::pool_state::{ending_in, KeyRow};

/// The variable `--from-env` reads.
pub const POOL_VAR: &str = "GEMINI_EMBED_KEY_POOL";

/// Where a command's keys come from.
pub struct KeySource {
    pub args: Vec<String>,
    pub from_env: bool,
}

impl KeySource {
    /// Whether keys must come from standard input: none given otherwise.
    pub fn needs_stdin(&self) -> bool {
        self.args.is_empty() && !self.from_env
    }
}

/// The keys of `source`, each once, in order: the arguments, then `GEMINI_EMBED_KEY_POOL`
/// with `--from-env`; with neither, standard input when it is not a terminal. With
/// `allow_fingerprints`, an argument or line starting with `...` is kept as given, for
/// [`resolve`].
///
/// # Errors
/// [`Failure::Usage`] when no key is given, or one is not a key (named by its place).
pub fn read(source: &KeySource, allow_fingerprints: bool) -> Result<Vec<String>, Failure> {
    let mut keys: Vec<String> = Vec::new();
    // Seen keys, so that a file of a hundred thousand keys is not compared pair by pair.
    let mut seen: HashSet<String> = HashSet::new();
    let mut push = |key: String, place: &dyn Fn() -> String| -> Result<(), Failure> {
        let is_fingerprint = allow_fingerprints && key.starts_with("...") && key.len() > 3;
        if !is_fingerprint {
            check(&key, place)?;
        }
        if seen.insert(key.clone()) {
            keys.push(key);
        }
        Ok(())
    };

    for (i, arg) in source.args.iter().enumerate() {
        push(arg.trim().to_string(), &|| format!("argument {}", i + 1))?;
    }
    if source.from_env {
        let list = match std::env::var(POOL_VAR) {
            Ok(list) => list,
            Err(std::env::VarError::NotPresent) => String::new(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::usage(format!(
                    "{POOL_VAR} is not text: keys are printable characters without spaces, \
                     comma-separated"
                )))
            }
        };
        let entries: Vec<&str> = list.split(',').map(str::trim).collect();
        let mut found = 0;
        for (i, entry) in entries.iter().enumerate() {
            if entry.is_empty() {
                continue;
            }
            found += 1;
            push(entry.to_string(), &|| {
                format!("entry {} of {POOL_VAR}", i + 1)
            })?;
        }
        if found == 0 {
            return Err(Failure::usage(format!(
                "{POOL_VAR} holds no keys: set it to comma-separated keys, or pipe the keys \
                 in one a line"
            )));
        }
    }
    if source.needs_stdin() {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Failure::usage(
                "no keys given: pipe them in one a line (gpool add < keys.txt), or use \
                 --from-env to read GEMINI_EMBED_KEY_POOL",
            ));
        }
        for (i, line) in stdin.lock().lines().enumerate() {
            let line = line.map_err(|e| {
                Failure::usage(format!(
                    "line {} of standard input cannot be read ({e}): give keys as text, one \
                     a line",
                    i + 1
                ))
            })?;
            // A byte-order mark, as some editors start a file with, is not part of a key.
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                &line
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            push(line.to_string(), &|| {
                format!("line {} of standard input", i + 1)
            })?;
        }
        if keys.is_empty() {
            return Err(Failure::usage(
                "standard input held no keys: give them one a line, or use --from-env",
            ));
        }
    }
    Ok(keys)
}

/// Checks that `key` is one the pool can hold: 1 to 512 printable ASCII characters, no
/// spaces.
///
/// # Errors
/// [`Failure::Usage`] naming the place, never the key.
pub fn check(key: &str, place: &dyn Fn() -> String) -> Result<(), Failure> {
    let ok = (1..=512).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "{} is not an api key: use 1 to 512 printable characters without spaces",
            place()
        )))
    }
}

/// The key an argument names: the key itself, or, for `...` and the end of a key, the one
/// key of the pool that ends that way.
///
/// # Errors
/// [`Failure::Failed`] when no key or several keys of the pool end that way.
pub fn resolve(arg: &str, rows: &[KeyRow], pool: &str) -> Result<ApiKey, Failure> {
    let Some(tail) = arg.strip_prefix("...").filter(|t| !t.is_empty()) else {
        check(arg, &|| "the key".to_string())?;
        return Ok(ApiKey::new(arg));
    };
    let matches = ending_in(rows, tail);
    match matches.as_slice() {
        [one] => Ok(one.key.clone()),
        [] => Err(Failure::failed(format!(
            "no key of pool '{pool}' ends in '{}': 'gpool status' lists the pool's keys",
            shown_tail(tail)
        ))),
        several => Err(Failure::failed(format!(
            "'...{}' matches {} keys of pool '{pool}' (positions {}): give more of its last \
             characters",
            shown_tail(tail),
            several.len(),
            several
                .iter()
                .map(|r| r.position.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The end of a key as typed, shown as a fingerprint when it is long enough to be most of
/// a key.
fn shown_tail(tail: &str) -> String {
    if tail.chars().count() > 8 {
        fingerprint(tail).trim_start_matches("...").to_string()
    } else {
        tail.to_string()
    }
}

/// Whether any argument is a fingerprint, so the pool's keys must be read.
pub fn any_fingerprint<'a>(args: impl IntoIterator<Item = &'a String>) -> bool {
    args.into_iter()
        .any(|a| a.starts_with("...") && a.len() > 3)
}

/// The keys `args` name, reading the pool's keys only when a fingerprint is among them.
///
/// # Errors
/// As [`resolve`]; and [`Failure`] when Redis does not answer.
pub fn resolve_all(
    target: &crate::connection::Target,
    pool: &mut gpool_client::Pool,
    args: &[String],
) -> Result<Vec<ApiKey>, Failure> {
    let rows = if any_fingerprint(args) {
        let mut con = target.redis()?;
        crate::pool_state::read(target, pool, &mut con)?.rows
    } else {
        Vec::new()
    };
    args.iter()
        .map(|a| resolve(a, &rows, &target.pool))
        .collect()
}
