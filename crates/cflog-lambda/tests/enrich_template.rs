//! The Glue tables of the SAM template with `Enrich=ua` read the Parquet
//! objects the function writes with `CFLOG_ENRICH=ua`: this test holds
//! `tests/template/glue_columns_ua.json` to the columns of the function's
//! contract, and `tests/template/test_template.py` holds the template's
//! tables, resolved with `Enrich=ua`, to that file (as
//! `glue_columns.json` for the plain function).

use std::path::PathBuf;

use cflog_core::Family;
use cflog_lambda::Config;
use cflog_parquet::ColumnSet;

#[test]
fn the_enriched_glue_columns_file_is_what_the_function_writes() {
    let config = Config::from_lookup(cflog_testkit::env(&[
        ("CFLOG_ENRICH", "ua"),
        ("CFLOG_SINK", "s3"),
        ("CFLOG_OUTPUT_BUCKET", "cflog-out"),
    ]))
    .unwrap();
    let rendered = ColumnSet::for_contract(Family::Standard, config.selection.contract())
        .render_glue_columns();
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/template/glue_columns_ua.json");
    let golden = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        rendered,
        golden,
        "{} is not the Glue columns of CFLOG_ENRICH=ua; write these, and the \
         template's Enrich=ua columns to match:\n{rendered}",
        path.display()
    );
}
