//! Prints the Glue table columns of cflog's Parquet files, as the SAM
//! template's `AWS::Glue::Table` takes them (JSON, which is YAML too):
//!
//! ```text
//! cargo run -p cflog-parquet --example glue_columns            # standard logs
//! cargo run -p cflog-parquet --example glue_columns -- realtime
//! ```

use cflog_core::Family;
use cflog_parquet::ColumnSet;

fn main() {
    let family = match std::env::args().nth(1).as_deref() {
        None | Some("standard") => Family::Standard,
        Some("realtime") => Family::Realtime,
        Some(other) => {
            eprintln!("glue_columns: expected `standard` or `realtime`, not {other:?}");
            std::process::exit(2);
        }
    };
    print!("{}", ColumnSet::for_family(family).render_glue_columns());
}
