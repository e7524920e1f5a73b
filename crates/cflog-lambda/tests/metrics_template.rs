//! The SAM template's alarms watch metrics this function emits, so their
//! names must be the function's. Two tests hold them together through one
//! committed file, `tests/template/metrics.json` at the repository root:
//!
//! - this one: the file lists exactly the default namespace, the dimension,
//!   and the metrics with their units, of [`cflog_lambda::metrics`];
//! - `tests/template/test_template.py`: every alarm of `template.yaml`
//!   watches a metric of the file, in the namespace the function is given,
//!   with the file's dimension.
//!
//! Renaming a metric on one side without the other fails one of them.

use std::path::PathBuf;

use cflog_lambda::metrics::{
    DEFAULT_NAMESPACE, ERROR_TYPE, FUNCTION_NAME, METRICS, REJECTED_REASON_PREFIX,
};
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/template/metrics.json")
}

#[test]
fn the_template_s_metrics_file_lists_what_the_function_emits() {
    let path = path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(name, unit)| json!({"name": name, "unit": unit.as_str()}))
        .collect();
    let emitted = json!({
        "namespace": DEFAULT_NAMESPACE,
        "dimensions": [FUNCTION_NAME],
        "errorTypeDimension": ERROR_TYPE,
        "rejectedByReasonPrefix": REJECTED_REASON_PREFIX,
        "metrics": metrics,
    });
    assert_eq!(
        file,
        emitted,
        "{} differs from cflog_lambda::metrics; change it, and the alarms in template.yaml \
         that name a changed metric (`pytest tests/template` checks those)",
        path.display()
    );
}
