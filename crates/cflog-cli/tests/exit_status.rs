//! The exit statuses a script can trust, one test per row of the table in
//! `cflog --help` and the README:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | every line read (an empty input says so on stderr) |
//! | 1 | some lines rejected, or `--strict` stopped at the first |
//! | 2 | an input failed: unreadable, or lines of which none is an entry |
//!
//! "None is an entry" is `Summary::is_not_a_log`, the test by which the
//! Lambda fails an object as `NotACloudFrontLog`.

mod common;

use common::{cflog, synthetic_log, testdata};
use predicates::prelude::*;

#[test]
fn every_line_read_is_0() {
    cflog()
        .arg(testdata("aws-docs-33-fields.log"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("6 entries, 0 rejected"));
}

#[test]
fn an_empty_input_is_0_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let headers = dir.path().join("headers.log");
    std::fs::write(&headers, "#Version: 1.0\n#Fields: date time sc-status\n\n").unwrap();
    cflog()
        .arg("--jobs=1")
        .arg(&empty)
        .arg(&headers)
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "empty input: {}",
            empty.display()
        )))
        .stderr(predicate::str::contains(format!(
            "no entry in {}: only headers and blank lines",
            headers.display()
        )));
    cflog()
        .arg("-")
        .write_stdin("")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("empty input: <stdin>"));
}

#[test]
fn some_lines_rejected_is_1() {
    let mut log = synthetic_log("a", 1000);
    log.push_str("one line that is not an entry\n");
    cflog()
        .arg("-")
        .write_stdin(log)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1,000 entries, 1 rejected"));
}

#[test]
fn strict_stops_at_the_first_rejected_line_with_1() {
    cflog()
        .arg("--strict")
        .arg(testdata("bad-lines.log"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("(--strict)"));
}

#[test]
fn an_input_that_cannot_be_read_is_2() {
    let dir = tempfile::tempdir().unwrap();
    cflog()
        .arg(testdata("aws-docs-33-fields.log"))
        .arg(dir.path().join("nope.gz"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.gz: No such file"));
}

/// Application JSON logs and random bytes have lines, and none is a
/// CloudFront entry: not one bad line among many, but the wrong input.
#[test]
fn an_input_that_is_not_a_cloudfront_log_is_2() {
    let json = "{\"level\":\"info\",\"msg\":\"started\",\"port\":8080}\n\
                {\"level\":\"warn\",\"msg\":\"slow request\",\"ms\":912}\n";
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for input in [json.as_bytes().to_vec(), binary] {
        cflog()
            .arg("-")
            .write_stdin(input)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "no line is a CloudFront log entry",
            ));
    }
    // Beside a good input the run still fails, and the good entries are
    // written.
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.log");
    std::fs::write(&app, json).unwrap();
    let output = cflog()
        .arg(testdata("aws-docs-33-fields.log"))
        .arg(&app)
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(common::objects(&output.stdout).len(), 6);
}
