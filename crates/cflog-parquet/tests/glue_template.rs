//! The Glue table of the SAM template reads the Parquet files this crate
//! writes, so its columns must be the files' columns. Two tests hold them
//! together through one committed file, `tests/template/glue_columns.json`
//! at the repository root:
//!
//! - this one: the file is, byte for byte, what
//!   `ColumnSet::standard().render_glue_columns()` prints;
//! - `tests/template/test_template.py`: the Glue table's `Columns` in
//!   `template.yaml` are the file's, with the same names, types and order.
//!
//! A change to the columns on one side without the other fails one of them.

use std::path::PathBuf;

use cflog_parquet::ColumnSet;

const REGENERATE: &str = "regenerate it with \
     `cargo run -p cflog-parquet --example glue_columns > tests/template/glue_columns.json` \
     and copy the new columns into the Glue table (OutputTable) of template.yaml; \
     `pytest tests/template` then checks that the two agree";

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/template/glue_columns.json")
}

#[test]
fn the_template_s_glue_columns_file_is_what_the_writer_renders() {
    let path = golden_path();
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {REGENERATE}", path.display()));
    let rendered = ColumnSet::standard().render_glue_columns();
    if rendered == golden {
        return;
    }
    let first_difference = rendered
        .lines()
        .zip(golden.lines())
        .enumerate()
        .find(|(_, (r, g))| r != g)
        .map(|(i, (r, g))| format!("line {}: rendered {r:?}, file {g:?}", i + 1))
        .unwrap_or_else(|| {
            format!(
                "rendered {} lines and {} bytes, the file {} lines and {} bytes",
                rendered.lines().count(),
                rendered.len(),
                golden.lines().count(),
                golden.len()
            )
        });
    panic!(
        "{} is not what ColumnSet::standard().render_glue_columns() prints \
         ({first_difference}); {REGENERATE}",
        path.display()
    );
}
