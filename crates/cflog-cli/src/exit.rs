//! The exit statuses `cflog` ends with, as `--help` documents them.
//!
//! Every command returns one of these; `main` turns it into the process's
//! exit code. Usage errors exit with 2 straight from clap, which is
//! [`Status::Failed`]'s number too.

use std::process::ExitCode;

/// How a run ended; each variant's number is the process's exit code.
///
/// ```text
/// 0  Parsed    every line read: an entry, a header or a blank line (an
///              empty input says so on stderr)
/// 1  Rejected  some lines were rejected, or --strict stopped at the first
/// 2  Failed    an input that could not be read, or one whose lines are
///              none of them an entry (not a CloudFront log, the Lambda's
///              NotACloudFrontLog); an output that could not be written;
///              a usage error
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every line read (also: a closed pipe, which ends a run quietly).
    Parsed = 0,
    /// Some lines were rejected.
    Rejected = 1,
    /// An input failed or is not a CloudFront log, the output failed, or
    /// a usage error.
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
