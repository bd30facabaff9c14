//! `gpool next`: the class's next key taken as a client would take it, shown by its
//! fingerprint.

use crate::cli::NextArgs;
use crate::connection::Target;
use crate::failure::Failure;

pub fn run(target: &Target, args: NextArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;

    let key = pool.next(&args.class).map_err(|e| target.fail(e))?;

    match key {
        Some(key) => {
            println!("{key}");
            Ok(())
        }
        None => {
            let status = pool.status().map_err(|e| target.fail(e))?;
            if status.keys == 0 {
                return Err(Failure::failed(format!(
                    "pool '{}' has no keys: add some with 'gpool add'",
                    target.pool
                )));
            }
            let line = status.classes.get(&args.class).cloned().unwrap_or_default();
            let mut why = format!(
                "no key of pool '{}' is usable for {}: {} spent, {} cooling, {} disabled",
                target.pool, args.class, line.spent, line.cooling, line.disabled
            );
            if line.cooling > 0 && line.next_ready_in > 0 {
                why.push_str(&format!(
                    "; the first cooling key is back in {} s",
                    line.next_ready_in
                ));
            } else {
                why.push_str("; see 'gpool status'");
            }
            Err(Failure::failed(why))
        }
    }
}
