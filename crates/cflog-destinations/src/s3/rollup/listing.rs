//! The staging objects of each distribution-hour, and the rolled-up parts
//! already in the table, found by listing.

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use cflog_pipeline::s3::RequestError;

use super::RollupError;
use crate::s3::layout::{HourKey, Partition};
use crate::s3::upload::Bucket;

/// A staging object: one input's rows of one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedObject {
    /// Its key.
    pub key: String,
    /// Its entity tag, as S3 lists it (quotes included).
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// When S3 last wrote it, in milliseconds since the epoch: the order of
    /// arrival.
    pub arrived_ms: i64,
}

/// The staging objects of one distribution-hour, in order of arrival, then
/// key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedHour {
    /// The distribution and hour.
    pub partition: Partition,
    /// Its objects.
    pub objects: Vec<StagedObject>,
}

/// The partition and name of a key under `prefix`:
/// `<prefix>distribution=<id>/year=…/hour=HH/<name>`.
pub(crate) fn parse_key<'k>(prefix: &str, key: &'k str) -> Option<(Partition, &'k str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix("distribution=")?;
    let (distribution, rest) = rest.split_once('/')?;
    let (hour, name) = rest.rsplit_once('/')?;
    if distribution.is_empty() || name.is_empty() {
        return None;
    }
    Some((
        Partition {
            distribution: distribution.to_owned(),
            hour: HourKey::parse(hour)?,
        },
        name,
    ))
}

/// Lists the keys under `prefix` from `start_after` on, page by page,
/// until `stop` says a key is past the end (keys come in order).
async fn list(
    bucket: &Bucket,
    prefix: &str,
    start_after: Option<String>,
    mut each: impl FnMut(&aws_sdk_s3::types::Object) -> bool,
) -> Result<(), RollupError> {
    let mut token = None;
    loop {
        let page = bucket
            .client
            .list_objects_v2()
            .bucket(&bucket.name)
            .prefix(prefix)
            .set_start_after(start_after.clone().filter(|_| token.is_none()))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| list_error(bucket, prefix, e))?;
        for object in page.contents() {
            if !each(object) {
                return Ok(());
            }
        }
        token = page.next_continuation_token;
        if token.is_none() || page.is_truncated != Some(true) {
            return Ok(());
        }
    }
}

fn list_error(
    bucket: &Bucket,
    prefix: &str,
    error: aws_sdk_s3::error::SdkError<ListObjectsV2Error, aws_sdk_s3::config::http::HttpResponse>,
) -> RollupError {
    RollupError::List(RequestError::new(
        "ListObjectsV2",
        format!("s3://{}/{prefix}", bucket.name),
        error,
    ))
}

/// The distributions with staging objects under `staging`.
pub(crate) async fn distributions(
    bucket: &Bucket,
    staging: &str,
) -> Result<Vec<String>, RollupError> {
    let mut found = Vec::new();
    let mut token = None;
    let prefix = format!("{staging}distribution=");
    loop {
        let page = bucket
            .client
            .list_objects_v2()
            .bucket(&bucket.name)
            .prefix(&prefix)
            .delimiter("/")
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| list_error(bucket, &prefix, e))?;
        for common in page.common_prefixes() {
            let id = common
                .prefix()
                .and_then(|p| p.strip_prefix(&prefix))
                .and_then(|p| p.strip_suffix('/'));
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                found.push(id.to_owned());
            }
        }
        token = page.next_continuation_token;
        if token.is_none() || page.is_truncated != Some(true) {
            return Ok(found);
        }
    }
}

/// The staging objects of `distribution` in the hours from `since` to
/// before `until`, grouped by hour, oldest hour first. Keys sort by hour,
/// so one listing from the first hour's key on finds them.
pub(crate) async fn staged_hours(
    bucket: &Bucket,
    staging: &str,
    distribution: &str,
    since: Option<HourKey>,
    until: Option<HourKey>,
) -> Result<Vec<StagedHour>, RollupError> {
    let prefix = format!("{staging}distribution={distribution}/");
    // Every key of an hour starts with its path and `/`, after the path.
    let start_after = since.map(|hour| format!("{prefix}{hour}"));
    let end = until.map(|hour| format!("{prefix}{hour}"));
    let mut hours: Vec<StagedHour> = Vec::new();
    list(bucket, &prefix, start_after, |object| {
        let Some(key) = object.key() else {
            return true;
        };
        if end.as_deref().is_some_and(|end| key >= end) {
            return false;
        }
        // Anything else under the prefix (no hour path, no name) is not a
        // staging object.
        let Some((partition, _)) = parse_key(staging, key) else {
            return true;
        };
        let staged = staged_object(key, object);
        match hours.last_mut() {
            Some(last) if last.partition == partition => last.objects.push(staged),
            _ => hours.push(StagedHour {
                partition,
                objects: vec![staged],
            }),
        }
        true
    })
    .await?;
    for hour in &mut hours {
        hour.objects
            .sort_by(|a, b| (a.arrived_ms, &a.key).cmp(&(b.arrived_ms, &b.key)));
    }
    Ok(hours)
}

/// The staging objects of one distribution-hour, in order of arrival,
/// then key; none when nothing is staged for it.
pub(crate) async fn staged_hour(
    bucket: &Bucket,
    staging: &str,
    partition: &Partition,
) -> Result<StagedHour, RollupError> {
    let prefix = format!("{staging}{}/", partition.path());
    let mut objects = Vec::new();
    list(bucket, &prefix, None, |object| {
        if let Some(key) = object.key().filter(|key| parse_key(staging, key).is_some()) {
            objects.push(staged_object(key, object));
        }
        true
    })
    .await?;
    objects.sort_by(|a, b| (a.arrived_ms, &a.key).cmp(&(b.arrived_ms, &b.key)));
    Ok(StagedHour {
        partition: partition.clone(),
        objects,
    })
}

fn staged_object(key: &str, object: &aws_sdk_s3::types::Object) -> StagedObject {
    StagedObject {
        key: key.to_owned(),
        etag: object.e_tag().unwrap_or_default().to_owned(),
        size: object
            .size()
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        arrived_ms: object
            .last_modified()
            .and_then(|t| t.to_millis().ok())
            .unwrap_or(0),
    }
}

/// The keys of the rolled-up parts of `partition` under `table`, with
/// their part numbers, in order.
pub(crate) async fn rolled_parts(
    bucket: &Bucket,
    table: &str,
    partition: &Partition,
) -> Result<Vec<(usize, String)>, RollupError> {
    let prefix = format!("{table}{}/", partition.path());
    let mut parts = Vec::new();
    list(bucket, &prefix, None, |object| {
        if let Some(number) = object
            .key()
            .and_then(|key| key.strip_prefix(&prefix))
            .and_then(super::part_number)
        {
            parts.push((number, object.key().unwrap_or_default().to_owned()));
        }
        true
    })
    .await?;
    parts.sort();
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_give_their_partition_and_name() {
        let (partition, name) = parse_key(
            "cf/staging/",
            "cf/staging/distribution=E2EXAMPLE/year=2024/month=05/day=01/hour=13/E2EXAMPLE.2024-05-01-13.a.parquet",
        )
        .unwrap();
        assert_eq!(partition.distribution, "E2EXAMPLE");
        assert_eq!(partition.hour, HourKey::new(2024, 5, 1, 13).unwrap());
        assert_eq!(name, "E2EXAMPLE.2024-05-01-13.a.parquet");
        for key in [
            "cf/staging/distribution=E1/year=2024/month=05/day=01/hour=24/a.parquet",
            "cf/staging/distribution=E1/year=2024/month=05/day=01/a.parquet",
            "cf/staging/distribution=E1/year=2024/month=05/day=01/hour=13/",
            "cf/staging/distribution=/year=2024/month=05/day=01/hour=13/a",
            "cf/other/distribution=E1/year=2024/month=05/day=01/hour=13/a",
            "cf/staging/distribution=E1/year=2024/month=05/day=01/hour=+1/a",
        ] {
            assert!(parse_key("cf/staging/", key).is_none(), "{key}");
        }
    }

    #[test]
    fn an_hour_prints_and_parses_back() {
        let hour = HourKey::new(2024, 2, 29, 7).unwrap();
        assert_eq!(HourKey::parse(&hour.to_string()), Some(hour));
    }
}
