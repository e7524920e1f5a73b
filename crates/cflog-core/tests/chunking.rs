//! Feeding every sample split at every byte offset (and in every small
//! chunk size) gives the same records, errors and positions as reading it
//! whole: the framer alone knows about chunk boundaries.

use cflog_core::{Decoded, Decoder, DecoderBuilder, Delimiter, Record};

/// What a run produced, comparable across runs.
#[derive(Debug, PartialEq)]
enum Item {
    Record {
        line: u64,
        byte: u64,
        bytes: Vec<u8>,
        fields: Vec<Vec<u8>>,
    },
    Error(String),
}

fn run(chunks: &[&[u8]], builder: &DecoderBuilder) -> (Vec<Item>, cflog_core::Stats) {
    let mut decoder: Decoder = builder.build();
    let mut record = Record::new();
    let mut items = Vec::new();
    let mut take = |result: cflog_core::Result<Decoded>, record: &Record| match result {
        Ok(Decoded::Record) => {
            let line = record.line();
            items.push(Item::Record {
                line: record.position().line(),
                byte: record.position().byte(),
                bytes: record.as_bytes().to_vec(),
                fields: (0..line.len())
                    .map(|i| line.column(i).unwrap().to_vec())
                    .collect(),
            });
            true
        }
        Ok(_) => false,
        Err(e) => {
            items.push(Item::Error(e.to_string()));
            true
        }
    };
    for chunk in chunks {
        let mut input = *chunk;
        loop {
            let (result, used) = decoder.decode(input, &mut record);
            input = &input[used..];
            if !take(result, &record) {
                assert!(input.is_empty());
                break;
            }
        }
    }
    loop {
        let result = decoder.finish(&mut record);
        let done = matches!(result, Ok(Decoded::End));
        take(result, &record);
        if done {
            break;
        }
    }
    (items, decoder.stats())
}

fn samples() -> Vec<(String, Vec<u8>, DecoderBuilder)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".log") || name.ends_with(".tsv")) {
            continue;
        }
        let mut builder = DecoderBuilder::new();
        if name.contains("pipe") {
            builder.delimiter(Delimiter::new(b"|").unwrap());
        } else if name.contains("multichar") {
            builder.delimiter(Delimiter::new(b" | ").unwrap());
        }
        let input = std::fs::read(&path).unwrap();
        out.push((name.clone(), input.clone(), builder.clone()));
        // And with a small limit, so that over-long lines are exercised too.
        builder.max_line_len(300);
        out.push((format!("{name} (300-byte lines)"), input, builder));
    }
    assert!(out.len() >= 24, "samples found: {}", out.len());
    out
}

#[test]
fn split_at_every_byte_offset() {
    for (name, input, builder) in samples() {
        let (whole, whole_stats) = run(&[&input], &builder);
        assert!(!whole.is_empty(), "{name}");
        for cut in 0..=input.len() {
            let (head, tail) = input.split_at(cut);
            let (split, stats) = run(&[head, tail], &builder);
            assert_eq!(split, whole, "{name} cut at {cut}");
            assert_eq!(stats, whole_stats, "{name} cut at {cut}");
        }
    }
}

#[test]
fn fed_in_small_chunks() {
    for (name, input, builder) in samples() {
        let (whole, _) = run(&[&input], &builder);
        for size in 1..=17 {
            let chunks: Vec<&[u8]> = input.chunks(size).collect();
            assert_eq!(
                run(&chunks, &builder).0,
                whole,
                "{name} in chunks of {size}"
            );
        }
    }
}

#[test]
fn the_stats_reconcile() {
    for (name, input, builder) in samples() {
        let (items, stats) = run(&[&input], &builder);
        let errors = items.iter().filter(|i| matches!(i, Item::Error(_))).count() as u64;
        assert_eq!(stats.rejected, errors, "{name}");
        assert_eq!(
            stats.records + stats.rejected + stats.header_lines + stats.blank_lines,
            stats.lines,
            "{name}"
        );
        assert_eq!(stats.bytes, input.len() as u64, "{name}");
    }
}
