//! Which of the two gpool engines a server runs, and the one place where every pool
//! command is spelled for it.
//!
//! The module answers `GPOOL.NEXT <pool> <class>`; the Lua library answers the same words
//! as `FCALL gpool_next 1 <pool> <class>` (the pool name is the one declared key, see the
//! header of `lua/gpool.lua`). [`Engine::command`] builds either from a [`Command`], so the
//! rest of the crate never spells a command name.

use redis::{Connection, Value};

use crate::error::Error;
use crate::replies;

/// The Lua library, embedded so that a server without the module can be served: loaded
/// with `FUNCTION LOAD` when the server has neither the module nor the library.
pub const LUA_LIBRARY: &str = include_str!("../../lua/gpool.lua");

/// How a server provides the pool commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The loadable module: `GPOOL.*` commands.
    Module,
    /// The Redis Functions library `gpool`: `FCALL gpool_*`.
    Lua,
}

/// A pool command, named as in docs/commands.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    Add,
    Remove,
    Next,
    Spend,
    Restore,
    Record,
    Usage,
    Status,
    Report,
    Project,
    Pin,
    Unpin,
    Pinned,
}

impl Command {
    /// The module's command name, e.g. `GPOOL.NEXT`.
    pub fn module_name(self) -> &'static str {
        match self {
            Command::Add => "GPOOL.ADD",
            Command::Remove => "GPOOL.REMOVE",
            Command::Next => "GPOOL.NEXT",
            Command::Spend => "GPOOL.SPEND",
            Command::Restore => "GPOOL.RESTORE",
            Command::Record => "GPOOL.RECORD",
            Command::Usage => "GPOOL.USAGE",
            Command::Status => "GPOOL.STATUS",
            Command::Report => "GPOOL.REPORT",
            Command::Project => "GPOOL.PROJECT",
            Command::Pin => "GPOOL.PIN",
            Command::Unpin => "GPOOL.UNPIN",
            Command::Pinned => "GPOOL.PINNED",
        }
    }

    /// The Lua library's function name, e.g. `gpool_next`.
    pub fn function_name(self) -> &'static str {
        match self {
            Command::Add => "gpool_add",
            Command::Remove => "gpool_remove",
            Command::Next => "gpool_next",
            Command::Spend => "gpool_spend",
            Command::Restore => "gpool_restore",
            Command::Record => "gpool_record",
            Command::Usage => "gpool_usage",
            Command::Status => "gpool_status",
            Command::Report => "gpool_report",
            Command::Project => "gpool_project",
            Command::Pin => "gpool_pin",
            Command::Unpin => "gpool_unpin",
            Command::Pinned => "gpool_pinned",
        }
    }
}

impl Engine {
    /// The command `command` on `pool`, ready for its remaining arguments.
    pub fn command(self, command: Command, pool: &str) -> redis::Cmd {
        match self {
            Engine::Module => {
                let mut cmd = redis::cmd(command.module_name());
                cmd.arg(pool);
                cmd
            }
            Engine::Lua => {
                let mut cmd = redis::cmd("FCALL");
                cmd.arg(command.function_name()).arg(1).arg(pool);
                cmd
            }
        }
    }

    /// `GPOOL.DEBUG CLOCK <unix-seconds>|REAL`, which names no pool.
    pub fn debug_clock(self, unix: Option<u64>) -> redis::Cmd {
        let mut cmd = match self {
            Engine::Module => redis::cmd("GPOOL.DEBUG"),
            Engine::Lua => {
                let mut cmd = redis::cmd("FCALL");
                cmd.arg("gpool_debug").arg(0);
                cmd
            }
        };
        cmd.arg("CLOCK");
        match unix {
            Some(t) => cmd.arg(t),
            None => cmd.arg("REAL"),
        };
        cmd
    }

    /// Finds the engine a server offers: the module when it knows `gpool.next`, else the
    /// Lua library, which is loaded from `lua_library` when the server does not have it.
    ///
    /// # Errors
    /// [`Error::Redis`] when the server cannot be asked; [`Error::Unsupported`] when it has
    /// a `gpool` library without `gpool_next`, or refuses to load the library.
    pub fn detect(con: &mut Connection, lua_library: &str) -> Result<Engine, Error> {
        let info: Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg("gpool.next")
            .query(con)
            .map_err(Error::redis)?;
        if let Value::Array(items) = &info {
            if items.iter().any(|item| !matches!(item, Value::Nil)) {
                return Ok(Engine::Module);
            }
        }

        let functions = loaded_functions(con)?;
        if functions.is_none() {
            let loaded: Result<String, _> = redis::cmd("FUNCTION")
                .arg("LOAD")
                .arg(lua_library)
                .query(con);
            match loaded {
                Ok(_) => tracing::info!("loaded the gpool Lua library into redis"),
                // Another process loaded it between our look and our load.
                Err(e) if e.to_string().contains("already exists") => {}
                Err(e) => {
                    return Err(Error::Unsupported {
                        what: "the gpool Lua library".into(),
                        fix: format!(
                            "the server refused FUNCTION LOAD ({e}); load the module or \
                             lua/gpool.lua by hand"
                        ),
                    })
                }
            }
        }
        let functions = loaded_functions(con)?.unwrap_or_default();
        if !functions.iter().any(|f| f == "gpool_next") {
            return Err(Error::Unsupported {
                what: "gpool_next in the loaded gpool library".into(),
                fix: "load lua/gpool.lua again with FUNCTION LOAD REPLACE".into(),
            });
        }
        Ok(Engine::Lua)
    }
}

/// The function names of the loaded `gpool` library, or `None` when it is not loaded.
fn loaded_functions(con: &mut Connection) -> Result<Option<Vec<String>>, Error> {
    let reply: Value = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("LIBRARYNAME")
        .arg("gpool")
        .query(con)
        .map_err(Error::redis)?;
    let Value::Array(libraries) = reply else {
        return Ok(None);
    };
    for library in &libraries {
        let fields = replies::fields(library);
        let name = fields.get("library_name").and_then(replies::text);
        if name.as_deref() != Some("gpool") {
            continue;
        }
        let mut names = Vec::new();
        if let Some(Value::Array(functions)) = fields.get("functions") {
            for function in functions {
                if let Some(n) = replies::fields(function)
                    .get("name")
                    .and_then(replies::text)
                {
                    names.push(n);
                }
            }
        }
        return Ok(Some(names));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(cmd: &redis::Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => String::from_utf8_lossy(b).into_owned(),
                redis::Arg::Cursor => "<cursor>".into(),
            })
            .collect()
    }

    #[test]
    fn module_commands_name_the_pool_first() {
        let mut cmd = Engine::Module.command(Command::Next, "gemini");
        cmd.arg("embed");
        assert_eq!(words(&cmd), ["GPOOL.NEXT", "gemini", "embed"]);
    }

    #[test]
    fn lua_commands_declare_the_pool_as_their_one_key() {
        let mut cmd = Engine::Lua.command(Command::Report, "gemini");
        cmd.arg("k").arg("embed").arg(200);
        assert_eq!(
            words(&cmd),
            ["FCALL", "gpool_report", "1", "gemini", "k", "embed", "200"]
        );
    }

    #[test]
    fn debug_clock_declares_no_key() {
        assert_eq!(
            words(&Engine::Lua.debug_clock(Some(5))),
            ["FCALL", "gpool_debug", "0", "CLOCK", "5"]
        );
        assert_eq!(
            words(&Engine::Module.debug_clock(None)),
            ["GPOOL.DEBUG", "CLOCK", "REAL"]
        );
    }
}
