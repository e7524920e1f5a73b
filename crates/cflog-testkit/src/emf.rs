//! The CloudWatch embedded metric format's rules, checked on one document.

use serde_json::Value;

/// Asserts that `doc` follows the EMF specification: a top-level `_aws`
/// with an integer `Timestamp` and at least one directive; each directive
/// exactly `Namespace`, `Dimensions` (at least one set, each of at most 30
/// keys) and `Metrics` (1 to 100, each a `Name` and a `Unit`); every metric
/// name a top-level number (or array of at most 100 numbers), every
/// dimension key a top-level string of 1 to 1024 characters.
///
/// # Panics
///
/// On the first rule `doc` breaks, naming it.
pub fn check_emf_document(doc: &Value) {
    let aws = doc["_aws"].as_object().expect("_aws is an object");
    assert!(
        aws["Timestamp"].is_u64(),
        "Timestamp is an integer: {aws:?}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics is an array");
    assert!(!directives.is_empty(), "no directive");
    for directive in directives {
        let directive = directive.as_object().expect("a directive is an object");
        let mut members: Vec<&str> = directive.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["Dimensions", "Metrics", "Namespace"]);
        assert!(!directive["Namespace"].as_str().unwrap().is_empty());
        let sets = directive["Dimensions"].as_array().unwrap();
        assert!(!sets.is_empty(), "a directive needs a dimension set");
        for set in sets {
            let set = set.as_array().unwrap();
            assert!(set.len() <= 30, "{} dimensions in a set", set.len());
            for key in set {
                let key = key.as_str().unwrap();
                let value = doc[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} is not a top-level string"));
                assert!((1..=1024).contains(&value.len()), "{key}={value}");
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!(
            (1..=100).contains(&metrics.len()),
            "{} metrics",
            metrics.len()
        );
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            let value = &doc[name];
            let numeric = value.is_number()
                || value
                    .as_array()
                    .is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number));
            assert!(numeric, "metric {name} is not a top-level number: {value}");
            assert!(metric["Unit"].is_string(), "{metric}");
        }
    }
}
