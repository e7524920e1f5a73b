//! What a log object's key says about it: the period its requests fall in,
//! and the distribution it belongs to.
//!
//! CloudFront names every file it writes, legacy and v2 alike,
//! `<distribution>.YYYY-MM-DD-HH.<unique>.gz` (UTC, the hour the requests
//! were received; `.parquet` for v2's Parquet). v2 deliveries may also
//! carry the time in their folders, through their `suffixPath`:
//! - Hive style, `DistributionId=E3EJA0CG95HSWP/year=2025/month=02/day=16/hour=10/`
//!   (names in any case, in any order);
//! - plain, `{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/`, possibly with other
//!   folders between them. A path without the hour (`{yyyy}/{MM}/{dd}`)
//!   names a whole day.
//!
//! The file name wins over the folders when both carry a time: it is the
//! documented one (whether v2's folder hour is the requests' hour or the
//! delivery's is not documented).
//!
//! The backfill's and the report's filters read keys here, and so does the
//! S3 destination's partitioning, so that the three agree on every key.
//! Keys are user data: nothing here may panic, and a key that says nothing
//! readable gives `None`.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What a key says.
///
/// ```
/// use cflog_pipeline::object_key::ObjectKey;
/// use time::macros::datetime;
///
/// let key = ObjectKey::read("cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz");
/// assert_eq!(key.distribution, Some("E2ABCDEF"));
/// assert_eq!(key.period.unwrap().hour(), Some(datetime!(2024-03-14 21:00 UTC)));
///
/// let key = ObjectKey::read("v2/E3EJA0CG95HSWP/2025/02/16/part-0.parquet");
/// assert_eq!(key.distribution, Some("E3EJA0CG95HSWP"));
/// assert_eq!(key.period.unwrap().hour(), None); // a whole day
///
/// assert_eq!(ObjectKey::read("notes.txt").period, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectKey<'a> {
    key: &'a str,
    /// The period, when the key has a readable time.
    pub period: Option<Period>,
    /// The distribution ID: from the file name, a `DistributionId=`
    /// folder, or the last folder before a plain date that reads as a
    /// CloudFront distribution ID.
    pub distribution: Option<&'a str>,
}

impl<'a> ObjectKey<'a> {
    /// Reads the period and distribution of `key`.
    ///
    /// ```text
    /// cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz                    2024-03-14T21, an hour, E2ABCDEF
    /// v2/DistributionId=E3/year=2025/month=02/day=16/hour=10/x 2025-02-16T10, an hour, E3
    /// v2/E3/2025/02/16/logs                                    2025-02-16, a day, (no ID)
    /// notes.txt                                                nothing
    /// ```
    pub fn read(key: &'a str) -> ObjectKey<'a> {
        let (folders, name) = match key.rsplit_once('/') {
            Some((path, name)) => (path.split('/').collect(), name),
            None => (Vec::new(), key),
        };
        let from_name = file_name(name);
        let hive = hive_folders(&folders);
        let plain = plain_folders(&folders);
        ObjectKey {
            key,
            period: from_name
                .map(|(_, period)| period)
                .or(hive.period)
                .or(plain.period),
            distribution: from_name
                .map(|(id, _)| id)
                .or(hive.distribution)
                .or(plain.distribution),
        }
    }

    /// Whether the key belongs to distribution `id`: it was read as the
    /// key's distribution, or a whole folder of the key is it (v2's plain
    /// `/{DistributionId}/` folder, whatever the ID looks like).
    ///
    /// ```
    /// use cflog_pipeline::object_key::ObjectKey;
    ///
    /// let key = ObjectKey::read("v2/E3EJA0/2025/02/16/10/part.log");
    /// assert!(key.is_of("E3EJA0"));
    /// assert!(!key.is_of("E3"));
    /// ```
    pub fn is_of(&self, id: &str) -> bool {
        self.distribution == Some(id) || self.key.split('/').any(|segment| segment == id)
    }
}

/// The hour (or the day) whose requests a log object holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first instant, UTC.
    pub start: OffsetDateTime,
    /// An hour (from a file name or folders with the hour) or a day.
    pub length: Duration,
}

impl Period {
    /// The instant just after the period.
    pub fn end(&self) -> OffsetDateTime {
        self.start + self.length
    }

    /// Its start, when the period is one hour (not a whole day).
    pub fn hour(&self) -> Option<OffsetDateTime> {
        (self.length == Duration::HOUR).then_some(self.start)
    }

    /// Whether the period shares an instant with `[since, until)`; a bound
    /// that is `None` is open. A file whose hour is partly inside the range
    /// may hold requests of the range, so it is selected.
    ///
    /// ```text
    /// since 10:30, until 12:00  →  hours 10 and 11; not 12
    /// ```
    pub fn overlaps(&self, since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> bool {
        since.is_none_or(|since| self.end() > since) && until.is_none_or(|until| self.start < until)
    }
}

/// `<distribution>.YYYY-MM-DD-HH.<unique>`, then `.gz`, `.parquet` or
/// nothing, with the distribution in upper-case letters and digits, as
/// CloudFront's IDs are.
fn file_name(name: &str) -> Option<(&str, Period)> {
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".parquet"))
        .unwrap_or(name);
    let mut parts = name.split('.');
    let (id, stamp, unique) = (parts.next()?, parts.next()?, parts.next()?);
    let is_unique = !unique.is_empty() && unique.bytes().all(|b| b.is_ascii_alphanumeric());
    if parts.next().is_some() || !is_upper_id(id) || !is_unique {
        return None;
    }
    let mut fields = stamp.split('-');
    let year = number(fields.next()?, 4)?;
    let month = number(fields.next()?, 2)?;
    let day = number(fields.next()?, 2)?;
    let hour = number(fields.next()?, 2)?;
    if fields.next().is_some() {
        return None;
    }
    Some((id, hour_period(year, month, day, hour)?))
}

/// What a run of folders says: a period, a distribution, both or neither.
#[derive(Default)]
struct Folders<'a> {
    period: Option<Period>,
    distribution: Option<&'a str>,
}

/// The Hive partitions among `folders`: `year=`, `month=`, `day=`, `hour=`
/// and `DistributionId=`, names in any case, in any order.
fn hive_folders<'a>(folders: &[&'a str]) -> Folders<'a> {
    let (mut year, mut month, mut day, mut hour, mut distribution) = (None, None, None, None, None);
    for folder in folders {
        let Some((name, value)) = folder.split_once('=') else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "year" => year = number(value, 4),
            "month" => month = number(value, 2),
            "day" => day = number(value, 2),
            "hour" => hour = number(value, 2),
            "distributionid" if is_upper_id(value) => distribution = Some(value),
            _ => {}
        }
    }
    let period = match (year, month, day, hour) {
        (Some(y), Some(m), Some(d), Some(h)) => hour_period(y, m, d, h),
        (Some(y), Some(m), Some(d), None) => day_period(y, m, d),
        _ => None,
    };
    Folders {
        period,
        distribution,
    }
}

/// `…/YYYY/MM/DD[/HH]/…`: the last run of folders of that shape that is a
/// real date (and hour), and the last folder before it that reads as a
/// CloudFront distribution ID (so that `AWSLogs/<account>/` or
/// `CloudFront/` are not taken for one).
fn plain_folders<'a>(folders: &[&'a str]) -> Folders<'a> {
    (0..folders.len())
        .rev()
        .find_map(|i| {
            let year = number(folders.get(i)?, 4)?;
            let month = number(folders.get(i + 1)?, 2)?;
            let day = number(folders.get(i + 2)?, 2)?;
            let period = match folders.get(i + 3).and_then(|h| number(h, 2)) {
                Some(hour) => hour_period(year, month, day, hour),
                None => day_period(year, month, day),
            }?;
            let distribution = folders[..i]
                .iter()
                .rev()
                .copied()
                .find(|f| is_distribution_id(f));
            Some(Folders {
                period: Some(period),
                distribution,
            })
        })
        .unwrap_or_default()
}

/// Upper-case letters and digits, at least one: a distribution ID where
/// the key says it is one (a file name, a `DistributionId=` folder).
fn is_upper_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether a bare folder reads as a CloudFront distribution ID: `E`, then
/// 9 to 15 upper-case letters and digits (`E3EJA0CG95HSWP`, `EHLMG1T8SOX48`).
fn is_distribution_id(text: &str) -> bool {
    (10..=16).contains(&text.len()) && text.starts_with('E') && is_upper_id(text)
}

/// `text` as a number when it is exactly `digits` ASCII digits.
fn number(text: &str, digits: usize) -> Option<u16> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn date(year: u16, month: u16, day: u16) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()
}

fn hour_period(year: u16, month: u16, day: u16, hour: u16) -> Option<Period> {
    let time = Time::from_hms(u8::try_from(hour).ok()?, 0, 0).ok()?;
    Some(Period {
        start: PrimitiveDateTime::new(date(year, month, day)?, time).assume_utc(),
        length: Duration::HOUR,
    })
}

fn day_period(year: u16, month: u16, day: u16) -> Option<Period> {
    Some(Period {
        start: PrimitiveDateTime::new(date(year, month, day)?, Time::MIDNIGHT).assume_utc(),
        length: Duration::DAY,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn hour(key: &str) -> Option<OffsetDateTime> {
        ObjectKey::read(key).period.and_then(|p| p.hour())
    }

    #[test]
    fn legacy_file_names_give_the_hour_and_the_distribution() {
        let key = ObjectKey::read("cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz");
        assert_eq!(key.distribution, Some("E2ABCDEF"));
        assert_eq!(
            hour("cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz"),
            Some(datetime!(2024-03-14 21:00 UTC))
        );
        // The docs' own example, with an 11-character unique ID.
        assert_eq!(
            hour("example-prefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz"),
            Some(datetime!(2019-11-14 20:00 UTC))
        );
        // No prefix, no suffix, and v2's Parquet.
        assert_eq!(
            hour("E1.2025-01-01-00.ab.gz"),
            Some(datetime!(2025-01-01 00:00 UTC))
        );
        assert_eq!(
            hour("E1.2025-01-01-00.ab"),
            Some(datetime!(2025-01-01 00:00 UTC))
        );
        let key = ObjectKey::read("x/E1.2025-02-16-10.ab12.parquet");
        assert_eq!(key.distribution, Some("E1"));
        assert_eq!(
            hour("x/E1.2025-02-16-10.ab12.parquet"),
            Some(datetime!(2025-02-16 10:00 UTC))
        );
    }

    #[test]
    fn v2_folders_give_the_hour_and_the_distribution() {
        for key in [
            "AWSLogs/aws-account-id=111122223333/CloudFront/DistributionId=E3EJA0CG95HSWP/year=2025/month=02/day=16/hour=10/part-0.parquet",
            "v2/distributionid=E3EJA0CG95HSWP/hour=10/day=16/month=02/year=2025/x.parquet",
            "AWSLogs/123456789012/CloudFront/E3EJA0CG95HSWP/2025/02/16/10/x.parquet",
            "cloudfront/E3EJA0CG95HSWP/my_distribution_log_data/2025/02/16/10/logs.parquet",
        ] {
            let read = ObjectKey::read(key);
            assert_eq!(read.distribution, Some("E3EJA0CG95HSWP"), "{key}");
            assert_eq!(hour(key), Some(datetime!(2025-02-16 10:00 UTC)), "{key}");
        }
        // A date with no ID before it, and folders that are not IDs.
        for key in [
            "AWSLogs/123456789012/CloudFront/2025/02/16/10/x.parquet",
            "logs/EXAMPLE/2025/02/16/10/x.parquet",
        ] {
            let read = ObjectKey::read(key);
            assert_eq!(read.distribution, None, "{key}");
            assert!(hour(key).is_some(), "{key}");
        }
        // Hive names in any case and order; a day without the hour is a day.
        let read = ObjectKey::read("x/Day=16/Year=2025/Month=02/f.log");
        assert_eq!(
            read.period,
            Some(Period {
                start: datetime!(2025-02-16 00:00 UTC),
                length: Duration::DAY
            })
        );
        assert_eq!(read.distribution, None);
    }

    #[test]
    fn v2_plain_folders_give_the_hour_or_the_day() {
        assert_eq!(
            hour("cloudfront/E3/my_log_data/2025/09/23/08/logs"),
            Some(datetime!(2025-09-23 08:00 UTC))
        );
        let day = ObjectKey::read("cloudfront/E3/2025/09/23/part-1.log")
            .period
            .unwrap();
        assert_eq!(
            (day.start, day.length),
            (datetime!(2025-09-23 00:00 UTC), Duration::DAY)
        );
        // The last run of folders of that shape wins; the file's own name is
        // not a folder.
        assert_eq!(
            hour("2020/01/01/x/2025/09/23/08/f"),
            Some(datetime!(2025-09-23 08:00 UTC))
        );
        assert_eq!(hour("2025/02/16/10"), None);
        assert_eq!(ObjectKey::read("a/2025/02/30/10/x").period, None);
    }

    #[test]
    fn the_file_name_wins_over_the_folders() {
        let key = "example.com/2025/09/23/07/XXXXXXXXXXXX.2025-09-23-08.abcdef01.gz";
        assert_eq!(hour(key), Some(datetime!(2025-09-23 08:00 UTC)));
        assert_eq!(ObjectKey::read(key).distribution, Some("XXXXXXXXXXXX"));
    }

    #[test]
    fn keys_of_other_shapes_say_nothing() {
        for key in [
            "",
            "/",
            "notes.txt",
            "cf/README",
            "access.log",
            "dir/requests.tsv.gz",
            "cf/e2abcdef.2024-03-14-21.a1.gz", // lower-case ID
            "cf/E-1.2024-03-14-21.a1.gz",      // a dash in the ID
            "cf/E2.2024-03-14.a1.gz",          // no hour
            "cf/E2.2024-13-14-21.a1.gz",       // month 13
            "cf/E2.2024-02-30-21.a1.gz",       // 30 February
            "cf/E2.2024-03-14-24.a1.gz",       // hour 24
            "cf/E2.2024-03-14-21-00.a1.gz",    // minutes
            "cf/E2.+024-03-14-21.a1.gz",       // a sign
            "cf/E2.2024-03-14-21..gz",         // empty unique part
            "cf/E2.2024-03-14-21.a.b.gz",      // a part too many
            "year=2025/month=02/f",            // no day
            "year=2025/month=2/day=16/f",      // one digit
            "2025/02/f",
            "2025/02/31/f",
        ] {
            let read = ObjectKey::read(key);
            assert_eq!((read.period, read.distribution), (None, None), "{key}");
        }
    }

    #[test]
    fn the_distribution_filter_reads_names_ids_and_folders() {
        let key = ObjectKey::read("v2/E3EJA0/2025/02/16/10/part.log");
        assert!(key.is_of("E3EJA0"));
        assert!(!key.is_of("E3"));
        let key = ObjectKey::read("cf/E2ABCDEF.2024-03-14-21.a1.gz");
        assert!(key.is_of("E2ABCDEF"));
        assert!(!key.is_of("E2ABCDE"));
        let key = ObjectKey::read("v2/DistributionId=E3/year=2025/month=02/day=16/x");
        assert!(key.is_of("E3"));
    }

    #[test]
    fn hours_at_the_bounds() {
        let period = |h: &str| {
            ObjectKey::read(&format!("E1.2025-03-02-{h}.x.gz"))
                .period
                .unwrap()
        };
        let since = Some(datetime!(2025-03-02 10:30 UTC));
        let until = Some(datetime!(2025-03-02 12:00 UTC));
        assert!(!period("09").overlaps(since, until));
        assert!(period("10").overlaps(since, until)); // partly inside
        assert!(period("11").overlaps(since, until));
        assert!(!period("12").overlaps(since, until)); // until is exclusive
        assert!(period("12").overlaps(since, None));
        assert!(period("09").overlaps(None, until));
        // A range inside one hour still selects that hour.
        let inside = (
            Some(datetime!(2025-03-02 10:10 UTC)),
            Some(datetime!(2025-03-02 10:20 UTC)),
        );
        assert!(period("10").overlaps(inside.0, inside.1));
    }

    proptest! {
        #[test]
        fn no_key_makes_it_panic(key in "\\PC{0,80}") {
            let read = ObjectKey::read(&key);
            if let Some(period) = read.period {
                prop_assert!(period.length == Duration::HOUR || period.length == Duration::DAY);
            }
        }

        #[test]
        fn keys_made_of_the_pieces_it_looks_for_never_make_it_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("/".to_owned()), Just(".".to_owned()), Just("-".to_owned()),
                    Just("=".to_owned()), Just("year".to_owned()), Just("hour".to_owned()),
                    Just("DistributionId".to_owned()), "[0-9]{1,5}", "[A-Z0-9]{1,4}", "\\PC{1,3}",
                ],
                0..24,
            )
        ) {
            let key = parts.concat();
            let _ = ObjectKey::read(&key).is_of("E1");
        }

        #[test]
        fn every_cloudfront_file_name_is_read_back(
            id in "[A-Z0-9]{1,16}",
            prefix in "([a-z=0-9]{1,8}/){0,3}",
            y in 1970i32..=2100, m in 1u8..=12, d in 1u8..=28, h in 0u8..=23,
            unique in "[a-f0-9]{8}",
            suffix in prop_oneof![Just(""), Just(".gz"), Just(".parquet")],
        ) {
            let key = format!("{prefix}{id}.{y:04}-{m:02}-{d:02}-{h:02}.{unique}{suffix}");
            let read = ObjectKey::read(&key);
            let start = PrimitiveDateTime::new(
                Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap(),
                Time::from_hms(h, 0, 0).unwrap(),
            ).assume_utc();
            prop_assert_eq!(read.period, Some(Period { start, length: Duration::HOUR }));
            prop_assert_eq!(read.distribution, Some(id.as_str()));
        }
    }
}
