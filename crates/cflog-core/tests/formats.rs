//! The newer formats: v2 JSON lines, format detection, and real-time
//! records for any configured field set. Expected values come from the
//! sample files or from the records the tests build, never from the parser.

use std::time::Duration;

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{
    DecoderBuilder, ErrorKind, Field, InputFormat, JsonLineParser, LogLine, REALTIME_ORDER, Reader,
    Record, Schema, ValueKind,
};
use proptest::prelude::*;
use time::macros::datetime;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every line of `input` as the JSON contract, with rejected lines as their
/// error text.
fn ndjson(input: &[u8], builder: &DecoderBuilder) -> Vec<String> {
    let mut reader = Reader::from_builder(builder, input);
    let mut record = Record::new();
    let mut writer = JsonWriter::new(Selection::all());
    let mut out = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let mut json = Vec::new();
                match writer.write(&record.line(), &mut json) {
                    Ok(()) => out.push(String::from_utf8(json).unwrap()),
                    Err(e) => out.push(format!("field error: {e}")),
                }
            }
            Ok(false) => return out,
            Err(e) => out.push(format!("error: {e}")),
        }
    }
}

#[test]
fn v2_json_sample_reads_into_typed_entries() {
    let input = testdata("v2-json-aws-docs.ndjson");
    let mut reader = Reader::from_reader(&input[..]);
    let mut record = Record::new();
    assert!(reader.read_record(&mut record).unwrap());
    let line = record.line();
    // Values as in the sample's first object; the time comes from
    // `timestamp(ms)`, which agrees with `date` and `time` and is finer.
    assert_eq!(
        line.timestamp().unwrap(),
        Some(datetime!(2024-11-15 19:45:51.183 UTC))
    );
    assert_eq!(line.u64(Field::TimestampMs).unwrap(), Some(1731699951183));
    assert_eq!(
        line.raw(Field::EdgeLocation),
        Some(&b"SOF50-P2"[..]),
        "a value borrowed from the line"
    );
    assert_eq!(line.asn().unwrap(), Some(16509));
    assert_eq!(line.origin_fbl().unwrap(), Some(Duration::from_millis(254)));
    assert_eq!(line.origin_lbl().unwrap(), Some(Duration::from_millis(254)));
    assert_eq!(
        line.raw(Field::HostHeader),
        Some(&b"d111111abcdef8.cloudfront.net"[..])
    );
    assert_eq!(line.raw(Field::Cookie), Some(&b"examplecookie=value"[..]));
    assert!(reader.read_record(&mut record).unwrap());
    assert_eq!(
        record.line().origin_fbl().unwrap(),
        Some(Duration::from_millis(125))
    );
    assert!(!reader.read_record(&mut record).unwrap());
    let stats = reader.stats();
    assert_eq!((stats.lines, stats.records, stats.rejected), (2, 2, 0));
}

/// The same entries as a v2 W3C file and as v2 JSON lines: the W3C path is
/// the oracle for the JSON one.
#[test]
fn json_lines_give_the_same_entries_as_the_same_values_in_w3c() {
    let names = [
        "date",
        "time",
        "c-ip",
        "sc-status",
        "cs-uri-stem",
        "cs-uri-query",
        "cs(User-Agent)",
        "time-taken",
        "sc-range-start",
        "asn",
        "x-custom",
    ];
    let rows = [
        [
            "2024-11-15",
            "19:45:51",
            "2001:db8::1",
            "200",
            "/a%20b",
            "q=a%2520b&q=c",
            "Mozilla/5.0%20(X11)",
            "0.082",
            "-5",
            "16509",
            "x%22y",
        ],
        [
            "2024-11-15",
            "19:45:52",
            "192.0.2.1",
            "000",
            "/",
            "-",
            "-",
            "12",
            "-",
            "-",
            "-",
        ],
    ];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|v| v.to_string()).collect())
        .collect();
    let (w3c, json) = w3c_and_json(&names, &rows, json_escaped);
    let expected = ndjson(w3c.as_bytes(), &DecoderBuilder::new());
    assert_eq!(expected.len(), 2);
    assert!(expected.iter().all(|e| !e.starts_with("error")));
    assert_eq!(ndjson(json.as_bytes(), &DecoderBuilder::new()), expected);
}

#[test]
fn json_escapes_are_undone_and_percent_escapes_kept_for_decoding() {
    let mut parser = JsonLineParser::new();
    let line = parser
        .parse(br#"{"cs(User-Agent)":"say \"hi\"%20\u00e9\\","cs-uri-stem":"/x"}"#)
        .unwrap();
    let agent = line.get(Field::UserAgent).unwrap();
    assert_eq!(agent.raw(), "say \"hi\"%20\u{e9}\\".as_bytes());
    assert_eq!(agent.decoded_str(), "say \"hi\" \u{e9}\\");
    assert_eq!(line.raw(Field::UriStem), Some(&b"/x"[..]));
}

#[test]
fn the_first_line_decides_the_format_unless_it_is_set() {
    let json = b"\n{\"sc-status\":\"200\"}\n{\"sc-status\":\"404\"}\n";
    let mut reader = Reader::from_reader(&json[..]);
    let mut record = Record::new();
    let mut statuses = Vec::new();
    while reader.read_record(&mut record).unwrap() {
        statuses.push(record.line().status().unwrap());
    }
    assert_eq!(statuses, [Some(200), Some(404)]);
    assert_eq!(reader.stats().blank_lines, 1);

    // A headerless one-column W3C file whose values start with `{`: only an
    // explicit format reads it as text.
    let text = b"{x}\n{y}\n";
    let schema = Schema::from_names(["cs-uri-stem"]).unwrap();
    let mut builder = DecoderBuilder::new();
    builder.schema(schema);
    let auto = ndjson(text, &builder);
    assert!(
        auto[0].starts_with("error: line 1 (byte 0): not a JSON log entry"),
        "{auto:?}"
    );
    builder.format(InputFormat::W3c);
    assert_eq!(
        ndjson(text, &builder),
        [r#"{"cs_uri_stem":"{x}"}"#, r#"{"cs_uri_stem":"{y}"}"#]
    );

    // And a W3C file read as JSON is rejected line by line, with a reason.
    let mut builder = DecoderBuilder::new();
    builder.format(InputFormat::Json);
    let input = testdata("aws-docs-33-fields.log");
    let mut reader = Reader::from_builder(&builder, &input[..]);
    let err = reader.read_record(&mut record).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Json { .. }));
    assert_eq!(err.reason(), "json");
    assert_eq!(err.position().unwrap().line(), 3);
}

#[test]
fn a_bad_json_line_is_reported_and_reading_goes_on() {
    let input = b"{\"sc-status\":\"200\"}\n{\"sc-status\":\n[]\n{\"sc-status\":\"304\"}\n";
    let lines = ndjson(input, &DecoderBuilder::new());
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], r#"{"sc_status":200}"#);
    assert!(
        lines[1].starts_with("error: line 2 (byte 20): not a JSON log entry: EOF"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("error: line 3 (byte 34): not a JSON log entry: invalid type"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], r#"{"sc_status":304}"#);
}

/// A value of the right shape for a real-time field.
fn realtime_value(field: Field, n: u32) -> String {
    if field == Field::UriStem {
        return format!("/p{n}?q={n}");
    }
    match field.kind() {
        ValueKind::EpochSeconds => format!("1607374321.{:03}", n % 1000),
        ValueKind::Ip => format!("192.0.2.{}", n % 256),
        ValueKind::Status => "200".into(),
        ValueKind::Seconds => format!("0.{:03}", n % 1000),
        ValueKind::Integer | ValueKind::EpochMillis | ValueKind::SignedInteger => n.to_string(),
        ValueKind::Port => (n % 65536).to_string(),
        ValueKind::Asn => (n % 100_000).to_string(),
        _ => format!("{}-{n}", field.name()),
    }
}

proptest! {
    /// Any subset of the real-time fields, configured in any order: a record
    /// built in CloudFront's canonical order reads back field by field.
    #[test]
    fn realtime_records_for_any_field_subset(
        chosen in proptest::sample::subsequence(REALTIME_ORDER.to_vec(), 1..=REALTIME_ORDER.len()),
        order in any::<u64>(),
        n in 0u32..100_000,
    ) {
        // The configuration lists the fields in some other order.
        let mut names: Vec<&str> = chosen.iter().map(|f| f.realtime_name()).collect();
        let len = names.len();
        names.rotate_left((order % len as u64) as usize);
        if order & 1 == 1 { names.reverse(); }
        let (schema, unknown) = Schema::realtime(names).unwrap();
        prop_assert!(unknown.is_empty());

        // `chosen` is in canonical order, as CloudFront sends the values.
        let values: Vec<String> = chosen.iter().map(|f| realtime_value(*f, n)).collect();
        let record = values.join("\t");
        let mut spans = Vec::new();
        let line = LogLine::parse(record.as_bytes(), &schema, &mut spans).unwrap();
        for (field, value) in chosen.iter().zip(&values) {
            prop_assert_eq!(line.raw(*field), Some(value.as_bytes()), "{:?}", field);
        }
        if chosen.contains(&Field::UriStem) {
            // The real-time stem carries the query; the accessors split it.
            let stem = format!("/p{n}");
            prop_assert_eq!(line.uri_stem().unwrap().raw(), stem.as_bytes());
            if !chosen.contains(&Field::UriQuery) {
                let params = line.query_params().unwrap();
                prop_assert_eq!(params.get("q").unwrap(), n.to_string());
            }
        }
        if chosen.contains(&Field::Timestamp) {
            let millis = line.timestamp().unwrap().unwrap().millisecond();
            prop_assert_eq!(u32::from(millis), n % 1000);
        }
        let mut json = Vec::new();
        prop_assert!(JsonWriter::new(Selection::all()).write(&line, &mut json).is_ok());
    }
}

/// JSON-ish input: objects with known and unknown keys and values of every
/// JSON type, cut short or not, or arbitrary bytes.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("sc-status".to_string()),
        Just("date".to_string()),
        Just("time".to_string()),
        Just("c-ip".to_string()),
        Just("cs-uri-query".to_string()),
        Just("time-taken".to_string()),
        "[a-z()-]{1,12}",
    ];
    let value = prop_oneof![
        "\\PC{0,12}".prop_map(|s| serde_json::json!(s)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([1])),
    ];
    let object = proptest::collection::vec((key, value), 0..8).prop_map(|members| {
        let members: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::json!(k)))
            .collect();
        format!("{{{}}}", members.join(",")).into_bytes()
    });
    prop_oneof![
        object.clone(),
        (object, any::<prop::sample::Index>())
            .prop_map(|(o, i)| o[..i.index(o.len() + 1)].to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    /// Whatever the input, a JSON line is an entry or an error, never a
    /// panic, and an entry is written as valid JSON or refused with a field
    /// error.
    #[test]
    fn any_json_line_is_an_entry_or_an_error(input in json_like()) {
        let mut parser = JsonLineParser::new();
        for _ in 0..2 {
            let Ok(line) = parser.parse(&input) else { break };
            for i in 0..line.len() {
                prop_assert!(line.column(i).is_some());
            }
            let mut out = Vec::new();
            if JsonWriter::new(Selection::all()).write(&line, &mut out).is_ok() {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
            }
        }
    }
}

/// The same rows as a v2 W3C file and as v2 JSON lines, keys in the
/// header's order as CloudFront writes its `recordFields`; `json_string`
/// gives each value's JSON string content (without quotes).
fn w3c_and_json(
    names: &[&str],
    rows: &[Vec<String>],
    json_string: impl Fn(&str) -> String,
) -> (String, String) {
    let mut w3c = format!("#Version: 1.0\n#Fields: {}\n", names.join(" "));
    let mut json = String::new();
    for row in rows {
        w3c += &(row.join("\t") + "\n");
        let members: Vec<String> = names
            .iter()
            .zip(row)
            .map(|(k, v)| format!("{}:\"{}\"", serde_json::json!(k), json_string(v)))
            .collect();
        json += &format!("{{{}}}\n", members.join(","));
    }
    (w3c, json)
}

/// The content of a JSON string for `text`, without its quotes.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

proptest! {
    /// Any values, as v2 W3C and as v2 JSON lines: the same entries. Values
    /// are text W3C can carry (no TAB or line break); JSON may escape any of
    /// it (`"`, `\`, non-ASCII as `\u`).
    #[test]
    fn json_and_w3c_agree_on_any_values(
        rows in proptest::collection::vec(
            (
                "-|192\\.0\\.2\\.[0-9]{1,2}|2001:db8::[0-9a-f]{1,4}",
                "-|[0-9]{3}",
                "[^\t\r\n]{0,12}",
                "[^\t\r\n]{0,12}",
                "-|[0-9]{1,3}\\.[0-9]{3}",
                "[^\t\r\n]{0,12}",
            )
                .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f]),
            1..4,
        ),
        ascii_escapes in any::<bool>(),
    ) {
        // A W3C line that starts with `#` is a header, whatever follows.
        prop_assume!(rows.iter().all(|row| !row[0].starts_with('#')));
        let names = ["c-ip", "sc-status", "cs-uri-stem", "cs(User-Agent)", "time-taken", "x-custom"];
        let (w3c, json) = w3c_and_json(&names, &rows, |v| {
            if ascii_escapes {
                // Every non-ASCII character as a \u escape.
                v.chars()
                    .map(|c| match c {
                        c if c.is_ascii() => json_escaped(&c.to_string()),
                        c => c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect(),
                    })
                    .collect::<String>()
            } else {
                json_escaped(v)
            }
        });
        // A rejected row (every value `-` or empty: `no_values`) is at
        // another line in each: the W3C file has two header lines.
        let expected = without_positions(ndjson(w3c.as_bytes(), &DecoderBuilder::new()));
        prop_assert_eq!(without_positions(ndjson(json.as_bytes(), &DecoderBuilder::new())), expected);
    }
}

/// The property's rare case, always: a row without any value is rejected
/// in both formats, for the same reason.
#[test]
fn a_row_without_values_is_rejected_in_both_formats() {
    let names = ["c-ip", "sc-status", "cs-uri-stem"];
    let rows = vec![vec!["-".to_string(), "-".into(), String::new()]];
    let (w3c, json) = w3c_and_json(&names, &rows, json_escaped);
    let expected = without_positions(ndjson(w3c.as_bytes(), &DecoderBuilder::new()));
    assert_eq!(
        expected,
        [r#"error: no field has a value (every cell is empty or "-")"#]
    );
    assert_eq!(
        without_positions(ndjson(json.as_bytes(), &DecoderBuilder::new())),
        expected
    );
}

/// `ndjson`'s lines with the position taken out of each error.
fn without_positions(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| match line.strip_prefix("error: line ") {
            Some(rest) => format!("error: {}", rest.split_once("): ").map_or(rest, |(_, m)| m)),
            None => line,
        })
        .collect()
}
