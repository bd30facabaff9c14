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

use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use redis_module::{raw, Context, RedisError, RedisResult, RedisString, RedisValue};

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
    crate::keyspace::begin_command();
    let outcome = catch_unwind(AssertUnwindSafe(|| run(ctx, &args)));
    if let (true, Some(pool)) = (crate::keyspace::command_wrote(), args.get(1)) {
        signal_pool_changed(ctx, pool);
    }
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(refusal)) => Err(RedisError::String(refusal.to_string())),
        Err(_) => Err(RedisError::String(PoolError::Internal(name).to_string())),
    }
}

/// How a command uses its key, the pool's name (argument 1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// It takes no key (GPOOL.DEBUG).
    None,
    /// It only reads the pool: an ACL user allowed to read the name (`%R~<pool>`) may run it.
    Read,
    /// It reads and writes the pool.
    ReadWrite,
}

/// What `declare_command_info` tells Redis of each command: its argument count, its name
/// included, in the form of Redis's command table (a positive number is the exact count, a
/// negative one the least), and how it uses its key. Redis then refuses a call with a count
/// outside it before the command runs (inside MULTI at queue time, as it does its own
/// commands), and checks ACL key patterns for reading or writing as the key use says. Each
/// handler checks the same counts again with `arity`, and the most arguments, which Redis
/// cannot be told.
pub const COMMAND_INFO: [(&CStr, c_int, KeyUse); 14] = [
    (c"gpool.add", -3, KeyUse::ReadWrite),
    (c"gpool.remove", -3, KeyUse::ReadWrite),
    (c"gpool.next", 3, KeyUse::ReadWrite),
    (c"gpool.spend", 4, KeyUse::ReadWrite),
    (c"gpool.restore", -3, KeyUse::ReadWrite),
    (c"gpool.record", -3, KeyUse::ReadWrite),
    (c"gpool.usage", -2, KeyUse::Read),
    (c"gpool.status", 2, KeyUse::Read),
    (c"gpool.report", -5, KeyUse::ReadWrite),
    (c"gpool.project", -4, KeyUse::ReadWrite),
    (c"gpool.pin", 4, KeyUse::ReadWrite),
    (c"gpool.unpin", 3, KeyUse::ReadWrite),
    (c"gpool.pinned", 3, KeyUse::Read),
    (c"gpool.debug", 3, KeyUse::None),
];

/// Declares `COMMAND_INFO` to Redis (RedisModule_SetCommandInfo, Redis 7.0 and later);
/// called while the module loads, after its commands exist. Returns the commands it could
/// not declare; their handlers still refuse a wrong count, only later inside MULTI, and
/// their key keeps the read-write flags Redis gives every module command.
pub fn declare_command_info(ctx: &Context) -> Vec<String> {
    // SAFETY: both functions are looked up at load; a server without them leaves them None.
    let (Some(get_command), Some(set_info)) = (unsafe { raw::RedisModule_GetCommand }, unsafe {
        raw::RedisModule_SetCommandInfo
    }) else {
        return vec!["every command (this server has no RedisModule_SetCommandInfo)".into()];
    };
    let version = raw::RedisModuleCommandInfoVersion {
        version: 1,
        sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
        sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
        sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
    };
    let mut failed = Vec::new();
    for (name, arity, key_use) in COMMAND_INFO {
        // SAFETY: the context is the loading module's; the name is a C string that lives
        // as long as the module. The info, its version and its key specs live across the
        // call, which copies what it keeps; every pointer left null means "not given".
        let declared = unsafe {
            let command = get_command(ctx.ctx, name.as_ptr());
            if command.is_null() {
                false
            } else {
                let mut specs = key_specs(key_use);
                let info = raw::RedisModuleCommandInfo {
                    version: &version,
                    summary: ptr::null(),
                    complexity: ptr::null(),
                    since: ptr::null(),
                    history: ptr::null_mut(),
                    tips: ptr::null(),
                    arity,
                    key_specs: specs
                        .as_mut()
                        .map_or(ptr::null_mut(), |specs| specs.as_mut_ptr()),
                    args: ptr::null_mut(),
                };
                set_info(command, &info) == raw::REDISMODULE_OK as c_int
            }
        };
        if !declared {
            failed.push(name.to_string_lossy().into_owned());
        }
    }
    failed
}

/// The key specs of a command that uses its key as `key_use`, ended by the empty spec Redis
/// expects: the key is the first argument. None for a command that takes no key.
fn key_specs(key_use: KeyUse) -> Option<[raw::RedisModuleCommandKeySpec; 2]> {
    let flags = match key_use {
        KeyUse::None => return None,
        KeyUse::Read => raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS,
        KeyUse::ReadWrite => {
            raw::REDISMODULE_CMD_KEY_RW
                | raw::REDISMODULE_CMD_KEY_ACCESS
                | raw::REDISMODULE_CMD_KEY_UPDATE
        }
    };
    // SAFETY: a key spec of zeros is the "end of specs" entry: null notes, no flags, and
    // search types 0, which mean "none".
    let mut specs: [raw::RedisModuleCommandKeySpec; 2] = unsafe { std::mem::zeroed() };
    specs[0].flags = u64::from(flags);
    specs[0].begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
    specs[0].bs.index.pos = 1;
    specs[0].find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
    specs[0].fk.range = raw::RedisModuleCommandKeySpec__bindgen_ty_2__bindgen_ty_1 {
        lastkey: 0,
        keystep: 1,
        limit: 0,
    };
    Some(specs)
}

/// Tells Redis that the pool named `pool`, the command's declared key, has changed: a
/// client that WATCHes the pool's name, or caches replies about it through CLIENT TRACKING,
/// hears of the change. Redis itself signals only the gpool:{<pool>}:* keys written, which
/// no client reads through a GPOOL command.
fn signal_pool_changed(ctx: &Context, pool: &RedisString) {
    // SAFETY: the context is the running command's and the name one of its arguments.
    unsafe {
        if let Some(signal) = raw::RedisModule_SignalModifiedKey {
            signal(ctx.ctx, pool.inner);
        }
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
