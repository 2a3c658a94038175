//! `switchboard openapi`: print the hub's OpenAPI document.

use super::args::HubArgs;
use super::print_stdout;
use crate::error::Error;

pub fn openapi(args: HubArgs) -> Result<(), Error> {
    let loaded = crate::config::load(&args.dir, &crate::hub::script_names(&args.dir))?;
    let document = crate::triggers::http::openapi::document(
        &args.dir.canonicalize().unwrap_or(args.dir.clone()),
        &loaded.manifest,
    );
    let text = serde_json::to_string_pretty(&document).map_err(anyhow::Error::from)?;
    print_stdout(&text)
}
