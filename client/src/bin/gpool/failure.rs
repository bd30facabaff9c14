//! Why a command failed, as one line that says what to do, and the exit code that goes
//! with it: 1 when the work failed, 2 when the command line was wrong.

use std::fmt;
use std::process::ExitCode;

use gpool_client::Error;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage: a wrong argument, or input that is not what the command takes. Exit 2.
    Usage(String),
    /// The work failed: Redis, the provider, the pool refused. Exit 1.
    Failed(String),
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::Usage(message.into())
    }

    pub fn failed(message: impl Into<String>) -> Failure {
        Failure::Failed(message.into())
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
        }
    }

    /// The client library's error, worded for the command line; `url` is the Redis URL
    /// with any password hidden.
    pub fn from_client(e: Error, url: &str) -> Failure {
        match e {
            Error::Redis(e) if e.kind() == redis::ErrorKind::AuthenticationFailed => {
                Failure::failed(format!(
                    "redis at {url} refused the login ({}): put the right user and password \
                     in --redis-url or REDIS_URL (redis://user:password@host:port)",
                    one_line(&e.to_string())
                ))
            }
            Error::Redis(e) => Failure::failed(format!(
                "redis does not answer at {url} ({}): start redis-server there ('make run' \
                 does), or point --redis-url or REDIS_URL at it",
                one_line(&e.to_string())
            )),
            Error::Refused { reply } => refused(&reply),
            other => Failure::failed(one_line(&other.to_string())),
        }
    }
}

/// A pool's error reply: bad arguments are bad usage, the rest failed work.
fn refused(reply: &str) -> Failure {
    let text = reply.strip_prefix("ERR ").unwrap_or(reply);
    if text.starts_with("invalid ") || text.starts_with("wrong number of arguments") {
        return Failure::usage(text);
    }
    if text.contains("is not in pool") {
        return Failure::failed(format!("{text}: 'gpool status' lists the pool's keys"));
    }
    if reply.starts_with("WRONGTYPE") {
        return Failure::failed(format!(
            "a key of the pool holds the wrong type of value ({reply}): something other than \
             gpool wrote under gpool:{{<pool>}}:, see docs/keys.md"
        ));
    }
    Failure::failed(format!("redis refused the command: {reply}"))
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Failed(m) => f.write_str(&one_line(m)),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::failed(format!("{e}"))
    }
}

/// `text` on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Help and version go to standard output with exit 0; any other parse error goes to
/// standard error as one line that names the help to read, with exit 2.
pub fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let rendered = e.render().to_string();
            let before_usage = rendered.split("\nUsage:").next().unwrap_or(&rendered);
            let message: Vec<&str> = before_usage
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect();
            let message = hide_long_arguments(&message.join(" "));
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let help = match subcommand_named() {
                Some(sub) => format!("gpool {sub} --help"),
                None => "gpool --help".into(),
            };
            eprintln!("error: {message}: see '{help}'");
            ExitCode::from(2)
        }
    }
}

/// `message` with every long command-line argument shown as its fingerprint: a parse error
/// quotes the argument it refused, and that argument may be a key given in the wrong place.
fn hide_long_arguments(message: &str) -> String {
    let mut out = message.to_string();
    for arg in arguments() {
        if arg.chars().count() >= 16 && out.contains(&arg) {
            out = out.replace(&arg, &gpool_client::fingerprint(&arg));
        }
    }
    out
}

/// The subcommand named on the command line, if any.
fn subcommand_named() -> Option<String> {
    const NAMES: [&str; 12] = [
        "add",
        "remove",
        "spend",
        "restore",
        "project",
        "pin",
        "unpin",
        "next",
        "status",
        "embed",
        "probe",
        "import-legacy",
    ];
    arguments().find(|a| NAMES.contains(&a.as_str()))
}

/// The command line after the program's name. `std::env::args` would panic on an argument
/// that is not UTF-8, which is exactly when clap has an error to report; such an argument
/// is taken with U+FFFD for each bad byte, as clap quotes it.
fn arguments() -> impl Iterator<Item = String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
}
