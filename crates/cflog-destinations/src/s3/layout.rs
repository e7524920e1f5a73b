//! Where an entry's object goes: the Hive partition of its hour and
//! distribution, and the object's name, derived from the input's.

use std::fmt;

use cflog_core::{Field, LogLine};

/// What an input's name gives the objects written from it: their stem,
/// and the distribution and hour in a CloudFront log file's name.
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
        let (distribution, hour) = match legacy_name(base) {
            Some((distribution, hour)) => (Some(distribution.to_owned()), Some(hour)),
            None => {
                let folders = v2_folders(key);
                (folders.distribution.map(str::to_owned), folders.hour)
            }
        };
        Some(InputName {
            stem: stem.to_owned(),
            distribution,
            hour,
        })
    }

    /// The stem of every object written from the input.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The distribution id of a CloudFront log file's name
    /// (`<id>.YYYY-MM-DD-HH.<unique>.gz`).
    pub fn distribution(&self) -> Option<&str> {
        self.distribution.as_deref()
    }

    /// The hour of a CloudFront log file's name.
    pub fn hour(&self) -> Option<HourKey> {
        self.hour
    }
}

/// `<id>.YYYY-MM-DD-HH.<unique>.gz` (or `.parquet`): the distribution and
/// the hour.
fn legacy_name(base: &str) -> Option<(&str, HourKey)> {
    let name = base
        .strip_suffix(".gz")
        .or_else(|| base.strip_suffix(".parquet"))?;
    let mut parts = name.split('.');
    let (id, when, unique) = (parts.next()?, parts.next()?, parts.next()?);
    let valid_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    let valid_unique = !unique.is_empty() && unique.bytes().all(|b| b.is_ascii_alphanumeric());
    if parts.next().is_some() || !valid_id || !valid_unique {
        return None;
    }
    let bytes = when.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u16> {
        let text = when.get(range)?;
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())?
    };
    if bytes.len() != 13 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'-' {
        return None;
    }
    let hour = HourKey::new(
        digits(0..4)?,
        u8::try_from(digits(5..7)?).ok()?,
        u8::try_from(digits(8..10)?).ok()?,
        u8::try_from(digits(11..13)?).ok()?,
    )?;
    Some((id, hour))
}

/// The distribution and hour of a standard logging v2 delivery's folders.
#[derive(Debug, Default, PartialEq, Eq)]
struct V2Folders<'a> {
    distribution: Option<&'a str>,
    hour: Option<HourKey>,
}

/// Reads v2's S3 folders, whose `suffixPath` puts the distribution and the
/// hour in the key rather than in the file's name:
/// - Hive style: `DistributionId=<id>/year=YYYY/month=MM/day=DD/hour=HH/`
///   (names in any case, in any order);
/// - plain: `{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/`, possibly with other
///   folders between them. The distribution is then the last folder before
///   the date that reads as a CloudFront distribution id (`E` and 9 to 15
///   more upper-case letters and digits), so that `AWSLogs/<account>/` or
///   `CloudFront/` are not taken for one.
fn v2_folders(key: &str) -> V2Folders<'_> {
    let folders: Vec<&str> = match key.rsplit_once('/') {
        Some((path, _)) => path.split('/').collect(),
        None => return V2Folders::default(),
    };
    let number = |text: &str, digits: usize| -> Option<u16> {
        (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())?
    };
    let hour_of = |y: u16, m: u16, d: u16, h: u16| {
        HourKey::new(
            y,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
            u8::try_from(h).ok()?,
        )
    };
    let (mut year, mut month, mut day, mut hour, mut distribution) = (None, None, None, None, None);
    for folder in &folders {
        let Some((name, value)) = folder.split_once('=') else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "year" => year = number(value, 4),
            "month" => month = number(value, 2),
            "day" => day = number(value, 2),
            "hour" => hour = number(value, 2),
            "distributionid" if is_distribution_id(value) => distribution = Some(value),
            _ => {}
        }
    }
    if let (Some(y), Some(m), Some(d), Some(h)) = (year, month, day, hour) {
        return V2Folders {
            distribution,
            hour: hour_of(y, m, d, h),
        };
    }
    // The last run of YYYY/MM/DD/HH folders that is a real hour.
    (0..folders.len())
        .rev()
        .find_map(|i| {
            let hour = hour_of(
                number(folders.get(i)?, 4)?,
                number(folders.get(i + 1)?, 2)?,
                number(folders.get(i + 2)?, 2)?,
                number(folders.get(i + 3)?, 2)?,
            )?;
            let distribution = folders[..i]
                .iter()
                .rev()
                .copied()
                .find(|f| is_distribution_id(f));
            Some(V2Folders {
                distribution: distribution.or(distribution_from_hive(&folders)),
                hour: Some(hour),
            })
        })
        .unwrap_or(V2Folders {
            distribution: distribution_from_hive(&folders),
            hour: None,
        })
}

fn distribution_from_hive<'a>(folders: &[&'a str]) -> Option<&'a str> {
    folders.iter().find_map(|folder| {
        let (name, value) = folder.split_once('=')?;
        (name.eq_ignore_ascii_case("distributionid") && is_distribution_id(value)).then_some(value)
    })
}

/// Whether `text` reads as a CloudFront distribution id: `E`, then 9 to 15
/// upper-case letters and digits (`E3EJA0CG95HSWP`, `EHLMG1T8SOX48`).
fn is_distribution_id(text: &str) -> bool {
    (10..=16).contains(&text.len())
        && text.starts_with('E')
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
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
        assert_eq!(v2_folders("2025/02/16/10"), V2Folders::default());
        assert_eq!(v2_folders("a/2025/02/30/10/x").hour, None);
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
