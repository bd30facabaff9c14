//! `GPOOL.DEBUG CLOCK <unix-seconds>|REAL`: pins the module's clock, for tests only.

use redis_module::{Context, RedisString, RedisValue};

use super::arity;
use crate::arguments;
use crate::clock;
use crate::error::PoolError;
use crate::names::shown;

/// Pins the clock, or returns it to real time. Refused unless the module was loaded with
/// `debug-clock yes`, so a production pool's clock cannot be moved by a client.
pub fn run(_ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, 3, "gpool.debug")?;

    if !clock::pinning_allowed() {
        return Err(PoolError::DebugDisabled);
    }
    let subcommand = args[1].as_slice();
    if !subcommand.eq_ignore_ascii_case(b"CLOCK") {
        return Err(PoolError::UnknownSubcommand(shown(subcommand)));
    }
    let value = arguments::clock_value(args[2].as_slice())?;

    clock::pin(value);

    Ok(RedisValue::SimpleStringStatic("OK"))
}
