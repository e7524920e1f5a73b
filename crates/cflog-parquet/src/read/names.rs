//! The columns of AWS's Parquet deliveries, named as CloudFront fields.
//!
//! Standard logging v2 names a Parquet column after its field, in
//! snake_case without parentheses: `x_edge_location`, `cs_host`,
//! `cs_user_agent`, `cs_referer`. That is the JSON contract's key of each
//! field ([`Field::json_key`]), so a column is found by its key. What AWS
//! documents no further is accepted in its plausible spellings:
//!
//! | column | field |
//! | --- | --- |
//! | `cs_referer`, `cs_referrer` | `cs(Referer)` |
//! | `timestamp_ms`, `timestampms`, `timestamp(ms)` | `timestamp(ms)` |
//! | `distribution_id`, `distributionid`, `DistributionId` | `DistributionId` |
//! | `x-edge-location`, `cs(Host)`… (a `#Fields` name) | that field |
//!
//! Case does not matter. A column that names no field is kept as text
//! under its own name, as an unknown `#Fields` name is.

use cflog_core::{Field, json_key_for_name};

/// The `#Fields` name a column of AWS's Parquet stands for: a known
/// field's name, or the column's own name.
///
/// ```
/// use cflog_parquet::read::field_name_of_column;
///
/// assert_eq!(field_name_of_column("cs_user_agent"), "cs(User-Agent)");
/// assert_eq!(field_name_of_column("cs_referrer"), "cs(Referer)");
/// assert_eq!(field_name_of_column("timestamp(ms)"), "timestamp(ms)");
/// assert_eq!(field_name_of_column("timestampms"), "timestamp(ms)");
/// assert_eq!(field_name_of_column("distributionid"), "DistributionId");
/// assert_eq!(field_name_of_column("x-edge-location"), "x-edge-location");
/// assert_eq!(field_name_of_column("x_new_field"), "x_new_field");
/// ```
pub fn field_name_of_column(column: &str) -> &str {
    match field_of_column(column) {
        Some(field) => field.name(),
        None => column,
    }
}

/// The field a column of AWS's Parquet holds, if cflog knows it.
pub(crate) fn field_of_column(column: &str) -> Option<Field> {
    let key = json_key_for_name(column);
    Field::from_json_key(&key)
        .or(match key.as_str() {
            "cs_referrer" => Some(Field::Referer),
            "timestampms" => Some(Field::TimestampMs),
            "distributionid" => Some(Field::DistributionId),
            _ => None,
        })
        .or_else(|| Field::from_name(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_found_by_its_key_and_by_its_name() {
        for &field in Field::ALL {
            assert_eq!(field_of_column(field.json_key()), Some(field), "{field}");
            assert_eq!(
                field_of_column(&field.json_key().to_uppercase()),
                Some(field)
            );
            assert_eq!(field_of_column(field.name()), Some(field), "{field}");
        }
    }

    #[test]
    fn unknown_columns_keep_their_names() {
        assert_eq!(field_of_column("x_edge_something_new"), None);
        assert_eq!(
            field_name_of_column("x_edge_something_new"),
            "x_edge_something_new"
        );
    }
}
