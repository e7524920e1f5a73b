//! Parsing a line allocates nothing on the heap: counted with a global
//! allocator that tallies allocations made by the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cflog_core::{Field, LogLine, Reader, Record, Schema};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const LOG: &str = include_str!("../../../testdata/aws-docs-33-fields.log");

/// Reads every typed value a line has, so that nothing lazy escapes the count.
fn read_everything(line: &LogLine<'_>) -> u64 {
    let mut sum = 0u64;
    sum += line.timestamp().unwrap().unwrap().unix_timestamp() as u64;
    sum += u64::from(line.status().unwrap().unwrap());
    sum += line.sc_bytes().unwrap().unwrap() + line.cs_bytes().unwrap().unwrap();
    sum += line.content_len().unwrap().unwrap_or(0);
    sum += line.range_start().unwrap().unwrap_or(0) as u64;
    sum += u64::from(line.client_port().unwrap().unwrap());
    sum += u64::from(line.client_ip().unwrap().unwrap().is_ipv4());
    sum += line.time_taken().unwrap().unwrap().as_millis() as u64;
    sum += line.time_to_first_byte().unwrap().unwrap().as_millis() as u64;
    sum += line.edge_result_type().unwrap().unwrap().as_str().len() as u64;
    sum += line
        .edge_detailed_result_type()
        .unwrap()
        .unwrap()
        .as_str()
        .len() as u64;
    sum += line.protocol().unwrap().unwrap().as_str().len() as u64;
    sum += line.http_version().unwrap().unwrap().as_str().len() as u64;
    sum += line.forwarded_for().map_or(0, |xff| xff.count() as u64);
    sum += line.get(Field::EdgeLocation).unwrap().decoded().len() as u64;
    sum += line.raw(Field::UserAgent).unwrap().len() as u64;
    sum
}

#[test]
fn parsing_a_line_allocates_nothing() {
    let schema = Schema::standard();
    let lines: Vec<&str> = LOG.lines().filter(|l| !l.starts_with('#')).collect();
    // The first parse grows `spans` once; every later one reuses it.
    let mut spans = Vec::new();
    LogLine::parse(lines[0].as_bytes(), &schema, &mut spans).unwrap();
    let mut total = 0;
    let count = allocations_during(|| {
        for line in &lines {
            let line = LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
            total += read_everything(&line);
        }
    });
    assert!(total > 0);
    assert_eq!(count, 0, "allocations while parsing {} lines", lines.len());
}

#[test]
fn reading_with_a_reused_record_allocates_nothing_after_the_first_line() {
    // The same schema throughout, so no header is parsed after warm-up.
    let body: String = LOG
        .lines()
        .skip(2)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .repeat(50);
    let mut reader = Reader::from_reader(body.as_bytes());
    let mut record = Record::new();
    assert!(reader.read_record(&mut record).unwrap());
    let mut lines = 1;
    let mut total = 0;
    let count = allocations_during(|| {
        while reader.read_record(&mut record).unwrap() {
            total += read_everything(&record.line());
            lines += 1;
        }
    });
    assert_eq!(lines, 300);
    assert!(total > 0);
    assert_eq!(count, 0, "allocations while reading {lines} lines");
}

#[test]
fn writing_json_with_a_reused_writer_allocates_nothing_after_warm_up() {
    use cflog_core::contract::Selection;
    use cflog_core::json::JsonWriter;

    // Every sample of the current layout, with escaped text, queries
    // (repeated keys included) and IPv6, written twice: the first pass grows
    // the buffers, the second must not allocate.
    let mut body = String::new();
    for name in ["aws-docs-33-fields.log", "real-33-fields-2025.log"] {
        let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        body.extend(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n")),
        );
    }
    let schema = Schema::standard();
    let lines: Vec<&str> = body.lines().collect();
    let mut spans = Vec::new();
    let mut writer = JsonWriter::new(Selection::all());
    let mut out = Vec::new();
    let mut write_all = |out: &mut Vec<u8>| {
        for line in &lines {
            let line = LogLine::parse(line.as_bytes(), &schema, &mut spans).unwrap();
            out.clear();
            writer.write(&line, out).unwrap();
        }
    };
    write_all(&mut out);
    let count = allocations_during(|| write_all(&mut out));
    assert!(!out.is_empty());
    assert_eq!(count, 0, "allocations while writing {} lines", lines.len());

    // Escaped text at the very end of a line that has nothing after it (a
    // line parsed on its own keeps no slack) is padded in a reused buffer.
    let schema = Schema::from_fields_header(b"#Fields: sc-status cs(User-Agent)").unwrap();
    let text = b"200	Mozilla/5.0%20(X11;%20Linux%20x86_64)";
    let mut write_last = |out: &mut Vec<u8>| {
        let line = LogLine::parse(text, &schema, &mut spans).unwrap();
        out.clear();
        writer.write(&line, out).unwrap();
    };
    write_last(&mut out);
    assert_eq!(allocations_during(|| write_last(&mut out)), 0);
    assert!(out.ends_with(br#""Mozilla/5.0 (X11; Linux x86_64)"}"#));
}
