//! The exit statuses `cflog` ends with, as `--help` documents them.
//!
//! Every command returns one of these; `main` turns it into the process's
//! exit code. Usage errors exit with 2 straight from clap, which is
//! [`Status::Failed`]'s number too.

use std::process::ExitCode;

/// How a run ended; each variant's number is the process's exit code.
///
/// ```text
/// 0  Parsed    every line parsed
/// 1  Rejected  some lines were rejected, or --strict stopped at the first
/// 2  Failed    a usage error, an input that could not be read, or an
///              output that could not be written
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every line parsed (also: a closed pipe, which ends a run quietly).
    Parsed = 0,
    /// Some lines were rejected.
    Rejected = 1,
    /// A usage error, or an input or the output failed.
    Failed = 2,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn the_numbers_are_the_documented_exit_codes() {
        assert_eq!(Status::Parsed as u8, 0);
        assert_eq!(Status::Rejected as u8, 1);
        assert_eq!(Status::Failed as u8, 2);
    }
}
