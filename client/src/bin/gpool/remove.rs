//! `gpool remove`: keys out of the pool, with all their state.

use crate::add::keys_word;
use crate::cli::RemoveArgs;
use crate::connection::Target;
use crate::failure::Failure;
use crate::key_input::{self, KeySource};

pub fn run(target: &Target, args: RemoveArgs) -> Result<(), Failure> {
    let source = KeySource {
        args: args.keys,
        from_env: args.from_env,
    };
    let given = key_input::read(&source, true)?;

    let mut pool = target.pool()?;
    let keys = key_input::resolve_all(target, &mut pool, &given)?;
    let removed = pool.remove(&keys).map_err(|e| target.fail(e))?;
    let left = pool.status().map_err(|e| target.fail(e))?.keys;

    let asked = keys.len() as u64;
    let mut line = format!(
        "pool '{}': {removed} {} removed",
        target.pool,
        keys_word(removed)
    );
    if removed < asked {
        line.push_str(&format!(", {} not in the pool", asked - removed));
    }
    line.push_str(&format!("; {left} {} left", keys_word(left)));
    println!("{line}");
    Ok(())
}
