//! What became of an object or a batch, as its report says.

use std::fmt;

use serde::Serialize;

/// The `status` of an [`ObjectReport`](crate::ObjectReport) or a Kinesis
/// batch's report, serialized as its lower-case name.
///
/// ```
/// use cflog_lambda::Status;
///
/// assert_eq!(serde_json::to_string(&Status::Skipped).unwrap(), r#""skipped""#);
/// assert_eq!(Status::Ok.as_str(), "ok");
/// assert_eq!(Status::Failed, "failed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Read to the end; rejected lines are counted in the summary.
    Ok,
    /// The object no longer exists (an S3 object deleted before it was
    /// read).
    Skipped,
    /// Kinesis records were returned as batch item failures, to be sent
    /// again.
    Retry,
    /// The input or the output failed.
    Failed,
}

impl Status {
    /// The name the report gives it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Retry => "retry",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the name, as reports and logs are read.
impl PartialEq<&str> for Status {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_as_its_name() {
        for status in [Status::Ok, Status::Skipped, Status::Retry, Status::Failed] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
    }
}
