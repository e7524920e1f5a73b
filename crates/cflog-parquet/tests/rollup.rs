//! The rollup, against parquet's own reader: every row of every input is in
//! the part once, in the inputs' order; the same inputs give the same
//! bytes; inputs of other columns or not Parquet at all are refused with
//! their position; and the plan of parts changes only at its end when
//! inputs are added.

use arrow_array::RecordBatch;
use bytes::Bytes;
use cflog_core::{Reader, Record};
use cflog_parquet::rollup::{RollupError, RollupOptions, RollupWriter, plan_parts};
use cflog_parquet::{ColumnSet, ParquetWriter, WriterOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use proptest::prelude::*;

/// One file of the generated log's lines `range`, as the S3
/// destination stages them, with small row groups so that a part's row
/// groups span several of them.
fn staged(log: &[u8], range: std::ops::Range<usize>, set: ColumnSet) -> Bytes {
    let options = WriterOptions::staged().row_group_rows(3).batch_rows(2);
    staged_with(log, range, set, options)
}

/// As [`staged`], written with `options`.
fn staged_with(
    log: &[u8],
    range: std::ops::Range<usize>,
    set: ColumnSet,
    options: WriterOptions,
) -> Bytes {
    let mut writer = ParquetWriter::new(Vec::new(), set, options).unwrap();
    let mut reader = Reader::from_reader(log);
    let mut record = Record::new();
    let mut line = 0;
    while reader.read_record(&mut record).unwrap() {
        if range.contains(&line) {
            writer.write(&record.line()).unwrap();
        }
        line += 1;
    }
    Bytes::from(writer.finish().unwrap().0)
}

/// 120 lines from the repository's generator, the same on every run.
fn log() -> Vec<u8> {
    static LOG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gen_cflog.py");
        let output = std::process::Command::new("python3")
            .arg(script)
            .args([
                "--seed",
                "29",
                "--lines",
                "120",
                "--fields",
                "33",
                "--span-hours",
                "1",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    })
    .clone()
}

fn lines(log: &[u8]) -> usize {
    let mut reader = Reader::from_reader(log);
    let mut record = Record::new();
    let mut n = 0;
    while reader.read_record(&mut record).unwrap() {
        n += 1;
    }
    n
}

/// The file's rows as one batch.
fn read_all(file: &Bytes) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .unwrap()
        .with_batch_size(1 << 20)
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert!(batches.len() <= 1, "one batch holds the whole file");
    batches
        .into_iter()
        .next()
        .unwrap_or_else(|| RecordBatch::new_empty(ColumnSet::standard().arrow_schema()))
}

fn roll(inputs: &[Bytes], options: &WriterOptions) -> Result<Vec<u8>, RollupError> {
    let mut part = RollupWriter::new(Vec::new(), ColumnSet::standard(), options)?;
    for input in inputs {
        part.append(input.clone())?;
    }
    Ok(part.finish()?.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Lines cut into inputs at random: the part's rows are the inputs'
    /// rows in order, each once, in row groups of at most the limit; and
    /// rolling the same inputs again gives the same bytes.
    #[test]
    fn a_part_is_its_inputs_rows_in_order_and_the_same_bytes_each_time(
        cuts in proptest::collection::vec(0..40usize, 0..6),
        group_rows in 1..20usize,
    ) {
        let log = log();
        let total = lines(&log);
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (total + 1)).collect();
        bounds.extend([0, total]);
        bounds.sort_unstable();
        let inputs: Vec<Bytes> = bounds
            .windows(2)
            .map(|w| staged(&log, w[0]..w[1], ColumnSet::standard()))
            .collect();
        let options = WriterOptions::rolled().row_group_rows(group_rows);
        let part = Bytes::from(roll(&inputs, &options).unwrap());
        let rolled = read_all(&part);
        prop_assert_eq!(rolled.num_rows(), total);
        let mut offset = 0;
        for input in &inputs {
            let rows = read_all(input);
            prop_assert_eq!(&rolled.slice(offset, rows.num_rows()), &rows);
            offset += rows.num_rows();
        }
        let metadata = ParquetRecordBatchReaderBuilder::try_new(part.clone()).unwrap().metadata().clone();
        prop_assert_eq!(metadata.num_row_groups(), total.div_ceil(group_rows));
        for group in metadata.row_groups() {
            prop_assert!(group.num_rows() as usize <= group_rows);
        }
        prop_assert_eq!(roll(&inputs, &options).unwrap(), part.to_vec());
    }

    /// Inputs appended at the end change only the plan's last part, or add
    /// parts after it: a late log file leaves the hour's earlier parts as
    /// they were.
    #[test]
    fn inputs_added_at_the_end_change_only_the_last_part(
        sizes in proptest::collection::vec(1..300u64, 0..30),
        late in proptest::collection::vec(1..300u64, 1..5),
        limit in 1..500u64,
    ) {
        let before = plan_parts(&sizes, limit);
        let all: Vec<u64> = sizes.iter().chain(&late).copied().collect();
        let after = plan_parts(&all, limit);
        let kept = before.len().saturating_sub(1);
        prop_assert_eq!(&after[..kept], &before[..kept]);
        // Every input in exactly one part, in order, each part within the
        // limit unless it is one input.
        let mut next = 0;
        for part in &after {
            prop_assert_eq!(part.start, next);
            prop_assert!(!part.is_empty());
            let bytes: u64 = all[part.clone()].iter().sum();
            prop_assert!(bytes <= limit || part.len() == 1);
            next = part.end;
        }
        prop_assert_eq!(next, all.len());
    }
}

#[test]
fn a_large_part_fills_row_groups_of_the_default_size() {
    let log = log();
    let total = lines(&log);
    let inputs: Vec<Bytes> = (0..total)
        .step_by(2)
        .map(|start| staged(&log, start..start + 2, ColumnSet::standard()))
        .collect();
    let mut part =
        RollupWriter::new(Vec::new(), ColumnSet::standard(), &WriterOptions::rolled()).unwrap();
    for input in &inputs {
        part.append(input.clone()).unwrap();
    }
    let (file, stats) = part.finish().unwrap();
    assert_eq!(stats.inputs, inputs.len());
    assert_eq!(stats.rows, total as u64);
    // Many inputs' row groups of 3 rows, one row group in the part.
    assert_eq!(stats.row_groups, 1);
    assert_eq!(stats.bytes, file.len() as u64);
    let smallest_input = inputs.iter().map(Bytes::len).min().unwrap();
    let summed: usize = inputs.iter().map(Bytes::len).sum();
    assert!(
        file.len() < summed / 4 && file.len() < smallest_input * 4,
        "one footer instead of {}: {} bytes against {summed}",
        inputs.len(),
        file.len()
    );
}

#[test]
fn an_input_of_other_columns_is_refused_with_its_position() {
    let log = log();
    let inputs = [
        staged(&log, 0..2, ColumnSet::standard()),
        staged(&log, 2..4, ColumnSet::realtime()),
    ];
    let error = roll(&inputs, &WriterOptions::rolled()).unwrap_err();
    assert!(
        matches!(error, RollupError::Columns { input: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn an_input_that_is_not_parquet_is_refused_and_breaks_the_part() {
    let log = log();
    let mut part =
        RollupWriter::new(Vec::new(), ColumnSet::standard(), &WriterOptions::rolled()).unwrap();
    part.append(staged(&log, 0..2, ColumnSet::standard()))
        .unwrap();
    let error = part
        .append(Bytes::from_static(b"#Version: 1.0\nnot parquet"))
        .unwrap_err();
    assert!(
        matches!(error, RollupError::Input { input: 1, .. }),
        "{error:?}"
    );
    // A cut-off file: the footer is gone.
    let whole = staged(&log, 0..4, ColumnSet::standard());
    let cut = whole.slice(..whole.len() - 10);
    let error = roll(&[cut], &WriterOptions::rolled()).unwrap_err();
    assert!(
        matches!(error, RollupError::Input { input: 0, .. }),
        "{error:?}"
    );
    assert!(matches!(
        part.append(staged(&log, 0..2, ColumnSet::standard())),
        Err(RollupError::Output(_))
    ));
    assert!(part.finish().is_err());
}

#[test]
fn no_inputs_make_a_file_of_no_rows() {
    let file = Bytes::from(roll(&[], &WriterOptions::rolled()).unwrap());
    assert_eq!(read_all(&file).num_rows(), 0);
}

/// The text values of `file`'s column `name`, row by row.
fn texts(file: &Bytes, name: &str) -> Vec<Option<String>> {
    let batch = read_all(file);
    let column = batch.column_by_name(name).unwrap();
    let column = column
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    column.iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn inputs_with_derived_columns_roll_up_with_their_own_columns() {
    use cflog_core::Family;
    use cflog_core::contract::testing;
    use cflog_parquet::rollup::input_schema;

    let log = log();
    let enriched = || ColumnSet::for_contract(Family::Standard, &testing::contract());
    let inputs = [
        staged(&log, 0..5, enriched()),
        staged(&log, 5..12, enriched()),
    ];
    let schema = input_schema(&inputs[0]).unwrap();
    assert_eq!(schema.fields().len(), enriched().columns().len());
    let options = WriterOptions::rolled();
    let mut part =
        RollupWriter::with_schema(Vec::new(), ColumnSet::standard(), schema.clone(), &options)
            .unwrap();
    for input in &inputs {
        part.append(input.clone()).unwrap();
    }
    let (file, stats) = part.finish().unwrap();
    let file = Bytes::from(file);
    assert_eq!(stats.rows, 12);
    let names: Vec<String> = read_all(&file)
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let expected: Vec<&str> = enriched().columns().iter().map(|c| c.name).collect();
    assert_eq!(names, expected);
    let mut methods = texts(&inputs[0], "test_method");
    methods.extend(texts(&inputs[1], "test_method"));
    assert!(methods.iter().any(Option::is_some));
    assert_eq!(texts(&file, "test_method"), methods);

    // An input of the standard columns alone does not join such a part.
    let mut part =
        RollupWriter::with_schema(Vec::new(), ColumnSet::standard(), schema, &options).unwrap();
    part.append(inputs[0].clone()).unwrap();
    let error = part
        .append(staged(&log, 12..14, ColumnSet::standard()))
        .unwrap_err();
    assert!(
        matches!(error, RollupError::Columns { input: 1, .. }),
        "{error:?}"
    );
}

/// Staging files of either codec (zstd before the staged settings, snappy
/// since) roll up into one part; a part of more inputs than
/// `small_part_bytes` is compressed at zstd's level 1, a smaller one at 9,
/// with the same rows.
#[test]
fn small_parts_are_compressed_harder_than_large_ones_with_the_same_rows() {
    let log = log();
    let total = lines(&log);
    let inputs: Vec<Bytes> = (0..total)
        .step_by(4)
        .map(|start| {
            let options = match start % 8 {
                0 => WriterOptions::staged(),
                _ => WriterOptions::default(),
            };
            let range = start..(start + 4).min(total);
            staged_with(&log, range, ColumnSet::standard(), options)
        })
        .collect();
    let input_bytes: u64 = inputs.iter().map(|input| input.len() as u64).sum();
    let options = RollupOptions::default().small_part_bytes(input_bytes);
    let small = Bytes::from(roll(&inputs, options.writer(input_bytes)).unwrap());
    let large = Bytes::from(roll(&inputs, options.writer(input_bytes + 1)).unwrap());
    assert_eq!(read_all(&small), read_all(&large));
    // A file records its codec, not the level: the level is the writer's.
    let level = |input_bytes| {
        let props = options
            .writer(input_bytes)
            .writer_properties(&ColumnSet::standard());
        props.unwrap().compression(&"sc_status".into())
    };
    let zstd = |level| Compression::ZSTD(ZstdLevel::try_new(level).unwrap());
    assert_eq!(level(input_bytes), zstd(9));
    assert_eq!(level(input_bytes + 1), zstd(1));
    let codecs = |file: &Bytes| -> Vec<Compression> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file.clone()).unwrap();
        let group = builder.metadata().row_group(0);
        group.columns().iter().map(|c| c.compression()).collect()
    };
    for file in [&small, &large] {
        assert!(
            codecs(file)
                .iter()
                .all(|c| matches!(c, Compression::ZSTD(_)))
        );
    }
}
