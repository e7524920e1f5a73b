//! The JSON writer against the simple path beside it: `Serialize for
//! LogLine`, which reads every value through the typed accessors (std's
//! parsers behind them) and writes it with serde_json. The writer's fast
//! paths (byte masks, chunked copies, canonical addresses copied as they
//! are) must give the same objects and fail on the same lines.

use cflog_core::LogLine;
use cflog_core::json::JsonWriter;
use serde_json::Value;

/// Writes `line` both ways: both must fail, or both must give the same
/// object.
pub fn check(line: &LogLine<'_>, writer: &mut JsonWriter) {
    let mut written = Vec::new();
    let fast = writer.write(line, &mut written);
    let slow = serde_json::to_vec(line);
    match (fast, slow) {
        (Ok(()), Ok(expected)) => {
            let written: Value = serde_json::from_slice(&written).expect("the writer writes JSON");
            let expected: Value = serde_json::from_slice(&expected).expect("serde writes JSON");
            assert!(
                same(&written, &expected),
                "writer: {written}\nserde:  {expected}"
            );
        }
        (Err(_), Err(_)) => {}
        (fast, slow) => panic!(
            "the writer gives {fast:?}, serde {:?}",
            slow.map(|json| String::from_utf8_lossy(&json).into_owned())
        ),
    }
}

/// Equal values, where numbers are equal as numbers: the writer writes
/// durations as exact decimals and serde through the nearest `f64`, which
/// may read back a unit in the last place apart.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-15 * x.abs().max(y.abs()),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && same(x, y))
        }
        _ => a == b,
    }
}
