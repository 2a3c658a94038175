//! `switchboard repl`: interactive Rhai with the hub's stdlib and connections (see `crate::repl`).

use super::args::HubArgs;
use crate::error::Error;

pub fn repl(args: HubArgs) -> Result<(), Error> {
    crate::repl::run(&args.dir, super::routes::render)
}
