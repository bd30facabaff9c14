//! `gpool import-legacy`: the Python pool's Redis state moved into a gpool pool.
//!
//! The Python pool kept, per key and by the key's last 8 characters (its suffix):
//! `gemini_key_daily_usage:<suffix>:count` (an INCR counter that expired at midnight
//! Pacific), `...:spent:embed` and `...:spent:generate` (flags), and the older `...:spent`,
//! which counted for both classes. Each suffix is matched against the pool's keys; counts
//! become usage (GPOOL.RECORD, raised to the legacy count, never past it) and flags become
//! spent marks (GPOOL.SPEND). A suffix that matches no key, or several, is reported and left
//! alone: guessing would charge the wrong key.

use std::collections::BTreeMap;

use gpool_client::{ApiKey, Pool, EMBED, GENERATE};
use redis::Value;

use crate::cli::ImportLegacyArgs;
use crate::connection::{self, Target};
use crate::failure::Failure;
use crate::pool_state::{self, text, KeyRow};

/// The prefix of every key the Python pool wrote.
const PREFIX: &str = "gemini_key_daily_usage:";

/// Length of the Python pool's key suffix.
const SUFFIX_CHARS: usize = 8;

/// What the Python pool held for one suffix.
#[derive(Debug, Default)]
struct Legacy {
    count: Option<u64>,
    spent_embed: bool,
    spent_generate: bool,
    /// The older flag, for both classes.
    spent_both: bool,
}

impl Legacy {
    fn spent_for(&self) -> Vec<&'static str> {
        let mut classes = Vec::new();
        if self.spent_embed || self.spent_both {
            classes.push(EMBED);
        }
        if self.spent_generate || self.spent_both {
            classes.push(GENERATE);
        }
        classes
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(count) = self.count {
            parts.push(format!("count {count}"));
        }
        let spent = self.spent_for();
        if !spent.is_empty() {
            parts.push(format!("spent for {}", spent.join(", ")));
        }
        parts.join(", ")
    }
}

/// Totals of the import.
#[derive(Debug, Default)]
struct Totals {
    imported: u64,
    unmatched: u64,
    ambiguous: u64,
    raised: u64,
    uses_added: u64,
    spent_marks: u64,
    spent_new: u64,
}

pub fn run(target: &Target, args: ImportLegacyArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;
    let mut con = target.redis()?;
    let status = pool.status().map_err(|e| target.fail(e))?;
    let rows = pool_state::read_rows(target, &mut con, &status)?;

    let (legacy_shown, entries, ignored) = match &args.from {
        Some(url) => {
            let legacy = Target::new(url, &target.pool).map_err(|_| {
                Failure::usage(format!(
                    "invalid --from '{}': use redis://[user:password@]host:port[/db]",
                    connection::redacted(url)
                ))
            })?;
            let mut legacy_con = legacy.redis()?;
            let (entries, ignored) = read_legacy(&legacy, &mut legacy_con)?;
            (legacy.shown_url, entries, ignored)
        }
        None => {
            let (entries, ignored) = read_legacy(target, &mut con)?;
            (target.shown_url.clone(), entries, ignored)
        }
    };
    for name in &ignored {
        println!("ignored {name}: not a count or flag the Python pool wrote");
    }
    if entries.is_empty() {
        println!("no legacy keys ({PREFIX}*) in {legacy_shown}: nothing to import");
        return Ok(());
    }

    let mut totals = Totals::default();
    for (suffix, legacy) in &entries {
        let line = import_one(
            target,
            &mut pool,
            &rows,
            suffix,
            legacy,
            args.dry_run,
            &mut totals,
        )?;
        println!("{line}");
    }

    let t = &totals;
    println!(
        "pool '{}': {} legacy {} from {legacy_shown}: {} imported, {} unmatched, {} \
         ambiguous; usage raised on {} {} by {} uses in all; {} spent {} ({} new){}",
        target.pool,
        entries.len(),
        if entries.len() == 1 {
            "suffix"
        } else {
            "suffixes"
        },
        t.imported,
        t.unmatched,
        t.ambiguous,
        t.raised,
        crate::add::keys_word(t.raised),
        t.uses_added,
        t.spent_marks,
        if t.spent_marks == 1 { "mark" } else { "marks" },
        t.spent_new,
        if args.dry_run {
            "; dry run: nothing was changed".to_string()
        } else {
            "; the legacy keys are left as they were".into()
        }
    );
    Ok(())
}

/// Imports one suffix's state, or says why not. Returns its line.
fn import_one(
    target: &Target,
    pool: &mut Pool,
    rows: &[KeyRow],
    suffix: &str,
    legacy: &Legacy,
    dry_run: bool,
    totals: &mut Totals,
) -> Result<String, Failure> {
    let matches: Vec<&KeyRow> = rows
        .iter()
        .filter(|r| legacy_suffix(r.key.expose()) == suffix)
        .collect();
    let key: &ApiKey = match matches.as_slice() {
        [one] => &one.key,
        [] => {
            totals.unmatched += 1;
            return Ok(format!(
                "...{suffix}: no key of pool '{}' ends in it; left alone ({})",
                target.pool,
                legacy.describe()
            ));
        }
        several => {
            totals.ambiguous += 1;
            let positions: Vec<String> = several.iter().map(|r| r.position.to_string()).collect();
            return Ok(format!(
                "...{suffix}: {} keys of pool '{}' end in it (positions {}); left alone ({}): \
                 move its state by hand with 'gpool spend'",
                several.len(),
                target.pool,
                positions.join(", "),
                legacy.describe()
            ));
        }
    };
    totals.imported += 1;

    let mut parts = Vec::new();
    match legacy.count {
        None => parts.push("no legacy count".to_string()),
        Some(count) => {
            let usage = pool
                .usage(std::slice::from_ref(key))
                .map_err(|e| target.fail(e))?
                .first()
                .copied()
                .unwrap_or(0);
            if count > usage {
                let add = count - usage;
                if !dry_run {
                    pool.record(key, add).map_err(|e| target.fail(e))?;
                }
                totals.raised += 1;
                totals.uses_added += add;
                parts.push(format!("usage today {usage} -> {count} (+{add})"));
            } else {
                parts.push(format!(
                    "usage today {usage} (legacy count {count}, not more)"
                ));
            }
        }
    }
    let spent = legacy.spent_for();
    if !spent.is_empty() {
        let mut marks = Vec::new();
        for class in spent {
            totals.spent_marks += 1;
            let state = rows
                .iter()
                .find(|r| &r.key == key)
                .map(|r| r.state(class))
                .unwrap_or(crate::pool_state::KeyState::Active);
            let newly = if dry_run {
                state != crate::pool_state::KeyState::Spent
            } else {
                pool.spend(key, class).map_err(|e| target.fail(e))?
            };
            if newly {
                totals.spent_new += 1;
                marks.push(class.to_string());
            } else {
                marks.push(format!("{class} (already)"));
            }
        }
        parts.push(format!("spent for {}", marks.join(", ")));
    }
    Ok(format!("{key}: {}", parts.join("; ")))
}

/// The Python pool's keys, by suffix; and the names under its prefix that it did not write
/// (or that are not strings).
fn read_legacy(
    target: &Target,
    con: &mut redis::Connection,
) -> Result<(BTreeMap<String, Legacy>, Vec<String>), Failure> {
    let mut names: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{PREFIX}*"))
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .map_err(|e| target.redis_fail(e))?;
        names.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    names.sort();
    names.dedup();

    let mut values: Vec<Value> = Vec::new();
    for chunk in names.chunks(1000) {
        let mut pipe = redis::pipe();
        for name in chunk {
            pipe.cmd("GET").arg(name);
        }
        let replies: Vec<Value> = pipe.query(con).map_err(|e| target.redis_fail(e))?;
        values.extend(replies);
    }

    let mut entries: BTreeMap<String, Legacy> = BTreeMap::new();
    let mut ignored = Vec::new();
    for (name, value) in names.iter().zip(&values) {
        let Some((suffix, field)) = parse_name(name) else {
            ignored.push(shown_name(name));
            continue;
        };
        let Some(value) = text(value) else {
            ignored.push(shown_name(name));
            continue;
        };
        let value = value.trim();
        let entry = entries.entry(suffix.to_string()).or_default();
        let flag = !value.is_empty() && value != "0";
        match field {
            Field::Count => entry.count = Some(value.parse().unwrap_or(0)),
            Field::SpentEmbed => entry.spent_embed |= flag,
            Field::SpentGenerate => entry.spent_generate |= flag,
            Field::SpentBoth => entry.spent_both |= flag,
        }
    }
    Ok((entries, ignored))
}

#[derive(Debug, PartialEq, Eq)]
enum Field {
    Count,
    SpentEmbed,
    SpentGenerate,
    SpentBoth,
}

/// `gemini_key_daily_usage:<suffix>:<field>` as suffix and field.
fn parse_name(name: &str) -> Option<(&str, Field)> {
    let rest = name.strip_prefix(PREFIX)?;
    let endings = [
        (":spent:embed", Field::SpentEmbed),
        (":spent:generate", Field::SpentGenerate),
        (":count", Field::Count),
        (":spent", Field::SpentBoth),
    ];
    for (ending, field) in endings {
        if let Some(suffix) = rest.strip_suffix(ending) {
            if !suffix.is_empty() && suffix.chars().count() <= SUFFIX_CHARS {
                return Some((suffix, field));
            }
        }
    }
    None
}

/// A name under the prefix that the import does not understand, shown with the part after
/// the prefix as a fingerprint: it might hold a whole key.
fn shown_name(name: &str) -> String {
    let rest = name.strip_prefix(PREFIX).unwrap_or(name);
    format!("{PREFIX}{}", gpool_client::fingerprint(rest))
}

/// The Python pool's suffix of a key: its last 8 characters (all of a shorter key).
fn legacy_suffix(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(SUFFIX_CHARS)..]
        .iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_the_right() {
        assert_eq!(
            parse_name("gemini_key_daily_usage:ey-0001a:count"),
            Some(("ey-0001a", Field::Count))
        );
        assert_eq!(
            parse_name("gemini_key_daily_usage:abcdefgh:spent:embed"),
            Some(("abcdefgh", Field::SpentEmbed))
        );
        assert_eq!(
            parse_name("gemini_key_daily_usage:abcdefgh:spent:generate"),
            Some(("abcdefgh", Field::SpentGenerate))
        );
        assert_eq!(
            parse_name("gemini_key_daily_usage:abcdefgh:spent"),
            Some(("abcdefgh", Field::SpentBoth))
        );
        assert_eq!(parse_name("gemini_key_daily_usage:abcdefgh:other"), None);
        assert_eq!(parse_name("gemini_key_daily_usage::count"), None);
        assert_eq!(
            parse_name("gemini_key_daily_usage:far-too-long-for-a-suffix:count"),
            None
        );
    }

    #[test]
    fn the_suffix_is_the_last_eight_characters() {
        assert_eq!(legacy_suffix("test-key-free-0001"), "ree-0001");
        assert_eq!(legacy_suffix("short"), "short");
    }
}
