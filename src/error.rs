//! The top-level error of a command, which knows its exit code.

use crate::config::ConfigErrors;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest or `.env` is wrong: exit 2.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The command line is wrong: exit 2.
    #[error("{0}")]
    Usage(String),
    /// An action or check failed; the details were already printed: exit 1.
    #[error("{0}")]
    Failed(String),
    /// Anything else (I/O, runtime start-up): exit 1.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => 2,
            Error::Failed(_) | Error::Other(_) => 1,
        }
    }
}
