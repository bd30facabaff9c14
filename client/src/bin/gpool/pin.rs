//! `gpool pin` and `gpool unpin`: named flags with a deadline, shared by every client.

use crate::cli::{PinArgs, UnpinArgs};
use crate::connection::Target;
use crate::duration::human;
use crate::failure::Failure;

pub fn pin(target: &Target, args: PinArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;

    pool.pin(&args.name, args.duration)
        .map_err(|e| target.fail(e))?;
    let left = pool.pinned(&args.name).map_err(|e| target.fail(e))?;

    println!("'{}' is pinned for {}", args.name, human(left.as_secs()));
    Ok(())
}

pub fn unpin(target: &Target, args: UnpinArgs) -> Result<(), Failure> {
    let mut pool = target.pool()?;

    if pool.unpin(&args.name).map_err(|e| target.fail(e))? {
        println!("'{}' is no longer pinned", args.name);
    } else {
        println!("'{}' was not pinned", args.name);
    }
    Ok(())
}
