//! The `GPOOL.*` commands, one file each. Every handler checks arity, parses its arguments,
//! opens and type-checks the keys it needs, and only then writes, so bad input changes
//! nothing.

pub mod add;
pub mod debug;
pub mod next;
pub mod pin;
pub mod pinned;
pub mod project;
pub mod record;
pub mod remove;
pub mod report;
pub mod restore;
pub mod spend;
pub mod status;
pub mod unpin;
pub mod usage;

use std::panic::{catch_unwind, AssertUnwindSafe};

use redis_module::{Context, RedisError, RedisResult, RedisString, RedisValue};

use crate::error::PoolError;

/// A command handler: the context and the arguments, command name first.
pub type Handler = fn(&Context, &[RedisString]) -> Result<RedisValue, PoolError>;

/// Runs a handler so that no panic crosses into Redis: a panic becomes an error reply.
pub fn guarded(
    name: &'static str,
    ctx: &Context,
    args: Vec<RedisString>,
    run: Handler,
) -> RedisResult {
    match catch_unwind(AssertUnwindSafe(|| run(ctx, &args))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(refusal)) => Err(RedisError::String(refusal.to_string())),
        Err(_) => Err(RedisError::String(PoolError::Internal(name).to_string())),
    }
}

/// Checks that a command got between `min` and `max` arguments, its name included.
fn arity(
    args: &[RedisString],
    min: usize,
    max: usize,
    name: &'static str,
) -> Result<(), PoolError> {
    if (min..=max).contains(&args.len()) {
        Ok(())
    } else {
        Err(PoolError::WrongArity(name))
    }
}

/// Validates the API key at argument `index`.
fn api_key(args: &[RedisString], index: usize) -> Result<&RedisString, PoolError> {
    let arg = &args[index];
    crate::arguments::api_key(arg.as_slice(), index)?;
    Ok(arg)
}

/// Validates API keys given from argument `from` on.
fn api_keys(args: &[RedisString], from: usize) -> Result<Vec<&RedisString>, PoolError> {
    (from..args.len()).map(|i| api_key(args, i)).collect()
}

/// Makes a class known to the pool (a `cursor` field at 0) if it is not yet.
fn register_class(cursor: &crate::keyspace::Key, class: &RedisString) {
    if cursor.hget(class).is_none() {
        cursor.hset(class, &cursor.integer(0));
    }
}
