//! Where an entry's object goes: the Hive partition of its hour and
//! distribution, and the object's name, derived from the input's.

use std::fmt;

use cflog_core::{Field, LogLine};
use cflog_pipeline::object_key::ObjectKey;

/// What an input's name gives the objects written from it: their stem,
/// and the distribution and hour that its key says
/// ([`ObjectKey`]: a CloudFront log file's name, or v2's folders).
///
/// ```
/// use cflog_destinations::s3::InputName;
///
/// let name = InputName::from_key("logs/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz").unwrap();
/// assert_eq!(name.stem(), "E2EXAMPLE.2019-12-04-21.a1b2c3d4");
/// assert_eq!(name.distribution(), Some("E2EXAMPLE"));
/// assert!(InputName::from_key("logs/").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputName {
    stem: String,
    distribution: Option<String>,
    hour: Option<HourKey>,
}

impl InputName {
    /// The name of the input at `key` (an S3 key or a path): its last
    /// segment without `.gz`, or without `.parquet` for a Parquet log (so
    /// that its output is `<stem>.parquet`, not `<stem>.parquet.parquet`).
    /// `None` when the key ends in `/` or is empty,
    /// or its name is not one an object may carry (`.` or `..`).
    pub fn from_key(key: &str) -> Option<InputName> {
        let base = key.rsplit(['/', '\\']).next()?;
        let stem = base
            .strip_suffix(".gz")
            .or_else(|| base.strip_suffix(".parquet"))
            .unwrap_or(base);
        if stem.is_empty() || stem == "." || stem == ".." {
            return None;
        }
        let read = ObjectKey::read(key);
        Some(InputName {
            stem: stem.to_owned(),
            distribution: read.distribution.map(str::to_owned),
            hour: read.period.and_then(|p| p.hour()).and_then(HourKey::of),
        })
    }

    /// The stem of every object written from the input.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The distribution id in the key: a CloudFront log file's name
    /// (`<id>.YYYY-MM-DD-HH.<unique>.gz`), or v2's folders.
    pub fn distribution(&self) -> Option<&str> {
        self.distribution.as_deref()
    }

    /// The hour in the key (a file name, or folders down to the hour).
    pub fn hour(&self) -> Option<HourKey> {
        self.hour
    }
}

/// One UTC hour, as the partition's `year=`, `month=`, `day=` and `hour=`
/// take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HourKey {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
}

impl HourKey {
    /// The hour, when it is one (a year from 1 to 9999).
    pub fn new(year: u16, month: u8, day: u8, hour: u8) -> Option<HourKey> {
        let month_name = time::Month::try_from(month).ok()?;
        let is_date = time::Date::from_calendar_date(i32::from(year), month_name, day).is_ok();
        ((1..=9999).contains(&year) && is_date && hour < 24).then_some(HourKey {
            year,
            month,
            day,
            hour,
        })
    }

    /// The hour of its partition path, `year=2019/month=12/day=04/hour=21`
    /// (as it displays).
    ///
    /// ```
    /// use cflog_destinations::s3::HourKey;
    ///
    /// let hour = HourKey::parse("year=2019/month=12/day=04/hour=21").unwrap();
    /// assert_eq!(Some(hour), HourKey::new(2019, 12, 4, 21));
    /// assert_eq!(hour.to_string(), "year=2019/month=12/day=04/hour=21");
    /// assert_eq!(HourKey::parse("year=2019/month=13/day=04/hour=21"), None);
    /// ```
    pub fn parse(path: &str) -> Option<HourKey> {
        let mut parts = path.split('/');
        let mut number = |name: &str| -> Option<u16> {
            let value = parts.next()?.strip_prefix(name)?.strip_prefix('=')?;
            value.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            value.parse().ok()
        };
        let (year, month, day, hour) = (
            number("year")?,
            number("month")?,
            number("day")?,
            number("hour")?,
        );
        if parts.next().is_some() {
            return None;
        }
        HourKey::new(
            year,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
            u8::try_from(hour).ok()?,
        )
    }

    /// The hour of `at`, in UTC.
    pub fn of(at: time::OffsetDateTime) -> Option<HourKey> {
        let at = at.to_offset(time::UtcOffset::UTC);
        HourKey::new(
            u16::try_from(at.year()).ok()?,
            u8::from(at.month()),
            at.day(),
            at.hour(),
        )
    }
}

impl fmt::Display for HourKey {
    /// `year=2019/month=12/day=04/hour=21`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "year={:04}/month={:02}/day={:02}/hour={:02}",
            self.year, self.month, self.day, self.hour
        )
    }
}

/// The partition of one object: a distribution and an hour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    /// The distribution id, or `unknown`.
    pub distribution: String,
    /// The hour.
    pub hour: HourKey,
}

/// The distribution of entries whose input names none.
pub const UNKNOWN_DISTRIBUTION: &str = "unknown";

impl Partition {
    /// `distribution=<id>/year=YYYY/month=MM/day=DD/hour=HH`.
    pub fn path(&self) -> String {
        format!("distribution={}/{}", self.distribution, self.hour)
    }

    /// The partition of its [`path`](Partition::path).
    ///
    /// ```
    /// use cflog_destinations::s3::Partition;
    ///
    /// let path = "distribution=E2EXAMPLE/year=2019/month=12/day=04/hour=21";
    /// assert_eq!(Partition::parse(path).unwrap().path(), path);
    /// assert_eq!(Partition::parse("distribution=/year=2019/month=12/day=04/hour=21"), None);
    /// ```
    pub fn parse(path: &str) -> Option<Partition> {
        let (distribution, hour) = path.strip_prefix("distribution=")?.split_once('/')?;
        if distribution.is_empty() {
            return None;
        }
        Some(Partition {
            distribution: distribution.to_owned(),
            hour: HourKey::parse(hour)?,
        })
    }
}

/// The distribution id of an entry's `DistributionId` field, when it has
/// one that is safe in a key (letters and digits, as CloudFront's ids are).
pub(crate) fn entry_distribution<'a>(line: &LogLine<'a>) -> Option<&'a str> {
    let raw = line.raw(Field::DistributionId)?;
    if raw.is_empty() || raw.len() > 64 || !raw.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    std::str::from_utf8(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names_give_their_distribution_and_hour() {
        let name = InputName::from_key("p/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz").unwrap();
        assert_eq!(name.distribution(), Some("EMLARXS9EXAMPLE"));
        assert_eq!(
            name.hour().unwrap().to_string(),
            "year=2019/month=11/day=14/hour=20"
        );
        assert_eq!(name.stem(), "EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9");
    }

    #[test]
    fn v2_folders_give_their_distribution_and_hour() {
        for key in [
            "v2/DistributionId=E3EJA0CG95HSWP/year=2025/month=02/day=16/hour=10/part-0.parquet",
            "v2/distributionid=E3EJA0CG95HSWP/hour=10/day=16/month=02/year=2025/x.parquet",
            "AWSLogs/123456789012/CloudFront/E3EJA0CG95HSWP/2025/02/16/10/x.parquet",
            "cloudfront/E3EJA0CG95HSWP/my_distribution_log_data/2025/02/16/10/logs.parquet",
        ] {
            let name = InputName::from_key(key).unwrap();
            assert_eq!(name.distribution(), Some("E3EJA0CG95HSWP"), "{key}");
            assert_eq!(
                name.hour().unwrap().to_string(),
                "year=2025/month=02/day=16/hour=10",
                "{key}"
            );
        }
        let name = InputName::from_key("x/E1.2025-02-16-10.ab12.parquet").unwrap();
        assert_eq!(name.distribution(), Some("E1"));
        assert_eq!(name.stem(), "E1.2025-02-16-10.ab12");
        // A date without an id before it, and folders that are not ids.
        for key in [
            "AWSLogs/123456789012/CloudFront/2025/02/16/10/x.parquet",
            "logs/EXAMPLE/2025/02/16/10/x.parquet",
        ] {
            let name = InputName::from_key(key).unwrap();
            assert_eq!(name.distribution(), None, "{key}");
            assert!(name.hour().is_some(), "{key}");
        }
        // A day is not an hour, and 30 February is neither.
        for key in ["v2/E3EJA0CG95HSWP/2025/02/16/x", "a/2025/02/30/10/x"] {
            assert_eq!(InputName::from_key(key).unwrap().hour(), None, "{key}");
        }
    }

    #[test]
    fn other_names_give_a_stem_only() {
        for (key, stem) in [
            ("access.log", "access.log"),
            ("dir/requests.tsv.gz", "requests.tsv"),
            ("E1.2019-13-14-20.a.gz", "E1.2019-13-14-20.a"),
            ("E1.2019-11-14-24.a.gz", "E1.2019-11-14-24.a"),
            ("E-1.2019-11-14-20.a.gz", "E-1.2019-11-14-20.a"),
            ("E1.2019-11-14-20.a.b.gz", "E1.2019-11-14-20.a.b"),
            ("C:\\logs\\x.gz", "x"),
            ("dir/requests.parquet", "requests"),
            ("requests.log.parquet", "requests.log"),
        ] {
            let name = InputName::from_key(key).unwrap();
            assert_eq!(name.stem(), stem, "{key}");
            assert_eq!((name.distribution(), name.hour()), (None, None), "{key}");
        }
        for key in ["", "dir/", ".gz", ".parquet", "a/..", "a/."] {
            assert!(InputName::from_key(key).is_none(), "{key:?}");
        }
    }

    #[test]
    fn hours_are_zero_padded_and_checked() {
        assert_eq!(
            HourKey::new(2024, 2, 29, 0).unwrap().to_string(),
            "year=2024/month=02/day=29/hour=00"
        );
        assert!(HourKey::new(2023, 2, 29, 0).is_none());
        assert!(HourKey::new(2024, 1, 1, 24).is_none());
        assert!(HourKey::new(0, 1, 1, 0).is_none());
        let at = time::macros::datetime!(2019-12-04 23:30 -2);
        assert_eq!(
            HourKey::of(at).unwrap().to_string(),
            "year=2019/month=12/day=05/hour=01"
        );
    }
}
