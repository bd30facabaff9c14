//! `gpool`: operate a key pool from a shell. Add, remove, spend and restore keys, see the
//! pool at a glance, embed texts through the fallback cascade, probe keys, and import the
//! state of the older Python pool.
//!
//! Exit codes: 0 success, 1 the work failed (the one-line error says why and what to do),
//! 2 bad usage. No full key is ever printed: keys appear as fingerprints.

mod add;
mod cli;
mod connection;
mod duration;
mod embed;
mod failure;
mod import_legacy;
mod key_input;
mod lease;
mod next;
mod pin;
mod pool_state;
mod probe;
mod project;
mod remove;
mod restore;
mod spend;
mod status;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use connection::Target;
use failure::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return failure::clap_exit(e),
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let target = Target::new(&cli.redis_url, &cli.pool)?;
    match cli.command {
        Command::Add(args) => add::run(&target, args),
        Command::Remove(args) => remove::run(&target, args),
        Command::Spend(args) => spend::run(&target, args),
        Command::Restore(args) => restore::run(&target, args),
        Command::Project(args) => project::run(&target, args),
        Command::Pin(args) => pin::pin(&target, args),
        Command::Unpin(args) => pin::unpin(&target, args),
        Command::Next(args) => next::run(&target, args),
        Command::Status(args) => status::run(&target, args),
        Command::Embed(args) => embed::run(&target, args),
        Command::Probe(args) => probe::run(&target, args),
        Command::ImportLegacy(args) => import_legacy::run(&target, args),
    }
}

/// The client library's warnings (Redis down, a key taken out) on standard error; with
/// `--verbose`, its information lines too.
fn init_logging(verbose: bool) {
    let level = if verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
