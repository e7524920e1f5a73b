//! Helpers for the tests of the `cflog` binary: the binary, the test data,
//! and a naive reading of raw log lines that expected values are computed
//! from (never from cflog's own output).

#![allow(dead_code)] // Each test file uses its own part of these helpers.

use std::collections::HashMap;
use std::path::PathBuf;

/// The `cflog` binary under test.
pub fn cflog() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_cflog"));
    // No ambient S3 settings, and no progress bar (stderr is a pipe anyway).
    command.env_remove("CFLOG_S3_PATH_STYLE");
    command
}

/// The same binary as a plain `std::process::Command`, for pipes.
pub fn cflog_std() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cflog"));
    command.env_remove("CFLOG_S3_PATH_STYLE");
    command
}

/// A file of the workspace's `testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// The text of a `testdata/` file.
pub fn testdata_text(name: &str) -> String {
    String::from_utf8(std::fs::read(testdata(name)).unwrap()).unwrap()
}

/// One data line of a log, read naively: the header names in force and the
/// line split on the delimiter.
#[derive(Clone, Debug)]
pub struct RawRecord {
    /// 1-based line number in the file.
    pub line: usize,
    pub fields: HashMap<String, String>,
}

impl RawRecord {
    /// The raw value of a field by its CloudFront name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| *v != "-" && !v.is_empty())
    }
}

/// Every line of `text` that is neither a header nor blank, paired with the
/// `#Fields` names in force, split on `delimiter`. Lines whose field count
/// does not match are returned in the second list (by line number).
pub fn raw_records(text: &str, delimiter: &str) -> (Vec<RawRecord>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix("#Fields:") {
            let new: Vec<String> = header.split_whitespace().map(str::to_owned).collect();
            if new.is_empty() {
                bad.push(i + 1);
            } else {
                names = new;
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let mut values: Vec<&str> = line.split(delimiter).collect();
        // A trailing empty cell beyond the header is tolerated.
        if values.len() == names.len() + 1 && values.last() == Some(&"") {
            values.pop();
        }
        if values.len() != names.len() {
            bad.push(i + 1);
            continue;
        }
        records.push(RawRecord {
            line: i + 1,
            fields: names
                .iter()
                .cloned()
                .zip(values.iter().map(|v| v.to_string()))
                .collect(),
        });
    }
    (records, bad)
}

/// Undoes one level of `%XX` escaping, the way the JSON contract decodes
/// text: bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The NDJSON objects of `stdout`, each line checked to be one object.
pub fn objects(stdout: &[u8]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let text = std::str::from_utf8(stdout).expect("NDJSON is UTF-8");
    text.lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(serde_json::Value::Object(map)) => map,
            other => panic!("not a JSON object: {line:?} ({other:?})"),
        })
        .collect()
}

/// A deterministic, realistic 33-field log of `lines` records, with a
/// request ID of `{tag}-{n}` on record `n` so that tests can check order.
/// Values cycle through small pools at co-prime strides, so every
/// combination occurs and the counts are not uniform.
pub fn synthetic_log(tag: &str, lines: usize) -> String {
    const EDGES: [&str; 5] = ["IAD89-P1", "FRA56-C1", "LAX1", "NRT57-P2", "FRA56-C1"];
    const IPS: [&str; 7] = [
        "192.0.2.1",
        "198.51.100.7",
        "2001:db8::1",
        "192.0.2.1",
        "203.0.113.9",
        "192.0.2.1",
        "2001:0db8:0000::0001",
    ];
    const PATHS: [&str; 6] = [
        "/index.html",
        "/img/a%20b.png",
        "/api/v1/items",
        "/caf%C3%A9",
        "/index.html",
        "/",
    ];
    const STATUSES: [&str; 11] = [
        "200", "200", "200", "304", "404", "500", "503", "000", "301", "200", "206",
    ];
    const RESULTS: [&str; 8] = [
        "Hit",
        "Hit",
        "Miss",
        "RefreshHit",
        "Error",
        "Redirect",
        "LimitExceeded",
        "Hit",
    ];
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0%20(X11;%20Linux%20x86_64)",
        "curl/8.5.0",
        "Googlebot/2.1%20(+http://www.google.com/bot.html)",
        "-",
    ];
    const REFERERS: [&str; 3] = [
        "-",
        "https://www.example.com/",
        "https://search.example/?q=a%20b",
    ];
    let mut out = String::from(
        "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
         cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) \
         x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken \
         x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type \
         cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte \
         x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n",
    );
    for n in 0..lines {
        // 30 hours from 2024-03-14T00:00:00Z, a few seconds apart.
        let second = (n * 7919) % (30 * 3600);
        let (day, hour) = (14 + second / 86400, (second / 3600) % 24);
        let (minute, sec) = ((second / 60) % 60, second % 60);
        let result = RESULTS[n % RESULTS.len()];
        let bytes = if n % 13 == 0 {
            "-".to_owned()
        } else {
            (100 + n * 37 % 5000).to_string()
        };
        let fields = [
            format!("2024-03-{day:02}"),
            format!("{hour:02}:{minute:02}:{sec:02}"),
            EDGES[n % 5].to_owned(),
            bytes,
            IPS[n % 7].to_owned(),
            "GET".to_owned(),
            "d111111abcdef8.cloudfront.net".to_owned(),
            PATHS[(n * 5) % 6].to_owned(),
            STATUSES[n % 11].to_owned(),
            REFERERS[n % 3].to_owned(),
            AGENTS[(n / 2) % 4].to_owned(),
            if n % 4 == 0 {
                "a=1&b=x%2520y".to_owned()
            } else {
                "-".to_owned()
            },
            "-".to_owned(),
            result.to_owned(),
            format!("{tag}-{n}"),
            "www.example.com".to_owned(),
            "https".to_owned(),
            "512".to_owned(),
            format!("0.{:03}", (n * 131) % 1000),
            "-".to_owned(),
            "TLSv1.3".to_owned(),
            "TLS_AES_128_GCM_SHA256".to_owned(),
            result.to_owned(),
            "HTTP/2.0".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
            (1024 + n % 60000).to_string(),
            "0.001".to_owned(),
            result.to_owned(),
            "text/html".to_owned(),
            "78".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
        ];
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

/// `data` as gzip.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    cflog_testkit::gzip(data)
}

/// The binary, configured for `server` the way a user configures any
/// S3-compatible endpoint, and isolated from this machine's AWS files.
pub fn cflog_for(server: &cflog_testkit::S3Server) -> assert_cmd::Command {
    let mut command = cflog();
    command
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", cflog_testkit::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", cflog_testkit::SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/cflog-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/cflog-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    command
}
