//! `gpool project`: keys grouped in a provider project, so a daily limit or a cooldown on
//! one reaches them all.

use crate::add::keys_word;
use crate::cli::ProjectArgs;
use crate::connection::Target;
use crate::failure::Failure;
use crate::key_input;

pub fn run(target: &Target, args: ProjectArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;
    let keys = key_input::resolve_all(target, &mut pool, &args.keys)?;

    let placed = pool
        .project(&args.project, &keys)
        .map_err(|e| target.fail(e))?;

    println!(
        "{placed} {} placed in project '{}'",
        keys_word(placed),
        args.project
    );
    Ok(())
}
