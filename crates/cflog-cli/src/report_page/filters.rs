//! Which inputs `--since`, `--until` and `--distribution` leave out
//! before they are read.

use cflog_pipeline::object_key::ObjectKey;

use crate::cli::ReportArgs;
use crate::inputs::Input;

/// Whether `input` may hold entries that `args`' filters keep: its key or
/// path names a period overlapping `[since, until)` (or none), and one of
/// the distributions asked for (when any are). Stdin is always read.
pub fn selected(input: &Input, args: &ReportArgs) -> bool {
    let key = match input {
        Input::Stdin => return true,
        Input::File(path) => path.to_string_lossy(),
        Input::S3Object { key, .. } => key.into(),
    };
    let info = ObjectKey::read(&key);
    let in_time = info
        .period
        .is_none_or(|period| period.overlaps(args.since, args.until));
    let of_distribution =
        args.distribution.is_empty() || args.distribution.iter().any(|id| info.is_of(id));
    in_time && of_distribution
}
