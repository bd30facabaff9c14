//! `gpool restore`: a key's spent mark for one class taken back, or every penalty lifted.

use crate::cli::RestoreArgs;
use crate::connection::Target;
use crate::failure::Failure;
use crate::key_input;

pub fn run(target: &Target, args: RestoreArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;
    let key = key_input::resolve_all(target, &mut pool, &[args.key])?.remove(0);

    match args.class {
        Some(class) => {
            if pool.restore(&key, &class).map_err(|e| target.fail(e))? {
                println!("{key} is no longer spent for {class}");
            } else {
                println!("{key} was not spent for {class}");
            }
        }
        None => {
            if pool.restore_all(&key).map_err(|e| target.fail(e))? {
                println!("{key}: every penalty lifted; it is back in every class's rotation");
            } else {
                println!("{key} had no penalty");
            }
        }
    }
    Ok(())
}
