//! gpool: an API-key pool kept inside Redis.
//!
//! Loaded into `redis-server`, this module adds `GPOOL.*` commands that rotate a pool's keys
//! per class (embedding, generation, ...), skip keys spent for the quota day, and count each
//! key's uses, all atomically and in Redis's own data types. The pure logic (quota days,
//! rotation, names) lives in modules with no Redis types; `keyspace`, `pool` and `commands`
//! are the Redis glue. See `docs/keys.md` and `docs/commands.md`.

pub mod arguments;
pub mod classify;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod fingerprint;
pub mod keyspace;
pub mod names;
pub mod penalty;
pub mod pool;
pub mod quota_day;
pub mod rotation;

// Unit tests run without a server, where the Redis allocator the module uses does not exist,
// so the module's entry points are left out of test builds.
#[cfg(not(test))]
use redis_module::redis_module;
use redis_module::{Context, RedisString, Status};

#[cfg(not(test))]
use commands::guarded;

/// Reads the load options, installs them, and logs one line saying what was loaded.
#[cfg_attr(test, allow(dead_code))]
fn on_load(ctx: &Context, args: &[RedisString]) -> Status {
    let options: Vec<String> = args.iter().map(|a| a.to_string_lossy()).collect();
    match config::Config::from_args(&options) {
        Ok(loaded) => {
            let undeclared = commands::declare_command_info(ctx);
            if !undeclared.is_empty() {
                ctx.log_warning(&format!(
                    "gpool could not declare the argument counts and key use of {}: those \
                     commands refuse a wrong count when they run, not when MULTI queues them, \
                     and ACL checks their key for writing",
                    undeclared.join(", ")
                ));
            }
            config::install(loaded);
            ctx.log_notice(&format!(
                "gpool {} loaded: timezone {}, debug-clock {}",
                env!("CARGO_PKG_VERSION"),
                loaded.zone.name(),
                if loaded.debug_clock { "yes" } else { "no" }
            ));
            Status::Ok
        }
        Err(reason) => {
            ctx.log_warning(&format!("gpool refused to load: {reason}"));
            Status::Err
        }
    }
}

#[cfg(not(test))]
redis_module! {
    name: "gpool",
    version: 1,
    allocator: (redis_module::alloc::RedisAlloc, redis_module::alloc::RedisAlloc),
    data_types: [],
    init: on_load,
    commands: [
        ["gpool.add", |c, a| guarded("gpool.add", c, a, commands::add::run),
            "write deny-oom", 1, 1, 1, ""],
        ["gpool.remove", |c, a| guarded("gpool.remove", c, a, commands::remove::run),
            "write", 1, 1, 1, ""],
        ["gpool.next", |c, a| guarded("gpool.next", c, a, commands::next::run),
            "write deny-oom fast", 1, 1, 1, ""],
        ["gpool.spend", |c, a| guarded("gpool.spend", c, a, commands::spend::run),
            "write deny-oom fast", 1, 1, 1, ""],
        ["gpool.restore", |c, a| guarded("gpool.restore", c, a, commands::restore::run),
            "write fast", 1, 1, 1, ""],
        ["gpool.record", |c, a| guarded("gpool.record", c, a, commands::record::run),
            "write deny-oom fast", 1, 1, 1, ""],
        ["gpool.usage", |c, a| guarded("gpool.usage", c, a, commands::usage::run),
            "readonly", 1, 1, 1, ""],
        ["gpool.status", |c, a| guarded("gpool.status", c, a, commands::status::run),
            "readonly", 1, 1, 1, ""],
        ["gpool.report", |c, a| guarded("gpool.report", c, a, commands::report::run),
            "write deny-oom", 1, 1, 1, ""],
        ["gpool.project", |c, a| guarded("gpool.project", c, a, commands::project::run),
            "write deny-oom", 1, 1, 1, ""],
        ["gpool.pin", |c, a| guarded("gpool.pin", c, a, commands::pin::run),
            "write deny-oom fast", 1, 1, 1, ""],
        ["gpool.unpin", |c, a| guarded("gpool.unpin", c, a, commands::unpin::run),
            "write fast", 1, 1, 1, ""],
        ["gpool.pinned", |c, a| guarded("gpool.pinned", c, a, commands::pinned::run),
            "readonly fast", 1, 1, 1, ""],
        ["gpool.debug", |c, a| guarded("gpool.debug", c, a, commands::debug::run),
            "admin", 0, 0, 0, ""],
    ],
}
