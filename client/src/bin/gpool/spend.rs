//! `gpool spend`: a key spent for a class until the quota day ends.

use crate::cli::SpendArgs;
use crate::connection::Target;
use crate::duration::human;
use crate::failure::Failure;
use crate::key_input;

pub fn run(target: &Target, args: SpendArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;
    let key = key_input::resolve_all(target, &mut pool, &[args.key])?.remove(0);

    let newly = pool.spend(&key, &args.class).map_err(|e| target.fail(e))?;
    let reset_in = pool.status().map_err(|e| target.fail(e))?.reset_in;

    if newly {
        println!(
            "{key} is spent for {} until the quota day ends (in {})",
            args.class,
            human(reset_in)
        );
    } else {
        println!("{key} was already spent for {}", args.class);
    }
    Ok(())
}
