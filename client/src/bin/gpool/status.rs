//! `gpool status`: the pool at a glance, as a table or as JSON, once or redrawn.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::thread;

use gpool_client::Engine;
use serde_json::{json, Map, Value};

use crate::cli::StatusArgs;
use crate::connection::Target;
use crate::duration::human;
use crate::failure::Failure;
use crate::pool_state::{self, KeyState, Snapshot};

pub fn run(target: &Target, args: StatusArgs) -> Result<(), Failure> {
    let Some(every) = args.watch else {
        let text = render(target, &args, false)?;
        print!("{text}");
        return Ok(());
    };

    // The first drawing fails the command like a single one would; later failures (Redis
    // restarting) are shown and the watch goes on.
    let clear = std::io::stdout().is_terminal() && !args.json;
    let mut first = true;
    loop {
        match render(target, &args, true) {
            Ok(text) => {
                let mut out = std::io::stdout().lock();
                if clear {
                    // Home the cursor and clear the screen.
                    write!(out, "\x1b[H\x1b[2J")?;
                } else if !first && !args.json {
                    writeln!(out)?;
                }
                write!(out, "{text}")?;
                out.flush()?;
            }
            Err(failure) if first => return Err(failure),
            Err(failure) => eprintln!("error: {failure}"),
        }
        first = false;
        thread::sleep(every);
    }
}

/// One drawing: the table, or JSON (on one line when `compact`).
fn render(target: &Target, args: &StatusArgs, compact: bool) -> Result<String, Failure> {
    let mut pool = target.pool()?;
    let engine = pool.engine();
    let snapshot = if args.summary {
        Snapshot {
            status: pool.status().map_err(|e| target.fail(e))?,
            rows: Vec::new(),
        }
    } else {
        let mut con = target.redis()?;
        pool_state::read(target, &mut pool, &mut con)?
    };
    if args.json {
        let value = to_json(target, engine, &snapshot, !args.summary);
        let text = if compact {
            serde_json::to_string(&value)
        } else {
            serde_json::to_string_pretty(&value)
        };
        return Ok(text.expect("JSON of strings and numbers") + "\n");
    }
    let mut text = table(target, engine, &snapshot, !args.summary);
    if let Some(line) = paid_key_line(target)? {
        text.push('\n');
        text.push_str(&line);
    }
    Ok(text)
}

/// A line on the paid key, which the client keeps in a pool of its own (`<pool>-paid`) so
/// that NEXT never hands it out: shown when that pool holds a key, with every class's
/// state and how to look closer. None for a pool that is itself a paid key's.
fn paid_key_line(target: &Target) -> Result<Option<String>, Failure> {
    let paid = format!("{}-paid", target.pool);
    if target.pool.ends_with("-paid") || paid.len() > 128 {
        return Ok(None);
    }
    let status = target
        .pool_named(&paid)?
        .status()
        .map_err(|e| target.fail(e))?;
    if status.keys == 0 {
        return Ok(None);
    }
    let mut states: Vec<String> = Vec::new();
    for (class, line) in &status.classes {
        let counts = [
            (line.active, "active"),
            (line.spent, "spent"),
            (line.cooling, "cooling"),
            (line.disabled, "disabled"),
        ];
        let said: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, word)| format!("{n} {word}"))
            .collect();
        states.push(format!("{class} {}", said.join(", ")));
    }
    let states = if states.is_empty() {
        "not used yet".to_string()
    } else {
        states.join("; ")
    };
    Ok(Some(format!(
        "paid key: pool '{paid}', {} {}: {states}; see 'gpool --pool {paid} status'\n",
        status.keys,
        crate::add::keys_word(status.keys)
    )))
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Module => "module",
        Engine::Lua => "lua",
    }
}

/// The status as a person reads it.
fn table(target: &Target, engine: Engine, snapshot: &Snapshot, with_keys: bool) -> String {
    let status = &snapshot.status;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pool '{}' ({}): {} {}; quota day {} ({}) ends in {}",
        target.pool,
        engine_name(engine),
        status.keys,
        crate::add::keys_word(status.keys),
        status.day,
        status.timezone,
        human(status.reset_in)
    );
    out.push('\n');

    if status.classes.is_empty() {
        out.push_str("no class has used the pool yet\n");
    } else {
        let mut rows = vec![[
            "class",
            "active",
            "spent",
            "cooling",
            "disabled",
            "streak",
            "next back",
        ]
        .map(String::from)
        .to_vec()];
        for (class, line) in &status.classes {
            let next_back = if line.next_ready_in > 0 {
                human(line.next_ready_in)
            } else {
                "-".into()
            };
            rows.push(vec![
                class.clone(),
                line.active.to_string(),
                line.spent.to_string(),
                line.cooling.to_string(),
                line.disabled.to_string(),
                line.streak.to_string(),
                next_back,
            ]);
        }
        out.push_str(&columns(
            &rows,
            &[false, true, true, true, true, true, false],
        ));
    }
    out.push('\n');

    if status.pins.is_empty() {
        out.push_str("pins: none\n");
    } else {
        let pins: Vec<String> = status
            .pins
            .iter()
            .map(|(name, left)| format!("{name} ({} left)", human(*left)))
            .collect();
        let _ = writeln!(out, "pins: {}", pins.join(", "));
    }

    if !with_keys {
        return out;
    }
    out.push('\n');
    if snapshot.rows.is_empty() {
        let _ = writeln!(out, "no keys: add some with 'gpool add'");
        return out;
    }
    let classes: Vec<&String> = status.classes.keys().collect();
    let mut header = vec!["#".to_string(), "key".to_string()];
    header.extend(classes.iter().map(|c| c.to_string()));
    header.extend(["used today".to_string(), "project".to_string()]);
    let mut rows = vec![header];
    for row in &snapshot.rows {
        let mut cells = vec![row.position.to_string(), row.key.fingerprint()];
        for class in &classes {
            cells.push(match row.state(class) {
                KeyState::Cooling(left) => format!("cooling {}", human(left)),
                state => state.word().to_string(),
            });
        }
        cells.push(row.usage.to_string());
        cells.push(row.project.clone().unwrap_or_else(|| "-".into()));
        rows.push(cells);
    }
    let mut right = vec![true, false];
    right.extend(classes.iter().map(|_| false));
    right.extend([true, false]);
    out.push_str(&columns(&rows, &right));
    out
}

/// Rows as aligned columns, two spaces apart; `right[i]` aligns column `i` to the right.
fn columns(rows: &[Vec<String>], right: &[bool]) -> String {
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..right.len()).map(width).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if right[i] {
                    format!("{cell:>w$}", w = widths[i])
                } else {
                    format!("{cell:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The status for scripts: STATUS's fields, the engine, and the keys by fingerprint.
fn to_json(target: &Target, engine: Engine, snapshot: &Snapshot, with_keys: bool) -> Value {
    let status = &snapshot.status;
    let classes: Map<String, Value> = status
        .classes
        .iter()
        .map(|(class, line)| {
            let counts = json!({
                "active": line.active,
                "spent": line.spent,
                "cooling": line.cooling,
                "disabled": line.disabled,
                "streak": line.streak,
                "next_ready_in": line.next_ready_in,
            });
            (class.clone(), counts)
        })
        .collect();
    let mut value = json!({
        "pool": target.pool,
        "engine": engine_name(engine),
        "keys": status.keys,
        "day": status.day,
        "timezone": status.timezone,
        "reset_in": status.reset_in,
        "classes": classes,
        "pins": status.pins,
    });
    if with_keys {
        let by_key: Vec<Value> = snapshot
            .rows
            .iter()
            .map(|row| {
                let states: Map<String, Value> = status
                    .classes
                    .keys()
                    .map(|class| {
                        let state = row.state(class);
                        let mut entry = json!({ "state": state.word() });
                        if let KeyState::Cooling(left) = state {
                            entry["back_in"] = json!(left);
                        }
                        (class.clone(), entry)
                    })
                    .collect();
                json!({
                    "fingerprint": row.key.fingerprint(),
                    "position": row.position,
                    "disabled": row.disabled,
                    "usage": row.usage,
                    "project": row.project,
                    "classes": states,
                })
            })
            .collect();
        value["by_key"] = Value::Array(by_key);
    }
    value
}
