//! Which objects a backfill takes: the prefix listed page by page, each key
//! judged by the selection, and every key left out counted by its reason.

use std::io::{self, IsTerminal};
use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use cflog_pipeline::object_key::ObjectKey;
use cflog_pipeline::s3::{ListedObject, RequestError, list_objects};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::OffsetDateTime;

use super::aws::Aws;
use super::location::S3Uri;

/// What a backfill takes.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Objects of hours that end after this.
    pub since: Option<OffsetDateTime>,
    /// Objects of hours that start before this.
    pub until: Option<OffsetDateTime>,
    /// Objects of these distributions; any when empty.
    pub distributions: Vec<String>,
    /// Never taken: cflog's own manifests and reports.
    pub own: Vec<S3Uri>,
}

/// Why a key is or is not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// In the manifest.
    Taken,
    /// A time filter is given and the key has no readable time.
    NoTime,
    /// Its hour is outside `[since, until)`.
    OutOfRange,
    /// A distribution filter is given and the key is not of one of them.
    OtherDistribution,
    /// A folder marker: a key ending in `/`.
    Folder,
    /// Under the manifest or report prefix.
    Own,
}

impl Selection {
    /// The verdict on `key` of `bucket`.
    pub fn judge(&self, bucket: &str, key: &str) -> Verdict {
        if key.ends_with('/') {
            return Verdict::Folder;
        }
        if self.own.iter().any(|own| own.holds(bucket, key)) {
            return Verdict::Own;
        }
        let info = ObjectKey::read(key);
        if !self.distributions.is_empty() && !self.distributions.iter().any(|id| info.is_of(id)) {
            return Verdict::OtherDistribution;
        }
        if self.since.is_none() && self.until.is_none() {
            return Verdict::Taken;
        }
        match info.period {
            None => Verdict::NoTime,
            Some(period) if period.overlaps(self.since, self.until) => Verdict::Taken,
            Some(_) => Verdict::OutOfRange,
        }
    }
}

/// The account of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Keys listed.
    pub listed: u64,
    /// Objects taken.
    pub taken: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Keys with no readable time, left out by a time filter.
    pub no_time: u64,
    /// Keys of hours outside the range.
    pub out_of_range: u64,
    /// Keys of other distributions.
    pub other_distribution: u64,
    /// Folder markers.
    pub folders: u64,
    /// cflog's own manifests and reports.
    pub own: u64,
    /// The last key listed, to resume from with `--start-after`.
    pub last_key: Option<String>,
    /// Up to [`EXAMPLES`] keys with no readable time, to show.
    pub no_time_examples: Vec<String>,
}

/// How many keys without a time are shown.
pub const EXAMPLES: usize = 3;

impl Tally {
    fn count(&mut self, object: &ListedObject, verdict: Verdict) {
        self.listed += 1;
        match verdict {
            Verdict::Taken => {
                self.taken += 1;
                self.bytes += object.size;
            }
            Verdict::NoTime => {
                self.no_time += 1;
                if self.no_time_examples.len() < EXAMPLES {
                    self.no_time_examples.push(object.key.clone());
                }
            }
            Verdict::OutOfRange => self.out_of_range += 1,
            Verdict::OtherDistribution => self.other_distribution += 1,
            Verdict::Folder => self.folders += 1,
            Verdict::Own => self.own += 1,
        }
    }

    /// The keys left out, one phrase per reason: `3 without a readable
    /// time`…; empty when none was.
    pub fn left_out(&self) -> Vec<String> {
        [
            (self.out_of_range, "outside the time range"),
            (self.no_time, "without a readable time"),
            (self.other_distribution, "of other distributions"),
            (self.folders, "folder markers"),
            (self.own, "cflog's own manifests and reports"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect()
    }
}

/// Why a listing stopped.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// ListObjectsV2 failed.
    #[error("{source}")]
    Request {
        /// The failure.
        source: RequestError<ListObjectsV2Error>,
        /// The listing so far.
        tally: Box<Tally>,
    },
    /// `take` failed (writing the manifest).
    #[error("{source}")]
    Take {
        /// The failure.
        source: io::Error,
        /// The listing so far.
        tally: Box<Tally>,
    },
}

/// Lists `source` after `start_after`, hands each object taken to `take`,
/// and counts the others. A spinner shows the count on a terminal once the
/// listing runs past its first page, unless `quiet`.
///
/// # Errors
///
/// See [`ListError`]; it carries the listing so far, whose last key is
/// where to resume.
pub fn list(
    aws: &Aws,
    source: &S3Uri,
    start_after: Option<&str>,
    selection: &Selection,
    quiet: bool,
    mut take: impl FnMut(&ListedObject) -> io::Result<()>,
) -> Result<Tally, ListError> {
    let client = aws.s3();
    let mut tally = Tally::default();
    let mut failure = None;
    let mut spinner = Spinner::new(quiet);
    let listing = aws.block_on(list_objects(
        &client,
        &source.bucket,
        &source.prefix,
        start_after,
        |page| {
            for object in &page {
                let verdict = selection.judge(&source.bucket, &object.key);
                if verdict == Verdict::Taken
                    && let Err(e) = take(object)
                {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
                tally.count(object, verdict);
            }
            if let Some(last) = page.into_iter().next_back() {
                tally.last_key = Some(last.key);
            }
            spinner.show(&tally);
            ControlFlow::Continue(())
        },
    ));
    spinner.finish();
    if let Some(source) = failure {
        return Err(ListError::Take {
            source,
            tally: Box::new(tally),
        });
    }
    match listing {
        Ok(()) => Ok(tally),
        Err(source) => Err(ListError::Request {
            source,
            tally: Box::new(tally),
        }),
    }
}

/// The listing's spinner, drawn from the second page on.
struct Spinner {
    bar: Option<ProgressBar>,
    pages: u64,
    visible: bool,
}

impl Spinner {
    fn new(quiet: bool) -> Spinner {
        Spinner {
            bar: None,
            pages: 0,
            visible: !quiet && io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, tally: &Tally) {
        self.pages += 1;
        if !self.visible || self.pages < 2 {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar =
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        bar.set_message(format!(
            "{} keys listed, {} objects taken ({})",
            tally.listed,
            tally.taken,
            HumanBytes(tally.bytes)
        ));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_verdicts() {
        let selection = Selection {
            since: Some(datetime!(2025-03-02 00:00 UTC)),
            until: Some(datetime!(2025-03-03 00:00 UTC)),
            distributions: vec!["E1".into(), "E3".into()],
            own: vec![S3Uri::parse("s3://logs/cflog/").unwrap()],
        };
        let judge = |key| selection.judge("logs", key);
        assert_eq!(judge("cf/E1.2025-03-02-00.a.gz"), Verdict::Taken);
        assert_eq!(judge("cf/E1.2025-03-02-23.a.gz"), Verdict::Taken);
        assert_eq!(judge("cf/E1.2025-03-03-00.a.gz"), Verdict::OutOfRange);
        assert_eq!(judge("cf/E1.2025-03-01-23.a.gz"), Verdict::OutOfRange);
        assert_eq!(
            judge("cf/E2.2025-03-02-10.a.gz"),
            Verdict::OtherDistribution
        );
        assert_eq!(judge("v2/E3/2025/03/02/10/part.log"), Verdict::Taken);
        assert_eq!(judge("v2/E3/notes.txt"), Verdict::NoTime);
        assert_eq!(judge("cf/"), Verdict::Folder);
        assert_eq!(judge("cflog/manifests/E1.2025-03-02-00.a.gz"), Verdict::Own);
        // The same key in another bucket is not cflog's own.
        assert_eq!(
            selection.judge("other", "cflog/manifests/E1.2025-03-02-00.a.gz"),
            Verdict::Taken
        );
        // Without filters every object is taken, whatever its name.
        let all = Selection::default();
        assert_eq!(all.judge("logs", "notes.txt"), Verdict::Taken);
    }

    #[test]
    fn the_tally_says_what_was_left_out() {
        let mut tally = Tally::default();
        let object = |key: &str, size| ListedObject {
            key: key.into(),
            size,
        };
        tally.count(&object("a", 10), Verdict::Taken);
        tally.count(&object("b", 20), Verdict::Taken);
        for key in ["n1", "n2", "n3", "n4"] {
            tally.count(&object(key, 1), Verdict::NoTime);
        }
        tally.count(&object("f/", 0), Verdict::Folder);
        assert_eq!((tally.listed, tally.taken, tally.bytes), (7, 2, 30));
        assert_eq!(tally.no_time_examples, ["n1", "n2", "n3"]);
        assert_eq!(
            tally.left_out(),
            ["4 without a readable time", "1 folder markers"]
        );
    }
}
