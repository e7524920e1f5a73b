//! Property tests: generated records round-trip through the parser, and
//! arbitrary input never panics nor moves positions backwards.

use std::net::IpAddr;
use std::time::Duration;

use cflog_core::contract::Selection;
use cflog_core::json::JsonWriter;
use cflog_core::{Decoded, DecoderBuilder, Field, LogLine, Record, Schema};
use percent_encoding::{AsciiSet, CONTROLS, percent_encode};
use proptest::prelude::*;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// CloudFront's escaping (format specification §2.1): controls, space,
/// non-ASCII, and 16 punctuation characters, `%` included.
const CLOUDFRONT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'~')
    .add(b'[')
    .add(b']')
    .add(b'`')
    .add(b'\'');

/// One generated request, with what each field should read back as.
#[derive(Clone, Debug)]
struct Request {
    at: OffsetDateTime,
    status: u16,
    sc_bytes: Option<u64>,
    client_ip: IpAddr,
    agent: Option<Vec<u8>>,
    time_taken: Duration,
    range_start: Option<i64>,
    port: Option<u16>,
    result: &'static str,
}

fn request() -> impl Strategy<Value = Request> {
    let at = (2000i32..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60).prop_map(
        |(y, mo, d, h, mi, s)| {
            let date = Date::from_calendar_date(y, Month::try_from(mo).unwrap(), d).unwrap();
            PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap()).assume_utc()
        },
    );
    (
        at,
        0u16..1000,
        proptest::option::of(any::<u64>()),
        any::<IpAddr>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)),
        (0u64..10_000_000).prop_map(Duration::from_millis),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u16>()),
        proptest::sample::select(vec![
            "Hit",
            "Miss",
            "Error",
            "LambdaGeneratedResponse",
            "SomethingNew",
        ]),
    )
        .prop_map(
            |(at, status, sc_bytes, client_ip, agent, time_taken, range_start, port, result)| {
                Request {
                    at,
                    status,
                    sc_bytes,
                    client_ip,
                    agent,
                    time_taken,
                    range_start,
                    port,
                    result,
                }
            },
        )
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Writes `request` as CloudFront would, in the column order of `names`.
fn write(request: &Request, names: &[&str], delimiter: &str) -> String {
    let cells: Vec<String> = names
        .iter()
        .map(|name| match *name {
            "date" => format!(
                "{:04}-{:02}-{:02}",
                request.at.year(),
                request.at.month() as u8,
                request.at.day()
            ),
            "time" => format!(
                "{:02}:{:02}:{:02}",
                request.at.hour(),
                request.at.minute(),
                request.at.second()
            ),
            "sc-status" => format!("{:03}", request.status),
            "sc-bytes" => or_dash(request.sc_bytes),
            "c-ip" => request.client_ip.to_string(),
            "cs(User-Agent)" => or_dash(
                request
                    .agent
                    .as_ref()
                    .map(|a| percent_encode(a, CLOUDFRONT).to_string()),
            ),
            "time-taken" => {
                let ms = request.time_taken.as_millis();
                format!("{}.{:03}", ms / 1000, ms % 1000)
            }
            "sc-range-start" => or_dash(request.range_start),
            "c-port" => or_dash(request.port),
            "x-edge-result-type" => request.result.to_string(),
            _ => "x".to_string(),
        })
        .collect();
    cells.join(delimiter)
}

const NAMES: [&str; 11] = [
    "date",
    "time",
    "sc-status",
    "sc-bytes",
    "c-ip",
    "cs(User-Agent)",
    "time-taken",
    "sc-range-start",
    "c-port",
    "x-edge-result-type",
    "x-unknown-column",
];

/// Failures are kept in `proptest-regressions/` (committed) and replayed
/// first on every run.
fn config() -> ProptestConfig {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/proptest-regressions/properties.txt"
    );
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(file),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_records_parse_back_equal(
        request in request(),
        order in Just(NAMES.to_vec()).prop_shuffle(),
        // Delimiters CloudFront escapes inside values, as a v2 delivery needs.
        delimiter in proptest::sample::select(vec!["\t", "|", " | "]),
    ) {
        let schema = Schema::from_names(order.iter().copied())
            .unwrap()
            .with_delimiter(cflog_core::Delimiter::new(delimiter.as_bytes()).unwrap());
        let text = write(&request, &order, delimiter);
        let mut ends = Vec::new();
        let line = LogLine::parse(text.as_bytes(), &schema, &mut ends).unwrap();
        prop_assert_eq!(line.timestamp().unwrap(), Some(request.at));
        prop_assert_eq!(line.status().unwrap(), Some(request.status));
        prop_assert_eq!(line.sc_bytes().unwrap(), request.sc_bytes);
        prop_assert_eq!(line.client_ip().unwrap(), Some(request.client_ip));
        // A User-Agent of `-` is logged as `-` (CloudFront does not escape
        // it), which is the log's "no value": it reads back as missing.
        let logged_agent = request.agent.clone().filter(|agent| agent != b"-");
        let agent = line.get(Field::UserAgent).map(|v| v.decoded().into_owned());
        prop_assert_eq!(agent, logged_agent.clone());
        prop_assert_eq!(line.time_taken().unwrap(), Some(request.time_taken));
        prop_assert_eq!(line.range_start().unwrap(), request.range_start);
        prop_assert_eq!(line.client_port().unwrap(), request.port);
        prop_assert_eq!(line.edge_result_type().unwrap().unwrap().as_str(), request.result);

        // The JSON contract carries the same values.
        let mut out = Vec::new();
        JsonWriter::new(Selection::all()).write(&line, &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(json["sc_status"].as_u64(), Some(u64::from(request.status)));
        prop_assert_eq!(json["sc_bytes"].as_u64(), request.sc_bytes);
        prop_assert_eq!(json["c_ip"].as_str().map(|s| s.parse::<IpAddr>().unwrap()), Some(request.client_ip));
        // The decimal text, read as JSON readers read it (`as_secs_f64` may
        // round differently: 9.649 s gives 9.649000000000001).
        let seconds = format!("{}.{:09}", request.time_taken.as_secs(), request.time_taken.subsec_nanos());
        prop_assert_eq!(json["time_taken"].as_f64(), Some(seconds.parse::<f64>().unwrap()));
        prop_assert_eq!(json["x_unknown_column"].as_str(), Some("x"));
        let agent = logged_agent.as_ref().map(|a| String::from_utf8_lossy(a).into_owned());
        prop_assert_eq!(json["cs_user_agent"].as_str().map(str::to_owned), agent);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_positions_move_forward(
        input in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\t'), Just(b'\n'), Just(b'#'), Just(b'-')], 0..2000),
        chunk in 1usize..64,
        max in 1usize..200,
    ) {
        let mut builder = DecoderBuilder::new();
        builder.max_line_len(max);
        let mut decoder = builder.build();
        let mut record = Record::new();
        let mut json = JsonWriter::new(Selection::all());
        let mut last = (0u64, 0u64);
        let mut out = Vec::new();
        let mut check = |result: cflog_core::Result<Decoded>, record: &Record| -> Result<bool, TestCaseError> {
            let pos = match &result {
                Ok(Decoded::Record) => {
                    let line = record.line();
                    let _ = (line.timestamp(), line.status(), line.client_ip(), line.time_taken());
                    let _ = line.query_params().map(|q| q.iter().count());
                    let _ = json.write(&line, &mut out);
                    record.position()
                }
                Ok(_) => return Ok(false),
                Err(e) => e.position().unwrap(),
            };
            prop_assert!(pos.line() > last.0 && pos.byte() >= last.1, "{:?} after {:?}", pos, last);
            last = (pos.line(), pos.byte());
            Ok(true)
        };
        for piece in input.chunks(chunk) {
            let mut piece = piece;
            loop {
                let (result, used) = decoder.decode(piece, &mut record);
                piece = &piece[used..];
                if !check(result, &record)? {
                    break;
                }
            }
        }
        while check(decoder.finish(&mut record), &record)? {}
        let stats = decoder.stats();
        prop_assert_eq!(stats.bytes, input.len() as u64);
        prop_assert_eq!(stats.records + stats.rejected + stats.header_lines + stats.blank_lines, stats.lines);
    }

    #[test]
    fn any_header_builds_a_schema_or_an_error(header in ".{0,300}") {
        let line = format!("#Fields: {header}");
        if let Ok(schema) = Schema::from_fields_header(line.as_bytes()) {
            prop_assert_eq!(schema.len(), header.split_ascii_whitespace().count());
        }
    }
}
