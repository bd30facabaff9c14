//! `gpool add`: keys into the pool's ring, from arguments, the environment or standard
//! input.

use gpool_client::ApiKey;

use crate::cli::AddArgs;
use crate::connection::Target;
use crate::failure::Failure;
use crate::key_input::{self, KeySource};

/// Keys sent in one GPOOL.ADD.
const PER_COMMAND: usize = 1000;

pub fn run(target: &Target, args: AddArgs) -> Result<(), Failure> {
    let source = KeySource {
        args: args.keys,
        from_env: args.from_env,
    };
    let keys: Vec<ApiKey> = key_input::read(&source, false)?
        .into_iter()
        .map(ApiKey::new)
        .collect();

    let mut pool = target.pool()?;
    let mut added = 0;
    for chunk in keys.chunks(PER_COMMAND) {
        added += pool.add(chunk).map_err(|e| target.fail(e))?;
    }
    let total = pool.status().map_err(|e| target.fail(e))?.keys;

    let given = keys.len() as u64;
    println!(
        "pool '{}': {added} of {given} {} added, {} already there; {total} {} in all",
        target.pool,
        keys_word(given),
        given - added,
        keys_word(total)
    );
    Ok(())
}

pub fn keys_word(n: u64) -> &'static str {
    if n == 1 {
        "key"
    } else {
        "keys"
    }
}
