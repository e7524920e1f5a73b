//! What a log object's key says about it: the period its requests fall in,
//! and the distribution it belongs to.
//!
//! CloudFront names every file it writes, legacy and v2 alike,
//! `<distribution>.YYYY-MM-DD-HH.<unique>.gz` (UTC, the hour the requests
//! were received). v2 deliveries may also carry the time in their path:
//! `{yyyy}/{MM}/{dd}/{HH}/` as plain segments, or, with Hive-compatible
//! paths, `year=2025/month=02/day=16/hour=10/` beside
//! `DistributionId=E3EJA0CG95HSWP/`. A path without the hour (`{yyyy}/{MM}/{dd}`)
//! names a whole day.
//!
//! The file name wins over the path when both carry a time: it is the
//! documented one (whether v2's path hour is the requests' hour or the
//! delivery's is not documented).
//!
//! Keys are user data, so nothing here may panic: every piece is checked
//! before it is read, and a key that says nothing readable gives `None`.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The hours (or the day) whose requests a log object holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first instant, UTC.
    pub start: OffsetDateTime,
    /// An hour (from a file name or a path with the hour) or a day.
    pub length: Duration,
}

impl Period {
    /// The instant just after the period.
    pub fn end(&self) -> OffsetDateTime {
        self.start + self.length
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

/// What a key says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo<'a> {
    /// The period, when the key has a readable time.
    pub period: Option<Period>,
    /// The distribution ID, from the file name or a `DistributionId=`
    /// segment.
    pub distribution: Option<&'a str>,
}

impl KeyInfo<'_> {
    /// Whether the key belongs to distribution `id`: its file name or a
    /// `DistributionId=` segment names it, or a whole path segment is it
    /// (v2's plain `/{DistributionId}/` partition).
    pub fn is_of(&self, key: &str, id: &str) -> bool {
        self.distribution == Some(id) || key.split('/').any(|segment| segment == id)
    }
}

/// Reads the period and distribution of `key`.
///
/// ```text
/// cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz                    2024-03-14T21, an hour, E2ABCDEF
/// v2/DistributionId=E3/year=2025/month=02/day=16/hour=10/x 2025-02-16T10, an hour, E3
/// v2/E3/2025/02/16/logs                                    2025-02-16, a day, (no ID)
/// notes.txt                                                nothing
/// ```
pub fn read_key(key: &str) -> KeyInfo<'_> {
    let (path, name) = match key.rsplit_once('/') {
        Some((path, name)) => (path, name),
        None => ("", key),
    };
    let from_name = file_name(name);
    let hive = hive_path(path);
    KeyInfo {
        period: from_name
            .map(|(_, period)| period)
            .or(hive.period)
            .or_else(|| plain_path(path)),
        distribution: from_name.map(|(id, _)| id).or(hive.distribution),
    }
}

/// `<distribution>.YYYY-MM-DD-HH.<unique>[.anything]`, with the
/// distribution in upper-case letters and digits, as CloudFront's IDs are.
fn file_name(name: &str) -> Option<(&str, Period)> {
    let mut parts = name.split('.');
    let id = parts.next()?;
    let stamp = parts.next()?;
    let unique = parts.next()?;
    let is_id = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !is_id || unique.is_empty() || !unique.bytes().all(|b| b.is_ascii_alphanumeric()) {
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

/// The Hive partitions of a path: `year=`, `month=`, `day=`, `hour=` and
/// `DistributionId=`, keys in any case, in any order.
struct Hive<'a> {
    period: Option<Period>,
    distribution: Option<&'a str>,
}

fn hive_path(path: &str) -> Hive<'_> {
    let (mut year, mut month, mut day, mut hour, mut distribution) = (None, None, None, None, None);
    for segment in path.split('/') {
        let Some((name, value)) = segment.split_once('=') else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "year" => year = number(value, 4),
            "month" => month = number(value, 2),
            "day" => day = number(value, 2),
            "hour" => hour = number(value, 2),
            "distributionid" if !value.is_empty() => distribution = Some(value),
            _ => {}
        }
    }
    let period = match (year, month, day, hour) {
        (Some(y), Some(m), Some(d), Some(h)) => hour_period(y, m, d, h),
        (Some(y), Some(m), Some(d), None) => day_period(y, m, d),
        _ => None,
    };
    Hive {
        period,
        distribution,
    }
}

/// `…/YYYY/MM/DD[/HH]/…`: the last run of segments of that shape that is
/// a real date (and hour).
fn plain_path(path: &str) -> Option<Period> {
    let segments: Vec<&str> = path.split('/').collect();
    (0..segments.len()).rev().find_map(|i| {
        let year = number(segments.get(i)?, 4)?;
        let month = number(segments.get(i + 1)?, 2)?;
        let day = number(segments.get(i + 2)?, 2)?;
        match segments.get(i + 3).and_then(|h| number(h, 2)) {
            Some(hour) => hour_period(year, month, day, hour),
            None => day_period(year, month, day),
        }
    })
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
        read_key(key)
            .period
            .filter(|p| p.length == Duration::HOUR)
            .map(|p| p.start)
    }

    #[test]
    fn legacy_file_names_give_the_hour_and_the_distribution() {
        let info = read_key("cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz");
        assert_eq!(info.distribution, Some("E2ABCDEF"));
        assert_eq!(
            hour("cf/E2ABCDEF.2024-03-14-21.a1b2c3d4.gz"),
            Some(datetime!(2024-03-14 21:00 UTC))
        );
        // The docs' own example, with an 11-character unique ID.
        assert_eq!(
            hour("example-prefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz"),
            Some(datetime!(2019-11-14 20:00 UTC))
        );
        // No prefix at all.
        assert_eq!(
            hour("E1.2025-01-01-00.ab.gz"),
            Some(datetime!(2025-01-01 00:00 UTC))
        );
    }

    #[test]
    fn v2_hive_paths_give_the_hour_and_the_distribution() {
        let key = "AWSLogs/aws-account-id=111122223333/CloudFront/DistributionId=E3EJA0CG95HSWP/year=2025/month=02/day=16/hour=10/part-0.parquet";
        let info = read_key(key);
        assert_eq!(info.distribution, Some("E3EJA0CG95HSWP"));
        assert_eq!(hour(key), Some(datetime!(2025-02-16 10:00 UTC)));
        // Keys in any case and order; a day without the hour is a day.
        let info = read_key("x/Day=16/Year=2025/Month=02/f.log");
        assert_eq!(
            info.period,
            Some(Period {
                start: datetime!(2025-02-16 00:00 UTC),
                length: Duration::DAY
            })
        );
        assert_eq!(info.distribution, None);
    }

    #[test]
    fn v2_plain_paths_give_the_hour_or_the_day() {
        assert_eq!(
            hour("cloudfront/E3/my_log_data/2025/09/23/08/logs"),
            Some(datetime!(2025-09-23 08:00 UTC))
        );
        let day = read_key("cloudfront/E3/2025/09/23/part-1.log")
            .period
            .unwrap();
        assert_eq!(
            (day.start, day.length),
            (datetime!(2025-09-23 00:00 UTC), Duration::DAY)
        );
        // The last run of segments of that shape wins.
        assert_eq!(
            hour("2020/01/01/x/2025/09/23/08/f"),
            Some(datetime!(2025-09-23 08:00 UTC))
        );
    }

    #[test]
    fn the_file_name_wins_over_the_path() {
        let key = "example.com/2025/09/23/07/XXXXXXXXXXXX.2025-09-23-08.abcdef01.gz";
        assert_eq!(hour(key), Some(datetime!(2025-09-23 08:00 UTC)));
        assert_eq!(read_key(key).distribution, Some("XXXXXXXXXXXX"));
    }

    #[test]
    fn keys_of_other_shapes_have_no_time() {
        for key in [
            "",
            "/",
            "notes.txt",
            "cf/README",
            "cf/e2abcdef.2024-03-14-21.a1.gz", // lower-case ID
            "cf/E2.2024-03-14.a1.gz",          // no hour
            "cf/E2.2024-13-14-21.a1.gz",       // month 13
            "cf/E2.2024-02-30-21.a1.gz",       // 30 February
            "cf/E2.2024-03-14-24.a1.gz",       // hour 24
            "cf/E2.2024-03-14-21-00.a1.gz",    // minutes
            "cf/E2.+024-03-14-21.a1.gz",       // a sign
            "cf/E2.2024-03-14-21..gz",         // empty unique part
            "year=2025/month=02/f",            // no day
            "year=2025/month=2/day=16/f",      // one digit
            "2025/02/f",
            "2025/02/31/f",
        ] {
            assert_eq!(read_key(key).period, None, "{key}");
        }
    }

    #[test]
    fn the_distribution_filter_reads_names_ids_and_segments() {
        let key = "v2/E3EJA0/2025/02/16/10/part.log";
        assert!(read_key(key).is_of(key, "E3EJA0"));
        assert!(!read_key(key).is_of(key, "E3"));
        let key = "cf/E2ABCDEF.2024-03-14-21.a1.gz";
        assert!(read_key(key).is_of(key, "E2ABCDEF"));
        assert!(!read_key(key).is_of(key, "E2ABCDE"));
    }

    #[test]
    fn hours_at_the_bounds() {
        let period = |h: &str| read_key(&format!("E1.2025-03-02-{h}.x.gz")).period.unwrap();
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
            let info = read_key(&key);
            if let Some(period) = info.period {
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
            let info = read_key(&key);
            let _ = info.is_of(&key, "E1");
        }

        #[test]
        fn every_cloudfront_file_name_is_read_back(
            id in "[A-Z0-9]{1,16}",
            prefix in "([a-z=0-9]{1,8}/){0,3}",
            y in 1970i32..=2100, m in 1u8..=12, d in 1u8..=28, h in 0u8..=23,
            unique in "[a-f0-9]{8}",
        ) {
            let key = format!("{prefix}{id}.{y:04}-{m:02}-{d:02}-{h:02}.{unique}.gz");
            let info = read_key(&key);
            let start = PrimitiveDateTime::new(
                Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap(),
                Time::from_hms(h, 0, 0).unwrap(),
            ).assume_utc();
            prop_assert_eq!(info.period, Some(Period { start, length: Duration::HOUR }));
            prop_assert_eq!(info.distribution, Some(id.as_str()));
        }
    }
}
