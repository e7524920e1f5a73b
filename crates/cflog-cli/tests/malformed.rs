//! Malformed input end to end: one table of cases, each an input built here
//! (never a large committed file), how it is fed to `cflog` (a file or
//! stdin), and what must come out: the entries written, the lines rejected
//! with their reason and line number, the header and blank lines, the exit
//! status, and the peak RSS of the `cflog` process (under 64 MB for every
//! case, the big inputs included).
//!
//! Expected values come from how each case is built ("one good line, then a
//! bad one at line 4"), never from cflog's output. The rules they follow:
//!
//! * exit 0 when every line parsed (an empty input too); 1 when lines were
//!   rejected; 2 when an input could not be read to its end (corrupt or
//!   truncated gzip, another compression, I/O), or when it has lines and
//!   none of them is an entry (not a CloudFront log);
//! * entries parsed before a gzip failure are written, and a line the
//!   failure cut off is rejected as `truncated`;
//! * zlib, bzip2, zstd and xz fail with an error naming the compression;
//! * a JSON line is an entry only if it is an object of strings or nulls
//!   with a known CloudFront key and no repeated key (else `json`);
//! * a line without any value (every cell empty or `-`) is `no_values`;
//! * a bad `#Fields` header is `header` and the previous schema stays;
//! * a line holding a CR that does not end in LF is `bare_cr`;
//! * lines over 64 KiB are `line_too_long`, never buffered;
//! * bad dates, times, statuses, numbers and IPs are `field_value`.
//!
//! The summary lists rejected lines by line number and counts them by
//! reason, but does not print the reason of each listed line: a case with
//! one rejected line pins its reason to its line; with several, the line
//! numbers and the count per reason are checked.
//!
//! Every case runs even when one fails; the test then panics with the list
//! of mismatches. The two big inputs have their own tests so that they can
//! be run alone: `cargo test -p cflog-cli --test malformed big_`.

mod common;

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};

/// The bound on the peak RSS of `cflog`, for every case.
const RSS_LIMIT_KB: u64 = 64 * 1024;

/// The default line limit (`--max-line-bytes`).
const MAX_LINE: usize = 64 * 1024;

/// The current 33-field layout, in its `#Fields` order.
const FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// A good value for each of `FIELDS`, after a real 2025 line.
const VALUES: [&str; 33] = [
    "2025-12-11",
    "05:45:16",
    "HEL51-P6",
    "1571170",
    "192.0.2.1",
    "GET",
    "d111111abcdef8.cloudfront.net",
    "/index.xml",
    "200",
    "-",
    "curl/8.5.0",
    "-",
    "-",
    "Hit",
    "PMM3eQajp4dPZBFsjvcTo9zUVnxhA51W9vHoch-vq0bc9NM1aR5-5A==",
    "www.example.com",
    "https",
    "589",
    "0.051",
    "-",
    "TLSv1.3",
    "TLS_AES_128_GCM_SHA256",
    "Hit",
    "HTTP/1.1",
    "-",
    "-",
    "59472",
    "0.026",
    "Hit",
    "application/rss+xml",
    "1570556",
    "-",
    "-",
];

/// `#Version` and the 33-field `#Fields`: lines 1 and 2 of a standard log.
fn header() -> String {
    format!("#Version: 1.0\n#Fields: {}\n", FIELDS.join(" "))
}

/// A good 33-field line, without its line end.
fn good() -> Vec<u8> {
    with(&[])
}

/// A 33-field line with the named fields' values replaced.
fn with(overrides: &[(&str, &[u8])]) -> Vec<u8> {
    let mut cells: Vec<&[u8]> = VALUES.iter().map(|v| v.as_bytes()).collect();
    for (name, value) in overrides {
        let i = FIELDS.iter().position(|f| f == name).expect("a field name");
        cells[i] = value;
    }
    cells.join(&b'\t')
}

/// A standard log: the two header lines, then `lines` (line 3 onwards),
/// each ended by LF.
fn std_log(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header().into_bytes();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

/// A v2 JSON log: a good object on line 1, then `line` on line 2.
fn json_after_good(line: &str) -> Vec<u8> {
    format!(
        "{{\"date\":\"2024-11-15\",\"time\":\"19:45:51\",\"x-edge-location\":\"SOF50-P2\",\"sc-status\":\"200\"}}\n{line}\n"
    )
    .into_bytes()
}

/// `data` as gzip at `level`, one member.
fn gzip_at(data: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), level);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// What an independent decoder (flate2's) gets out of `gz` before its
/// first error, and whether there was one.
fn gunzip_prefix(gz: &[u8]) -> (Vec<u8>, bool) {
    let mut decoder = flate2::read::MultiGzDecoder::new(gz);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => return (out, false),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, true),
        }
    }
}

/// Deterministic bytes that are neither a line end, a TAB, a CR nor the
/// start of a header, JSON or any compression's magic: binary junk.
fn junk(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = (state >> 24) as u8;
        if !matches!(
            b,
            b'\n' | b'\r' | b'\t' | b'#' | b'{' | 0x1f | 0x28 | 0x42 | 0x78 | 0xfd
        ) {
            out.push(b);
        }
    }
    out
}

/// How the input reaches `cflog`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Feed {
    /// A temporary file, named on the command line.
    File,
    /// A pipe on stdin (`-`), written by a thread as `cflog` reads.
    Stdin,
}

/// A writer of the input, so that big inputs are streamed, never held.
type Source = Box<dyn Fn(&mut dyn Write) -> io::Result<()> + Send + Sync>;

/// One row of the table.
struct Case {
    name: &'static str,
    feed: Feed,
    source: Source,
    expect: Expect,
}

/// What a case must produce.
#[derive(Clone, Debug, Default)]
struct Expect {
    /// Entries written to stdout, and counted in the summary.
    entries: u64,
    /// Rejected lines: (line number, reason).
    rejected: Vec<(u64, &'static str)>,
    header: u64,
    blank: u64,
    status: i32,
    /// The input fails (exit 2) with an error containing this.
    failure: Option<&'static str>,
    /// The first listed rejected line's message contains this.
    message: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, feed: Feed, input: Vec<u8>) -> Case {
        Case::streamed(name, feed, move |out| out.write_all(&input))
    }

    fn streamed(
        name: &'static str,
        feed: Feed,
        source: impl Fn(&mut dyn Write) -> io::Result<()> + Send + Sync + 'static,
    ) -> Case {
        Case {
            name,
            feed,
            source: Box::new(source),
            expect: Expect::default(),
        }
    }

    fn entries(mut self, n: u64) -> Case {
        self.expect.entries = n;
        self
    }

    fn header(mut self, n: u64) -> Case {
        self.expect.header = n;
        self
    }

    fn blank(mut self, n: u64) -> Case {
        self.expect.blank = n;
        self
    }

    fn rejected(mut self, line: u64, reason: &'static str) -> Case {
        self.expect.rejected.push((line, reason));
        self
    }

    fn exit(mut self, status: i32) -> Case {
        self.expect.status = status;
        self
    }

    fn failure(mut self, word: &'static str) -> Case {
        self.expect.failure = Some(word);
        self
    }

    fn message(mut self, text: &'static str) -> Case {
        self.expect.message = Some(text);
        self
    }
}

/// What one run of `cflog` gave.
#[derive(Debug)]
struct Run {
    /// The exit status, or minus the signal that ended it.
    status: i32,
    /// NDJSON lines written to stdout.
    written: u64,
    /// Lines of stdout that are not JSON objects (the first few).
    not_objects: Vec<String>,
    stderr: String,
    /// The input's name in cflog's messages.
    input: String,
    /// Peak RSS of the child (`ru_maxrss` from `wait4`), in KiB.
    max_rss_kb: u64,
    /// This test process's own peak RSS when the child was started. Linux
    /// carries the parent's peak into a spawned child's `ru_maxrss` (the
    /// child starts in the parent's memory until it execs), so the child's
    /// figure is an upper bound, and exact when above this one.
    parent_rss_kb: u64,
    elapsed: Duration,
    timed_out: bool,
}

/// This process's peak RSS (`VmHWM`), in KiB.
fn own_peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `cflog` on `case`'s input. With `check_objects`, every stdout line
/// is parsed as JSON; without, lines are only counted (for big outputs).
fn run(case: &Case, check_objects: bool, timeout: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_cflog"));
    command.env_remove("CFLOG_S3_PATH_STYLE");
    let input = match case.feed {
        Feed::File => {
            let mut file = io::BufWriter::new(std::fs::File::create(&path).unwrap());
            (case.source)(&mut file).unwrap();
            file.flush().unwrap();
            command.arg(&path).stdin(Stdio::null());
            path.display().to_string()
        }
        Feed::Stdin => {
            command.arg("-").stdin(Stdio::piped());
            "<stdin>".to_owned()
        }
    };
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let parent_rss_kb = own_peak_rss_kb();
    let started = Instant::now();
    let mut child = command.spawn().expect("cflog starts");
    let pid = child.id() as libc::pid_t;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::scope(|scope| {
        if let Some(stdin) = stdin {
            scope.spawn(|| {
                let mut stdin = io::BufWriter::with_capacity(1 << 16, stdin);
                // cflog may stop reading early (a failed input): a closed
                // pipe here is not an error of the test.
                let _ = (case.source)(&mut stdin).and_then(|()| stdin.flush());
            });
        }
        let out = scope.spawn(move || read_stdout(stdout, check_objects));
        let err = scope.spawn(move || {
            let mut text = Vec::new();
            stderr.read_to_end(&mut text).unwrap();
            String::from_utf8_lossy(&text).into_owned()
        });
        // A watchdog, so that a hang fails the case instead of the run.
        let (done, finished) = mpsc::channel::<()>();
        let watchdog = scope.spawn(move || {
            let expired = finished.recv_timeout(timeout).is_err();
            if expired {
                // Safety: the child is not reaped until this thread ends.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            expired
        });
        // Wait for the exit but leave the child unreaped, so that its pid
        // cannot be reused while the watchdog may still kill it.
        // Safety: plain system calls on our own child, with valid pointers.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            );
        }
        let _ = done.send(());
        let timed_out = watchdog.join().unwrap();
        let mut status = 0;
        // Safety: as above; `rusage` is plain data.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::wait4(pid, &mut status, 0, &mut usage);
            usage
        };
        let elapsed = started.elapsed();
        let status = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        };
        let (written, not_objects) = out.join().unwrap();
        // `child` is already reaped: dropping it neither waits nor kills.
        drop(child);
        Run {
            status,
            written,
            not_objects,
            stderr: err.join().unwrap(),
            input,
            max_rss_kb: usage.ru_maxrss as u64,
            parent_rss_kb,
            elapsed,
            timed_out,
        }
    })
}

/// Counts the NDJSON lines of `stdout`, checking each is an object.
fn read_stdout(stdout: impl Read, check_objects: bool) -> (u64, Vec<String>) {
    let mut reader = BufReader::with_capacity(1 << 20, stdout);
    let mut written = 0;
    let mut bad = Vec::new();
    if !check_objects {
        loop {
            let buf = reader.fill_buf().unwrap();
            if buf.is_empty() {
                return (written, bad);
            }
            written += memchr::memchr_iter(b'\n', buf).count() as u64;
            let n = buf.len();
            reader.consume(n);
        }
    }
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).unwrap() > 0 {
        written += 1;
        let ok = line.ends_with(b"\n")
            && matches!(
                serde_json::from_slice::<serde_json::Value>(&line),
                Ok(serde_json::Value::Object(_))
            );
        if !ok && bad.len() < 3 {
            let cut = &line[..line.len().min(200)];
            bad.push(String::from_utf8_lossy(cut).into_owned());
        }
        line.clear();
    }
    (written, bad)
}

/// The summary on stderr, read back.
#[derive(Debug, Default)]
struct Summary {
    lines: u64,
    entries: u64,
    rejected: u64,
    header: u64,
    blank: u64,
    /// `N rejected lines: 3 field_count, 1 json`.
    reasons: BTreeMap<String, u64>,
    /// `  input:line: message`.
    listed: Vec<(u64, String)>,
    /// `    input (N rejected)`, for an input without any entry.
    not_log: Option<u64>,
    /// `input: message`, an input that could not be read.
    failures: Vec<String>,
}

fn number(text: &str) -> Option<u64> {
    text.replace(',', "").parse().ok()
}

/// Reads the summary of `stderr`; `None` without a counts line.
fn summary(stderr: &str, input: &str) -> Option<Summary> {
    let mut s = Summary::default();
    let mut counts = false;
    for line in stderr.lines() {
        let Some(line) = line.strip_prefix("cflog: ") else {
            continue;
        };
        if let Some((head, rest)) = line
            .split_once(" lines: ")
            .or_else(|| line.split_once(" line: "))
            && !counts
            && !line.starts_with(' ')
            && head.contains("input")
        {
            // `1 input (gzip), 5 lines: 3 entries, 1 rejected, 1 header, 0 blank; …`
            // (`1 line: …` for one)
            counts = true;
            s.lines = number(head.rsplit(' ').next()?)?;
            let rest = rest.split(';').next()?;
            for part in rest.split(", ") {
                let (n, what) = part.split_once(' ')?;
                let n = number(n)?;
                match what {
                    "entries" | "entry" => s.entries = n,
                    "rejected" => s.rejected = n,
                    "header" => s.header = n,
                    "blank" => s.blank = n,
                    _ => return None,
                }
            }
        } else if let Some(rest) = line.strip_prefix(&format!("  {input}:")) {
            let (n, message) = rest.split_once(": ").unwrap_or((rest, ""));
            if let Some(n) = number(n) {
                s.listed.push((n, message.to_owned()));
            }
        } else if let Some(rest) = line.strip_prefix(&format!("    {input} (")) {
            s.not_log = rest.strip_suffix(" rejected)").and_then(number);
        } else if let Some(message) = line.strip_prefix(&format!("{input}: ")) {
            s.failures.push(message.to_owned());
        } else if let Some((head, reasons)) = line.split_once(": ")
            && (head.ends_with(" rejected line") || head.ends_with(" rejected lines"))
        {
            for part in reasons.split(", ") {
                if let Some((n, reason)) = part.split_once(' ')
                    && let Some(n) = number(n)
                {
                    s.reasons.insert(reason.to_owned(), n);
                }
            }
        }
    }
    counts.then_some(s)
}

/// The mismatches between `run` and `expect` (empty when it passed).
fn check(expect: &Expect, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |problem: String| problems.push(problem);
    if run.timed_out {
        fail("timed out and was killed".into());
    }
    if run.status != expect.status {
        fail(format!(
            "exit status {} (expected {})",
            run.status, expect.status
        ));
    }
    if run.written != expect.entries {
        fail(format!(
            "{} entries written (expected {})",
            run.written, expect.entries
        ));
    }
    if !run.not_objects.is_empty() {
        fail(format!(
            "stdout lines not JSON objects: {:?}",
            run.not_objects
        ));
    }
    if run.max_rss_kb >= RSS_LIMIT_KB {
        fail(format!(
            "peak RSS {} KiB, not under {} KiB (this test process: {} KiB)",
            run.max_rss_kb, RSS_LIMIT_KB, run.parent_rss_kb
        ));
    }
    let Some(s) = summary(&run.stderr, &run.input) else {
        fail("no summary counts line on stderr".into());
        return problems;
    };
    if s.entries + s.rejected + s.header + s.blank != s.lines {
        fail(format!(
            "summary: {} entries + {} rejected + {} header + {} blank != {} lines",
            s.entries, s.rejected, s.header, s.blank, s.lines
        ));
    }
    if s.entries != run.written {
        fail(format!(
            "summary says {} entries, {} were written",
            s.entries, run.written
        ));
    }
    let rejected = expect.rejected.len() as u64;
    let lines = expect.entries + rejected + expect.header + expect.blank;
    let counts = [
        ("lines", s.lines, lines),
        ("rejected", s.rejected, rejected),
        ("header", s.header, expect.header),
        ("blank", s.blank, expect.blank),
    ];
    for (what, got, want) in counts {
        if got != want {
            fail(format!("summary: {got} {what} (expected {want})"));
        }
    }
    let mut reasons = BTreeMap::new();
    for (_, reason) in &expect.rejected {
        *reasons.entry(reason.to_string()).or_insert(0) += 1;
    }
    if s.reasons != reasons {
        fail(format!(
            "rejected by reason {:?} (expected {reasons:?})",
            s.reasons
        ));
    }
    // An input without any entry is named once, its lines not listed.
    if expect.entries == 0 && rejected > 0 {
        if s.not_log != Some(rejected) {
            fail(format!(
                "not named as an input without entries with {rejected} rejected ({:?})",
                s.not_log
            ));
        }
    } else {
        let mut want: Vec<u64> = expect.rejected.iter().map(|(line, _)| *line).collect();
        want.sort_unstable();
        want.truncate(10);
        let got: Vec<u64> = s.listed.iter().map(|(line, _)| *line).collect();
        if got != want {
            fail(format!("rejected lines listed {got:?} (expected {want:?})"));
        }
    }
    if let Some(text) = expect.message {
        let first = s.listed.first().map(|(_, m)| m.as_str()).unwrap_or("");
        if !first.contains(text) {
            fail(format!(
                "first rejected line's message {first:?} does not name {text:?}"
            ));
        }
    }
    match expect.failure {
        Some(word) => {
            let named = s
                .failures
                .iter()
                .any(|m| m.to_lowercase().contains(&word.to_lowercase()));
            if !named {
                fail(format!(
                    "no input error naming {word:?} (errors: {:?})",
                    s.failures
                ));
            }
            if !run.stderr.contains("could not be read") {
                fail("the summary does not say the input could not be read".into());
            }
        }
        None => {
            if !s.failures.is_empty() {
                fail(format!("unexpected input errors: {:?}", s.failures));
            }
        }
    }
    problems
}

/// Runs `cases` one after the other and panics with every mismatch.
fn run_all(cases: &[Case], check_objects: bool, timeout: Duration) {
    let mut failures = Vec::new();
    for case in cases {
        let run = run(case, check_objects, timeout);
        eprintln!(
            "{}: exit {}, {} entries, peak RSS {} KiB (test process {} KiB), {:.2} s",
            case.name,
            run.status,
            run.written,
            run.max_rss_kb,
            run.parent_rss_kb,
            run.elapsed.as_secs_f64()
        );
        let problems = check(&case.expect, &run);
        if !problems.is_empty() {
            let stderr: Vec<&str> = run.stderr.lines().take(8).collect();
            failures.push(format!(
                "{} ({:?}):\n    {}\n    stderr: {}",
                case.name,
                case.feed,
                problems.join("\n    "),
                stderr.join("\n            ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A standard log whose line 4 (after a good line 3) has `name` = `value`.
fn one_value(name: &str, value: &[u8]) -> Vec<u8> {
    std_log(&[good(), with(&[(name, value)])])
}

/// Line 4 holds a value that is valid: 2 entries, exit 0.
fn value_ok(name: &'static str, field: &str, value: &[u8], feed: Feed) -> Case {
    Case::new(name, feed, one_value(field, value))
        .header(2)
        .entries(2)
        .exit(0)
}

/// Line 4 holds a value that is not: 1 entry, line 4 `field_value`, exit 1.
fn value_bad(name: &'static str, field: &str, value: &[u8], feed: Feed) -> Case {
    Case::new(name, feed, one_value(field, value))
        .header(2)
        .entries(1)
        .rejected(4, "field_value")
        .exit(1)
}

fn cases() -> Vec<Case> {
    use Feed::{File, Stdin};
    let three_good = std_log(&[good(), good(), good()]);
    let mut cases = vec![
        // Other compressions: never read as text, the error names them.
        Case::new("zlib (real zlib data)", File, {
            let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
            z.write_all(&three_good).unwrap();
            z.finish().unwrap()
        })
        .exit(2)
        .failure("zlib"),
        Case::new("bzip2 magic", File, {
            let mut data = b"BZh91AY&SY".to_vec();
            data.extend(junk(500, 1));
            data
        })
        .exit(2)
        .failure("bzip2"),
        Case::new("zstd magic", Stdin, {
            let mut data = vec![0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10];
            data.extend(junk(500, 2));
            data
        })
        .exit(2)
        .failure("zstd"),
        Case::new("xz magic", File, {
            let mut data = vec![0xfd, b'7', b'z', b'X', b'Z', 0x00];
            data.extend(junk(500, 3));
            data
        })
        .exit(2)
        .failure("xz"),
    ];

    // A gzip cut inside its only (stored, so exactly predictable) block,
    // in the middle of line 6: lines 3-5 are entries, line 6 is cut off.
    {
        let data = std_log(&[good(), good(), good(), good(), good()]);
        let gz = gzip_at(&data, Compression::none());
        let line6 = data.len() - 2 * (good().len() + 1);
        // 10 bytes of gzip header, 5 of stored-block header.
        let cut = gz[..10 + 5 + line6 + 40].to_vec();
        let (prefix, failed) = gunzip_prefix(&cut);
        assert!(failed && prefix == data[..line6 + 40], "construction");
        cases.push(
            Case::new("gzip truncated mid-stream, mid-line", File, cut)
                .header(2)
                .entries(3)
                .rejected(6, "truncated")
                .exit(2)
                .failure("gzip"),
        );
    }
    // A compressed gzip cut at two thirds: whatever an independent decoder
    // gets out of it before the cut is what cflog must write.
    {
        let data = std_log(&(0..300).map(|_| good()).collect::<Vec<_>>());
        let gz = gzip_at(&data, Compression::default());
        let cut = gz[..gz.len() * 2 / 3].to_vec();
        let (prefix, failed) = gunzip_prefix(&cut);
        let complete = memchr::memchr_iter(b'\n', &prefix).count() as u64;
        assert!(failed && complete > 2, "construction");
        let mut case = Case::new("gzip truncated mid-deflate", Stdin, cut)
            .header(2)
            .entries(complete - 2)
            .exit(2)
            .failure("gzip");
        if !prefix.ends_with(b"\n") {
            case = case.rejected(complete + 1, "truncated");
        }
        cases.push(case);
    }
    cases.extend([
        // The first member ends at a line end; the second is cut in its
        // header: lines 3-5 are entries, nothing is cut off.
        Case::new("gzip second member truncated in its header", File, {
            let mut gz = common::gzip(&three_good);
            gz.extend_from_slice(&common::gzip(&std_log(&[good()]))[..6]);
            gz
        })
        .header(2)
        .entries(3)
        .exit(2)
        .failure("gzip"),
        // The first member ends in the middle of line 6, which the failure
        // then cuts off.
        Case::new("gzip truncated after a member ending mid-line", Stdin, {
            let mut data = three_good.clone();
            data.extend_from_slice(&good()[..50]);
            let mut gz = common::gzip(&data);
            gz.extend_from_slice(&common::gzip(&std_log(&[good()]))[..6]);
            gz
        })
        .header(2)
        .entries(3)
        .rejected(6, "truncated")
        .exit(2)
        .failure("gzip"),
        Case::new("gzip member followed by garbage", File, {
            let mut gz = common::gzip(&three_good);
            gz.extend_from_slice(b"\x00\x01 this is not a gzip member\n");
            gz
        })
        .header(2)
        .entries(3)
        .exit(2)
        .failure("gzip"),
        // Read to its end, no line at all: exit 0.
        Case::new(
            "empty gzip (a valid gzip of 0 bytes)",
            File,
            common::gzip(b""),
        )
        .exit(0),
        // Nothing to account for: no line, none rejected.
        Case::new("0-byte file", File, Vec::new()).exit(0),
        Case::new("only the 2 gzip magic bytes", File, vec![0x1f, 0x8b])
            .exit(2)
            .failure("gzip"),
        // 20 lines of binary junk: none is an entry under the default
        // 33-field layout, so it is not a CloudFront log.
        (1..=20).fold(
            Case::new("binary garbage", File, {
                let mut data = Vec::new();
                for i in 0..20 {
                    data.extend(junk(100, 10 + i));
                    data.push(b'\n');
                }
                data
            })
            .exit(2),
            |case, line| case.rejected(line, "field_count"),
        ),
        // NUL in a text value is text (escaped in JSON); in a status it is
        // not a digit.
        Case::new(
            "NUL bytes inside a line",
            Stdin,
            std_log(&[
                good(),
                with(&[("cs(User-Agent)", b"curl\0/8.5.0")]),
                with(&[("sc-status", b"2\x000")]),
            ]),
        )
        .header(2)
        .entries(2)
        .rejected(5, "field_value")
        .exit(1),
        // Text need not be UTF-8 (decoded text becomes U+FFFD in JSON).
        value_ok(
            "invalid UTF-8 in a text value",
            "cs(User-Agent)",
            b"caf\xe9 \xff\xfe",
            File,
        ),
        Case::new("CRLF line ends parse like LF", File, {
            let text = String::from_utf8(three_good.clone()).unwrap();
            text.replace('\n', "\r\n").into_bytes()
        })
        .header(2)
        .entries(3)
        .exit(0),
        // Line 4 holds two records separated by a CR alone.
        Case::new("a CR alone inside a line", Stdin, {
            let mut data = std_log(&[good()]);
            data.extend(good());
            data.push(b'\r');
            data.extend(good());
            data.push(b'\n');
            data
        })
        .header(2)
        .entries(1)
        .rejected(4, "bare_cr")
        .exit(1),
        // Old Mac line ends: the whole file is one line holding CRs, not
        // one header line; with no entry, not a CloudFront log.
        Case::new("CR-alone line ends (whole file)", File, {
            let text = String::from_utf8(three_good.clone()).unwrap();
            text.replace('\n', "\r").into_bytes()
        })
        .rejected(1, "bare_cr")
        .exit(2),
        // Bad headers (line 4); the 33-field schema stays for line 5.
        Case::new("#Fields: with no names", File, {
            let mut data = std_log(&[good()]);
            data.extend_from_slice(b"#Fields:\n");
            data.extend(good());
            data.push(b'\n');
            data
        })
        .header(2)
        .entries(2)
        .rejected(4, "header")
        .exit(1),
        Case::new("#Fields with a duplicate name", Stdin, {
            let mut data = std_log(&[good()]);
            data.extend_from_slice(b"#Fields: date time date sc-status\n");
            data.extend(good());
            data.push(b'\n');
            data
        })
        .header(2)
        .entries(2)
        .rejected(4, "header")
        .message("date")
        .exit(1),
        // 10,000 short names: 58,899 bytes, under the line limit.
        Case::new("#Fields with 10,000 names", File, {
            let mut data = std_log(&[good()]);
            let names: Vec<String> = (0..10_000).map(|i| format!("f{i}")).collect();
            let line = format!("#Fields: {}\n", names.join(" "));
            assert!(line.len() < MAX_LINE, "construction");
            data.extend_from_slice(line.as_bytes());
            data.extend(good());
            data.push(b'\n');
            data
        })
        .header(2)
        .entries(2)
        .rejected(4, "header")
        .exit(1),
        // Values at and past their limits, on line 4.
        value_bad("date 2019-02-30", "date", b"2019-02-30", File),
        value_ok("date 9999-12-31", "date", b"9999-12-31", Stdin),
        value_ok("date 0000-01-01", "date", b"0000-01-01", File),
        value_bad("time 24:00:00", "time", b"24:00:00", Stdin),
        // HH:MM:SS with seconds 00-59 (AWS smears leap seconds).
        value_bad("time 23:59:60 (leap second)", "time", b"23:59:60", File),
        // 000: the viewer hung up first (format spec, sc-status).
        value_ok("status 000", "sc-status", b"000", Stdin),
        // The spec's status is "3 digits".
        value_ok("status 999", "sc-status", b"999", File),
        value_bad("status 1000", "sc-status", b"1000", Stdin),
        value_bad("status -1", "sc-status", b"-1", File),
        value_ok(
            "sc-bytes 2^64-1",
            "sc-bytes",
            b"18446744073709551615",
            Stdin,
        ),
        value_bad("sc-bytes 2^64", "sc-bytes", b"18446744073709551616", File),
        // Range values may be negative: i64 (format spec, notes of 1.2).
        value_ok(
            "sc-range-start -2^63",
            "sc-range-start",
            b"-9223372036854775808",
            Stdin,
        ),
        value_bad(
            "sc-range-start 2^63",
            "sc-range-start",
            b"9223372036854775808",
            File,
        ),
        value_bad("time-taken NaN", "time-taken", b"NaN", Stdin),
        value_bad("time-taken 1e3", "time-taken", b"1e3", File),
        value_bad("time-taken negative", "time-taken", b"-0.051", Stdin),
        // c-ip: bare IPv6 without a zone (format spec, 2.5).
        value_bad("IPv6 with a zone", "c-ip", b"fe80::1%eth0", File),
        value_ok("IPv4-mapped IPv6", "c-ip", b"::ffff:192.0.2.1", Stdin),
        // Text whose escapes are not `%XX` keeps them as they are.
        Case::new(
            "bad percent escapes",
            File,
            std_log(&[
                with(&[("cs-uri-stem", b"/a%")]),
                with(&[("cs-uri-query", b"q=%zz")]),
                with(&[("cs(User-Agent)", b"%e9")]),
            ]),
        )
        .header(2)
        .entries(3)
        .exit(0),
        // Rejected once, read through without being held.
        Case::streamed("a 10 MB line with no newline", Stdin, |out| {
            out.write_all(&std_log(&[good()]))?;
            let chunk = vec![b'a'; 1 << 20];
            for _ in 0..10 {
                out.write_all(&chunk)?;
            }
            Ok(())
        })
        .header(2)
        .entries(1)
        .rejected(4, "line_too_long")
        .exit(1),
        Case::streamed("1M blank lines", File, |out| {
            out.write_all(&std_log(&[good()]))?;
            out.write_all(&vec![b'\n'; 1_000_000])
        })
        .header(2)
        .entries(1)
        .blank(1_000_000)
        .exit(0),
        // Two files concatenated: the second's 18-field header takes over.
        Case::new("header changes mid-stream (concatenated files)", File, {
            let mut data = std_log(&[good(), good()]);
            let old: Vec<Vec<u8>> = (0..2)
                .map(|_| VALUES[..18].join("\t").into_bytes())
                .collect();
            data.extend(format!("#Version: 1.0\n#Fields: {}\n", FIELDS[..18].join(" ")).bytes());
            for line in old {
                data.extend(line);
                data.push(b'\n');
            }
            data
        })
        .header(4)
        .entries(4)
        .exit(0),
        // 33 empty cells: the line has the right shape but no value.
        Case::new(
            "a line of only delimiters (32 TABs)",
            Stdin,
            std_log(&[good(), vec![b'\t'; 32]]),
        )
        .header(2)
        .entries(1)
        .rejected(4, "no_values")
        .exit(1),
        Case::new(
            "a line of only dashes",
            File,
            std_log(&[good(), vec!["-"; 33].join("\t").into_bytes()]),
        )
        .header(2)
        .entries(1)
        .rejected(4, "no_values")
        .exit(1),
    ]);

    // JSON lines, each on line 2 after a good object on line 1.
    let json_bad = [
        ("JSON without a known key", r#"{"hello":"world"}"#),
        ("JSON with a number value", r#"{"a":1}"#),
        ("JSON known key, number value", r#"{"sc-status":200}"#),
        (
            "JSON nested object",
            r#"{"sc-status":"200","x-edge-location":{"a":"b"}}"#,
        ),
        ("JSON nested array", r#"{"sc-status":"200","x-new":["a"]}"#),
        (
            "JSON duplicate keys",
            r#"{"sc-status":"200","sc-status":"404"}"#,
        ),
        ("JSON not an object", r#"["sc-status","200"]"#),
    ];
    for (i, (name, line)) in json_bad.into_iter().enumerate() {
        let feed = if i % 2 == 0 { Stdin } else { File };
        cases.push(
            Case::new(name, feed, json_after_good(line))
                .entries(1)
                .rejected(2, "json")
                .exit(1),
        );
    }
    let json_ok = [
        (
            "JSON null values",
            r#"{"date":"2024-11-15","time":"19:45:52","sc-status":null,"cs(Referer)":null}"#,
        ),
        (
            "JSON unknown key beside a known one",
            r#"{"sc-status":"200","x-new":"y"}"#,
        ),
    ];
    for (name, line) in json_ok {
        cases.push(
            Case::new(name, File, json_after_good(line))
                .entries(2)
                .exit(0),
        );
    }
    let json_empty = [
        (
            "JSON every value -",
            r#"{"date":"-","time":"-","sc-status":"-","x-edge-location":"-"}"#,
        ),
        ("JSON every value null", r#"{"date":null,"sc-status":null}"#),
    ];
    for (name, line) in json_empty {
        cases.push(
            Case::new(name, Stdin, json_after_good(line))
                .entries(1)
                .rejected(2, "no_values")
                .exit(1),
        );
    }
    cases
}

#[test]
fn malformed_inputs_are_rejected_by_line_or_fail_the_input() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    run_all(&cases, true, Duration::from_secs(120));
}

/// A 200 MB line without a newline, in a gzip streamed into stdin: rejected
/// once, in bounded memory.
#[test]
fn big_a_200_mb_line_in_a_gzip_is_rejected_in_bounded_memory() {
    let case = Case::streamed("a 200 MB line in a gzip", Feed::Stdin, |out| {
        let mut gz = GzEncoder::new(out, Compression::fast());
        gz.write_all(&std_log(&[good()]))?;
        // Not one repeated byte, so that deflate has some work to do.
        let chunk: Vec<u8> = (0..1 << 20).map(|i| b'a' + (i % 23) as u8).collect();
        for _ in 0..200 {
            gz.write_all(&chunk)?;
        }
        gz.finish().map(drop)
    })
    .header(2)
    .entries(1)
    .rejected(4, "line_too_long")
    .exit(1);
    run_all(&[case], false, Duration::from_secs(300));
}

/// 1 GB of valid lines piped into stdin: every line an entry, in bounded
/// memory. Stdout is counted, not kept.
#[test]
fn big_1_gb_of_valid_lines_streams_in_bounded_memory() {
    // 8 KB lines (a 4 KB path and User-Agent: CloudFront logs no URL over
    // 8,192 bytes), so that the debug build's cost per line does not make
    // the test slow; 100 distinct request IDs, repeated.
    let path = format!("/{}", "abcdefghij".repeat(400));
    let agent = format!("Mozilla/5.0{}", "x".repeat(4000));
    let block: Vec<u8> = (0..100)
        .flat_map(|i| {
            let id = format!("{i:0>56}");
            let mut line = with(&[
                ("x-edge-request-id", id.as_bytes()),
                ("cs-uri-stem", path.as_bytes()),
                ("cs(User-Agent)", agent.as_bytes()),
            ]);
            line.push(b'\n');
            line
        })
        .collect();
    let blocks = 1_000_000_000usize.div_ceil(block.len());
    let lines = (blocks * 100) as u64;
    let case = Case::streamed("1 GB of valid lines", Feed::Stdin, move |out| {
        out.write_all(header().as_bytes())?;
        for _ in 0..blocks {
            out.write_all(&block)?;
        }
        Ok(())
    })
    .header(2)
    .entries(lines)
    .exit(0);
    run_all(&[case], false, Duration::from_secs(300));
}

#[test]
fn the_summary_reader_reads_what_report_render_writes() {
    // The reader above against a summary in report.rs's format, so that a
    // parsing slip cannot pass a case by reading nothing.
    let stderr = "cflog: 1 input (gzip), 6 lines: 3 entries, 1 rejected, 2 header, 0 blank; 2.0 KiB of logs in 3 ms\n\
                  cflog: 1 rejected line: 1 field_value\n\
                  cflog:   x.log:4: sc-status: a three-digit status: \"1000\"\n";
    let s = summary(stderr, "x.log").unwrap();
    assert_eq!(
        (s.lines, s.entries, s.rejected, s.header, s.blank),
        (6, 3, 1, 2, 0)
    );
    assert_eq!(s.reasons, BTreeMap::from([("field_value".to_owned(), 1)]));
    assert_eq!(s.listed.len(), 1);
    assert_eq!(s.listed[0].0, 4);
    assert!(summary("cflog: x.log: no such file\n", "x.log").is_none());
}
